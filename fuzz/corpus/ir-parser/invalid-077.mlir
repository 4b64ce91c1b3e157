func.func @quantized_embedding_float_table(%table: tensor<256x64xf32>, %scales: tensor<256xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
  %0 = mamba.quantized_embedding %table scales(%scales) [%tokens] {bits = 8 : i64} : (tensor<256x64xf32>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
