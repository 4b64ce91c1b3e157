func.func @linear_w4a8_group_size_divides_k(%x: tensor<?x?x?xi8>, %s: tensor<1xf32>, %w: tensor<328x32xi8>,
    %gs: tensor<328x?xf32>, %cs: tensor<328xf32>) -> tensor<?x?x328xf32> {
  %0 = mamba.linear_w4a8 %x scale(%s), %w group_scales(%gs) channel_scales(%cs) {group_size = 48 : i64} : (tensor<?x?x?xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x?xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}
