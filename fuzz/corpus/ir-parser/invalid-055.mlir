func.func @linear_w8a8_transposed_weight(%x: tensor<?x?x128xi8>, %s: tensor<1xf32>, %w: tensor<128x64xi8>, %ws: tensor<128xf32>) -> tensor<?x?x128xf32> {
  %0 = mamba.linear_w8a8 %x scale(%s), %w scales(%ws) : (tensor<?x?x128xi8>, tensor<1xf32>, tensor<128x64xi8>, tensor<128xf32>) -> tensor<?x?x128xf32>
  return %0 : tensor<?x?x128xf32>
}
