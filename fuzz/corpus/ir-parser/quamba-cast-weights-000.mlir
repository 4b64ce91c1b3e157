module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 2, n_layer = 1, vocab_size = 2,
    d_state = 1, d_conv = 1, expand = 1, d_inner = 2, dt_rank = 1, tie_embeddings = true>} {
  func.func @prefill(%tokens: tensor<?x?xi32>) -> tensor<?x?x2xf32> {
    %table = arith.constant dense_resource<table> : tensor<2x2xf32>
    %g = arith.constant dense_resource<g> : tensor<2xf32>
    %w = arith.constant dense_resource<w> : tensor<2x2xf32>
    %x = mamba.embedding %table[%tokens] : (tensor<2x2xf32>, tensor<?x?xi32>) -> tensor<?x?x2xf32>
    %n = mamba.rms_norm %x, %g : (tensor<?x?x2xf32>, tensor<2xf32>) -> tensor<?x?x2xf32>
    %h = mamba.linear %n, %w : (tensor<?x?x2xf32>, tensor<2x2xf32>) -> tensor<?x?x2xf32>
    %logits = mamba.lm_head %h, %table : (tensor<?x?x2xf32>, tensor<2x2xf32>) -> tensor<?x?x2xf32>
    return %logits : tensor<?x?x2xf32>
  }
}
