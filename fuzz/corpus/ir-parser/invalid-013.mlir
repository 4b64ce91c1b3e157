func.func @split_zero_size(%x: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
  %0:2 = mamba.split %x [128, 0] : tensor<?x?x128xf32> -> tensor<?x?x128xf32>, tensor<?x?x0xf32>
  return %0#0 : tensor<?x?x128xf32>
}
