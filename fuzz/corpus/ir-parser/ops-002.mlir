func.func @mamba1_prefill_layer(%hidden: tensor<?x?x64xf32>, %in_proj: tensor<256x64xf32>,
    %conv_w: tensor<128x4xf32>, %conv_b: tensor<128xf32>,
    %x_proj: tensor<36x128xf32>, %dt_proj: tensor<128x4xf32>, %dt_bias: tensor<128xf32>,
    %A_log: tensor<128x16xf32>, %D: tensor<128xf32>, %out_proj: tensor<64x128xf32>)
    -> (tensor<?x?x64xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>) {
  %xz = mamba.linear %hidden, %in_proj : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
  %x, %z = mamba.split %xz [128, 128] : tensor<?x?x256xf32> -> tensor<?x?x128xf32>, tensor<?x?x128xf32>
  %conv, %conv_state = mamba.causal_conv1d %x, %conv_w bias(%conv_b) {silu} : (tensor<?x?x128xf32>, tensor<128x4xf32>, tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x4xf32>)
  %dbc = mamba.linear %conv, %x_proj : (tensor<?x?x128xf32>, tensor<36x128xf32>) -> tensor<?x?x36xf32>
  %dt_low, %B, %C = mamba.split %dbc [4, 16, 16] : tensor<?x?x36xf32> -> tensor<?x?x4xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>
  %dt = mamba.linear %dt_low, %dt_proj : (tensor<?x?x4xf32>, tensor<128x4xf32>) -> tensor<?x?x128xf32>
  %y, %ssm_state = mamba.selective_scan %conv, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias) : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x16xf32>)
  %out = mamba.linear %y, %out_proj : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
  return %out, %conv_state, %ssm_state : tensor<?x?x64xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>
}
