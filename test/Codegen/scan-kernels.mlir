// quamba-convert-mamba-to-gpu: the Mamba2 prefill scan is chunked (chunks of
// 64 tokens, ref::ssdScan) in four launches: ssd_chunk_state (a block per
// head, chunk and sequence: dt, the running sum of dt A in token order, the
// chunk's state as a product over shared-memory slices), ssd_state_passing
// (a thread per 4 state elements, a loop over the chunks), ssd_chunk_cb (C B^T
// once per chunk and group) and ssd_chunk_scan (C B^T masked into shared
// memory, then y; five blocks an SM). Both chunk products give each thread
// a register tile: here (P = N = 16) the state's 16 x 16 over 8 threads and
// y's 64 x 16 over 32, each a block of one warp. The decode steps and Mamba1's
// scan run the sequential recurrence: a warp per state row (ssd_step), a
// thread per (b, e) (selective). Kernels are specialised on the static dims
// and attrs; batch (and seqlen for scans) are i32 scalars. The chunked
// kernels' products are fma.rn (the reference's std::fma); the steps' and
// Mamba1's scan's are unfused (mul.rn, add.rn), as their reference.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 --quamba-kernels-to-ptx=chip=sm_80 \
// RUN:   | FileCheck %s --check-prefix=PTX

// ssd_scan, no dt limit (dt_min 0, dt_max +inf), H = 8, P = 16, G = 2,
// N = 16: chunk_state (x, dt, B, A_log, dt_bias -> dt', cum, chunk states),
// state_passing (cum, chunk states -> init states, the final state),
// chunk_cb (B, C -> cb; grid: 16 blocks of 16 x 16, chunks, batch x groups),
// chunk_scan (x, dt', cum, C, cb, D, init states -> y), each with batch and
// seqlen; chunk_state's and chunk_scan's grid is (heads, chunks, batch).
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22shape\22:[\22B\22,8,\22L\22]
// CHECK-SAME: \22shape\22:[\22B\22,\22cdiv(L,64)\22,8,16,16]
// CHECK-SAME: \22op\22:\22ssd_chunk_state\22,\22kernel\22:\22ssd_chunk_state_h8_p16_g2_n16_q64_dtmin00000000_dtmax7f800000\22,\22operands\22:{{\[}}[[X:[0-9]+]],[[DT:[0-9]+]],[[B:[0-9]+]],{{[0-9]+}},{{[0-9]+}},[[DTP:[0-9]+]],[[CUM:[0-9]+]],[[CHUNK:[0-9]+]]],\22scalars\22:[\22B\22,\22L\22],\22attrs\22:{\22dt_min\22:[0.0],\22headdim\22:[16.0],\22ngroups\22:[2.0]},\22grid\22:[8,\22cdiv(L,64)\22,\22B\22],\22block\22:[32,1,1]
// CHECK-SAME: \22op\22:\22ssd_state_passing\22,\22kernel\22:\22ssd_state_passing_h8_pn256_q64_v4\22,\22operands\22:{{\[}}[[CUM]],[[CHUNK]],[[INIT:[0-9]+]],{{[0-9]+}}],\22scalars\22:[\22B\22,\22L\22],\22attrs\22:{},\22grid\22:[\22cdiv(B*512,128)\22,1,1]
// CHECK-SAME: \22op\22:\22ssd_chunk_cb\22,\22kernel\22:\22ssd_chunk_cb_g2_n16_q64\22,\22operands\22:{{\[}}[[B]],[[C:[0-9]+]],[[CB:[0-9]+]]],\22scalars\22:[\22B\22,\22L\22],\22attrs\22:{\22ngroups\22:[2.0]},\22grid\22:[16,\22cdiv(L,64)\22,\22B*2\22],\22block\22:[256,1,1]
// CHECK-SAME: \22op\22:\22ssd_chunk_scan\22,\22kernel\22:\22ssd_chunk_scan_h8_p16_g2_n16_q64_dh0_ns16\22,\22operands\22:{{\[}}[[X]],[[DTP]],[[CUM]],[[C]],[[CB]],{{[0-9]+}},[[INIT]],{{[0-9]+}}],\22scalars\22:[\22B\22,\22L\22],\22attrs\22:{\22d_has_hdim\22:[0.0],\22headdim\22:[16.0],\22ngroups\22:[2.0]},\22grid\22:[8,\22cdiv(L,64)\22,\22B\22],\22block\22:[32,1,1]
// CHECK-LABEL: gpu.module @ssd_chunk_state_h8_p16_g2_n16_q64_dtmin00000000_dtmax7f800000
// CHECK: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "i32", "i32"]
// CHECK-LABEL: gpu.module @ssd_state_passing_h8_pn256_q64_v4
// CHECK-LABEL: gpu.module @ssd_chunk_cb_g2_n16_q64
// CHECK: quamba.signature = ["*fp32", "*fp32", "*fp32", "i32", "i32"]
// CHECK-LABEL: gpu.module @ssd_chunk_scan_h8_p16_g2_n16_q64_dh0_ns16
// CHECK: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "i32", "i32"]
// PTX-LABEL: .visible .entry ssd_chunk_state_h8_p16_g2_n16_q64_dtmin00000000_dtmax7f800000(
// PTX: bar.sync
// PTX: ld.shared.b32
// PTX: mul.rn.f32
// PTX: fma.rn.f32
// PTX: ret;
// PTX-LABEL: .visible .entry ssd_state_passing_h8_pn256_q64_v4(
// PTX-NOT: fma.rn.f32
// PTX: ld.global.v4.b32
// PTX-NOT: fma.rn.f32
// PTX: st.global.v4.b32
// PTX-NOT: fma.rn.f32
// PTX: ret;
// PTX-LABEL: .visible .entry ssd_chunk_cb_g2_n16_q64(
// PTX: bar.sync
// PTX: ld.shared.v4.b32
// PTX: fma.rn.f32
// PTX: ret;
// PTX-LABEL: .visible .entry ssd_chunk_scan_h8_p16_g2_n16_q64_dh0_ns16(
// PTX: .minnctapersm 5
// PTX: bar.sync
// PTX: ld.shared.b32
// PTX: fma.rn.f32
// PTX: ret;
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>, %C: tensor<?x?x32xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>) {
    %A_log = arith.constant dense<0.5> : tensor<8xf32>
    %D = arith.constant dense<1.0> : tensor<8xf32>
    %dt_bias = arith.constant dense<0.1> : tensor<8xf32>
    %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
    return %y, %s : tensor<?x?x128xf32>, tensor<?x8x16x16xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x128xf32>) -> tensor<?x1x128xf32> {
    return %x : tensor<?x1x128xf32>
  }
}

// -----

// ssd_scan with the dt limit and D per channel ([H*P]): the limit's bits are
// in ssd_chunk_state's name, the clamp is two compare-and-selects; the D
// layout is in ssd_chunk_scan's.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22ssd_chunk_state_h8_p16_g2_n16_q64_dtmin3a83126f_dtmax3dcccccd\22
// CHECK-SAME: \22kernel\22:\22ssd_chunk_scan_h8_p16_g2_n16_q64_dh1_ns16\22
// CHECK-LABEL: gpu.module @ssd_chunk_state_h8_p16_g2_n16_q64_dtmin3a83126f_dtmax3dcccccd
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: %[[DTMIN:.*]] = arith.constant 1.000000e-03 : f32
// CHECK: %[[GE:.*]] = arith.cmpf uge, %{{.*}}, %[[DTMIN]] : f32
// CHECK: %[[DT:.*]] = arith.select %[[GE]], %{{.*}}, %[[DTMIN]] : f32
// CHECK: %[[DTMAX:.*]] = arith.constant 1.000000e-01 : f32
// CHECK: %[[LE:.*]] = arith.cmpf ule, %[[DT]], %[[DTMAX]] : f32
// CHECK: arith.select %[[LE]], %[[DT]], %[[DTMAX]] : f32
// PTX-LABEL: .visible .entry ssd_chunk_state_h8_p16_g2_n16_q64_dtmin3a83126f_dtmax3dcccccd(
// PTX: cvt.rni.f32.f32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>, %C: tensor<?x?x32xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>) {
    %A_log = arith.constant dense<0.5> : tensor<8xf32>
    %D = arith.constant dense<1.0> : tensor<128xf32>
    %dt_bias = arith.constant dense<0.1> : tensor<8xf32>
    %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 8 : i64, dt_min = 1.0e-3 : f64, dt_max = 0.1 : f64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<128xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
    return %y, %s : tensor<?x?x128xf32>, tensor<?x8x16x16xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x128xf32>) -> tensor<?x1x128xf32> {
    return %x : tensor<?x1x128xf32>
  }
}

// -----

// ssd_step: state_in in, state_out out, batch only; no dt clamp. One warp
// per state row (grid B * 128 * 32 threads): lane l holds element l of the
// row (N = 16: lanes 16.. hold none), C . h is a butterfly over the lanes.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22ssd_step_h8_p16_g2_n16_dh0_pw\22,\22operands\22:[{{[0-9,]*}}],\22scalars\22:[\22B\22],{{.*}}\22grid\22:[\22cdiv(B*4096,128)\22,1,1],\22block\22:[128,1,1],\22shared\22:0,\22batch\22:[1,15]}
// From batch 16, four state rows of a head a warp (grid B * 128 * 32 / 4):
// dt, its softplus and decay, B and C once for the four; each row's sums in
// the same order, one butterfly a row.
// CHECK-SAME: \22kernel\22:\22ssd_step_h8_p16_g2_n16_dh0_pw_r4\22,{{.*}}\22grid\22:[\22cdiv(B*1024,128)\22,1,1],\22block\22:[128,1,1],\22shared\22:0,\22batch\22:[16,0]}
// CHECK-LABEL: gpu.module @ssd_step_h8_p16_g2_n16_dh0_pw
// CHECK: gpu.func @ssd_step_h8_p16_g2_n16_dh0_pw(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "i32"]
// CHECK-NOT: arith.cmpf uge
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @ssd_step_h8_p16_g2_n16_dh0_pw_r4(
// CHECK-COUNT-20: gpu.shuffle xor
// CHECK-NOT: gpu.shuffle
// CHECK: gpu.return
// PTX-LABEL: .visible .entry ssd_step_h8_p16_g2_n16_dh0_pw(
// PTX: cvt.rni.f32.f32
// PTX: mul.rn.f32
// PTX-COUNT-5: shfl.sync.bfly.b32
// PTX: st.global.b32
// PTX: ret;
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
    return %x : tensor<?x?x128xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x128xf32>, %dt: tensor<?x1x8xf32>, %B: tensor<?x1x32xf32>, %C: tensor<?x1x32xf32>, %state: tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xf32>) {
    %A_log = arith.constant dense<0.5> : tensor<8xf32>
    %D = arith.constant dense<1.0> : tensor<8xf32>
    %dt_bias = arith.constant dense<0.1> : tensor<8xf32>
    %y, %s = mamba.ssd_step %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%state) {headdim = 16 : i64, ngroups = 2 : i64} : (tensor<?x1x128xf32>, tensor<?x1x8xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xf32>)
    return %y, %s : tensor<?x1x128xf32>, tensor<?x8x16x16xf32>
  }
}

// -----

// selective_scan (Mamba1): x, dt, B, C, z, A_log, D, dt_bias, y, state, then
// batch, seqlen; one thread per (b, e), E = 128, N = 16.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22selective_scan_e128_n16\22,\22operands\22:[{{[0-9,]*}}],\22scalars\22:[\22B\22,\22L\22],{{.*}}\22grid\22:[\22cdiv(B*128,128)\22,1,1],\22block\22:[128,1,1]
// CHECK-LABEL: gpu.module @selective_scan_e128_n16
// CHECK: gpu.func @selective_scan_e128_n16(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "i32", "i32"]
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: arith.divf
// PTX-LABEL: .visible .entry selective_scan_e128_n16(
// PTX: ld.global
// PTX: cvt.rni.f32.f32
// PTX: st.global
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x128xf32>, %dt: tensor<?x?x128xf32>, %B: tensor<?x?x16xf32>, %C: tensor<?x?x16xf32>, %z: tensor<?x?x128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x16xf32>) {
    %A_log = arith.constant dense<0.5> : tensor<128x16xf32>
    %D = arith.constant dense<1.0> : tensor<128xf32>
    %dt_bias = arith.constant dense<0.1> : tensor<128xf32>
    %y, %s = mamba.selective_scan %x, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias) : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x16xf32>)
    return %y, %s : tensor<?x?x128xf32>, tensor<?x128x16xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x128xf32>) -> tensor<?x1x128xf32> {
    return %x : tensor<?x1x128xf32>
  }
}

// -----

// selective_step: state_in, y, state_out, then batch.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22selective_step_e128_n16\22,\22operands\22:[{{[0-9,]*}}],\22scalars\22:[\22B\22],{{.*}}\22grid\22:[\22cdiv(B*128,128)\22,1,1],\22block\22:[128,1,1]
// CHECK-LABEL: gpu.module @selective_step_e128_n16
// CHECK: gpu.func @selective_step_e128_n16(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "i32"]
// PTX-LABEL: .visible .entry selective_step_e128_n16(
// PTX: ld.global
// PTX: cvt.rni.f32.f32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
    return %x : tensor<?x?x128xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x128xf32>, %dt: tensor<?x1x128xf32>, %B: tensor<?x1x16xf32>, %C: tensor<?x1x16xf32>, %z: tensor<?x1x128xf32>, %state: tensor<?x128x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x128x16xf32>) {
    %A_log = arith.constant dense<0.5> : tensor<128x16xf32>
    %D = arith.constant dense<1.0> : tensor<128xf32>
    %dt_bias = arith.constant dense<0.1> : tensor<128xf32>
    %y, %s = mamba.selective_step %x, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%state) : (tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>, tensor<?x1x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>, tensor<?x128x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x128x16xf32>)
    return %y, %s : tensor<?x1x128xf32>, tensor<?x128x16xf32>
  }
}

// -----

// An int8 SSM state dequantized only by ssd_step and its new state
// quantized with the same scales: one launch (state_int8), the int8 codes
// in and out, the expanded scales after the inputs; the kernel dequantizes
// where it loads (float(q) * s) and quantizes where it stores
// (sat8(RNE(h / s))), the scales expanded over a whole sequence's state
// ([H, P, N] = 2048 values, from one per n here). No dequantize or
// quantize launch remains.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22name\22:\22codegen.scales0\22,\22dtype\22:\22f32\22,\22kind\22:\22weight\22,\22shape\22:[2048]
// CHECK-NOT: quantize_inner
// CHECK-SAME: \22op\22:\22ssd_step\22,\22kernel\22:\22ssd_step_h8_p16_g2_n16_dh0_qstate_pw\22,{{.*}}\22attrs\22:{{{.*}}\22state_int8\22:[1.0]}
// CHECK-NOT: quantize_inner
// CHECK-LABEL: gpu.module @ssd_step_h8_p16_g2_n16_dh0_qstate_pw
// CHECK: gpu.func @ssd_step_h8_p16_g2_n16_dh0_qstate_pw(
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*i8", "*fp32", "*fp32", "*i8", "i32"]
// A_log, dt_bias, D and the state's scales (weights) before the wait for
// the previous kernel, the state after it.
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: llvm.load %{{.*}} invariant : !llvm.ptr<1> -> f32
// CHECK-NOT: -> i8
// CHECK: nvvm.griddepcontrol wait
// CHECK: %[[Q:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> i8
// CHECK: %[[QF:.*]] = arith.sitofp %[[Q]] : i8 to f32
// CHECK: arith.mulf %[[QF]], %{{.*}} : f32
// CHECK: arith.divf
// CHECK: math.roundeven
// CHECK: arith.fptosi %{{.*}} : f32 to i8
// PTX-LABEL: .visible .entry ssd_step_h8_p16_g2_n16_dh0_qstate_pw(
// PTX: ld.global.{{[us]}}8
// PTX: div.rn.f32
// PTX: st.global.b8
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
    return %x : tensor<?x?x128xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x128xf32>, %dt: tensor<?x1x8xf32>, %B: tensor<?x1x32xf32>, %C: tensor<?x1x32xf32>, %q: tensor<?x8x16x16xi8>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xi8>) {
    %A_log = arith.constant dense<0.5> : tensor<8xf32>
    %D = arith.constant dense<1.0> : tensor<8xf32>
    %dt_bias = arith.constant dense<0.1> : tensor<8xf32>
    %scales = arith.constant dense<0.03> : tensor<16xf32>
    %state = mamba.dequantize %q, scales(%scales) : (tensor<?x8x16x16xi8>, tensor<16xf32>) -> tensor<?x8x16x16xf32>
    %y, %s = mamba.ssd_step %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%state) {headdim = 16 : i64, ngroups = 2 : i64} : (tensor<?x1x128xf32>, tensor<?x1x8xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xf32>)
    %sq = mamba.quantize %s, scales(%scales) : (tensor<?x8x16x16xf32>, tensor<16xf32>) -> tensor<?x8x16x16xi8>
    return %y, %sq : tensor<?x1x128xf32>, tensor<?x8x16x16xi8>
  }
}

// -----

// The same step after another launch of decode (the rms_norm making x): the
// int8 state is an input of the entry, which no launch writes, and the
// launch before the step is one of the same call, so the step loads the
// state before its wait too ("_pws"); x after it.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22op\22:\22ssd_step\22,\22kernel\22:\22ssd_step_h8_p16_g2_n16_dh0_qstate_pws\22
// CHECK-LABEL: gpu.func @ssd_step_h8_p16_g2_n16_dh0_qstate_pws(
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: %[[Q:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> i8
// CHECK: arith.sitofp %[[Q]] : i8 to f32
// CHECK: nvvm.griddepcontrol wait
// CHECK: llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: arith.fptosi %{{.*}} : f32 to i8
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
    return %x : tensor<?x?x128xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x0: tensor<?x1x128xf32>, %dt: tensor<?x1x8xf32>, %B: tensor<?x1x32xf32>, %C: tensor<?x1x32xf32>, %q: tensor<?x8x16x16xi8>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xi8>) {
    %w = arith.constant dense<0.5> : tensor<128xf32>
    %x = mamba.rms_norm %x0, %w : (tensor<?x1x128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
    %A_log = arith.constant dense<0.5> : tensor<8xf32>
    %D = arith.constant dense<1.0> : tensor<8xf32>
    %dt_bias = arith.constant dense<0.1> : tensor<8xf32>
    %scales = arith.constant dense<0.03> : tensor<16xf32>
    %state = mamba.dequantize %q, scales(%scales) : (tensor<?x8x16x16xi8>, tensor<16xf32>) -> tensor<?x8x16x16xf32>
    %y, %s = mamba.ssd_step %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%state) {headdim = 16 : i64, ngroups = 2 : i64} : (tensor<?x1x128xf32>, tensor<?x1x8xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xf32>)
    %sq = mamba.quantize %s, scales(%scales) : (tensor<?x8x16x16xf32>, tensor<16xf32>) -> tensor<?x8x16x16xi8>
    return %y, %sq : tensor<?x1x128xf32>, tensor<?x8x16x16xi8>
  }
}
