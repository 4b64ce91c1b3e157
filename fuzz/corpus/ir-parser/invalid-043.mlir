func.func @quantize_dynamic_scales(%x: tensor<?x?x64xf32>, %s: tensor<?xf32>) -> tensor<?x?x64xi8> {
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x?x64xf32>, tensor<?xf32>) -> tensor<?x?x64xi8>
  return %0 : tensor<?x?x64xi8>
}
