func.func @quantized_embedding_bits(%table: tensor<256x16xi8>, %scales: tensor<256xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
  %0 = mamba.quantized_embedding %table scales(%scales) [%tokens] {bits = 2 : i64} : (tensor<256x16xi8>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
