module attributes {mamba.config = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16,
    d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>} {
  func.func @prefill(%tokens: tensor<?x?xi32>, %table: tensor<256x64xf32>, %norm_w: tensor<64xf32>,
      %in_proj: tensor<328x64xf32>, %conv_w: tensor<192x4xf32>, %conv_b: tensor<192xf32>,
      %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>, %gnorm_w: tensor<128xf32>,
      %out_proj: tensor<64x128xf32>, %norm_f_w: tensor<64xf32>)
      -> (tensor<?x?x256xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>) {
    %h = mamba.embedding %table[%tokens] : (tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
    %n = mamba.rms_norm %h, %norm_w : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %zxbcdt = mamba.linear %n, %in_proj : (tensor<?x?x64xf32>, tensor<328x64xf32>) -> tensor<?x?x328xf32>
    %z, %xBC, %dt = mamba.split %zxbcdt [128, 192, 8] : tensor<?x?x328xf32> -> tensor<?x?x128xf32>, tensor<?x?x192xf32>, tensor<?x?x8xf32>
    %conv, %conv_state = mamba.causal_conv1d %xBC, %conv_w bias(%conv_b) {silu} : (tensor<?x?x192xf32>, tensor<192x4xf32>, tensor<192xf32>) -> (tensor<?x?x192xf32>, tensor<?x192x4xf32>)
    %x, %B, %C = mamba.split %conv [128, 32, 32] : tensor<?x?x192xf32> -> tensor<?x?x128xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
    %y, %ssm_state = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
    %g = mamba.gated_rms_norm %y, %z, %gnorm_w {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %o = mamba.linear %g, %out_proj : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
    %f, %res = mamba.rms_norm %o, %norm_f_w residual(%h) : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
    %logits = mamba.lm_head %f, %table : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
    return %logits, %conv_state, %ssm_state : tensor<?x?x256xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>
  }
  func.func @decode(%xBC: tensor<?x1x192xf32>, %dt: tensor<?x1x8xf32>, %z: tensor<?x1x128xf32>,
      %conv_state: tensor<?x192x4xf32>, %ssm_state: tensor<?x8x16x16xf32>, %conv_w: tensor<192x4xf32>,
      %A_log: tensor<8xf32>, %D: tensor<128xf32>, %dt_bias: tensor<8xf32>, %gnorm_w: tensor<128xf32>)
      -> (tensor<?x1x128xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>) {
    %conv, %new_conv_state = mamba.causal_conv1d_step %xBC, state(%conv_state), %conv_w {silu} : (tensor<?x1x192xf32>, tensor<?x192x4xf32>, tensor<192x4xf32>) -> (tensor<?x1x192xf32>, tensor<?x192x4xf32>)
    %x, %B, %C = mamba.split %conv [128, 32, 32] : tensor<?x1x192xf32> -> tensor<?x1x128xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>
    %y, %new_ssm_state = mamba.ssd_step %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%ssm_state) {headdim = 16 : i64, ngroups = 2 : i64} : (tensor<?x1x128xf32>, tensor<?x1x8xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<8xf32>, tensor<128xf32>, tensor<8xf32>, tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xf32>)
    %g = mamba.gated_rms_norm %y, %z, %gnorm_w {group_size = 64 : i64} : (tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
    return %g, %new_conv_state, %new_ssm_state : tensor<?x1x128xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>
  }
}
