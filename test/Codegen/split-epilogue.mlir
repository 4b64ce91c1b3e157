// quamba-convert-mamba-to-gpu: a split whose input has no other reader
// becomes its producer's split epilogue (LaunchOps.h): the linear or conv
// launch takes the split's results as its output operands (attr
// split_sizes), stores each element to the part holding its column, and no
// split launch remains. A split of a value something else also reads stays
// a split launch.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX

// linear -> split [16, 8, 8]: x, w, out_0, out_1, out_2, then rows.
// CHECK-LABEL: mamba.launch_plan
// CHECK-NOT: \22op\22:\22split\22
// CHECK-SAME: \22op\22:\22linear\22,\22kernel\22:\22linear_k64_n32_split16x8x8_warp_r16\22,\22operands\22:[1,2,3,4,5],{{.*}}\22attrs\22:{\22split_sizes\22:[16.0,8.0,8.0]}
// CHECK-NOT: \22op\22:\22split\22
// CHECK: gpu.func @linear_k64_n32_split16x8x8_warp_r16(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32,
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : !llvm.ptr<1>
// PTX-LABEL: .visible .entry linear_k64_n32_split16x8x8_warp_r16(
// PTX: selp.b64
// PTX: st.global.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> (tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
    %w = arith.constant dense<0.5> : tensor<32x64xf32>
    %y = mamba.linear %x, %w : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %a, %b, %c = mamba.split %y [16, 8, 8] : tensor<?x?x32xf32> -> tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>
    return %a, %b, %c : tensor<?x?x16xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x64xf32> {
    return %x : tensor<?x1x64xf32>
  }
}

// -----

// The linear's result is also returned: the split stays a launch.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22op\22:\22linear\22,\22kernel\22:\22linear_k64_n32_warp_r16\22
// CHECK-SAME: \22op\22:\22split\22
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x16xf32>) {
    %w = arith.constant dense<0.5> : tensor<32x64xf32>
    %y = mamba.linear %x, %w : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %a, %b = mamba.split %y [16, 16] : tensor<?x?x32xf32> -> tensor<?x?x16xf32>, tensor<?x?x16xf32>
    return %y, %b : tensor<?x?x32xf32>, tensor<?x?x16xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x64xf32> {
    return %x : tensor<?x1x64xf32>
  }
}

// -----

// conv step -> split [32, 16, 16]: x, state_in, weight, bias, y_0, y_1, y_2,
// state_out, then batch.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22op\22:\22causal_conv1d_step\22,\22kernel\22:\22causal_conv1d_step_c64_k4_silu1_bias1_split32x16x16\22,\22operands\22:[{{([0-9]+,){7}[0-9]+}}],{{.*}}\22split_sizes\22:[32.0,16.0,16.0]
// CHECK: gpu.func @causal_conv1d_step_c64_k4_silu1_bias1_split32x16x16(
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "i32"]
// PTX-LABEL: .visible .entry causal_conv1d_step_c64_k4_silu1_bias1_split32x16x16(
// PTX: selp.b64
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    return %x : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>, %state: tensor<?x64x4xf32>) -> (tensor<?x1x32xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>, tensor<?x64x4xf32>) {
    %w = arith.constant dense<0.25> : tensor<64x4xf32>
    %b = arith.constant dense<0.5> : tensor<64xf32>
    %y, %s = mamba.causal_conv1d_step %x, state(%state), %w bias(%b) {silu} : (tensor<?x1x64xf32>, tensor<?x64x4xf32>, tensor<64x4xf32>, tensor<64xf32>) -> (tensor<?x1x64xf32>, tensor<?x64x4xf32>)
    %p, %q, %r = mamba.split %y [32, 16, 16] : tensor<?x1x64xf32> -> tensor<?x1x32xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>
    return %p, %q, %r, %s : tensor<?x1x32xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>, tensor<?x64x4xf32>
  }
}
