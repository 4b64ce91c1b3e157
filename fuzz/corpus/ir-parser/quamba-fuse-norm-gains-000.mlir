module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 2, n_layer = 1, vocab_size = 4,
    d_state = 1, d_conv = 1, expand = 1, d_inner = 2, dt_rank = 1, tie_embeddings = true>} {
  func.func @prefill(%tokens: tensor<?x?xi32>) -> tensor<?x?x4xf32> {
    %table = arith.constant dense_resource<table> : tensor<4x2xf32>
    %g0 = arith.constant dense_resource<g0> : tensor<2xf32>
    %w_in = arith.constant dense_resource<w_in> : tensor<2x2xf32>
    %w_out = arith.constant dense_resource<w_out> : tensor<2x2xf32>
    %gf = arith.constant dense_resource<gf> : tensor<2xf32>
    %x = mamba.embedding %table[%tokens] : (tensor<4x2xf32>, tensor<?x?xi32>) -> tensor<?x?x2xf32>
    %n = mamba.rms_norm %x, %g0 : (tensor<?x?x2xf32>, tensor<2xf32>) -> tensor<?x?x2xf32>
    %h = mamba.linear %n, %w_in : (tensor<?x?x2xf32>, tensor<2x2xf32>) -> tensor<?x?x2xf32>
    %o = mamba.linear %h, %w_out : (tensor<?x?x2xf32>, tensor<2x2xf32>) -> tensor<?x?x2xf32>
    %nf, %r = mamba.rms_norm %o, %gf residual(%x) : (tensor<?x?x2xf32>, tensor<2xf32>, tensor<?x?x2xf32>) -> (tensor<?x?x2xf32>, tensor<?x?x2xf32>)
    %logits = mamba.lm_head %nf, %table : (tensor<?x?x2xf32>, tensor<4x2xf32>) -> tensor<?x?x4xf32>
    return %logits : tensor<?x?x4xf32>
  }
  func.func @decode(%token: tensor<?x1xi32>) -> tensor<?x1x4xf32> {
    %table = arith.constant dense_resource<table> : tensor<4x2xf32>
    %g0 = arith.constant dense_resource<g0> : tensor<2xf32>
    %w_in = arith.constant dense_resource<w_in> : tensor<2x2xf32>
    %w_out = arith.constant dense_resource<w_out> : tensor<2x2xf32>
    %gf = arith.constant dense_resource<gf> : tensor<2xf32>
    %x = mamba.embedding %table[%token] : (tensor<4x2xf32>, tensor<?x1xi32>) -> tensor<?x1x2xf32>
    %n = mamba.rms_norm %x, %g0 : (tensor<?x1x2xf32>, tensor<2xf32>) -> tensor<?x1x2xf32>
    %h = mamba.linear %n, %w_in : (tensor<?x1x2xf32>, tensor<2x2xf32>) -> tensor<?x1x2xf32>
    %o = mamba.linear %h, %w_out : (tensor<?x1x2xf32>, tensor<2x2xf32>) -> tensor<?x1x2xf32>
    %nf, %r = mamba.rms_norm %o, %gf residual(%x) : (tensor<?x1x2xf32>, tensor<2xf32>, tensor<?x1x2xf32>) -> (tensor<?x1x2xf32>, tensor<?x1x2xf32>)
    %logits = mamba.lm_head %nf, %table : (tensor<?x1x2xf32>, tensor<4x2xf32>) -> tensor<?x1x4xf32>
    return %logits : tensor<?x1x4xf32>
  }
}
