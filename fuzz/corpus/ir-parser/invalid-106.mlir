#m1 = #mamba.config<arch = mamba1, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, tie_embeddings = true>
module attributes {mamba.config = #m1} {
  func.func @ssd_scan_in_mamba1(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>,
      %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x128xf32> {
    %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
    return %y : tensor<?x?x128xf32>
  }
}
