module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 2, n_layer = 1, vocab_size = 4,
    d_state = 1, d_conv = 1, expand = 1, d_inner = 2, dt_rank = 1, tie_embeddings = true>} {
  func.func @prefill(%tokens: tensor<?x?xi32>) -> tensor<?x?x4xf32> {
    %table = arith.constant dense_resource<table2> : tensor<4x2xf32>
    %gain = arith.constant dense_resource<gain2> : tensor<2xf32>
    %x = mamba.embedding %table[%tokens] : (tensor<4x2xf32>, tensor<?x?xi32>) -> tensor<?x?x2xf32>
    %n = mamba.rms_norm %x, %gain : (tensor<?x?x2xf32>, tensor<2xf32>) -> tensor<?x?x2xf32>
    %logits = mamba.lm_head %n, %table : (tensor<?x?x2xf32>, tensor<4x2xf32>) -> tensor<?x?x4xf32>
    return %logits : tensor<?x?x4xf32>
  }
}
