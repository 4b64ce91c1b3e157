// quamba-convert-mamba-to-gpu: the SSM scans run the sequential recurrence,
// one warp per 4 rows (b, h, p..p+3) (Mamba2 SSD: each state row spread
// over the lanes, in registers; tokens in groups of 4, their loads first,
// then a loop for the last L % 4) or one thread per (b, e) (Mamba1 selective, the state row
// in the output state buffer). Kernels are specialised
// on the static dims and attrs; batch (and seqlen for scans) are i32 scalars.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 --quamba-kernels-to-ptx=chip=sm_80 \
// RUN:   | FileCheck %s --check-prefix=PTX

// ssd_scan, no dt limit (dt_min 0, dt_max +inf): x, dt, B, C, A_log, D,
// dt_bias, y, state, then batch, seqlen; H = 8, P = 16, G = 2, N = 16:
// B * 8 * 16 / 4 warps.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22ssd_scan_h8_p16_g2_n16_dh0_dtmin00000000_dtmax7f800000_r4_u4\22,\22operands\22:[{{[0-9,]*}}],\22scalars\22:[\22B\22,\22L\22],{{.*}}\22grid\22:[\22cdiv(B*1024,128)\22,1,1],\22block\22:[128,1,1]
// CHECK-LABEL: gpu.module @ssd_scan_h8_p16_g2_n16_dh0_dtmin00000000_dtmax7f800000_r4_u4
// CHECK: gpu.func @ssd_scan_h8_p16_g2_n16_dh0_dtmin00000000_dtmax7f800000_r4_u4(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "i32", "i32"]
// CHECK: scf.for
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: math.roundeven
// CHECK: scf.for
// PTX-LABEL: .visible .entry ssd_scan_h8_p16_g2_n16_dh0_dtmin00000000_dtmax7f800000_r4_u4(
// PTX: ld.global
// PTX: cvt.rni.f32.f32
// PTX: st.global
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
// in the name, the clamp is two compare-and-selects.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22kernel\22:\22ssd_scan_h8_p16_g2_n16_dh1_dtmin3a83126f_dtmax3dcccccd_r4_u4\22,\22operands\22:[{{[0-9,]*}}],\22scalars\22:[\22B\22,\22L\22],{{.*}}\22grid\22:[\22cdiv(B*1024,128)\22,1,1],\22block\22:[128,1,1]
// CHECK-LABEL: gpu.module @ssd_scan_h8_p16_g2_n16_dh1_dtmin3a83126f_dtmax3dcccccd_r4_u4
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: %[[DTMIN:.*]] = arith.constant 1.000000e-03 : f32
// CHECK: %[[GE:.*]] = arith.cmpf uge, %{{.*}}, %[[DTMIN]] : f32
// CHECK: %[[DT:.*]] = arith.select %[[GE]], %{{.*}}, %[[DTMIN]] : f32
// CHECK: %[[DTMAX:.*]] = arith.constant 1.000000e-01 : f32
// CHECK: %[[LE:.*]] = arith.cmpf ule, %[[DT]], %[[DTMAX]] : f32
// CHECK: arith.select %[[LE]], %[[DT]], %[[DTMAX]] : f32
// CHECK: math.roundeven
// PTX-LABEL: .visible .entry ssd_scan_h8_p16_g2_n16_dh1_dtmin3a83126f_dtmax3dcccccd_r4_u4(
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
// CHECK-SAME: \22kernel\22:\22ssd_step_h8_p16_g2_n16_dh0\22,\22operands\22:[{{[0-9,]*}}],\22scalars\22:[\22B\22],{{.*}}\22grid\22:[\22cdiv(B*4096,128)\22,1,1],\22block\22:[128,1,1]
// CHECK-LABEL: gpu.module @ssd_step_h8_p16_g2_n16_dh0
// CHECK: gpu.func @ssd_step_h8_p16_g2_n16_dh0(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "i32"]
// CHECK-NOT: arith.cmpf uge
// CHECK: gpu.return
// PTX-LABEL: .visible .entry ssd_step_h8_p16_g2_n16_dh0(
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
// CHECK-SAME: \22op\22:\22ssd_step\22,\22kernel\22:\22ssd_step_h8_p16_g2_n16_dh0_qstate\22,{{.*}}\22attrs\22:{{{.*}}\22state_int8\22:[1.0]}
// CHECK-NOT: quantize_inner
// CHECK-LABEL: gpu.module @ssd_step_h8_p16_g2_n16_dh0_qstate
// CHECK: gpu.func @ssd_step_h8_p16_g2_n16_dh0_qstate(
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*i8", "*fp32", "*fp32", "*i8", "i32"]
// CHECK: %[[Q:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> i8
// CHECK: %[[QF:.*]] = arith.sitofp %[[Q]] : i8 to f32
// CHECK: arith.mulf %[[QF]], %{{.*}} : f32
// CHECK: arith.divf
// CHECK: math.roundeven
// CHECK: arith.fptosi %{{.*}} : f32 to i8
// PTX-LABEL: .visible .entry ssd_step_h8_p16_g2_n16_dh0_qstate(
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
