func.func @split_sizes_vs_results(%x: tensor<?x?x328xf32>) -> tensor<?x?x128xf32> {
  %0:2 = mamba.split %x [128, 192, 8] : tensor<?x?x328xf32> -> tensor<?x?x128xf32>, tensor<?x?x200xf32>
  return %0#0 : tensor<?x?x128xf32>
}
