func.func @quantize_result_shape(%x: tensor<?x?x64xf32>, %s: tensor<64xf32>) -> tensor<?x?x32xi8> {
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x32xi8>
  return %0 : tensor<?x?x32xi8>
}
