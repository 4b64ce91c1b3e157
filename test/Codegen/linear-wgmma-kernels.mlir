// quamba-convert-mamba-to-gpu on sm_90a (the default target): prefill's
// W8A8 and W4A8 linears with K a multiple of 128 take the Hopper warpgroup
// GEMM (LinearWgmma.cpp): two warpgroups (256 threads, 8 warps) a block of
// 128 rows x blockN columns (blockN 256 where N >= 256, 128 where N >= 128,
// else 64), 4 stages of 128-byte-swizzled tiles in 1024-aligned dynamic
// shared memory staged by 16-byte cp.asyncs and fenced into the async
// proxy, four wgmma.mma_async m64nNk32 s8 x s8 -> s32 a 128-element K tile
// read straight from shared memory, and the sums leaving through a shared
// tile (LinearTiled.h's epilogue). Everything else keeps its kernel: K not
// a multiple of 128, sm_80, and decode (rows = B).
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 \
// RUN:   | FileCheck %s --check-prefix=SM80

// W8A8, K = 256 (two K tiles), N = 8200: blockN 256, cdiv(8200, 256) = 33
// column tiles (the last one partial: weight rows clamped to 8199, the
// epilogue's column runs guarded by 8200), grid cdiv(cdiv(B*L, 128) * 33 *
// 256, 256). Dynamic shared bytes: max(4 stages x (128 x 128 bytes of x +
// 256 x 128 of w) + 0 decoded, the epilogue tile 128 x (256 x 4 + 32)) =
// max(4 x 49152, 135168) = 196608. A thread copies 12 16-byte pieces a
// tile (4 of x, 8 of w). The loop: tile kt's four wgmmas, commit, wait
// until at most one wgmma group (kt's) is in flight, then, if there is a
// tile kt+1, wait for its copies, fence, barrier, refill kt-1's stage; all
// wgmmas retired after the loop.
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w8a8_k256_n8200_nobias_wgmma_m128n256s4\22,\22num_warps\22:8,\22shared\22:196608,
// CHECK-SAME: \22name\22:\22prefill\22
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k256_n8200_nobias_wgmma_m128n256s4\22,{{.*}}\22scalars\22:[\22B*L\22]{{.*}}\22grid\22:[\22cdiv(cdiv(B*L,128)*8448,256)\22,1,1],\22block\22:[256,1,1],\22shared\22:196608}
// CHECK-LABEL: gpu.module @linear_w8a8_k256_n8200_nobias_wgmma_m128n256s4
// CHECK: llvm.mlir.global external @dynamic_shared() {addr_space = 3 : i32, alignment = 1024 : i64} : !llvm.array<0 x i8>
// CHECK: gpu.func @linear_w8a8_k256_n8200_nobias_wgmma_m128n256s4
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>, quamba.dynamic_shared_bytes = 196608 : i64
// CHECK: arith.minui %{{.*}}, %c8199{{(_[0-9]+)?}} : index
// The prologue: tiles 0 and 1, then an empty group (there is no tile 2).
// CHECK-COUNT-12: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache =  cg : !llvm.ptr<3>, !llvm.ptr<1>
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK-COUNT-12: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache =  cg : !llvm.ptr<3>, !llvm.ptr<1>
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.wait.group 2
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (!llvm.struct<(i32,
// The descriptors' high bits: 128-byte swizzle (1 << 62), stride byte
// offset 1024 >> 4 (64 << 32), leading byte offset 1 (1 << 16).
// CHECK: arith.constant 4611686293305360384 : i64
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %{{.*}}, <m = 64, n = 256, k = 32>, D[<s32>, <one>], A[<s8>, <one>, <row>], B[<s8>, <one>, <col>] : !llvm.struct<(i32,
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: scf.if
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK: scf.if
// CHECK-COUNT-12: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache =  cg : !llvm.ptr<3>, !llvm.ptr<1>
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// The epilogue: a thread parks its 128 accumulators as 64 pairs, then owns
// a run of four columns (scales loaded once) and walks the rows: one
// 16-byte shared load and one 16-byte store a row.
// CHECK-COUNT-64: llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : vector<2xi32>, !llvm.ptr<3>
// CHECK-NEXT: gpu.barrier
// CHECK: arith.cmpi ult, %{{.*}}, %c8200{{(_[0-9]+)?}} : index
// CHECK-COUNT-4: llvm.load %{{.*}} invariant : !llvm.ptr<1> -> f32
// CHECK: scf.for
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xi32>
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 16 : i64} : vector<4xf32>, !llvm.ptr<1>
// PTX: .extern .shared .align 1024 .b8 dynamic_shared[];
// PTX-LABEL: .visible .entry linear_w8a8_k256_n8200_nobias_wgmma_m128n256s4(
// PTX: .maxntid 256, 1, 1
// The basic blocks' order is the backend's: the pieces in any order.
// PTX-DAG: cp.async.cg.shared.global
// PTX-DAG: fence.proxy.async.shared::cta;
// PTX-DAG: wgmma.fence.sync.aligned;
// PTX-DAG: wgmma.mma_async.sync.aligned.m64n256k32.s32.s8.s8 {
// PTX-DAG: wgmma.commit_group.sync.aligned;
// PTX-DAG: wgmma.wait_group.sync.aligned \091;
// PTX-DAG: wgmma.wait_group.sync.aligned \090;
// PTX-DAG: ld.shared.v4.b32
// PTX-DAG: st.global.v4.b32
// PTX-LABEL: .visible .entry argmax_v8200(
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x256xi8>) -> tensor<?x?x8200xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<8200x256xi8>
    %ws = arith.constant dense<0.25> : tensor<8200xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x?x256xi8>, tensor<1xf32>, tensor<8200x256xi8>, tensor<8200xf32>) -> tensor<?x?x8200xf32>
    return %y : tensor<?x?x8200xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>) -> tensor<?x1x64xi8> {
    return %x : tensor<?x1x64xi8>
  }
}

// -----

// W4A8, K = 256, group 128, N = 512: 256 x 128 blocks (two m64 slabs a
// warpgroup: the decode, once per row tile, costs half as much a MAC).
// Packed int4 rows (64 bytes a K tile) are staged dense and the block
// decodes them (the group's 16-entry table, fma.rn.f16x2 + prmt) into one
// of two swizzled int8 tiles after the 1024-aligned ring; the wgmmas read
// the decoded tile. Dynamic shared bytes: max(4 stages x (256 x 128 + 128
// x 64) + 2 decoded x 128 x 128, 256 x (128 x 4 + 32)) = max(163840 +
// 32768, 139264) = 196608. Tile 0 is decoded before the loop; in the loop
// tile kt+1 is decoded while tile kt's wgmmas run, a second barrier (after
// a fence) publishing it: two barriers an iteration. The group scales are
// loaded a tile ahead of their decode (carried by the loop).
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w4a8_k256_n512_g128_nobias_wgmma_m256n128s4\22,\22num_warps\22:8,\22shared\22:196608,
// CHECK-SAME: \22kernel\22:\22linear_w4a8_k256_n512_g128_nobias_wgmma_m256n128s4\22,{{.*}}\22grid\22:[\22cdiv(cdiv(B*L,256)*1024,256)\22,1,1],\22block\22:[256,1,1],\22shared\22:196608}
// CHECK-LABEL: gpu.module @linear_w4a8_k256_n512_g128_nobias_wgmma_m256n128s4
// CHECK: gpu.func @linear_w4a8_k256_n512_g128_nobias_wgmma_m256n128s4
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>, quamba.dynamic_shared_bytes = 196608 : i64
// A tile is 10 pieces a thread: 8 of x (256 x 128 bytes), 2 of packed w
// (128 x 64 bytes).
// CHECK-COUNT-10: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache =  cg : !llvm.ptr<3>, !llvm.ptr<1>
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.wait.group 2
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: llvm.intr.fma(%{{.*}}) : (vector<2xf16>, vector<2xf16>, vector<2xf16>) -> vector<2xf16>
// CHECK: nvvm.prmt
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 16 : i64} : vector<4xi32>, !llvm.ptr<3>
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// Tile 1's scale, then the loop carrying it after the two slabs' sums.
// CHECK: %[[SCALE:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[ZERO:.*]], %{{.*}} = %[[ZERO]], %{{.*}} = %[[SCALE]])
// The decoded tiles follow the 4 stages of 40960 bytes.
// CHECK: arith.constant 163840 : index
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-8: nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %{{.*}}, <m = 64, n = 128, k = 32>, D[<s32>, <one>], A[<s8>, <one>, <row>], B[<s8>, <one>, <col>]
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK: scf.if
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.cp.async.commit.group
// CHECK-NOT: gpu.barrier
// CHECK: llvm.intr.fma(%{{.*}}) : (vector<2xf16>, vector<2xf16>, vector<2xf16>) -> vector<2xf16>
// CHECK-NOT: gpu.barrier
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 16 : i64} : vector<4xi32>, !llvm.ptr<3>
// CHECK-NOT: gpu.barrier
// CHECK: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: }
// The scale of tile kt+2, after tile kt+1's decode.
// CHECK-NOT: gpu.barrier
// CHECK: llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// PTX-LABEL: .visible .entry linear_w4a8_k256_n512_g128_nobias_wgmma_m256n128s4(
// PTX: .maxntid 256, 1, 1
// PTX-DAG: fma.rn.f16x2
// PTX-DAG: prmt.b32
// PTX-DAG: st.shared.v4.b32
// PTX-DAG: wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 {
// PTX-LABEL: .visible .entry argmax_v512(
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x256xi8>) -> tensor<?x?x512xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<512x128xi8>
    %gs = arith.constant dense<0.125> : tensor<512x2xf32>
    %cs = arith.constant dense<0.25> : tensor<512xf32>
    %y = mamba.linear_w4a8 %x scale(%xs), %w group_scales(%gs) channel_scales(%cs) {group_size = 128 : i64} : (tensor<?x?x256xi8>, tensor<1xf32>, tensor<512x128xi8>, tensor<512x2xf32>, tensor<512xf32>) -> tensor<?x?x512xf32>
    return %y : tensor<?x?x512xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>) -> tensor<?x1x64xi8> {
    return %x : tensor<?x1x64xi8>
  }
}

// -----

// N = 64 (below 128): 64-column tiles, wgmma m64n64k32; one column tile,
// grid cdiv(cdiv(B*L, 128) * 256, 256); max(4 x (128 x 128 + 64 x 128),
// 128 x (64 x 4 + 32)) = max(98304, 36864) = 98304 shared bytes.
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w8a8_k256_n64_nobias_wgmma_m128n64s4\22,\22num_warps\22:8,\22shared\22:98304,
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k256_n64_nobias_wgmma_m128n64s4\22,{{.*}}\22grid\22:[\22cdiv(cdiv(B*L,128)*256,256)\22,1,1],\22block\22:[256,1,1],\22shared\22:98304}
// CHECK-LABEL: gpu.module @linear_w8a8_k256_n64_nobias_wgmma_m128n64s4
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %{{.*}}, <m = 64, n = 64, k = 32>, D[<s32>, <one>], A[<s8>, <one>, <row>], B[<s8>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// PTX-LABEL: .visible .entry linear_w8a8_k256_n64_nobias_wgmma_m128n64s4(
// PTX: wgmma.mma_async.sync.aligned.m64n64k32.s32.s8.s8 {
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x256xi8>) -> tensor<?x?x64xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<64x256xi8>
    %ws = arith.constant dense<0.25> : tensor<64xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x?x256xi8>, tensor<1xf32>, tensor<64x256xi8>, tensor<64xf32>) -> tensor<?x?x64xf32>
    return %y : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>) -> tensor<?x1x64xi8> {
    return %x : tensor<?x1x64xi8>
  }
}

// -----

// N = 200 (128 <= N < 256): 128-column tiles, wgmma m64n128k32; two column
// tiles, grid cdiv(cdiv(B*L, 128) * 512, 256); max(4 x (128 x 128 + 128 x
// 128), 128 x (128 x 4 + 32)) = max(131072, 69632) = 131072 shared bytes.
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w8a8_k256_n200_nobias_wgmma_m128n128s4\22,\22num_warps\22:8,\22shared\22:131072,
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k256_n200_nobias_wgmma_m128n128s4\22,{{.*}}\22grid\22:[\22cdiv(cdiv(B*L,128)*512,256)\22,1,1],\22block\22:[256,1,1],\22shared\22:131072}
// CHECK-LABEL: gpu.module @linear_w8a8_k256_n200_nobias_wgmma_m128n128s4
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async %{{.*}}, %{{.*}}, %{{.*}}, <m = 64, n = 128, k = 32>, D[<s32>, <one>], A[<s8>, <one>, <row>], B[<s8>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// PTX-LABEL: .visible .entry linear_w8a8_k256_n200_nobias_wgmma_m128n128s4(
// PTX: wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 {
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x256xi8>) -> tensor<?x?x200xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<200x256xi8>
    %ws = arith.constant dense<0.25> : tensor<200xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x?x256xi8>, tensor<1xf32>, tensor<200x256xi8>, tensor<200xf32>) -> tensor<?x?x200xf32>
    return %y : tensor<?x?x200xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>) -> tensor<?x1x64xi8> {
    return %x : tensor<?x1x64xi8>
  }
}

// -----

// N = 130, not a multiple of 4: the epilogue walks single columns (one
// scale a thread; one 4-byte shared load and one 4-byte store a row), no
// 16-byte runs.
// CHECK-LABEL: gpu.module @linear_w8a8_k256_n130_nobias_wgmma_m128n128s4
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : vector<2xi32>, !llvm.ptr<3>
// CHECK: gpu.barrier
// CHECK-NOT: vector<4x
// CHECK: llvm.load %{{.*}} invariant : !llvm.ptr<1> -> f32
// CHECK-NOT: invariant
// CHECK: scf.for
// CHECK: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<3> -> vector<1xi32>
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : vector<1xf32>, !llvm.ptr<1>
// CHECK-NOT: vector<4x
// CHECK: gpu.return
// PTX-LABEL: .visible .entry linear_w8a8_k256_n130_nobias_wgmma_m128n128s4(
// PTX-NOT: ld.shared.v4
// PTX-NOT: st.global.v4
// PTX-LABEL: .visible .entry argmax_v130(
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x256xi8>) -> tensor<?x?x130xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<130x256xi8>
    %ws = arith.constant dense<0.25> : tensor<130xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x?x256xi8>, tensor<1xf32>, tensor<130x256xi8>, tensor<130xf32>) -> tensor<?x?x130xf32>
    return %y : tensor<?x?x130xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>) -> tensor<?x1x64xi8> {
    return %x : tensor<?x1x64xi8>
  }
}

// -----

// K = 64, not a multiple of 128: no warpgroup kernel even on sm_90a; the
// mma.sync tiled kernel (64-element K tiles) as on sm_80.
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w8a8_k64_n64_nobias_tiled_m128n64k64s3\22,\22num_warps\22:4,\22shared\22:36864,
// CHECK-NOT: wgmma
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k64_n64_nobias_tiled_m128n64k64s3\22,{{.*}}\22grid\22:[\22cdiv(cdiv(B*L,128)*128,128)\22,1,1],\22block\22:[128,1,1],\22shared\22:36864}
// CHECK-LABEL: gpu.module @linear_w8a8_k64_n64_nobias_tiled_m128n64k64s3
// CHECK-NOT: wgmma
// CHECK: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 32]} : (vector<4x4xi8>, vector<2x4xi8>, vector<2x2xi32>) -> vector<2x2xi32>
// CHECK-NOT: wgmma
// PTX-LABEL: .visible .entry linear_w8a8_k64_n64_nobias_tiled_m128n64k64s3(
// PTX: .maxntid 128, 1, 1
// PTX-NOT: wgmma
// PTX: mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32
// PTX-NOT: wgmma
// PTX-LABEL: .visible .entry argmax_v64(
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xi8>) -> tensor<?x?x64xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<64x64xi8>
    %ws = arith.constant dense<0.25> : tensor<64xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<64x64xi8>, tensor<64xf32>) -> tensor<?x?x64xf32>
    return %y : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>) -> tensor<?x1x64xi8> {
    return %x : tensor<?x1x64xi8>
  }
}

// -----

// The target picks the kernel: K = 256, N = 96 takes the warpgroup kernel
// on sm_90a but the mma.sync tiled kernel on sm_80, where no case of this
// file emits a wgmma.
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w8a8_k256_n96_nobias_wgmma_m128n64s4\22,
// SM80-NOT: wgmma
// SM80: \22kernels\22:[{\22name\22:\22linear_w8a8_k256_n96_nobias_tiled_m128n64k64s3\22,\22num_warps\22:4,\22shared\22:36864,
// SM80-SAME: \22kernel\22:\22linear_w8a8_k256_n96_nobias_tiled_m128n64k64s3\22,{{.*}}\22grid\22:[\22cdiv(cdiv(B*L,128)*256,128)\22,1,1],\22block\22:[128,1,1],\22shared\22:36864}
// SM80-NOT: wgmma
// SM80: gpu.module @linear_w8a8_k256_n96_nobias_tiled_m128n64k64s3
// SM80-NOT: wgmma
// SM80: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 32]}
// SM80-NOT: wgmma
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x256xi8>) -> tensor<?x?x96xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<96x256xi8>
    %ws = arith.constant dense<0.25> : tensor<96xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x?x256xi8>, tensor<1xf32>, tensor<96x256xi8>, tensor<96xf32>) -> tensor<?x?x96xf32>
    return %y : tensor<?x?x96xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>) -> tensor<?x1x64xi8> {
    return %x : tensor<?x1x64xi8>
  }
}

// -----

// Decode (rows = B) never takes the warpgroup kernel, though the same
// linear does in prefill: the warp GEMV below batch 16, the mma kernel
// from 16.
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w8a8_k256_n1024_nobias_wgmma_m128n256s4\22,
// CHECK-SAME: \22name\22:\22prefill\22
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k256_n1024_nobias_wgmma_m128n256s4\22
// CHECK-SAME: \22name\22:\22decode\22
// CHECK-NOT: wgmma
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k256_n1024_nobias_warp_r1_pw\22,{{.*}}\22batch\22:[1,15]}
// CHECK-NOT: wgmma
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k256_n1024_nobias_mma_m16n8_k4\22,{{.*}}\22batch\22:[16,0]}]
// CHECK-NOT: wgmma
// CHECK-SAME: \22kernel\22:\22sample_v1024\22
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x256xi8>) -> tensor<?x?x1024xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<1024x256xi8>
    %ws = arith.constant dense<0.25> : tensor<1024xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x?x256xi8>, tensor<1xf32>, tensor<1024x256xi8>, tensor<1024xf32>) -> tensor<?x?x1024xf32>
    return %y : tensor<?x?x1024xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x256xi8>) -> tensor<?x1x1024xf32> {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<1024x256xi8>
    %ws = arith.constant dense<0.25> : tensor<1024xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x1x256xi8>, tensor<1xf32>, tensor<1024x256xi8>, tensor<1024xf32>) -> tensor<?x1x1024xf32>
    return %y : tensor<?x1x1024xf32>
  }
}
