module attributes {mamba.config = #mamba.config<tie_embeddings = true, chunk_size = 16, ngroups = 2, nheads = 8, headdim = 16,
    arch = mamba2, d_model = 64, n_layer = 2, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128>} {
}
