func.func @dequantize_bf16_result(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>) -> tensor<?x?x64xbf16> {
  %0 = mamba.dequantize %x, scales(%s) : (tensor<?x?x64xi8>, tensor<1xf32>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}
