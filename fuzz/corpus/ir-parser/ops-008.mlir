func.func @ssd_scan_d_has_hdim(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %b_and_c: tensor<?x?x16xf32>,
    %A_log: tensor<8xf32>, %D: tensor<128xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x8x16x16xf32> {
  %y, %state = mamba.ssd_scan %x, %dt, %b_and_c, %b_and_c, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 1 : i64, chunk_size = 16 : i64, dt_min = 0.0 : f64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<8xf32>, tensor<128xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
  return %state : tensor<?x8x16x16xf32>
}
