#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @conv_step_d_conv(%x: tensor<?x1x192xf32>, %state: tensor<?x192x3xf32>, %w: tensor<192x3xf32>) -> tensor<?x1x192xf32> {
    %y, %s = mamba.causal_conv1d_step %x, state(%state), %w {silu} : (tensor<?x1x192xf32>, tensor<?x192x3xf32>, tensor<192x3xf32>) -> (tensor<?x1x192xf32>, tensor<?x192x3xf32>)
    return %y : tensor<?x1x192xf32>
  }
}
