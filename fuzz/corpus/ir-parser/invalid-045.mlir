func.func @quantize_conv_state_scales_misaligned(%x: tensor<?x192x4xf32>, %s: tensor<192xf32>) -> tensor<?x192x4xi8> {
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x192x4xf32>, tensor<192xf32>) -> tensor<?x192x4xi8>
  return %0 : tensor<?x192x4xi8>
}
