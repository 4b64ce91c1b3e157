#outer = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
#inner = #mamba.config<arch = mamba1, d_model = 32, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 64, dt_rank = 2, tie_embeddings = true>
module attributes {mamba.config = #outer} {
  module attributes {mamba.config = #inner} {
    func.func @inner_norm(%x: tensor<?x?x32xf32>, %w: tensor<32xf32>) -> tensor<?x?x32xf32> {
      %0 = mamba.rms_norm %x, %w : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
      return %0 : tensor<?x?x32xf32>
    }
  }
  func.func @outer_norm(%x: tensor<?x?x16xf32>, %w: tensor<16xf32>) -> tensor<?x?x16xf32> {
    %0 = mamba.rms_norm %x, %w : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    return %0 : tensor<?x?x16xf32>
  }
}
