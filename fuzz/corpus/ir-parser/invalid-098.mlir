#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @conv_dim(%x: tensor<?x?x128xf32>, %w: tensor<128x4xf32>) -> tensor<?x?x128xf32> {
    %y, %s = mamba.causal_conv1d %x, %w {silu} : (tensor<?x?x128xf32>, tensor<128x4xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x4xf32>)
    return %y : tensor<?x?x128xf32>
  }
}
