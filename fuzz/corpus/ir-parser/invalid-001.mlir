func.func @conv_step_two_tokens(%x: tensor<?x2x192xf32>, %state: tensor<?x192x4xf32>, %w: tensor<192x4xf32>) -> tensor<?x2x192xf32> {
  %y, %s = mamba.causal_conv1d_step %x, state(%state), %w {silu} : (tensor<?x2x192xf32>, tensor<?x192x4xf32>, tensor<192x4xf32>) -> (tensor<?x2x192xf32>, tensor<?x192x4xf32>)
  return %y : tensor<?x2x192xf32>
}
