func.func @ssd_step_negative_ngroups(%x: tensor<?x1x128xf32>, %dt: tensor<?x1x8xf32>, %B: tensor<?x1x32xf32>,
    %C: tensor<?x1x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>, %state: tensor<?x8x16x16xf32>) -> tensor<?x1x128xf32> {
  %y, %s = mamba.ssd_step %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%state) {headdim = 16 : i64, ngroups = -2 : i64} : (tensor<?x1x128xf32>, tensor<?x1x8xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xf32>)
  return %y : tensor<?x1x128xf32>
}
