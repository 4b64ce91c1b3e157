// quamba-convert-mamba-to-gpu: causal_conv1d (one thread per (b, c) and run
// of 16 tokens; grid: channel blocks, token runs, batch) and
// causal_conv1d_step (one thread per (b, c)) become Triton-ABI kernels
// specialised on C, K, silu and has_bias; batch and seqlen are i32 scalars.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 --quamba-kernels-to-ptx=chip=sm_80 \
// RUN:   | FileCheck %s --check-prefix=PTX

// Prefill with bias and SiLU: x, weight, bias, y, state, then batch, seqlen.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22causal_conv1d_c64_k4_silu1_bias1_t16\22,\22operands\22:[{{[0-9,]*}}],\22scalars\22:[\22B\22,\22L\22],{{.*}}\22grid\22:[1,\22cdiv(L,16)\22,\22B\22],\22block\22:[128,1,1]
// CHECK-LABEL: gpu.module @causal_conv1d_c64_k4_silu1_bias1_t16
// CHECK: gpu.func @causal_conv1d_c64_k4_silu1_bias1_t16(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "i32", "i32"]
// CHECK: math.roundeven
// CHECK: arith.divf
// PTX-LABEL: .visible .entry causal_conv1d_c64_k4_silu1_bias1_t16(
// PTX: ld.global
// PTX: cvt.rni.f32.f32
// PTX: st.global
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x64x4xf32>) {
    %w = arith.constant dense<0.25> : tensor<64x4xf32>
    %b = arith.constant dense<0.5> : tensor<64xf32>
    %y, %s = mamba.causal_conv1d %x, %w bias(%b) {silu} : (tensor<?x?x64xf32>, tensor<64x4xf32>, tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x64x4xf32>)
    return %y, %s : tensor<?x?x64xf32>, tensor<?x64x4xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x64xf32> {
    return %x : tensor<?x1x64xf32>
  }
}

// -----

// Prefill without bias or SiLU: no exp, no bias load.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22causal_conv1d_c32_k3_silu0_bias0_t16\22,\22operands\22:[{{[0-9,]*}}],\22scalars\22:[\22B\22,\22L\22],{{.*}}\22grid\22:[1,\22cdiv(L,16)\22,\22B\22],\22block\22:[128,1,1]
// CHECK-LABEL: gpu.module @causal_conv1d_c32_k3_silu0_bias0_t16
// CHECK-NOT: math.exp
// CHECK: gpu.return
// PTX-LABEL: .visible .entry causal_conv1d_c32_k3_silu0_bias0_t16(
// PTX-NOT: cvt.rni.f32.f32
// PTX: ret;
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x32xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x3xf32>) {
    %w = arith.constant dense<0.25> : tensor<32x3xf32>
    %y, %s = mamba.causal_conv1d %x, %w : (tensor<?x?x32xf32>, tensor<32x3xf32>) -> (tensor<?x?x32xf32>, tensor<?x32x3xf32>)
    return %y, %s : tensor<?x?x32xf32>, tensor<?x32x3xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x32xf32>) -> tensor<?x1x32xf32> {
    return %x : tensor<?x1x32xf32>
  }
}

// -----

// Decode step: x, state_in, weight, bias, y, state_out, then batch; one
// thread per (b, c).
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22causal_conv1d_step_c64_k4_silu1_bias1\22,\22operands\22:[{{[0-9,]*}}],\22scalars\22:[\22B\22],{{.*}}\22grid\22:[\22cdiv(B*64,128)\22,1,1],\22block\22:[128,1,1]
// CHECK-LABEL: gpu.module @causal_conv1d_step_c64_k4_silu1_bias1
// CHECK: gpu.func @causal_conv1d_step_c64_k4_silu1_bias1(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "i32"]
// PTX-LABEL: .visible .entry causal_conv1d_step_c64_k4_silu1_bias1(
// PTX: ld.global
// PTX: cvt.rni.f32.f32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    return %x : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>, %state: tensor<?x64x4xf32>) -> (tensor<?x1x64xf32>, tensor<?x64x4xf32>) {
    %w = arith.constant dense<0.25> : tensor<64x4xf32>
    %b = arith.constant dense<0.5> : tensor<64xf32>
    %y, %s = mamba.causal_conv1d_step %x, state(%state), %w bias(%b) {silu} : (tensor<?x1x64xf32>, tensor<?x64x4xf32>, tensor<64x4xf32>, tensor<64xf32>) -> (tensor<?x1x64xf32>, tensor<?x64x4xf32>)
    return %y, %s : tensor<?x1x64xf32>, tensor<?x64x4xf32>
  }
}
