func.func @ssd_scan_zero_headdim(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x128xf32> {
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 0 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
  return %y : tensor<?x?x128xf32>
}
