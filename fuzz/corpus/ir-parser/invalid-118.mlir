func.func @calibration_not_dictionary(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %0 = mamba.hadamard %x {mamba.calibration = 1.0 : f32} : tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}
