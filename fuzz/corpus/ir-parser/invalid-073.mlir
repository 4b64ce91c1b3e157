func.func @linear_w4a16_group_scales_columns(%x: tensor<?x?x128xf32>, %w: tensor<64x?xi8>, %gs: tensor<64x4xf32>) -> tensor<?x?x64xf32> {
  %0 = mamba.linear_w4a16 %x, %w group_scales(%gs) {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<64x?xi8>, tensor<64x4xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
