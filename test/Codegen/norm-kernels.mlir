// quamba-convert-mamba-to-gpu: rms_norm, add_rms_norm and gated_rms_norm
// become one-block-per-row (per row and group) kernels of
// ref::normThreads(n) threads (about 8 values a thread: one warp up to 256
// values) with a shfl.bfly reduction, and the warp totals added through
// shared memory when there are several warps; specialised on D, group_size
// and eps (its f32 bits).
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 --quamba-kernels-to-ptx=chip=sm_80 \
// RUN:   | FileCheck %s --check-prefix=PTX

// rms_norm: x, weight, out, then rows; eps = 1e-5 (0x3727c5ac).
// CHECK: mamba.launch_plan
// CHECK-SAME: \22op\22:\22rms_norm\22,\22kernel\22:\22rms_norm_d64_eps3727c5ac_pw\22
// CHECK-SAME: \22scalars\22:[\22B*L\22],\22attrs\22:{\22eps\22:[1e-05]},\22grid\22:[\22B*L\22,1,1],\22block\22:[32,1,1]
// CHECK-SAME: \22scalars\22:[\22B\22],\22attrs\22:{\22eps\22:[1e-05]},\22grid\22:[\22B\22,1,1]
// CHECK-LABEL: gpu.module @rms_norm_d64_eps3727c5ac_pw
// CHECK: gpu.func @rms_norm_d64_eps3727c5ac_pw(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 32, 1, 1>
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "i32"]
// CHECK: gpu.shuffle xor
// CHECK: llvm.inline_asm "sqrt.rn.f32 $0, $1;", "=f,f"
// PTX-LABEL: .visible .entry rms_norm_d64_eps3727c5ac_pw(
// PTX: ld.global
// PTX: shfl.sync.bfly.b32
// PTX: sqrt.rn.f32
// PTX: end inline asm
// PTX: rcp.rn.f32
// PTX: st.global
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    %w = arith.constant dense<0.5> : tensor<64xf32>
    %y = mamba.rms_norm %x, %w : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    return %y : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x64xf32> {
    %w = arith.constant dense<0.5> : tensor<64xf32>
    %y = mamba.rms_norm %x, %w : (tensor<?x1x64xf32>, tensor<64xf32>) -> tensor<?x1x64xf32>
    return %y : tensor<?x1x64xf32>
  }
}

// -----

// add_rms_norm: x, residual, weight, out, residual_out, then rows; another
// eps is another kernel (1e-6 = 0x358637bd).
// CHECK: mamba.launch_plan
// CHECK-SAME: \22op\22:\22add_rms_norm\22,\22kernel\22:\22add_rms_norm_d96_eps358637bd_pw\22
// CHECK-SAME: \22scalars\22:[\22B*L\22],\22attrs\22:{\22eps\22:[1e-06]},\22grid\22:[\22B*L\22,1,1]
// CHECK-SAME: \22scalars\22:[\22B\22],\22attrs\22:{\22eps\22:[1e-06]},\22grid\22:[\22B\22,1,1]
// CHECK-LABEL: gpu.module @add_rms_norm_d96_eps358637bd_pw
// CHECK: gpu.func @add_rms_norm_d96_eps358637bd_pw(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "i32"]
// CHECK: arith.addf
// CHECK: gpu.shuffle xor
// PTX-LABEL: .visible .entry add_rms_norm_d96_eps358637bd_pw(
// PTX: add.rn.f32
// PTX: shfl.sync.bfly.b32
// PTX: sqrt.rn.f32
// PTX: end inline asm
// PTX: rcp.rn.f32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x96xf32>, %r: tensor<?x?x96xf32>) -> (tensor<?x?x96xf32>, tensor<?x?x96xf32>) {
    %w = arith.constant dense<0.5> : tensor<96xf32>
    %n, %ro = mamba.rms_norm %x, %w residual(%r) {eps = 1.0e-06 : f64} : (tensor<?x?x96xf32>, tensor<96xf32>, tensor<?x?x96xf32>) -> (tensor<?x?x96xf32>, tensor<?x?x96xf32>)
    return %n, %ro : tensor<?x?x96xf32>, tensor<?x?x96xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x96xf32>, %r: tensor<?x1x96xf32>) -> (tensor<?x1x96xf32>, tensor<?x1x96xf32>) {
    %w = arith.constant dense<0.5> : tensor<96xf32>
    %n, %ro = mamba.rms_norm %x, %w residual(%r) {eps = 1.0e-06 : f64} : (tensor<?x1x96xf32>, tensor<96xf32>, tensor<?x1x96xf32>) -> (tensor<?x1x96xf32>, tensor<?x1x96xf32>)
    return %n, %ro : tensor<?x1x96xf32>, tensor<?x1x96xf32>
  }
}

// -----

// gated_rms_norm: y, z, weight, out, then rows; silu(z) = z / (1 + exp(-z)),
// one block per (row, group of 64).
// CHECK: mamba.launch_plan
// CHECK-SAME: \22op\22:\22gated_rms_norm\22,\22kernel\22:\22gated_rms_norm_d128_g64_eps3727c5ac_pw\22
// CHECK-SAME: \22scalars\22:[\22B*L\22],\22attrs\22:{\22eps\22:[1e-05],\22group_size\22:[64.0]},\22grid\22:[\22B*L*2\22,1,1]
// CHECK-LABEL: gpu.module @gated_rms_norm_d128_g64_eps3727c5ac_pw
// CHECK: gpu.func @gated_rms_norm_d128_g64_eps3727c5ac_pw(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "i32"]
// CHECK: math.roundeven
// CHECK: gpu.shuffle xor
// CHECK: llvm.inline_asm "sqrt.rn.f32 $0, $1;", "=f,f"
// PTX-LABEL: .visible .entry gated_rms_norm_d128_g64_eps3727c5ac_pw(
// PTX: cvt.rni.f32.f32
// PTX: shfl.sync.bfly.b32
// PTX: sqrt.rn.f32
// PTX: end inline asm
// PTX: rcp.rn.f32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %y: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
    %w = arith.constant dense<0.5> : tensor<128xf32>
    %g = mamba.gated_rms_norm %y, %z, %w {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    return %g : tensor<?x?x128xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %y: tensor<?x1x128xf32>) -> tensor<?x1x128xf32> {
    return %y : tensor<?x1x128xf32>
  }
}

// -----

// A row of 2560 values: 320 threads (10 warps) of 8 values each; the warp
// totals meet in a 10-float shared array after a barrier, and every
// thread adds them in warp order.
// CHECK: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22rms_norm_d2560_eps3727c5ac_pw\22
// CHECK-SAME: \22grid\22:[\22B*L\22,1,1],\22block\22:[320,1,1]
// CHECK-LABEL: gpu.module @rms_norm_d2560_eps3727c5ac_pw
// CHECK: llvm.mlir.global internal @warp_totals() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<10 x f32>
// CHECK: gpu.func @rms_norm_d2560_eps3727c5ac_pw
// CHECK-SAME: known_block_size = array<i32: 320, 1, 1>
// CHECK-COUNT-8: llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: gpu.shuffle xor
// CHECK: gpu.barrier
// CHECK-COUNT-10: llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// PTX-LABEL: .visible .entry rms_norm_d2560_eps3727c5ac_pw(
// PTX: .shared .align 16 .b8 warp_totals[40];
// PTX: shfl.sync.bfly.b32
// PTX: st.shared.b32
// PTX: bar.sync
// PTX: ld.shared
// PTX: sqrt.rn.f32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x2560xf32>) -> tensor<?x?x2560xf32> {
    %w = arith.constant dense<0.5> : tensor<2560xf32>
    %y = mamba.rms_norm %x, %w : (tensor<?x?x2560xf32>, tensor<2560xf32>) -> tensor<?x?x2560xf32>
    return %y : tensor<?x?x2560xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x2560xf32>) -> tensor<?x1x2560xf32> {
    return %x : tensor<?x1x2560xf32>
  }
}
