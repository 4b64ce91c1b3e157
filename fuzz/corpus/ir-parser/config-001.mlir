module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 64, n_layer = 2, vocab_size = 256, d_state = 16,
    d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, headdim = 0, nheads = 0, ngroups = 0, chunk_size = 0,
    tie_embeddings = false>} {
}
