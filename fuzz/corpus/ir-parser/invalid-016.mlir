func.func @conv_state_kernel(%x: tensor<?x?x192xf32>, %w: tensor<192x4xf32>) -> tensor<?x192x3xf32> {
  %y, %s = mamba.causal_conv1d %x, %w {silu} : (tensor<?x?x192xf32>, tensor<192x4xf32>) -> (tensor<?x?x192xf32>, tensor<?x192x3xf32>)
  return %s : tensor<?x192x3xf32>
}
