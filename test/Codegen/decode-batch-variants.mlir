// quamba-convert-mamba-to-gpu gives an integer decode linear (w8a8, w4a8)
// two launches over the same operands: the warp kernel, a row a warp, for
// batches 1..15 ("batch":[1,15]) and prefill's tensor-core kernel from batch
// 16 on ("batch":[16,0]); both compute the same function. Prefill launches
// carry no batch range, and an fp32-activation linear keeps one decode
// launch (its alternative would be the same kernel).
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s

// CHECK-LABEL: \22name\22:\22prefill\22
// CHECK-SAME: \22launches\22:[{\22op\22:\22linear_w8a8\22,\22kernel\22:\22linear_w8a8_k128_n64_bias_wgmma_m128n64s4\22
// CHECK-NOT: \22batch\22
// CHECK-SAME: \22name\22:\22decode\22
// CHECK-SAME: \22launches\22:[{\22op\22:\22linear_w8a8\22,\22kernel\22:\22linear_w8a8_k128_n64_bias_warp_r1\22,\22operands\22:{{\[}}[[OPS:[0-9,]+]]{{\]}}
// CHECK-SAME: \22batch\22:[1,15]
// CHECK-SAME: {\22op\22:\22linear_w8a8\22,\22kernel\22:\22linear_w8a8_k128_n64_bias_mma_m16n8_u2\22,\22operands\22:{{\[}}[[OPS]]{{\]}}
// CHECK-SAME: \22batch\22:[16,0]
// CHECK-SAME: \22sampler\22
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x128xi8>, %xs: tensor<1xf32>, %w: tensor<64x128xi8>, %ws: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x?x64xf32> {
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) bias(%b) : (tensor<?x?x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    return %y : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x128xi8>, %xs: tensor<1xf32>, %w: tensor<64x128xi8>, %ws: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x1x64xf32> {
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) bias(%b) : (tensor<?x1x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x1x64xf32>
    return %y : tensor<?x1x64xf32>
  }
}

// -----

// CHECK-LABEL: \22launches\22:[{\22op\22:\22linear\22,\22kernel\22:\22linear_k64_n32_warp_r1\22
// CHECK-NOT: \22batch\22
// CHECK-SAME: \22sampler\22
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>) -> tensor<?x?x32xf32> {
    %y = mamba.linear %x, %w : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    return %y : tensor<?x?x32xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>, %w: tensor<32x64xf32>) -> tensor<?x1x32xf32> {
    %y = mamba.linear %x, %w : (tensor<?x1x64xf32>, tensor<32x64xf32>) -> tensor<?x1x32xf32>
    return %y : tensor<?x1x32xf32>
  }
}
