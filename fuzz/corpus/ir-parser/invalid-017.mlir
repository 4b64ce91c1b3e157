func.func @conv_bias_channels(%x: tensor<?x?x192xf32>, %w: tensor<192x4xf32>, %b: tensor<128xf32>) -> tensor<?x?x192xf32> {
  %y, %s = mamba.causal_conv1d %x, %w bias(%b) {silu} : (tensor<?x?x192xf32>, tensor<192x4xf32>, tensor<128xf32>) -> (tensor<?x?x192xf32>, tensor<?x192x4xf32>)
  return %y : tensor<?x?x192xf32>
}
