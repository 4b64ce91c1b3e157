// Decode's GEMV loads its weights before it awaits the previous kernel
// (KernelBuilder::awaitPredecessor) when every operand it loads there is a
// weight buffer (no launch writes one): with programmatic stream
// serialization the weights stream in while the previous kernel runs. The
// kernel's name says so ("_pw"). Everything else (x, the outputs) comes
// after the wait; on sm_80 the kernel has no griddepcontrol at all.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 \
// RUN:   | FileCheck %s --check-prefix=SM80

// A constant weight: the decode GEMV issues its weight load, then waits,
// then loads x; prefill's kernel waits first.
// CHECK-LABEL: \22name\22:\22linear_k64_n32_warp_r1_pw\22
// CHECK-SAME: \22awaits_predecessor\22:true
// CHECK-LABEL: gpu.func @linear_k64_n32_warp_r16(
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-LABEL: gpu.func @linear_k64_n32_warp_r1_pw(
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: %[[W:.*]] = llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK-NOT: llvm.load
// CHECK: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK: %[[X:.*]] = llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: gpu.return
// PTX-LABEL: .visible .entry linear_k64_n32_warp_r1_pw(
// PTX-NOT: griddepcontrol
// PTX-SAME: ld.global.v4.b32
// PTX-NOT: ld.global
// PTX-SAME: griddepcontrol.wait;
// PTX-SAME: griddepcontrol.launch_dependents;
// PTX-SAME: ld.global.v4.b32
// SM80-LABEL: gpu.func @linear_k64_n32_warp_r1_pw(
// SM80-NOT: griddepcontrol
// SM80: gpu.return
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x32xf32> {
    %w = arith.constant dense<0.5> : tensor<32x64xf32>
    %y = mamba.linear %x, %w : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    return %y : tensor<?x?x32xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x32xf32> {
    %w = arith.constant dense<0.5> : tensor<32x64xf32>
    %y = mamba.linear %x, %w : (tensor<?x1x64xf32>, tensor<32x64xf32>) -> tensor<?x1x32xf32>
    return %y : tensor<?x1x32xf32>
  }
}

// -----

// A weight that is an input of the function (an activation buffer, which a
// launch may write): no preload, the kernel waits first.
// CHECK-LABEL: mamba.launch_plan
// CHECK-NOT: _pw
// CHECK-LABEL: gpu.func @linear_k64_n32_warp_r1(
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    return %x : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>, %w: tensor<32x64xf32>) -> tensor<?x1x32xf32> {
    %y = mamba.linear %x, %w : (tensor<?x1x64xf32>, tensor<32x64xf32>) -> tensor<?x1x32xf32>
    return %y : tensor<?x1x32xf32>
  }
}

// -----

// W4A8: the packed weights and their group scales before the wait, the
// weight scale (an invariant load LLVM may sink to its use) and x after it.
// CHECK-LABEL: gpu.func @linear_w4a8_k256_n8_g128_nobias_warp_r1_pw(
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<16xi8>
// CHECK: nvvm.griddepcontrol wait
// PTX-LABEL: .visible .entry linear_w4a8_k256_n8_g128_nobias_warp_r1_pw(
// PTX-NOT: griddepcontrol
// PTX-SAME: ld.global.v4.b32
// PTX-SAME: griddepcontrol.wait;
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x256xf32>) -> tensor<?x?x256xf32> {
    return %x : tensor<?x?x256xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x256xi8>, %xs: tensor<1xf32>) -> tensor<?x1x8xf32> {
    %w = arith.constant dense<17> : tensor<8x128xi8>
    %gs = arith.constant dense<0.5> : tensor<8x2xf32>
    %cs = arith.constant dense<0.01> : tensor<8xf32>
    %y = mamba.linear_w4a8 %x scale(%xs), %w group_scales(%gs) channel_scales(%cs) {group_size = 128 : i64} : (tensor<?x1x256xi8>, tensor<1xf32>, tensor<8x128xi8>, tensor<8x2xf32>, tensor<8xf32>) -> tensor<?x1x8xf32>
    return %y : tensor<?x1x8xf32>
  }
}

// -----

// The norms load their weights and quantize scales (weight buffers) before
// the wait, x and the residual after it.
// CHECK-LABEL: gpu.func @add_rms_norm_d64_eps3727c5ac_q8_pw(
// CHECK-NOT: nvvm.griddepcontrol
// Two values a thread (32 threads, d = 64): two weights, two scales.
// CHECK-COUNT-4: llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK-NOT: llvm.load
// CHECK: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK: %[[X:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: %[[RESIDUAL:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: arith.addf %[[X]], %[[RESIDUAL]]
// A norm weight that is a function input: the kernel waits first.
// CHECK-LABEL: gpu.func @rms_norm_d64_eps3727c5ac(
// CHECK-NEXT: nvvm.griddepcontrol wait
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    return %x : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>, %r: tensor<?x1x64xf32>, %w2: tensor<64xf32>) -> (tensor<?x1x64xi8>, tensor<?x1x64xf32>, tensor<?x1x64xf32>) {
    %w = arith.constant dense<0.5> : tensor<64xf32>
    %s = arith.constant dense<0.25> : tensor<64xf32>
    %n, %res = mamba.rms_norm %x, %w residual(%r) : (tensor<?x1x64xf32>, tensor<64xf32>, tensor<?x1x64xf32>) -> (tensor<?x1x64xf32>, tensor<?x1x64xf32>)
    %q = mamba.quantize %n, scales(%s) : (tensor<?x1x64xf32>, tensor<64xf32>) -> tensor<?x1x64xi8>
    %m = mamba.rms_norm %x, %w2 : (tensor<?x1x64xf32>, tensor<64xf32>) -> tensor<?x1x64xf32>
    return %q, %res, %m : tensor<?x1x64xi8>, tensor<?x1x64xf32>, tensor<?x1x64xf32>
  }
}
