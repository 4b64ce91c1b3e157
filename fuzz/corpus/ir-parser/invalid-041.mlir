func.func @dequantize_float_input(%x: tensor<?x?x64xf32>, %s: tensor<1xf32>) -> tensor<?x?x64xf32> {
  %0 = mamba.dequantize %x, scales(%s) : (tensor<?x?x64xf32>, tensor<1xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
