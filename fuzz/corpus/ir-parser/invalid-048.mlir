func.func @dequantize_result_rank(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>) -> tensor<?x64xf32> {
  %0 = mamba.dequantize %x, scales(%s) : (tensor<?x?x64xi8>, tensor<1xf32>) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}
