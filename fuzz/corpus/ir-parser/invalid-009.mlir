func.func @linear_bias_width(%x: tensor<?x?x128xf32>, %w: tensor<64x128xf32>, %b: tensor<128xf32>) -> tensor<?x?x64xf32> {
  %0 = mamba.linear %x, %w bias(%b) : (tensor<?x?x128xf32>, tensor<64x128xf32>, tensor<128xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
