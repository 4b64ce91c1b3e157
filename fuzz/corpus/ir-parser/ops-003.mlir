func.func @mamba1_decode_layer(%hidden: tensor<?x1x64xf32>, %conv_state: tensor<?x128x4xf32>, %ssm_state: tensor<?x128x16xf32>,
    %in_proj: tensor<256x64xf32>, %conv_w: tensor<128x4xf32>, %conv_b: tensor<128xf32>,
    %x_proj: tensor<36x128xf32>, %dt_proj: tensor<128x4xf32>, %dt_bias: tensor<128xf32>,
    %A_log: tensor<128x16xf32>, %D: tensor<128xf32>, %out_proj: tensor<64x128xf32>)
    -> (tensor<?x1x64xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>) {
  %xz = mamba.linear %hidden, %in_proj : (tensor<?x1x64xf32>, tensor<256x64xf32>) -> tensor<?x1x256xf32>
  %x, %z = mamba.split %xz [128, 128] : tensor<?x1x256xf32> -> tensor<?x1x128xf32>, tensor<?x1x128xf32>
  %conv, %new_conv_state = mamba.causal_conv1d_step %x, state(%conv_state), %conv_w bias(%conv_b) {silu} : (tensor<?x1x128xf32>, tensor<?x128x4xf32>, tensor<128x4xf32>, tensor<128xf32>) -> (tensor<?x1x128xf32>, tensor<?x128x4xf32>)
  %dbc = mamba.linear %conv, %x_proj : (tensor<?x1x128xf32>, tensor<36x128xf32>) -> tensor<?x1x36xf32>
  %dt_low, %B, %C = mamba.split %dbc [4, 16, 16] : tensor<?x1x36xf32> -> tensor<?x1x4xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>
  %dt = mamba.linear %dt_low, %dt_proj : (tensor<?x1x4xf32>, tensor<128x4xf32>) -> tensor<?x1x128xf32>
  %y, %new_ssm_state = mamba.selective_step %conv, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%ssm_state) : (tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>, tensor<?x1x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>, tensor<?x128x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x128x16xf32>)
  %out = mamba.linear %y, %out_proj : (tensor<?x1x128xf32>, tensor<64x128xf32>) -> tensor<?x1x64xf32>
  return %out, %new_conv_state, %new_ssm_state : tensor<?x1x64xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>
}
