// quamba-convert-mamba-to-gpu gives a decode linear two launches: the warp
// kernel with a row a warp for batches 1..3 ("batch":[1,3]) and the prefill
// kernel with blocks of 16 rows from batch 4 on ("batch":[4,0]); both
// compute the same function. Prefill launches carry no batch range.
// RUN: quamba-opt %s --quamba-convert-mamba-to-gpu | FileCheck %s

// CHECK-LABEL: \22name\22:\22prefill\22
// CHECK-SAME: \22launches\22:[{\22op\22:\22linear\22,\22kernel\22:\22linear_k64_n32_warp_r16\22
// CHECK-NOT: \22batch\22
// CHECK-SAME: \22name\22:\22decode\22
// CHECK-SAME: \22launches\22:[{\22op\22:\22linear\22,\22kernel\22:\22linear_k64_n32_warp_r1\22,\22operands\22:[[OPS:\[[0-9,]+\]]]
// CHECK-SAME: \22batch\22:[1,3]
// CHECK-SAME: {\22op\22:\22linear\22,\22kernel\22:\22linear_k64_n32_warp_r16\22,\22operands\22:[[OPS]]
// CHECK-SAME: \22batch\22:[4,0]
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
