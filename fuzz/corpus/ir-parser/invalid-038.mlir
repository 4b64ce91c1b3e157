func.func @quantize_int8_input(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>) -> tensor<?x?x64xi8> {
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x?x64xi8>, tensor<1xf32>) -> tensor<?x?x64xi8>
  return %0 : tensor<?x?x64xi8>
}
