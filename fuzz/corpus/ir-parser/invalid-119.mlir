func.func @calibration_not_on_mamba_op(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  return {mamba.calibration = {}} %x : tensor<?x?x64xf32>
}
