func.func @rms_norm_weight_width(%x: tensor<?x?x64xf32>, %w: tensor<32xf32>) -> tensor<?x?x64xf32> {
  %0 = mamba.rms_norm %x, %w : (tensor<?x?x64xf32>, tensor<32xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
