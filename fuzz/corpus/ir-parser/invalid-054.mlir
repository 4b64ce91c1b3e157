func.func @linear_w8a8_input_rank(%x: tensor<?x128xi8>, %s: tensor<1xf32>, %w: tensor<64x128xi8>, %ws: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %0 = mamba.linear_w8a8 %x scale(%s), %w scales(%ws) : (tensor<?x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
