func.func @embedding_result_width(%table: tensor<256x64xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x32xf32> {
  %0 = mamba.embedding %table[%tokens] : (tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<?x?x32xf32>
  return %0 : tensor<?x?x32xf32>
}
