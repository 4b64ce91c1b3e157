func.func @rms_norm_residual_without_result(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>, %r: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = mamba.rms_norm %x, %w residual(%r) : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
