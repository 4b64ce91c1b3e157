module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 6, n_layer = 1, vocab_size = 2,
    d_state = 1, d_conv = 1, expand = 1, d_inner = 6, dt_rank = 1, tie_embeddings = true>} {
  func.func @prefill(%tokens: tensor<?x?xi32>) -> tensor<?x?x2xf32> {
    %table = arith.constant dense_resource<table6> : tensor<2x6xf32>
    %gain = arith.constant dense_resource<ones6> : tensor<6xf32>
    %x = mamba.embedding %table[%tokens] : (tensor<2x6xf32>, tensor<?x?xi32>) -> tensor<?x?x6xf32>
    %n = mamba.rms_norm %x, %gain : (tensor<?x?x6xf32>, tensor<6xf32>) -> tensor<?x?x6xf32>
    %logits = mamba.lm_head %n, %table : (tensor<?x?x6xf32>, tensor<2x6xf32>) -> tensor<?x?x2xf32>
    return %logits : tensor<?x?x2xf32>
  }
}
