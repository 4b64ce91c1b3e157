func.func @linear_w4a16(%x: tensor<?x?x128xf16>, %w: tensor<64x64xi8>, %gs: tensor<64x2xf32>,
    %b: tensor<64xf32>, %d: tensor<?x?x?xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %with = mamba.linear_w4a16 %x, %w group_scales(%gs) bias(%b) {group_size = 64 : i64} : (tensor<?x?x128xf16>, tensor<64x64xi8>, tensor<64x2xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %without = mamba.linear_w4a16 %d, %w group_scales(%gs) {group_size = 64 : i64, packing = #mamba.int4_packing<rows>} : (tensor<?x?x?xf32>, tensor<64x64xi8>, tensor<64x2xf32>) -> tensor<?x?x64xf32>
  return %with, %without : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}
