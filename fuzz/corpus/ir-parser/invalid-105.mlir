#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @gated_rms_norm_group_size_vs_config(%y: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) -> tensor<?x?x128xf32> {
    %0 = mamba.gated_rms_norm %y, %z, %w {group_size = 128 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    return %0 : tensor<?x?x128xf32>
  }
}
