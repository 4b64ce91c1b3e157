func.func @split_rank0(%x: tensor<f32>) -> tensor<f32> {
  %0 = mamba.split %x [1] : tensor<f32> -> tensor<f32>
  return %0 : tensor<f32>
}
