func.func @split_sizes_sum(%x: tensor<?x?x328xf32>) -> tensor<?x?x128xf32> {
  %0:3 = mamba.split %x [128, 184, 8] : tensor<?x?x328xf32> -> tensor<?x?x128xf32>, tensor<?x?x184xf32>, tensor<?x?x8xf32>
  return %0#0 : tensor<?x?x128xf32>
}
