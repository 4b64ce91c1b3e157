func.func @hadamard_sizes(%a: tensor<?x?x128xf32>, %b: tensor<4x96xf32>, %c: tensor<160xf16>, %d: tensor<?x?xf32>)
    -> (tensor<?x?x128xf32>, tensor<4x96xf32>, tensor<160xf16>, tensor<?x?xf32>) {
  %ha = mamba.hadamard %a : tensor<?x?x128xf32>
  %hb = mamba.hadamard %b : tensor<4x96xf32>
  %hc = mamba.hadamard %c : tensor<160xf16>
  %hd = mamba.hadamard %d : tensor<?x?xf32>
  return %ha, %hb, %hc, %hd : tensor<?x?x128xf32>, tensor<4x96xf32>, tensor<160xf16>, tensor<?x?xf32>
}
