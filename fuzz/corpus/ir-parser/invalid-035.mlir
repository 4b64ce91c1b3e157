func.func @selective_step_two_tokens(%x: tensor<?x2x128xf32>, %dt: tensor<?x2x128xf32>, %B: tensor<?x2x16xf32>,
    %C: tensor<?x2x16xf32>, %z: tensor<?x2x128xf32>, %A_log: tensor<128x16xf32>, %D: tensor<128xf32>, %dt_bias: tensor<128xf32>,
    %state: tensor<?x128x16xf32>) -> tensor<?x2x128xf32> {
  %y, %s = mamba.selective_step %x, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%state) : (tensor<?x2x128xf32>, tensor<?x2x128xf32>, tensor<?x2x16xf32>, tensor<?x2x16xf32>, tensor<?x2x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>, tensor<?x128x16xf32>) -> (tensor<?x2x128xf32>, tensor<?x128x16xf32>)
  return %y : tensor<?x2x128xf32>
}
