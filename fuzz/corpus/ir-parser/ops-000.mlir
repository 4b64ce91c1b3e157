func.func @mamba2_prefill_layer(%hidden: tensor<?x?x64xf32>, %residual: tensor<?x?x64xf32>,
    %norm_w: tensor<64xf32>, %in_proj: tensor<328x64xf32>,
    %conv_w: tensor<192x4xf32>, %conv_b: tensor<192xf32>,
    %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>,
    %gnorm_w: tensor<128xf32>, %out_proj: tensor<64x128xf32>)
    -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>) {
  %n, %r = mamba.rms_norm %hidden, %norm_w residual(%residual) : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
  %zxbcdt = mamba.linear %n, %in_proj : (tensor<?x?x64xf32>, tensor<328x64xf32>) -> tensor<?x?x328xf32>
  %z, %xBC, %dt = mamba.split %zxbcdt [128, 192, 8] : tensor<?x?x328xf32> -> tensor<?x?x128xf32>, tensor<?x?x192xf32>, tensor<?x?x8xf32>
  %conv, %conv_state = mamba.causal_conv1d %xBC, %conv_w bias(%conv_b) {silu} : (tensor<?x?x192xf32>, tensor<192x4xf32>, tensor<192xf32>) -> (tensor<?x?x192xf32>, tensor<?x192x4xf32>)
  %x, %B, %C = mamba.split %conv [128, 32, 32] : tensor<?x?x192xf32> -> tensor<?x?x128xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
  %y, %ssm_state = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
  %g = mamba.gated_rms_norm %y, %z, %gnorm_w {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  %out = mamba.linear %g, %out_proj : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
  return %out, %r, %conv_state, %ssm_state : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>
}
