module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16,
    d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, tie_embeddings = false>} {
  func.func @prefill(%tokens: tensor<?x?xi32>, %table: tensor<256x64xf32>, %x: tensor<?x?x128xf32>,
      %conv_w: tensor<128x4xf32>, %dt: tensor<?x?x128xf32>, %B: tensor<?x?x16xf32>, %C: tensor<?x?x16xf32>,
      %z: tensor<?x?x128xf32>, %A_log: tensor<128x16xf32>, %D: tensor<128xf32>, %dt_bias: tensor<128xf32>,
      %hidden: tensor<?x?x64xf32>, %lm_head: tensor<256x64xf32>)
      -> (tensor<?x?x64xf32>, tensor<?x?x128xf32>, tensor<?x128x16xf32>, tensor<?x?x256xf32>) {
    %h = mamba.embedding %table[%tokens] : (tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
    %conv, %conv_state = mamba.causal_conv1d %x, %conv_w {silu} : (tensor<?x?x128xf32>, tensor<128x4xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x4xf32>)
    %y, %ssm_state = mamba.selective_scan %conv, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias) : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x16xf32>)
    %logits = mamba.lm_head %hidden, %lm_head : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
    return %h, %y, %ssm_state, %logits : tensor<?x?x64xf32>, tensor<?x?x128xf32>, tensor<?x128x16xf32>, tensor<?x?x256xf32>
  }
  func.func @decode(%x: tensor<?x1x128xf32>, %conv_state: tensor<?x128x4xf32>, %conv_w: tensor<128x4xf32>,
      %dt: tensor<?x1x128xf32>, %B: tensor<?x1x16xf32>, %C: tensor<?x1x16xf32>, %z: tensor<?x1x128xf32>,
      %A_log: tensor<128x16xf32>, %D: tensor<128xf32>, %dt_bias: tensor<128xf32>, %ssm_state: tensor<?x128x16xf32>)
      -> (tensor<?x1x128xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>) {
    %conv, %new_conv_state = mamba.causal_conv1d_step %x, state(%conv_state), %conv_w {silu} : (tensor<?x1x128xf32>, tensor<?x128x4xf32>, tensor<128x4xf32>) -> (tensor<?x1x128xf32>, tensor<?x128x4xf32>)
    %y, %new_ssm_state = mamba.selective_step %conv, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%ssm_state) : (tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>, tensor<?x1x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>, tensor<?x128x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x128x16xf32>)
    return %y, %new_conv_state, %new_ssm_state : tensor<?x1x128xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>
  }
}
