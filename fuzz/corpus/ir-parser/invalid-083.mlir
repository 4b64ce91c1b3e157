func.func @quantized_embedding_result_batch(%table: tensor<256x64xi8>, %scales: tensor<256xf32>, %tokens: tensor<2x?xi32>) -> tensor<3x?x64xf32> {
  %0 = mamba.quantized_embedding %table scales(%scales) [%tokens] {bits = 8 : i64} : (tensor<256x64xi8>, tensor<256xf32>, tensor<2x?xi32>) -> tensor<3x?x64xf32>
  return %0 : tensor<3x?x64xf32>
}
