func.func @ssd_scan_dt_limit(%x: tensor<1x32x128xf32>, %dt: tensor<1x32x8xf32>, %B: tensor<1x32x32xf32>, %C: tensor<1x32x32xf32>,
    %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> (tensor<1x32x128xf32>, tensor<1x8x16x16xf32>) {
  %y, %state = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 8 : i64, dt_min = 0.001 : f64, dt_max = 0.1 : f64} : (tensor<1x32x128xf32>, tensor<1x32x8xf32>, tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<1x32x128xf32>, tensor<1x8x16x16xf32>)
  return %y, %state : tensor<1x32x128xf32>, tensor<1x8x16x16xf32>
}
