// quamba-convert-mamba-to-gpu: prefill's W8A8, W4A8 and f16-weight linears
// take the shared-memory tiled tensor-core kernel (LinearTiled.cpp) where K
// divides into tiles (64 int8 / 32 fp32 elements): each thread cp.asyncs
// 16-byte pieces of the block's x rows and weight rows into a 3-stage ring
// of the block's dynamic shared memory, the warps mma on the landed tile,
// and the sums leave through a shared-memory tile so that the per-element
// epilogue walks consecutive columns. On sm_90a these linears take the
// warpgroup kernel instead (linear-wgmma-kernels.mlir): sm_80 here.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 \
// RUN:   --quamba-kernels-to-ptx=chip=sm_80 | FileCheck %s --check-prefix=PTX

// 128 x 64 blocks of 4 warps (2 x 2 warps of 64 x 32 outputs),
// cdiv(8200, 64) = 129 column tiles a row tile, the last one partial. The
// plan carries the dynamic shared bytes: max(3 stages x (128 x 64 + 64 x
// 64), the epilogue tile 128 x (64 x 4 + 32)) = 36864.
// CHECK: \22kernels\22:[{\22name\22:\22linear_w8a8_k128_n8200_nobias_tiled_m128n64k64s3\22,\22num_warps\22:4,\22shared\22:36864
// CHECK-SAME: \22name\22:\22prefill\22
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k128_n8200_nobias_tiled_m128n64k64s3\22,{{.*}}\22grid\22:[\22cdiv(cdiv(B*L,128)*16512,128)\22,1,1],\22block\22:[128,1,1],\22shared\22:36864
// CHECK-LABEL: gpu.module @linear_w8a8_k128_n8200_nobias_tiled_m128n64k64s3
// CHECK: llvm.mlir.global external @dynamic_shared() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// CHECK: gpu.func @linear_w8a8_k128_n8200_nobias_tiled_m128n64k64s3
// CHECK-SAME: quamba.dynamic_shared_bytes = 36864 : i64
// The prologue: tiles 0 and 1 in flight, a group each.
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache =  cg : !llvm.ptr<3>, !llvm.ptr<1>
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.commit.group
// The loop: wait for tile kt, barrier, refill the stage of tile kt - 1,
// then the mmas of tile kt from shared memory.
// CHECK: scf.for
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// CHECK: scf.if
// CHECK: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xi32>
// CHECK: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 32]} : (vector<4x4xi8>, vector<2x4xi8>, vector<2x2xi32>) -> vector<2x2xi32>
// CHECK: nvvm.cp.async.wait.group 0
// The epilogue: sums parked in shared memory; each thread then owns a run
// of four columns (their scales loaded once, before the walk) and walks
// the tile's rows: one 16-byte shared load and one 16-byte store a row.
// CHECK: gpu.barrier
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : vector<2xi32>, !llvm.ptr<3>
// CHECK: gpu.barrier
// CHECK-COUNT-4: llvm.load %{{.*}} invariant : !llvm.ptr<1> -> f32
// CHECK: scf.for
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xi32>
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 16 : i64} : vector<4xf32>, !llvm.ptr<1>
// PTX: .extern .shared .align 16 .b8 dynamic_shared[];
// PTX-LABEL: .visible .entry linear_w8a8_k128_n8200_nobias_tiled_m128n64k64s3(
// PTX: .maxntid 128, 1, 1
// The basic blocks' order is the backend's: the pieces in any order.
// PTX-DAG: cp.async.cg.shared.global
// PTX-DAG: cp.async.commit_group;
// PTX-DAG: cp.async.wait_group{{[^;]*}}1;
// PTX-DAG: bar.sync
// PTX-DAG: ld.shared.v4.b32
// PTX-DAG: mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32
// PTX-DAG: cp.async.wait_group{{[^;]*}}0;
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x128xi8>) -> tensor<?x?x8200xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<8200x128xi8>
    %ws = arith.constant dense<0.25> : tensor<8200xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x?x128xi8>, tensor<1xf32>, tensor<8200x128xi8>, tensor<8200xf32>) -> tensor<?x?x8200xf32>
    return %y : tensor<?x?x8200xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>) -> tensor<?x1x64xi8> {
    return %x : tensor<?x1x64xi8>
  }
}

// -----

// W4A8, group 128: packed int4 rows (32 bytes a 64-element tile) are
// staged; after the tile's barrier each thread decodes half a row (16 bytes,
// 32 codes of one group, with that group's scale) into the block's int8
// tile, a second barrier, then the warps read int8 words as W8A8's.
// CHECK-LABEL: gpu.module @linear_w4a8_k256_n64_g128_nobias_tiled_m128n64k64s3
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: gpu.barrier
// CHECK: arith.divui %{{.*}}, %c128{{.*}} : index
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xi32>
// CHECK: llvm.intr.fma(%{{.*}}) : (vector<2xf16>, vector<2xf16>, vector<2xf16>) -> vector<2xf16>
// CHECK: nvvm.prmt
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 16 : i64} : vector<4xi32>, !llvm.ptr<3>
// CHECK: gpu.barrier
// CHECK-NOT: llvm.intr.fma
// CHECK: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 32]}
// PTX-LABEL: .visible .entry linear_w4a8_k256_n64_g128_nobias_tiled_m128n64k64s3(
// PTX: .maxntid 128, 1, 1
// PTX: fma.rn.f16x2
// PTX: st.shared.v4.b32
// PTX: bar.sync
// PTX: mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x256xi8>) -> tensor<?x?x64xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<64x128xi8>
    %gs = arith.constant dense<0.125> : tensor<64x2xf32>
    %cs = arith.constant dense<0.25> : tensor<64xf32>
    %y = mamba.linear_w4a8 %x scale(%xs), %w group_scales(%gs) channel_scales(%cs) {group_size = 128 : i64} : (tensor<?x?x256xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64x2xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    return %y : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>) -> tensor<?x1x64xi8> {
    return %x : tensor<?x1x64xi8>
  }
}

// -----

// K = 96 is no whole number of 64-element tiles: prefill keeps the
// register mma kernel (Linear.cpp).
// CHECK-LABEL: \22name\22:\22prefill\22
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k96_n16_nobias_mma_m32n32\22
// CHECK-NOT: tiled
// CHECK-LABEL: gpu.module @linear_w8a8_k96_n16_nobias_mma_m32n32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x96xi8>) -> tensor<?x?x16xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<16x96xi8>
    %ws = arith.constant dense<0.25> : tensor<16xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x?x96xi8>, tensor<1xf32>, tensor<16x96xi8>, tensor<16xf32>) -> tensor<?x?x16xf32>
    return %y : tensor<?x?x16xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x96xi8>) -> tensor<?x1x96xi8> {
    return %x : tensor<?x1x96xi8>
  }
}
