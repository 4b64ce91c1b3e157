#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @embedding_vocab(%table: tensor<255x64xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
    %0 = mamba.embedding %table[%tokens] : (tensor<255x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
    return %0 : tensor<?x?x64xf32>
  }
}
