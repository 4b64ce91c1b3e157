func.func @rms_norm_fused_residual(%x: tensor<?x?x64xf32>, %residual: tensor<?x?x64xf32>)
    -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %w = arith.constant dense<1.0> : tensor<64xbf16>
  %plain = mamba.rms_norm %x, %w {eps = 1.0e-05 : f64} : (tensor<?x?x64xf32>, tensor<64xbf16>) -> tensor<?x?x64xf32>
  %fused, %new_residual = mamba.rms_norm %plain, %w residual(%residual) {eps = 1.0e-06 : f64} : (tensor<?x?x64xf32>, tensor<64xbf16>, tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
  return %fused, %new_residual : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}
