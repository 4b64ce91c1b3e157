func.func @embedding_lm_head(%tokens: tensor<?x?xi64>, %table: tensor<256x64xf32>, %norm_w: tensor<64xf32>) -> tensor<?x?x256xf32> {
  %emb = mamba.embedding %table[%tokens] : (tensor<256x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
  %normed = mamba.rms_norm %emb, %norm_w : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %logits = mamba.lm_head %normed, %table : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
  return %logits : tensor<?x?x256xf32>
}
