func.func @selective_scan_a_log_state(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x128xf32>, %B: tensor<?x?x16xf32>,
    %C: tensor<?x?x16xf32>, %z: tensor<?x?x128xf32>, %A_log: tensor<128x8xf32>, %D: tensor<128xf32>, %dt_bias: tensor<128xf32>) -> tensor<?x?x128xf32> {
  %y, %s = mamba.selective_scan %x, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias) : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x16xf32>)
  return %y : tensor<?x?x128xf32>
}
