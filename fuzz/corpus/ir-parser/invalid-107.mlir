#m1 = #mamba.config<arch = mamba1, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, tie_embeddings = true>
module attributes {mamba.config = #m1} {
  func.func @gated_rms_norm_in_mamba1(%y: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) -> tensor<?x?x128xf32> {
    %0 = mamba.gated_rms_norm %y, %z, %w {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    return %0 : tensor<?x?x128xf32>
  }
}
