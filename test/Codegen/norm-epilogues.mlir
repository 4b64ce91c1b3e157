// quamba-convert-mamba-to-gpu fuses what follows a norm into its launch
// (LaunchOps.h): a quantize that is the only reader of a norm's (or a
// hadamard's) output becomes the launch's quantize_output (int8 codes stored
// from registers, the scales the last input), and a hadamard that is a gated
// norm's only reader its hadamard epilogue (one block a row: every group's
// threads, the normalised row in shared memory). mamba2's gated norm,
// Hadamard and quantize before out_proj are then one launch.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX

// Gated norm (two groups of 64), hadamard, quantize: one launch over rows,
// operands y, z, weight, factor, scales, codes; 2 groups x 32 threads.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22launches\22:[{\22op\22:\22gated_rms_norm\22,\22kernel\22:\22gated_rms_norm_d128_g64_eps3727c5ac_hadamard_q8_pw\22,\22operands\22:[1,2,3,4,5,6],\22scalars\22:[\22B*L\22],\22attrs\22:{\22eps\22:[1e-05],\22group_size\22:[64.0],\22hadamard\22:[1.0],\22quantize_output\22:[1.0]},\22grid\22:[\22B*L\22,1,1],\22block\22:[64,1,1]
// CHECK-SAME: \22launches\22:[]
// CHECK-NOT: gpu.module @hadamard
// CHECK-NOT: gpu.module @quantize
// CHECK-LABEL: gpu.module @gated_rms_norm_d128_g64_eps3727c5ac_hadamard_q8_pw
// CHECK: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "*i8", "i32"]
// CHECK: %[[TOTALS:.*]] = llvm.mlir.addressof @warp_totals
// CHECK: gpu.barrier
// CHECK: %[[ROW:.*]] = llvm.mlir.addressof @hadamard_row
// CHECK: llvm.getelementptr %[[ROW]]
// CHECK: gpu.barrier
// CHECK: gpu.shuffle xor
// CHECK: arith.subf
// CHECK: arith.select
// CHECK: gpu.barrier
// CHECK: arith.divf
// CHECK: math.roundeven
// CHECK: %[[CODE:.*]] = arith.fptosi %{{.*}} : f32 to i8
// CHECK: llvm.store %[[CODE]], %{{.*}} : i8, !llvm.ptr<1>
// CHECK-NOT: gpu.module @hadamard
// PTX-LABEL: .visible .entry gated_rms_norm_d128_g64_eps3727c5ac_hadamard_q8_pw(
// PTX: bar.sync
// PTX: div.rn.f32
// PTX: cvt.rni.f32.f32
// PTX: st.global.b8
module {
  func.func @prefill(%t: tensor<?x?xi32>, %y: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>) -> tensor<?x?x128xi8> {
    %w = arith.constant dense<0.5> : tensor<128xf32>
    %s = arith.constant dense<0.25> : tensor<1xf32>
    %n = mamba.gated_rms_norm %y, %z, %w {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %h = mamba.hadamard %n : tensor<?x?x128xf32>
    %q = mamba.quantize %h, scales(%s) : (tensor<?x?x128xf32>, tensor<1xf32>) -> tensor<?x?x128xi8>
    return %q : tensor<?x?x128xi8>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x128xf32>) -> tensor<?x1x128xf32> {
    return %x : tensor<?x1x128xf32>
  }
}

// -----

// n = 1536 = 12 * 128: the 12-point factor runs from the shared row too
// (two groups of 768, 96 threads each: a block of 192).
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22op\22:\22gated_rms_norm\22,\22kernel\22:\22gated_rms_norm_d1536_g768_eps3727c5ac_hadamard_pw\22,\22operands\22:[1,2,3,4,5]
// CHECK-SAME: \22block\22:[192,1,1]
// CHECK-LABEL: gpu.module @gated_rms_norm_d1536_g768_eps3727c5ac_hadamard_pw
// CHECK-SAME: {
// CHECK: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*fp32", "i32"]
// CHECK: llvm.mlir.addressof @hadamard_row
// CHECK-NOT: arith.fptosi %{{.*}} : f32 to i8
// CHECK: gpu.return
module {
  func.func @prefill(%t: tensor<?x?xi32>, %y: tensor<?x?x1536xf32>, %z: tensor<?x?x1536xf32>) -> tensor<?x?x1536xf32> {
    %w = arith.constant dense<0.5> : tensor<1536xf32>
    %n = mamba.gated_rms_norm %y, %z, %w {group_size = 768 : i64} : (tensor<?x?x1536xf32>, tensor<?x?x1536xf32>, tensor<1536xf32>) -> tensor<?x?x1536xf32>
    %h = mamba.hadamard %n : tensor<?x?x1536xf32>
    return %h : tensor<?x?x1536xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x64xf32> {
    return %x : tensor<?x1x64xf32>
  }
}

// -----

// add_rms_norm then quantize: the codes come from the norm's launch,
// operands x, residual, weight, scales, codes, residual_out.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22op\22:\22add_rms_norm\22,\22kernel\22:\22add_rms_norm_d64_eps3727c5ac_q8_pw\22,\22operands\22:[1,2,3,4,5,6]
// CHECK-SAME: \22attrs\22:{\22eps\22:[1e-05],\22quantize_output\22:[1.0]}
// CHECK-NOT: \22op\22:\22quantize\22
// CHECK-LABEL: gpu.module @add_rms_norm_d64_eps3727c5ac_q8_pw
// CHECK: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "*i8", "*fp32", "i32"]
// CHECK: %[[CODE:.*]] = arith.fptosi %{{.*}} : f32 to i8
// CHECK: llvm.store %[[CODE]], %{{.*}} : i8, !llvm.ptr<1>
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>, %r: tensor<?x?x64xf32>) -> (tensor<?x?x64xi8>, tensor<?x?x64xf32>) {
    %w = arith.constant dense<0.5> : tensor<64xf32>
    %s = arith.constant dense<0.25> : tensor<1xf32>
    %y, %res = mamba.rms_norm %x, %w residual(%r) : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
    %q = mamba.quantize %y, scales(%s) : (tensor<?x?x64xf32>, tensor<1xf32>) -> tensor<?x?x64xi8>
    return %q, %res : tensor<?x?x64xi8>, tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x64xf32> {
    return %x : tensor<?x1x64xf32>
  }
}

// -----

// hadamard then quantize (mamba1's out_proj input): hadamard's launch
// stores the codes from its factor step.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22op\22:\22hadamard\22,\22kernel\22:\22hadamard_n128_q8\22,\22operands\22:[1,2,3,4]
// CHECK-SAME: \22attrs\22:{\22quantize_output\22:[1.0]}
// CHECK-LABEL: gpu.module @hadamard_n128_q8
// CHECK: quamba.signature = ["*fp32", "*fp32", "*fp32", "*i8", "i32"]
// CHECK: %[[CODE:.*]] = arith.fptosi %{{.*}} : f32 to i8
// CHECK: llvm.store %[[CODE]], %{{.*}} : i8, !llvm.ptr<1>
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x128xf32>) -> tensor<?x?x128xi8> {
    %s = arith.constant dense<0.25> : tensor<1xf32>
    %h = mamba.hadamard %x : tensor<?x?x128xf32>
    %q = mamba.quantize %h, scales(%s) : (tensor<?x?x128xf32>, tensor<1xf32>) -> tensor<?x?x128xi8>
    return %q : tensor<?x?x128xi8>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x64xf32> {
    return %x : tensor<?x1x64xf32>
  }
}

// -----

// Not fused: a norm output read twice (the f32 row is needed), and a
// quantize whose codes are dequantized with the same scales (a requantize
// launch).
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22op\22:\22rms_norm\22,\22kernel\22:\22rms_norm_d64_eps3727c5ac_pw\22
// CHECK-SAME: \22op\22:\22quantize\22
// CHECK-SAME: \22op\22:\22rms_norm\22,\22kernel\22:\22rms_norm_d64_eps3727c5ac_pw\22
// CHECK-SAME: \22op\22:\22requantize\22
// CHECK-NOT: _q8
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> (tensor<?x?x64xi8>, tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
    %w = arith.constant dense<0.5> : tensor<64xf32>
    %s = arith.constant dense<0.25> : tensor<1xf32>
    %y = mamba.rms_norm %x, %w : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %q = mamba.quantize %y, scales(%s) : (tensor<?x?x64xf32>, tensor<1xf32>) -> tensor<?x?x64xi8>
    %y2 = mamba.rms_norm %x, %w : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %q2 = mamba.quantize %y2, scales(%s) : (tensor<?x?x64xf32>, tensor<1xf32>) -> tensor<?x?x64xi8>
    %d2 = mamba.dequantize %q2, scales(%s) : (tensor<?x?x64xi8>, tensor<1xf32>) -> tensor<?x?x64xf32>
    return %q, %y, %d2 : tensor<?x?x64xi8>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x64xf32> {
    return %x : tensor<?x1x64xf32>
  }
}

// -----

// Not fused: a gated norm whose hadamard is not its only reader, and one
// whose row (16384 > 12288 values) does not fit the block's shared memory.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22op\22:\22gated_rms_norm\22,\22kernel\22:\22gated_rms_norm_d128_g128_eps3727c5ac_pw\22
// CHECK-SAME: \22op\22:\22hadamard\22,\22kernel\22:\22hadamard_n128\22
// CHECK-SAME: \22op\22:\22gated_rms_norm\22,\22kernel\22:\22gated_rms_norm_d16384_g1024_eps3727c5ac_pw\22
// CHECK-SAME: \22op\22:\22hadamard\22,\22kernel\22:\22hadamard_n16384_global\22
// CHECK-NOT: _hadamard
module {
  func.func @prefill(%t: tensor<?x?xi32>, %y: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %y2: tensor<?x?x16384xf32>) -> (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x16384xf32>) {
    %w = arith.constant dense<0.5> : tensor<128xf32>
    %n = mamba.gated_rms_norm %y, %z, %w {group_size = 128 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %h = mamba.hadamard %n : tensor<?x?x128xf32>
    %w2 = arith.constant dense<0.5> : tensor<16384xf32>
    %n2 = mamba.gated_rms_norm %y2, %y2, %w2 {group_size = 1024 : i64} : (tensor<?x?x16384xf32>, tensor<?x?x16384xf32>, tensor<16384xf32>) -> tensor<?x?x16384xf32>
    %h2 = mamba.hadamard %n2 : tensor<?x?x16384xf32>
    return %h, %n, %h2 : tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x16384xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x64xf32> {
    return %x : tensor<?x1x64xf32>
  }
}
