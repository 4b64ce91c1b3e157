// quamba-convert-mamba-to-gpu: a W8A8 linear in prefill (rows = B*L) runs on
// int8 tensor cores (mma.sync m16n8k32): the shared-memory tiled kernel
// where K divides into 64-element tiles (linear-tiled-kernels.mlir), else
// a 32x32 tile (2x4 mma tiles) a warp from registers (as the fp32 linear
// with f16 weights always); decode has the warp GEMV with 16-byte loads
// below batch 16 and a 16x8 tile a warp from batch 16. W4A8 decodes its int4 weights to int8
// words in registers and takes the same mma; an fp32 linear with f16
// weights takes tf32 mma.sync m16n8k8, x split into two tf32 parts. Both
// targets.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx | FileCheck %s --check-prefix=PTX
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 --quamba-kernels-to-ptx=chip=sm_80 | FileCheck %s --check-prefix=PTX

// The plan: prefill row tiles cdiv(B*L, 128) times one 64-column tile
// (a block of 4 warps, 128 threads).
// CHECK: mamba.launch_plan = "{{.*}}\22kernel\22:\22linear_w8a8_k64_n40_nobias_tiled_m128n64k64s3\22{{.*}}\22grid\22:[\22cdiv(cdiv(B*L,128)*128,128)\22
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k64_n40_nobias_warp_r1_pw\22
// CHECK-LABEL: gpu.module @linear_w8a8_k64_n40_nobias_tiled_m128n64k64s3
// CHECK: scf.for
// CHECK: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 32]} : (vector<4x4xi8>, vector<2x4xi8>, vector<2x2xi32>) -> vector<2x2xi32>
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK-LABEL: gpu.module @linear_w8a8_k64_n40_nobias_warp_r1_pw

// PTX-LABEL: .visible .entry linear_w8a8_k64_n40_nobias_tiled_m128n64k64s3(
// PTX: mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32
// PTX-NOT: fma.rn.f32
// PTX: cvt.rn.f32.s32
// PTX: mul.rn.f32
// PTX-LABEL: .visible .entry linear_w8a8_k64_n40_nobias_warp_r1_pw(
// PTX: ld.global.v4.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xi8>) -> tensor<?x?x40xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<40x64xi8>
    %ws = arith.constant dense<0.25> : tensor<40xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<40x64xi8>, tensor<40xf32>) -> tensor<?x?x40xf32>
    return %y : tensor<?x?x40xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>) -> tensor<?x1x40xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<40x64xi8>
    %ws = arith.constant dense<0.25> : tensor<40xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x1x64xi8>, tensor<1xf32>, tensor<40x64xi8>, tensor<40xf32>) -> tensor<?x1x40xf32>
    return %y : tensor<?x1x40xf32>
  }
}

// -----

// CHECK-LABEL: gpu.module @linear_w4a8_k64_n16_g32_nobias_tiled_m128n64k64s3
// CHECK: scf.for
// CHECK: arith.andi %{{.*}}, %c983055_i32 : i32
// CHECK: llvm.intr.fma(%{{.*}}) : (vector<2xf16>, vector<2xf16>, vector<2xf16>) -> vector<2xf16>
// CHECK: nvvm.prmt
// CHECK: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 32]} : (vector<4x4xi8>, vector<2x4xi8>, vector<2x2xi32>) -> vector<2x2xi32>
// PTX-LABEL: .visible .entry linear_w4a8_k64_n16_g32_nobias_tiled_m128n64k64s3(
// PTX: fma.rn.f16x2
// PTX: mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xi8>) -> tensor<?x?x16xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<16x32xi8>
    %gs = arith.constant dense<0.125> : tensor<16x2xf32>
    %cs = arith.constant dense<0.25> : tensor<16xf32>
    %y = mamba.linear_w4a8 %x scale(%xs), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<16x32xi8>, tensor<16x2xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    return %y : tensor<?x?x16xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>) -> tensor<?x1x16xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<16x32xi8>
    %gs = arith.constant dense<0.125> : tensor<16x2xf32>
    %cs = arith.constant dense<0.25> : tensor<16xf32>
    %y = mamba.linear_w4a8 %x scale(%xs), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x1x64xi8>, tensor<1xf32>, tensor<16x32xi8>, tensor<16x2xf32>, tensor<16xf32>) -> tensor<?x1x16xf32>
    return %y : tensor<?x1x16xf32>
  }
}

// -----

// N = 20 (not a multiple of 8, as Mamba2's in_proj): cdiv(20, 8) = 3 column
// tiles; the last one loads zero weights past N and guards its stores.
// CHECK-LABEL: gpu.module @linear_w8a8_k32_n20_nobias_mma_m32n32
// CHECK: arith.cmpi ult, %{{.*}}, %{{.*}} : index
// CHECK: nvgpu.mma.sync
// PTX-LABEL: .visible .entry linear_w8a8_k32_n20_nobias_mma_m32n32(
// PTX: mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x32xi8>) -> tensor<?x?x20xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<20x32xi8>
    %ws = arith.constant dense<0.25> : tensor<20xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x?x32xi8>, tensor<1xf32>, tensor<20x32xi8>, tensor<20xf32>) -> tensor<?x?x20xf32>
    return %y : tensor<?x?x20xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x32xi8>) -> tensor<?x1x20xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<20x32xi8>
    %ws = arith.constant dense<0.25> : tensor<20xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x1x32xi8>, tensor<1xf32>, tensor<20x32xi8>, tensor<20xf32>) -> tensor<?x1x20xf32>
    return %y : tensor<?x1x20xf32>
  }
}

// -----

// An fp32 linear with f16 weights, K = 64: prefill on tf32 tensor cores.
// Each lane loads 8 x values (two 16-byte loads) and 8 f16 weights (one
// 16-byte load) per row and column; f16 widens exactly; x = hi + lo with
// each part rounded to tf32 (add 0x1000, clear the 13 low bits), two mmas
// per tile. Decode keeps the fp32 GEMV below batch 16 and takes a 16x8
// tile a warp from batch 16.
// CHECK-LABEL: \22name\22:\22decode\22
// CHECK-SAME: \22kernel\22:\22linear_k64_n32_f16w_warp_r1\22,{{.*}}\22batch\22:[1,15]
// CHECK-SAME: \22kernel\22:\22linear_k64_n32_f16w_mma_m16n8_u2\22,{{.*}}\22batch\22:[16,0]
// CHECK-LABEL: gpu.module @linear_k64_n32_f16w_mma_m32n32_u2
// CHECK: scf.for
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
// CHECK: llvm.bitcast %{{.*}} : i32 to vector<2xf16>
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.addi %{{.*}}, %c4096_i32 : i32
// CHECK: arith.andi %{{.*}}, %c-8192_i32 : i32
// CHECK: arith.subf
// CHECK: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 8], tf32Enabled} : (vector<4x1xf32>, vector<2x1xf32>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 8], tf32Enabled}
// CHECK-LABEL: gpu.module @linear_k64_n32_f16w_warp_r1
// CHECK-LABEL: gpu.module @linear_k64_n32_f16w_mma_m16n8_u2
// CHECK: nvgpu.mma.sync
// PTX-LABEL: .visible .entry linear_k64_n32_f16w_mma_m32n32_u2(
// PTX: ld.global.v4.b32
// PTX: mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>, %w: tensor<32x64xf16>) -> tensor<?x?x32xf32> {
    %y = mamba.linear %x, %w : (tensor<?x?x64xf32>, tensor<32x64xf16>) -> tensor<?x?x32xf32>
    return %y : tensor<?x?x32xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>, %w: tensor<32x64xf16>) -> tensor<?x1x32xf32> {
    %y = mamba.linear %x, %w : (tensor<?x1x64xf32>, tensor<32x64xf16>) -> tensor<?x1x32xf32>
    return %y : tensor<?x1x32xf32>
  }
}

// -----

// Batched decode with K = 512 (f16 weights): a block's 4 warps share one
// 16x8 tile and each sums a quarter of K (4 steps' loads in flight), then
// warp 0 adds the 4 partial sums in warp order from shared memory and
// stores; prefill keeps 32x32 tiles a warp.
// CHECK-LABEL: \22name\22:\22decode\22
// CHECK-SAME: \22kernel\22:\22linear_k512_n24_f16w_mma_m16n8_k4_u4\22,{{.*}}\22grid\22:[\22cdiv(cdiv(B,16)*384,128)\22
// CHECK-LABEL: gpu.module @linear_k512_n24_f16w_mma_m16n8_k4_u4
// CHECK: llvm.mlir.global internal @k_partials() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<512 x f32>
// CHECK: scf.for
// CHECK-COUNT-8: nvgpu.mma.sync
// CHECK: gpu.barrier
// CHECK: arith.addf
// CHECK: arith.addf
// CHECK: arith.addf
// PTX-LABEL: .visible .entry linear_k512_n24_f16w_mma_m16n8_k4_u4(
// PTX: mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
// PTX: bar.sync
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x512xf32>, %w: tensor<24x512xf16>) -> tensor<?x?x24xf32> {
    %y = mamba.linear %x, %w : (tensor<?x?x512xf32>, tensor<24x512xf16>) -> tensor<?x?x24xf32>
    return %y : tensor<?x?x24xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x512xf32>, %w: tensor<24x512xf16>) -> tensor<?x1x24xf32> {
    %y = mamba.linear %x, %w : (tensor<?x1x512xf32>, tensor<24x512xf16>) -> tensor<?x1x24xf32>
    return %y : tensor<?x1x24xf32>
  }
}
