func.func @quantize_scales_rank(%x: tensor<?x192x4xf32>, %s: tensor<1x192x1x1xf32>) -> tensor<?x192x4xi8> {
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x192x4xf32>, tensor<1x192x1x1xf32>) -> tensor<?x192x4xi8>
  return %0 : tensor<?x192x4xi8>
}
