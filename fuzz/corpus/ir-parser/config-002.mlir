#small = #mamba.config<arch = mamba2, d_model = 32, n_layer = 1, vocab_size = 64, d_state = 8, d_conv = 4, expand = 2,
    d_inner = 64, dt_rank = 0, headdim = 8, nheads = 8, ngroups = 1, chunk_size = 4, tie_embeddings = false>
module attributes {mamba.config = #small} {
}
