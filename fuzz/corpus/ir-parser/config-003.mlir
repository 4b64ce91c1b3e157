func.func @configs_as_values() attributes {
    m1 = #mamba.config<arch = mamba1, d_model = 4, n_layer = 1, vocab_size = 8, d_state = 2, d_conv = 2, expand = 1, d_inner = 4, dt_rank = 1, tie_embeddings = true>,
    m2 = #mamba.config<arch = mamba2, d_model = 4, n_layer = 1, vocab_size = 8, d_state = 2, d_conv = 2, expand = 2, d_inner = 8, headdim = 2, nheads = 4, ngroups = 4, chunk_size = 1, tie_embeddings = true>} {
  return
}
