#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @selective_scan_in_mamba2(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x128xf32>, %B: tensor<?x?x16xf32>,
      %C: tensor<?x?x16xf32>, %z: tensor<?x?x128xf32>, %A_log: tensor<128x16xf32>, %D: tensor<128xf32>, %dt_bias: tensor<128xf32>) -> tensor<?x?x128xf32> {
    %y, %s = mamba.selective_scan %x, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias) : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x16xf32>)
    return %y : tensor<?x?x128xf32>
  }
}
