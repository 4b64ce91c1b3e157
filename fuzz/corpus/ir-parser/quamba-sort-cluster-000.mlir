module {
  func.func @prefill(%x: tensor<?x?x4xf32>, %dt: tensor<?x?x2xf32>, %B: tensor<?x?x2xf32>,
                     %C: tensor<?x?x2xf32>) -> tensor<?x?x4xf32> {
    %a = arith.constant dense_resource<a_log> : tensor<2xf32>
    %d = arith.constant dense_resource<d> : tensor<2xf32>
    %b = arith.constant dense_resource<dt_bias> : tensor<2xf32>
    %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%a), D(%d), dt_bias(%b)
        {headdim = 2 : i64, ngroups = 1 : i64, chunk_size = 4 : i64}
        : (tensor<?x?x4xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>, tensor<?x?x2xf32>,
           tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<?x?x4xf32>, tensor<?x2x2x2xf32>)
    return %y : tensor<?x?x4xf32>
  }
}
