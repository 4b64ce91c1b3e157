func.func @gated_rms_norm_zero_group_size(%y: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) -> tensor<?x?x128xf32> {
  %0 = mamba.gated_rms_norm %y, %z, %w {group_size = 0 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  return %0 : tensor<?x?x128xf32>
}
