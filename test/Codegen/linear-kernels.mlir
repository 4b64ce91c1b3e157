// quamba-convert-mamba-to-gpu: linear, linear_bias and the quantized linear
// layers (w8a8, w4a8, w4a16). A weight row that splits into 16-byte chunks
// (and, for int4, groups of whole chunks) gets the "warp" kernel: one warp
// per output column and block of R rows (R = 16 in prefill, 1 in decode; 4 columns a warp in decode where N / 4 >= 2048: "_c4":
// "_warp_r16", "_warp_r1"), 16-byte vector loads, xor-shuffle reductions,
// grid cdiv(cdiv(rows, R) * N * 32, 128); any other shape the "thread" kernel: one thread
// per output element, grid cdiv(rows * N, 128). Kernels are named by op, K,
// N, group size and has_bias. The integer paths accumulate in int32 and end
// with the reference's unfused fp32 epilogue: t = xs * ws[n] (mul.rn),
// float(acc) (cvt.rn.f32.s32), y = acc * t (mul.rn), y + bias[n] (add.rn,
// only with a bias), with no fma.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 --quamba-kernels-to-ptx=chip=sm_80 \
// RUN:   | FileCheck %s --check-prefix=PTX80

// fp32 linear, K = 64: warp kernel, 16-byte loads, shuffle reduction.
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_k64_n32_warp_r16\22,\22num_warps\22:4,\22shared\22:0,\22signature\22:[\22*fp32\22,\22*fp32\22,\22*fp32\22,\22i32\22],\22awaits_predecessor\22:true}
// CHECK-SAME: \22kernel\22:\22linear_k64_n32_warp_r16\22,{{.*}}\22scalars\22:[\22B*L\22]{{.*}}\22grid\22:[\22cdiv(cdiv(B*L,16)*1024,128)\22,1,1],\22block\22:[128,1,1]
// CHECK-SAME: \22kernel\22:\22linear_k64_n32_warp_r1\22,{{.*}}\22scalars\22:[\22B\22]{{.*}}\22grid\22:[\22cdiv(B*1024,128)\22,1,1],\22block\22:[128,1,1]
// CHECK: gpu.module @linear_k64_n32_warp_r1 {
// CHECK: gpu.func @linear_k64_n32_warp_r1(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: gpu.shuffle  xor
// PTX-LABEL: .visible .entry linear_k64_n32_warp_r1(
// PTX80-LABEL: .visible .entry linear_k64_n32_warp_r1(
// PTX: ld.global.v4.b32
// PTX: shfl.sync.bfly.b32
// PTX80: ld.global.v4.b32
// PTX80: shfl.sync.bfly.b32
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

// -----

// fp32 linear with a bias, K = 6 (not a whole chunk): thread kernel.
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_bias_k6_n8_thread\22,\22num_warps\22:4,\22shared\22:0,\22signature\22:[\22*fp32\22,\22*fp32\22,\22*fp32\22,\22*fp32\22,\22i32\22],\22awaits_predecessor\22:true}
// CHECK-SAME: \22kernel\22:\22linear_bias_k6_n8_thread\22,{{.*}}\22scalars\22:[\22B*L\22]{{.*}}\22grid\22:[\22cdiv(B*L*8,128)\22,1,1],\22block\22:[128,1,1]
// CHECK-SAME: \22kernel\22:\22linear_bias_k6_n8_thread\22,{{.*}}\22scalars\22:[\22B\22]{{.*}}\22grid\22:[\22cdiv(B*8,128)\22,1,1],\22block\22:[128,1,1]
// CHECK: gpu.module @linear_bias_k6_n8_thread {
// CHECK: gpu.func @linear_bias_k6_n8_thread(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: scf.for
// CHECK: arith.addf
// PTX-LABEL: .visible .entry linear_bias_k6_n8_thread(
// PTX80-LABEL: .visible .entry linear_bias_k6_n8_thread(
// PTX: ld.global.b32
// PTX: add.rn.f32
// PTX: st.global.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x6xf32>, %w: tensor<8x6xf32>, %b: tensor<8xf32>) -> tensor<?x?x8xf32> {
    %y = mamba.linear %x, %w bias(%b) : (tensor<?x?x6xf32>, tensor<8x6xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    return %y : tensor<?x?x8xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x6xf32>, %w: tensor<8x6xf32>, %b: tensor<8xf32>) -> tensor<?x1x8xf32> {
    %y = mamba.linear %x, %w bias(%b) : (tensor<?x1x6xf32>, tensor<8x6xf32>, tensor<8xf32>) -> tensor<?x1x8xf32>
    return %y : tensor<?x1x8xf32>
  }
}

// -----

// w8a8 with a bias, K = 128: decode (rows = B) on the warp kernel (prefill
// takes the tensor-core kernel, linear-mma-kernels.mlir); int32 accumulation,
// then the unfused epilogue t = xs * ws (mul.rn), y = float(acc) * t, y + bias.
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w8a8_k128_n64_bias_wgmma_m128n64s4\22,{{.*}}{\22name\22:\22linear_w8a8_k128_n64_bias_warp_r1\22,\22num_warps\22:4,\22shared\22:0,\22signature\22:[\22*i8\22,\22*fp32\22,\22*i8\22,\22*fp32\22,\22*fp32\22,\22*fp32\22,\22i32\22],\22awaits_predecessor\22:true}
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k128_n64_bias_wgmma_m128n64s4\22,{{.*}}\22scalars\22:[\22B*L\22]{{.*}}\22grid\22:[\22cdiv(cdiv(B*L,128)*256,256)\22,1,1],\22block\22:[256,1,1]
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k128_n64_bias_warp_r1\22,{{.*}}\22scalars\22:[\22B\22]{{.*}}\22grid\22:[\22cdiv(B*2048,128)\22,1,1],\22block\22:[128,1,1]
// CHECK: gpu.module @linear_w8a8_k128_n64_bias_warp_r1 {
// CHECK: gpu.func @linear_w8a8_k128_n64_bias_warp_r1(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<16xi8>
// CHECK: nvvm.dot.accumulate.4way %{{.*}} <signed>, %{{.*}} <signed>, %{{.*}} : vector<4xi8>, vector<4xi8>
// CHECK: gpu.shuffle  xor %{{.*}} : i32
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: arith.mulf
// CHECK-NOT: fastmath
// CHECK: arith.addf
// PTX-LABEL: .visible .entry linear_w8a8_k128_n64_bias_warp_r1(
// PTX80-LABEL: .visible .entry linear_w8a8_k128_n64_bias_warp_r1(
// PTX: ld.global.v4.b32
// PTX: dp4a.s32.s32
// PTX: shfl.sync.bfly.b32
// PTX: mul.rn.f32 \09[[TPTX:%r[0-9]+]], %r{{[0-9]+}}, %r{{[0-9]+}};
// PTX-NOT: fma
// PTX: cvt.rn.f32.s32 \09[[APTX:%r[0-9]+]], %r{{[0-9]+}};
// PTX-NOT: fma
// PTX: mul.rn.f32 \09[[YPTX:%r[0-9]+]], [[TPTX]], [[APTX]];
// PTX-NOT: fma
// PTX: add.rn.f32 \09[[OPTX:%r[0-9]+]], %r{{[0-9]+}}, [[YPTX]];
// PTX-NOT: fma
// PTX: st.global.b32 \09[%rd{{[0-9]+}}], [[OPTX]];
// PTX80: ld.global.v4.b32
// PTX80: shfl.sync.bfly.b32
// PTX80: mul.rn.f32 \09[[TPTX80:%r[0-9]+]], %r{{[0-9]+}}, %r{{[0-9]+}};
// PTX80-NOT: fma
// PTX80: cvt.rn.f32.s32 \09[[APTX80:%r[0-9]+]], %r{{[0-9]+}};
// PTX80-NOT: fma
// PTX80: mul.rn.f32 \09[[YPTX80:%r[0-9]+]], [[TPTX80]], [[APTX80]];
// PTX80-NOT: fma
// PTX80: add.rn.f32 \09[[OPTX80:%r[0-9]+]], %r{{[0-9]+}}, [[YPTX80]];
// PTX80-NOT: fma
// PTX80: st.global.b32 \09[%rd{{[0-9]+}}], [[OPTX80]];
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

// w8a8 without a bias, K = 24: thread kernel; the epilogue has no add.
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w8a8_k24_n16_nobias_thread\22,\22num_warps\22:4,\22shared\22:0,\22signature\22:[\22*i8\22,\22*fp32\22,\22*i8\22,\22*fp32\22,\22*fp32\22,\22*fp32\22,\22i32\22],\22awaits_predecessor\22:true}
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k24_n16_nobias_thread\22,{{.*}}\22scalars\22:[\22B*L\22]{{.*}}\22grid\22:[\22cdiv(B*L*16,128)\22,1,1],\22block\22:[128,1,1]
// CHECK-SAME: \22kernel\22:\22linear_w8a8_k24_n16_nobias_thread\22,{{.*}}\22scalars\22:[\22B\22]{{.*}}\22grid\22:[\22cdiv(B*16,128)\22,1,1],\22block\22:[128,1,1]
// CHECK: gpu.module @linear_w8a8_k24_n16_nobias_thread {
// CHECK: gpu.func @linear_w8a8_k24_n16_nobias_thread(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: scf.for
// CHECK: arith.muli %{{.*}} : i32
// CHECK: arith.addi %{{.*}} : i32
// CHECK: arith.sitofp
// CHECK-NOT: arith.addf
// CHECK: gpu.return
// PTX-LABEL: .visible .entry linear_w8a8_k24_n16_nobias_thread(
// PTX80-LABEL: .visible .entry linear_w8a8_k24_n16_nobias_thread(
// PTX: ld.global.s8
// PTX: mul.wide.s16
// PTX: add.s32
// PTX: mul.rn.f32 \09[[TPTX:%r[0-9]+]],
// PTX: cvt.rn.f32.s32 \09[[APTX:%r[0-9]+]],
// PTX: mul.rn.f32 \09[[YPTX:%r[0-9]+]], [[TPTX]], [[APTX]];
// PTX-NOT: add.rn.f32
// PTX: st.global.b32 \09[%rd{{[0-9]+}}], [[YPTX]];
// PTX80: ld.global.s8
// PTX80: mul.wide.s16
// PTX80: add.s32
// PTX80: mul.rn.f32 \09[[TPTX80:%r[0-9]+]],
// PTX80: cvt.rn.f32.s32 \09[[APTX80:%r[0-9]+]],
// PTX80: mul.rn.f32 \09[[YPTX80:%r[0-9]+]], [[TPTX80]], [[APTX80]];
// PTX80-NOT: add.rn.f32
// PTX80: st.global.b32 \09[%rd{{[0-9]+}}], [[YPTX80]];
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x24xi8>, %xs: tensor<1xf32>, %w: tensor<16x24xi8>, %ws: tensor<16xf32>) -> tensor<?x?x16xf32> {
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x?x24xi8>, tensor<1xf32>, tensor<16x24xi8>, tensor<16xf32>) -> tensor<?x?x16xf32>
    return %y : tensor<?x?x16xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x24xi8>, %xs: tensor<1xf32>, %w: tensor<16x24xi8>, %ws: tensor<16xf32>) -> tensor<?x1x16xf32> {
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x1x24xi8>, tensor<1xf32>, tensor<16x24xi8>, tensor<16xf32>) -> tensor<?x1x16xf32>
    return %y : tensor<?x1x16xf32>
  }
}

// -----

// w4a8, K = 64, group 32: decode on the warp kernel (prefill: the tensor-core
// kernel, linear-mma-kernels.mlir); w8 = sat8(RNE(float(code - 8) * s~)) two
// codes a half2 (exponent or-ed in, minus 1032, fma with 1536, clamps; the
// scale NaN -> 0 and clamped to the f16 range first), bytes gathered by prmt,
// then dp4a.
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w4a8_k64_n16_g32_nobias_tiled_m128n64k64s3\22,{{.*}}{\22name\22:\22linear_w4a8_k64_n16_g32_nobias_warp_r1\22,\22num_warps\22:4,\22shared\22:0,\22signature\22:[\22*i8\22,\22*fp32\22,\22*i8\22,\22*fp32\22,\22*fp32\22,\22*fp32\22,\22*fp32\22,\22i32\22],\22awaits_predecessor\22:true}
// CHECK-SAME: \22kernel\22:\22linear_w4a8_k64_n16_g32_nobias_tiled_m128n64k64s3\22,{{.*}}\22scalars\22:[\22B*L\22]{{.*}}\22grid\22:[\22cdiv(cdiv(B*L,128)*128,128)\22,1,1],\22block\22:[128,1,1]
// CHECK-SAME: \22kernel\22:\22linear_w4a8_k64_n16_g32_nobias_warp_r1\22,{{.*}}\22scalars\22:[\22B\22]{{.*}}\22grid\22:[\22cdiv(B*512,128)\22,1,1],\22block\22:[128,1,1]
// CHECK: gpu.module @linear_w4a8_k64_n16_g32_nobias_warp_r1 {
// CHECK: gpu.func @linear_w4a8_k64_n16_g32_nobias_warp_r1(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: arith.cmpf uno
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: arith.andi %{{.*}}, %c983055_i32 : i32
// CHECK: arith.ori %{{.*}}, %c1677747200_i32 : i32
// CHECK: llvm.fsub %{{.*}} : vector<2xf16>
// CHECK: llvm.intr.fma(%{{.*}}) : (vector<2xf16>, vector<2xf16>, vector<2xf16>) -> vector<2xf16>
// CHECK: llvm.intr.minnum(%{{.*}}) : (vector<2xf16>, vector<2xf16>) -> vector<2xf16>
// CHECK: llvm.intr.maxnum(%{{.*}}) : (vector<2xf16>, vector<2xf16>) -> vector<2xf16>
// CHECK: nvvm.prmt
// CHECK: nvvm.dot.accumulate.4way
// PTX-LABEL: .visible .entry linear_w4a8_k64_n16_g32_nobias_warp_r1(
// PTX80-LABEL: .visible .entry linear_w4a8_k64_n16_g32_nobias_warp_r1(
// PTX: ld.global.v4.b32
// PTX: cvt.rn.f16.f32
// PTX: add.rn.f16x2
// PTX: fma.rn.f16x2
// PTX: min.f16x2
// PTX: max.f16x2
// PTX: prmt.b32 {{[^;]*}}0x6240U;
// PTX: prmt.b32 {{[^;]*}}0x5410U;
// PTX: dp4a.s32.s32
// PTX: shfl.sync.bfly.b32
// PTX: cvt.rn.f32.s32
// PTX-NOT: add.rn.f32
// PTX: st.global.b32
// PTX80: ld.global.v4.b32
// PTX80: fma.rn.f16x2
// PTX80: min.f16x2
// PTX80: dp4a.s32.s32
// PTX80: shfl.sync.bfly.b32
// PTX80: cvt.rn.f32.s32
// PTX80-NOT: add.rn.f32
// PTX80: st.global.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xi8>, %xs: tensor<1xf32>, %w: tensor<16x32xi8>, %gs: tensor<16x2xf32>, %cs: tensor<16xf32>) -> tensor<?x?x16xf32> {
    %y = mamba.linear_w4a8 %x scale(%xs), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<16x32xi8>, tensor<16x2xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    return %y : tensor<?x?x16xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>, %xs: tensor<1xf32>, %w: tensor<16x32xi8>, %gs: tensor<16x2xf32>, %cs: tensor<16xf32>) -> tensor<?x1x16xf32> {
    %y = mamba.linear_w4a8 %x scale(%xs), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x1x64xi8>, tensor<1xf32>, tensor<16x32xi8>, tensor<16x2xf32>, tensor<16xf32>) -> tensor<?x1x16xf32>
    return %y : tensor<?x1x16xf32>
  }
}

// -----

// w4a8 decode, group 128 (four 32-code chunks, so 4 adjacent lanes read one
// group): each lane decodes one word of the group's 16-entry table (codes
// 4j..4j+3, j = lane % 4), the 4 words are gathered by idx shuffles from the
// group's first lane, and each weight word is looked up by prmt (two table
// halves, a sign-replicate mask on bit 3, and-or) before dp4a. Every lane
// runs the same loop iterations (a loop from 0, not from the lane).
// CHECK-LABEL: gpu.module @linear_w4a8_k256_n8_g128_nobias_warp_r1 {
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c8{{.*}} step %c32
// CHECK: arith.muli %{{.*}}, %c17476_i32 : i32
// CHECK: llvm.intr.fma
// CHECK: gpu.shuffle  idx
// CHECK: gpu.shuffle  idx
// CHECK: gpu.shuffle  idx
// CHECK: gpu.shuffle  idx
// CHECK: arith.andi %{{.*}}, %c2004318071_i32 : i32
// CHECK: nvvm.prmt <default> %c55752_i32, %{{.*}}, %{{.*}} : i32
// CHECK: nvvm.prmt <default> %c64490_i32, %{{.*}}, %{{.*}} : i32
// CHECK: nvvm.dot.accumulate.4way
// CHECK: gpu.shuffle  xor
// PTX-LABEL: .visible .entry linear_w4a8_k256_n8_g128_nobias_warp_r1(
// PTX: prmt.b32 {{[^;]*}}0xd9c8U;
// PTX: shfl.sync.idx.b32
// PTX: dp4a.s32.s32
// PTX: shfl.sync.bfly.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x256xi8>, %xs: tensor<1xf32>, %w: tensor<8x128xi8>, %gs: tensor<8x2xf32>, %cs: tensor<8xf32>) -> tensor<?x?x8xf32> {
    %y = mamba.linear_w4a8 %x scale(%xs), %w group_scales(%gs) channel_scales(%cs) {group_size = 128 : i64} : (tensor<?x?x256xi8>, tensor<1xf32>, tensor<8x128xi8>, tensor<8x2xf32>, tensor<8xf32>) -> tensor<?x?x8xf32>
    return %y : tensor<?x?x8xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x256xi8>, %xs: tensor<1xf32>, %w: tensor<8x128xi8>, %gs: tensor<8x2xf32>, %cs: tensor<8xf32>) -> tensor<?x1x8xf32> {
    %y = mamba.linear_w4a8 %x scale(%xs), %w group_scales(%gs) channel_scales(%cs) {group_size = 128 : i64} : (tensor<?x1x256xi8>, tensor<1xf32>, tensor<8x128xi8>, tensor<8x2xf32>, tensor<8xf32>) -> tensor<?x1x8xf32>
    return %y : tensor<?x1x8xf32>
  }
}

// -----

// w4a8 with a bias, group 16 (not a whole chunk): decode on the thread kernel
// (prefill: the register tensor-core kernel; the tiled one decodes 32-code
// runs, more than a group).
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w4a8_k64_n16_g16_bias_mma_m32n32\22,{{.*}}{\22name\22:\22linear_w4a8_k64_n16_g16_bias_thread\22,\22num_warps\22:4,\22shared\22:0,\22signature\22:[\22*i8\22,\22*fp32\22,\22*i8\22,\22*fp32\22,\22*fp32\22,\22*fp32\22,\22*fp32\22,\22i32\22],\22awaits_predecessor\22:true}
// CHECK-SAME: \22kernel\22:\22linear_w4a8_k64_n16_g16_bias_mma_m32n32\22,{{.*}}\22scalars\22:[\22B*L\22]
// CHECK-SAME: \22kernel\22:\22linear_w4a8_k64_n16_g16_bias_thread\22,{{.*}}\22scalars\22:[\22B\22]{{.*}}\22grid\22:[\22cdiv(B*16,128)\22,1,1],\22block\22:[128,1,1]
// CHECK: gpu.module @linear_w4a8_k64_n16_g16_bias_thread {
// CHECK: gpu.func @linear_w4a8_k64_n16_g16_bias_thread(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: scf.for
// CHECK: math.roundeven
// CHECK: arith.muli %{{.*}} : i32
// PTX-LABEL: .visible .entry linear_w4a8_k64_n16_g16_bias_thread(
// PTX80-LABEL: .visible .entry linear_w4a8_k64_n16_g16_bias_thread(
// PTX: cvt.rni.f32.f32
// PTX: cvt.rzi.s32.f32
// PTX: mad.lo.s32
// PTX: cvt.rn.f32.s32
// PTX: mul.rn.f32
// PTX-NOT: fma
// PTX: add.rn.f32
// PTX: st.global.b32
// PTX80: cvt.rni.f32.f32
// PTX80: cvt.rzi.s32.f32
// PTX80: mad.lo.s32
// PTX80: cvt.rn.f32.s32
// PTX80: mul.rn.f32
// PTX80-NOT: fma
// PTX80: add.rn.f32
// PTX80: st.global.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xi8>, %xs: tensor<1xf32>, %w: tensor<16x32xi8>, %gs: tensor<16x4xf32>, %cs: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<?x?x16xf32> {
    %y = mamba.linear_w4a8 %x scale(%xs), %w group_scales(%gs) channel_scales(%cs) bias(%b) {group_size = 16 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<16x32xi8>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    return %y : tensor<?x?x16xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>, %xs: tensor<1xf32>, %w: tensor<16x32xi8>, %gs: tensor<16x4xf32>, %cs: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<?x1x16xf32> {
    %y = mamba.linear_w4a8 %x scale(%xs), %w group_scales(%gs) channel_scales(%cs) bias(%b) {group_size = 16 : i64} : (tensor<?x1x64xi8>, tensor<1xf32>, tensor<16x32xi8>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x1x16xf32>
    return %y : tensor<?x1x16xf32>
  }
}

// -----

// w4a16 in a model that quantizes activations (W4AX): the launches carry
// "exact" and keep the reference-order kernels in prefill and at every
// batch (a last-bit difference would flip int8 codes downstream).
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w4a16_k128_n64_g64_nobias_warp_r16\22
// CHECK-NOT: _mma_
// CHECK-SAME: \22op\22:\22linear_w4a16\22,\22kernel\22:\22linear_w4a16_k128_n64_g64_nobias_warp_r16\22,{{[^}]*}}\22attrs\22:{\22exact\22:[1.0]
// CHECK-SAME: \22op\22:\22linear_w4a16\22,\22kernel\22:\22linear_w4a16_k128_n64_g64_nobias_warp_r1\22,{{[^}]*}}\22attrs\22:{\22exact\22:[1.0]
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x128xf32>, %w: tensor<64x64xi8>, %gs: tensor<64x2xf32>) -> tensor<?x?x64xi8> {
    %s = arith.constant dense<0.5> : tensor<1xf32>
    %y = mamba.linear_w4a16 %x, %w group_scales(%gs) {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<64x64xi8>, tensor<64x2xf32>) -> tensor<?x?x64xf32>
    %q = mamba.quantize %y, scales(%s) : (tensor<?x?x64xf32>, tensor<1xf32>) -> tensor<?x?x64xi8>
    return %q : tensor<?x?x64xi8>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x128xf32>, %w: tensor<64x64xi8>, %gs: tensor<64x2xf32>) -> tensor<?x1x64xf32> {
    %y = mamba.linear_w4a16 %x, %w group_scales(%gs) {group_size = 64 : i64} : (tensor<?x1x128xf32>, tensor<64x64xi8>, tensor<64x2xf32>) -> tensor<?x1x64xf32>
    return %y : tensor<?x1x64xf32>
  }
}

// -----

// w4a16 with a bias, K = 128, group 64: prefill and decode from batch 16 on
// the tf32 mma kernel (x split into tf32 hi + lo, code - 8 exact: two mmas a
// tile; each group's sum from zero in an inner loop, then scaled by its
// columns' group scales and added), decode below batch 16 on the warp kernel
// (fp32 weights, the reference's order).
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w4a16_k128_n64_g64_bias_mma_m32n32_u2\22,\22num_warps\22:4,\22shared\22:0,\22signature\22:[\22*fp32\22,\22*i8\22,\22*fp32\22,\22*fp32\22,\22*fp32\22,\22i32\22],\22awaits_predecessor\22:true}
// CHECK-SAME: \22kernel\22:\22linear_w4a16_k128_n64_g64_bias_mma_m32n32_u2\22,{{.*}}\22scalars\22:[\22B*L\22]{{.*}}\22grid\22:[\22cdiv(cdiv(B*L,32)*128,128)\22,1,1],\22block\22:[128,1,1]
// CHECK-SAME: \22kernel\22:\22linear_w4a16_k128_n64_g64_bias_warp_r1\22,{{.*}}\22scalars\22:[\22B\22]{{.*}}\22grid\22:[\22cdiv(B*2048,128)\22,1,1],\22block\22:[128,1,1]
// CHECK-SAME: \22kernel\22:\22linear_w4a16_k128_n64_g64_bias_mma_m16n8_u2\22,{{.*}}\22grid\22:[\22cdiv(cdiv(B,16)*256,128)\22,1,1]
// CHECK: gpu.module @linear_w4a16_k128_n64_g64_bias_mma_m32n32_u2 {
// CHECK: scf.for %[[G0:.*]] = %{{.*}} to %{{.*}} step %c64
// CHECK: scf.for %{{.*}} = %[[G0]] to %{{.*}} iter_args(%[[SUM:[^ ]*]] = %cst
// CHECK: arith.sitofp
// CHECK: arith.andi %{{.*}}, %c-8192_i32 : i32
// CHECK: %[[HI:.*]] = nvgpu.mma.sync(%{{.*}}, %{{.*}}, %[[SUM]]) {mmaShape = [16, 8, 8], tf32Enabled}
// CHECK-NEXT: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %[[HI]]) {mmaShape = [16, 8, 8], tf32Enabled}
// CHECK: scf.yield
// CHECK: arith.divui %[[G0]], %c64
// CHECK: arith.mulf %{{.*}} : vector<2x2xf32>
// CHECK: arith.addf %{{.*}} : vector<2x2xf32>
// CHECK: gpu.module @linear_w4a16_k128_n64_g64_bias_warp_r1 {
// CHECK: gpu.func @linear_w4a16_k128_n64_g64_bias_warp_r1(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: vector<16xi8>
// CHECK: arith.sitofp
// CHECK-NOT: math.roundeven
// CHECK: gpu.shuffle  xor %{{.*}} : f32
// PTX-LABEL: .visible .entry linear_w4a16_k128_n64_g64_bias_mma_m32n32_u2(
// PTX: mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
// PTX-LABEL: .visible .entry linear_w4a16_k128_n64_g64_bias_warp_r1(
// PTX80-LABEL: .visible .entry linear_w4a16_k128_n64_g64_bias_warp_r1(
// PTX: ld.global.v4.b32
// PTX: cvt.rn.f32.s32
// PTX-NOT: fma.rn.f32
// PTX: shfl.sync.bfly.b32
// PTX: add.rn.f32
// PTX80-NOT: fma.rn.f32
// PTX80: shfl.sync.bfly.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x128xf32>, %w: tensor<64x64xi8>, %gs: tensor<64x2xf32>, %b: tensor<64xf32>) -> tensor<?x?x64xf32> {
    %y = mamba.linear_w4a16 %x, %w group_scales(%gs) bias(%b) {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<64x64xi8>, tensor<64x2xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    return %y : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x128xf32>, %w: tensor<64x64xi8>, %gs: tensor<64x2xf32>, %b: tensor<64xf32>) -> tensor<?x1x64xf32> {
    %y = mamba.linear_w4a16 %x, %w group_scales(%gs) bias(%b) {group_size = 64 : i64} : (tensor<?x1x128xf32>, tensor<64x64xi8>, tensor<64x2xf32>, tensor<64xf32>) -> tensor<?x1x64xf32>
    return %y : tensor<?x1x64xf32>
  }
}

// -----

// w4a16 without a bias, K = 48, group 16: thread kernel.
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_w4a16_k48_n8_g16_nobias_thread\22,\22num_warps\22:4,\22shared\22:0,\22signature\22:[\22*fp32\22,\22*i8\22,\22*fp32\22,\22*fp32\22,\22*fp32\22,\22i32\22],\22awaits_predecessor\22:true}
// CHECK-SAME: \22kernel\22:\22linear_w4a16_k48_n8_g16_nobias_thread\22,{{.*}}\22scalars\22:[\22B*L\22]{{.*}}\22grid\22:[\22cdiv(B*L*8,128)\22,1,1],\22block\22:[128,1,1]
// CHECK-SAME: \22kernel\22:\22linear_w4a16_k48_n8_g16_nobias_thread\22,{{.*}}\22scalars\22:[\22B\22]{{.*}}\22grid\22:[\22cdiv(B*8,128)\22,1,1],\22block\22:[128,1,1]
// CHECK: gpu.module @linear_w4a16_k48_n8_g16_nobias_thread {
// CHECK: gpu.func @linear_w4a16_k48_n8_g16_nobias_thread(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: scf.for
// CHECK: arith.sitofp
// PTX-LABEL: .visible .entry linear_w4a16_k48_n8_g16_nobias_thread(
// PTX80-LABEL: .visible .entry linear_w4a16_k48_n8_g16_nobias_thread(
// PTX: ld.global.b8
// PTX: cvt.rn.f32.s32
// PTX-NOT: fma.rn.f32
// PTX: mul.rn.f32
// PTX-NOT: fma.rn.f32
// PTX: add.rn.f32
// PTX-NOT: fma.rn.f32
// PTX: st.global.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x48xf32>, %w: tensor<8x24xi8>, %gs: tensor<8x3xf32>) -> tensor<?x?x8xf32> {
    %y = mamba.linear_w4a16 %x, %w group_scales(%gs) {group_size = 16 : i64} : (tensor<?x?x48xf32>, tensor<8x24xi8>, tensor<8x3xf32>) -> tensor<?x?x8xf32>
    return %y : tensor<?x?x8xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x48xf32>, %w: tensor<8x24xi8>, %gs: tensor<8x3xf32>) -> tensor<?x1x8xf32> {
    %y = mamba.linear_w4a16 %x, %w group_scales(%gs) {group_size = 16 : i64} : (tensor<?x1x48xf32>, tensor<8x24xi8>, tensor<8x3xf32>) -> tensor<?x1x8xf32>
    return %y : tensor<?x1x8xf32>
  }
}

// -----

// fp32 linear with f16 weights (--mode fp16), K = 64: decode on the warp
// kernel, 16-byte loads of 8 weights each, every weight widened exactly
// (cvt.f32.f16) once, then two 16-byte loads of x per chunk (prefill takes
// the tf32 tensor-core kernel, linear-mma-kernels.mlir).
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: {\22name\22:\22prefill.2\22,\22dtype\22:\22f16\22,\22kind\22:\22activation\22,\22shape\22:[32,64]}
// CHECK-SAME: \22kernels\22:[{\22name\22:\22linear_k64_n32_f16w_mma_m32n32_u2\22,\22num_warps\22:4,\22shared\22:0,\22signature\22:[\22*fp32\22,\22*fp16\22,\22*fp32\22,\22i32\22],\22awaits_predecessor\22:true}
// CHECK: gpu.func @linear_k64_n32_f16w_warp_r1(
// CHECK: %[[W:.*]] = llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<8xf16>
// CHECK: %[[W0:.*]] = llvm.extractelement %[[W]]
// CHECK: arith.extf %[[W0]] : f16 to f32
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: gpu.shuffle  xor
// PTX-LABEL: .visible .entry linear_k64_n32_f16w_warp_r1(
// PTX80-LABEL: .visible .entry linear_k64_n32_f16w_warp_r1(
// PTX: ld.global.v4.b32
// PTX: cvt.f32.f16
// PTX: shfl.sync.bfly.b32
// PTX80: cvt.f32.f16
// PTX80: shfl.sync.bfly.b32
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

// f16 weights with K = 6 (not a whole chunk of 8): thread kernel, one f16
// load and widening per weight.
// CHECK-LABEL: \22kernels\22:[{\22name\22:\22linear_k6_n8_f16w_thread\22
// CHECK: gpu.func @linear_k6_n8_f16w_thread(
// CHECK: scf.for
// CHECK: %[[W:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f16
// CHECK: arith.extf %[[W]] : f16 to f32
// PTX-LABEL: .visible .entry linear_k6_n8_f16w_thread(
// PTX80-LABEL: .visible .entry linear_k6_n8_f16w_thread(
// PTX: ld.global.b16
// PTX: cvt.f32.f16
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x6xf32>, %w: tensor<8x6xf16>) -> tensor<?x?x8xf32> {
    %y = mamba.linear %x, %w : (tensor<?x?x6xf32>, tensor<8x6xf16>) -> tensor<?x?x8xf32>
    return %y : tensor<?x?x8xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x6xf32>, %w: tensor<8x6xf16>) -> tensor<?x1x8xf32> {
    %y = mamba.linear %x, %w : (tensor<?x1x6xf32>, tensor<8x6xf16>) -> tensor<?x1x8xf32>
    return %y : tensor<?x1x8xf32>
  }
}

// -----

// A wide decode GEMV (N = 8192: 2048 warps of 4 columns) blocks 4 output
// columns a warp: each x chunk it loads serves all four; prefill keeps one
// column and 16 rows a warp.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22linear_k64_n8192_warp_r16\22,{{.*}}\22grid\22:[\22cdiv(cdiv(B*L,16)*262144,128)\22
// CHECK-SAME: \22kernel\22:\22linear_k64_n8192_warp_r1_c4_pw\22,{{.*}}\22grid\22:[\22cdiv(B*65536,128)\22
// CHECK: gpu.func @linear_k64_n8192_warp_r1_c4_pw(
// CHECK-COUNT-4: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: gpu.shuffle  xor
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x8192xf32> {
    %w = arith.constant dense<0.5> : tensor<8192x64xf32>
    %y = mamba.linear %x, %w : (tensor<?x?x64xf32>, tensor<8192x64xf32>) -> tensor<?x?x8192xf32>
    return %y : tensor<?x?x8192xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x8192xf32> {
    %w = arith.constant dense<0.5> : tensor<8192x64xf32>
    %y = mamba.linear %x, %w : (tensor<?x1x64xf32>, tensor<8192x64xf32>) -> tensor<?x1x8192xf32>
    return %y : tensor<?x1x8192xf32>
  }
}

// -----

// W4A8 blocks 4 columns a decode warp too (its weights load before the wait
// for the previous kernel, so 2048 warps of 4 columns fetch them all at
// once): the 4 columns' packed weight chunks, then the wait.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22linear_w4a8_k64_n8192_g32_nobias_warp_r1_c4_pw\22,{{.*}}\22grid\22:[\22cdiv(B*65536,128)\22
// CHECK: gpu.func @linear_w4a8_k64_n8192_g32_nobias_warp_r1_c4_pw(
// CHECK-NOT: nvvm.griddepcontrol
// CHECK-COUNT-4: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<16xi8>
// CHECK: nvvm.griddepcontrol wait
// CHECK: gpu.shuffle  xor
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xi8>) -> tensor<?x?x64xi8> {
    return %x : tensor<?x?x64xi8>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>, %xs: tensor<1xf32>) -> tensor<?x1x8192xf32> {
    %w = arith.constant dense<17> : tensor<8192x32xi8>
    %gs = arith.constant dense<0.5> : tensor<8192x2xf32>
    %cs = arith.constant dense<0.01> : tensor<8192xf32>
    %y = mamba.linear_w4a8 %x scale(%xs), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x1x64xi8>, tensor<1xf32>, tensor<8192x32xi8>, tensor<8192x2xf32>, tensor<8192xf32>) -> tensor<?x1x8192xf32>
    return %y : tensor<?x1x8192xf32>
  }
}
