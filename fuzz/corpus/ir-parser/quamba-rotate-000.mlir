module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 4, n_layer = 1, vocab_size = 4,
    d_state = 1, d_conv = 1, expand = 2, d_inner = 8, dt_rank = 1, tie_embeddings = false>} {
  func.func @prefill(%tokens: tensor<?x?xi32>) -> tensor<?x?x4xf32> {
    %table = arith.constant dense_resource<table> : tensor<4x4xf32>
    %g = arith.constant dense_resource<ones> : tensor<4xf32>
    %w_in = arith.constant dense_resource<w_in> : tensor<8x4xf32>
    %w_out = arith.constant dense_resource<w_out> : tensor<4x8xf32>
    %bias = arith.constant dense_resource<bias> : tensor<4xf32>
    %w_lm = arith.constant dense_resource<w_lm> : tensor<4x4xf32>
    %x = mamba.embedding %table[%tokens] : (tensor<4x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
    %n = mamba.rms_norm %x, %g : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
    %h = mamba.linear %n, %w_in : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
    %o = mamba.linear %h, %w_out bias(%bias) : (tensor<?x?x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
    %nf, %r = mamba.rms_norm %o, %g residual(%x) : (tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>)
    %logits = mamba.lm_head %nf, %w_lm : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
    return %logits : tensor<?x?x4xf32>
  }
  func.func @decode(%tokens: tensor<?x1xi32>) -> tensor<?x1x4xf32> {
    %table = arith.constant dense_resource<table> : tensor<4x4xf32>
    %g = arith.constant dense_resource<ones> : tensor<4xf32>
    %w_in = arith.constant dense_resource<w_in> : tensor<8x4xf32>
    %w_out = arith.constant dense_resource<w_out> : tensor<4x8xf32>
    %bias = arith.constant dense_resource<bias> : tensor<4xf32>
    %w_lm = arith.constant dense_resource<w_lm> : tensor<4x4xf32>
    %x = mamba.embedding %table[%tokens] : (tensor<4x4xf32>, tensor<?x1xi32>) -> tensor<?x1x4xf32>
    %n = mamba.rms_norm %x, %g : (tensor<?x1x4xf32>, tensor<4xf32>) -> tensor<?x1x4xf32>
    %h = mamba.linear %n, %w_in : (tensor<?x1x4xf32>, tensor<8x4xf32>) -> tensor<?x1x8xf32>
    %o = mamba.linear %h, %w_out bias(%bias) : (tensor<?x1x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<?x1x4xf32>
    %nf, %r = mamba.rms_norm %o, %g residual(%x) : (tensor<?x1x4xf32>, tensor<4xf32>, tensor<?x1x4xf32>) -> (tensor<?x1x4xf32>, tensor<?x1x4xf32>)
    %logits = mamba.lm_head %nf, %w_lm : (tensor<?x1x4xf32>, tensor<4x4xf32>) -> tensor<?x1x4xf32>
    return %logits : tensor<?x1x4xf32>
  }
}
