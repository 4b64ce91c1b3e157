func.func @split_result_shape(%x: tensor<?x?x192xf32>) -> tensor<?x?x128xf32> {
  %0:3 = mamba.split %x [128, 32, 32] : tensor<?x?x192xf32> -> tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x32xf32>
  return %0#0 : tensor<?x?x128xf32>
}
