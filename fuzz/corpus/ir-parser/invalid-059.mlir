func.func @linear_w4a8_per_channel_input_scale(%x: tensor<?x?x64xi8>, %s: tensor<64xf32>, %w: tensor<328x32xi8>,
    %gs: tensor<328x2xf32>, %cs: tensor<328xf32>) -> tensor<?x?x328xf32> {
  %0 = mamba.linear_w4a8 %x scale(%s), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x?x64xi8>, tensor<64xf32>, tensor<328x32xi8>, tensor<328x2xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}
