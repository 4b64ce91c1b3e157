func.func @linear_w8a8_bias(%x: tensor<?x?x128xi8>, %x_scale: tensor<1xf32>, %w: tensor<64x128xi8>,
    %b: tensor<64xf16>, %t: tensor<2x1x128xi8>) -> (tensor<?x?x64xf32>, tensor<2x1x64xf32>) {
  %w_scales = arith.constant dense<0.125> : tensor<64xf32>
  %with = mamba.linear_w8a8 %x scale(%x_scale), %w scales(%w_scales) bias(%b) : (tensor<?x?x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<64xf16>) -> tensor<?x?x64xf32>
  %without = mamba.linear_w8a8 %t scale(%x_scale), %w scales(%w_scales) : (tensor<2x1x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<2x1x64xf32>
  return %with, %without : tensor<?x?x64xf32>, tensor<2x1x64xf32>
}
