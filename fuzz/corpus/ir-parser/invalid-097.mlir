#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @lm_head_d_model(%x: tensor<?x?x32xf32>, %w: tensor<256x32xf32>) -> tensor<?x?x256xf32> {
    %0 = mamba.lm_head %x, %w : (tensor<?x?x32xf32>, tensor<256x32xf32>) -> tensor<?x?x256xf32>
    return %0 : tensor<?x?x256xf32>
  }
}
