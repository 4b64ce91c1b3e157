module attributes {mamba.config = #mamba.config<arch = mamba2, d_model = 64, n_layer = 2, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>} {
  func.func @mamba2_model_ops(%tokens: tensor<?x?xi32>, %table: tensor<256x64xf32>, %xBC: tensor<?x?x192xf32>, %conv_w: tensor<192x4xf32>,
      %dt: tensor<?x?x8xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>, %z: tensor<?x?x128xf32>,
      %gnorm_w: tensor<128xf32>, %hidden: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x128xf32>, tensor<?x8x16x16xf32>, tensor<?x?x256xf32>) {
    %emb = mamba.embedding %table[%tokens] : (tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
    %conv, %conv_state = mamba.causal_conv1d %xBC, %conv_w {silu} : (tensor<?x?x192xf32>, tensor<192x4xf32>) -> (tensor<?x?x192xf32>, tensor<?x192x4xf32>)
    %x, %B, %C = mamba.split %conv [128, 32, 32] : tensor<?x?x192xf32> -> tensor<?x?x128xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
    %y, %state = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
    %g = mamba.gated_rms_norm %y, %z, %gnorm_w {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %logits = mamba.lm_head %hidden, %table : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
    return %emb, %g, %state, %logits : tensor<?x?x64xf32>, tensor<?x?x128xf32>, tensor<?x8x16x16xf32>, tensor<?x?x256xf32>
  }
}
