func.func @mamba2_decode_layer(%hidden: tensor<2x1x64xf32>, %residual: tensor<2x1x64xf32>,
    %conv_state: tensor<2x192x4xf32>, %ssm_state: tensor<2x8x16x16xf32>,
    %norm_w: tensor<64xf32>, %in_proj: tensor<328x64xf32>,
    %conv_w: tensor<192x4xf32>, %conv_b: tensor<192xf32>,
    %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>,
    %gnorm_w: tensor<128xf32>, %out_proj: tensor<64x128xf32>)
    -> (tensor<2x1x64xf32>, tensor<2x1x64xf32>, tensor<2x192x4xf32>, tensor<2x8x16x16xf32>) {
  %n, %r = mamba.rms_norm %hidden, %norm_w residual(%residual) : (tensor<2x1x64xf32>, tensor<64xf32>, tensor<2x1x64xf32>) -> (tensor<2x1x64xf32>, tensor<2x1x64xf32>)
  %zxbcdt = mamba.linear %n, %in_proj : (tensor<2x1x64xf32>, tensor<328x64xf32>) -> tensor<2x1x328xf32>
  %z, %xBC, %dt = mamba.split %zxbcdt [128, 192, 8] : tensor<2x1x328xf32> -> tensor<2x1x128xf32>, tensor<2x1x192xf32>, tensor<2x1x8xf32>
  %conv, %new_conv_state = mamba.causal_conv1d_step %xBC, state(%conv_state), %conv_w bias(%conv_b) {silu} : (tensor<2x1x192xf32>, tensor<2x192x4xf32>, tensor<192x4xf32>, tensor<192xf32>) -> (tensor<2x1x192xf32>, tensor<2x192x4xf32>)
  %x, %B, %C = mamba.split %conv [128, 32, 32] : tensor<2x1x192xf32> -> tensor<2x1x128xf32>, tensor<2x1x32xf32>, tensor<2x1x32xf32>
  %y, %new_ssm_state = mamba.ssd_step %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%ssm_state) {headdim = 16 : i64, ngroups = 2 : i64} : (tensor<2x1x128xf32>, tensor<2x1x8xf32>, tensor<2x1x32xf32>, tensor<2x1x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<2x8x16x16xf32>) -> (tensor<2x1x128xf32>, tensor<2x8x16x16xf32>)
  %g = mamba.gated_rms_norm %y, %z, %gnorm_w {group_size = 64 : i64} : (tensor<2x1x128xf32>, tensor<2x1x128xf32>, tensor<128xf32>) -> tensor<2x1x128xf32>
  %out = mamba.linear %g, %out_proj : (tensor<2x1x128xf32>, tensor<64x128xf32>) -> tensor<2x1x64xf32>
  return %out, %r, %new_conv_state, %new_ssm_state : tensor<2x1x64xf32>, tensor<2x1x64xf32>, tensor<2x192x4xf32>, tensor<2x8x16x16xf32>
}
