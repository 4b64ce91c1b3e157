#m1 = #mamba.config<arch = mamba1, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, tie_embeddings = true>
module attributes {mamba.config = #m1} {
  func.func @selective_step_d_inner_vs_config(%x: tensor<?x1x64xf32>, %dt: tensor<?x1x64xf32>, %B: tensor<?x1x16xf32>,
      %C: tensor<?x1x16xf32>, %z: tensor<?x1x64xf32>, %A_log: tensor<64x16xf32>, %D: tensor<64xf32>, %dt_bias: tensor<64xf32>,
      %state: tensor<?x64x16xf32>) -> tensor<?x1x64xf32> {
    %y, %s = mamba.selective_step %x, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%state) : (tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>, tensor<?x1x64xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>, tensor<?x64x16xf32>) -> (tensor<?x1x64xf32>, tensor<?x64x16xf32>)
    return %y : tensor<?x1x64xf32>
  }
}
