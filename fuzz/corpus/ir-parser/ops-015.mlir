func.func @quantized_embedding_bits(%tokens: tensor<?x?xi32>, %table8: tensor<256x64xi8>, %table4: tensor<256x32xi8>,
    %scales: tensor<256xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %emb8 = mamba.quantized_embedding %table8 scales(%scales) [%tokens] {bits = 8 : i64} : (tensor<256x64xi8>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  %emb4 = mamba.quantized_embedding %table4 scales(%scales) [%tokens] {bits = 4 : i64, packing = #mamba.int4_packing<rows>} : (tensor<256x32xi8>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  return %emb8, %emb4 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}
