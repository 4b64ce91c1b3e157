func.func @linear_w4a16_int8_input(%x: tensor<?x?x128xi8>, %w: tensor<64x64xi8>, %gs: tensor<64x2xf32>) -> tensor<?x?x64xf32> {
  %0 = mamba.linear_w4a16 %x, %w group_scales(%gs) {group_size = 64 : i64} : (tensor<?x?x128xi8>, tensor<64x64xi8>, tensor<64x2xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
