func.func @hadamard_rank0(%x: tensor<f32>) -> tensor<f32> {
  %0 = mamba.hadamard %x : tensor<f32>
  return %0 : tensor<f32>
}
