func.func @quantize_i4_result(%x: tensor<?x?x64xf32>, %s: tensor<1xf32>) -> tensor<?x?x64xi4> {
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x?x64xf32>, tensor<1xf32>) -> tensor<?x?x64xi4>
  return %0 : tensor<?x?x64xi4>
}
