#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @ssd_step_ngroups_vs_config(%x: tensor<?x1x128xf32>, %dt: tensor<?x1x8xf32>, %B: tensor<?x1x16xf32>,
      %C: tensor<?x1x16xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>, %state: tensor<?x8x16x16xf32>) -> tensor<?x1x128xf32> {
    %y, %s = mamba.ssd_step %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%state) {headdim = 16 : i64, ngroups = 1 : i64} : (tensor<?x1x128xf32>, tensor<?x1x8xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xf32>)
    return %y : tensor<?x1x128xf32>
  }
}
