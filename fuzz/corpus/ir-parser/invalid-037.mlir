func.func @hadamard_unsupported_size(%x: tensor<?x?x20xf32>) -> tensor<?x?x20xf32> {
  %0 = mamba.hadamard %x : tensor<?x?x20xf32>
  return %0 : tensor<?x?x20xf32>
}
