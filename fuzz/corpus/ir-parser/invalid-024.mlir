func.func @ssd_scan_channels_not_divisible_by_headdim(%x: tensor<?x?x120xf32>, %dt: tensor<?x?x?xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<?xf32>, %D: tensor<?xf32>, %dt_bias: tensor<?xf32>) -> tensor<?x?x120xf32> {
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x120xf32>, tensor<?x?x?xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) -> (tensor<?x?x120xf32>, tensor<?x?x16x16xf32>)
  return %y : tensor<?x?x120xf32>
}
