func.func @embedding_table_rank(%table: tensor<256xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
  %0 = mamba.embedding %table[%tokens] : (tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
