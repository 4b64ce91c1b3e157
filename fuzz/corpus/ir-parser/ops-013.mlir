func.func @linear_w4a8(%x: tensor<?x?x64xi8>, %x_scale: tensor<1xf32>, %w: tensor<328x32xi8>,
    %gs: tensor<328x2xf32>, %cs: tensor<328xf32>, %gs1: tensor<328x1xf32>, %b: tensor<328xf32>)
    -> (tensor<?x?x328xf32>, tensor<?x?x328xf32>, tensor<?x?x328xf32>) attributes {packing = #mamba.int4_packing<rows>} {
  %explicit = mamba.linear_w4a8 %x scale(%x_scale), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64, packing = #mamba.int4_packing<rows>} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x2xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  %default = mamba.linear_w4a8 %x scale(%x_scale), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x2xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  %biased = mamba.linear_w4a8 %x scale(%x_scale), %w group_scales(%gs1) channel_scales(%cs) bias(%b) {group_size = 64 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x1xf32>, tensor<328xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  return %explicit, %default, %biased : tensor<?x?x328xf32>, tensor<?x?x328xf32>, tensor<?x?x328xf32>
}
