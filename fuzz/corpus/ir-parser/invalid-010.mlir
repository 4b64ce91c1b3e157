func.func @lm_head_logits_width(%x: tensor<?x?x64xf32>, %w: tensor<256x64xf32>) -> tensor<?x?x255xf32> {
  %0 = mamba.lm_head %x, %w : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x255xf32>
  return %0 : tensor<?x?x255xf32>
}
