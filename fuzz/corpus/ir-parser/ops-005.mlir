func.func @linear_with_bias(%x: tensor<2x16x4xf32>, %w: tensor<128x4xf16>, %b: tensor<128xf32>, %t: tensor<1x1x4xf32>)
    -> (tensor<2x16x128xf32>, tensor<1x1x128xf32>) {
  %with = mamba.linear %x, %w bias(%b) : (tensor<2x16x4xf32>, tensor<128x4xf16>, tensor<128xf32>) -> tensor<2x16x128xf32>
  %without = mamba.linear %t, %w : (tensor<1x1x4xf32>, tensor<128x4xf16>) -> tensor<1x1x128xf32>
  return %with, %without : tensor<2x16x128xf32>, tensor<1x1x128xf32>
}
