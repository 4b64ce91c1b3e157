func.func @quantize_bf16_scales(%x: tensor<?x?x64xbf16>, %s: tensor<1xbf16>) -> tensor<?x?x64xi8> {
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x?x64xbf16>, tensor<1xbf16>) -> tensor<?x?x64xi8>
  return %0 : tensor<?x?x64xi8>
}
