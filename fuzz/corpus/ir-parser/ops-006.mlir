func.func @split_three_ways(%s: tensor<2x3x328xf32>, %d: tensor<?x?x?xf32>)
    -> (tensor<2x3x8xf32>, tensor<?x?x128xf32>, tensor<?x?x32xf32>) {
  %z, %xBC, %dt = mamba.split %s [128, 192, 8] : tensor<2x3x328xf32> -> tensor<2x3x128xf32>, tensor<2x3x192xf32>, tensor<2x3x8xf32>
  %x, %B, %C = mamba.split %d [128, 32, 32] : tensor<?x?x?xf32> -> tensor<?x?x128xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
  %B2 = mamba.split %B [32] : tensor<?x?x32xf32> -> tensor<?x?x32xf32>
  return %dt, %x, %B2 : tensor<2x3x8xf32>, tensor<?x?x128xf32>, tensor<?x?x32xf32>
}
