func.func @dequantize_scales_dynamic_channels(%x: tensor<?x?x?xi8>, %s: tensor<128xf32>) -> tensor<?x?x?xf32> {
  %0 = mamba.dequantize %x, scales(%s) : (tensor<?x?x?xi8>, tensor<128xf32>) -> tensor<?x?x?xf32>
  return %0 : tensor<?x?x?xf32>
}
