func.func @linear_transposed_weight(%x: tensor<?x?x64xf32>, %w: tensor<64x328xf32>) -> tensor<?x?x328xf32> {
  %0 = mamba.linear %x, %w : (tensor<?x?x64xf32>, tensor<64x328xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}
