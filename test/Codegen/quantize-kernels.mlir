// quamba-convert-mamba-to-gpu: quantize and dequantize become elementwise
// kernels with Triton's ABI, specialised on the scale block: four elements a
// thread (16-byte float and 4-byte int8 accesses) when the block's size is a
// multiple of 4, else one.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: gpu.module @quantize_inner64_v4
// CHECK: gpu.func @quantize_inner64_v4(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*i8", "i32"]
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: arith.divf
// CHECK: math.roundeven
// CHECK: arith.fptosi %{{.*}} : f32 to i8
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : vector<4xi8>, !llvm.ptr<1>
// PTX-LABEL: .visible .entry quantize_inner64_v4(
// PTX: ld.global.v4.b32
// PTX-COUNT-4: div.rn.f32
// PTX: st.global.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x64xi8> {
    %s = arith.constant dense<0.5> : tensor<1xf32>
    %q = mamba.quantize %x, scales(%s) : (tensor<?x?x64xf32>, tensor<1xf32>) -> tensor<?x?x64xi8>
    return %q : tensor<?x?x64xi8>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x64xi8> {
    %s = arith.constant dense<0.5> : tensor<1xf32>
    %q = mamba.quantize %x, scales(%s) : (tensor<?x1x64xf32>, tensor<1xf32>) -> tensor<?x1x64xi8>
    return %q : tensor<?x1x64xi8>
  }
}

// -----

// A block of 6 channels: one element a thread, scalar accesses.
// CHECK-LABEL: gpu.module @quantize_inner6
// CHECK-NOT: vector<4xf32>
// CHECK: arith.divf
// CHECK-NOT: arith.divf
// CHECK: gpu.return
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x6xf32>) -> tensor<?x?x6xi8> {
    %s = arith.constant dense<0.5> : tensor<1xf32>
    %q = mamba.quantize %x, scales(%s) : (tensor<?x?x6xf32>, tensor<1xf32>) -> tensor<?x?x6xi8>
    return %q : tensor<?x?x6xi8>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x6xf32>) -> tensor<?x1x6xf32> {
    return %x : tensor<?x1x6xf32>
  }
}

// -----

// A dequantized int8 constant (quamba-quantize's conv, A_log, D weights)
// folds into an f32 weight at plan time: no dequantize launch, and one
// weight for both entry points.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: {\22name\22:\22codegen.dequantized{{[0-9]+}}\22,\22dtype\22:\22f32\22,\22kind\22:\22weight\22,\22shape\22:[4,8]}
// CHECK-NOT: dequantize_inner
// CHECK: gpu.module @linear_k8_n4_warp_r16
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x8xf32>) -> tensor<?x?x4xf32> {
    %q = arith.constant dense<3> : tensor<4x8xi8>
    %s = arith.constant dense<0.25> : tensor<4x1xf32>
    %w = mamba.dequantize %q, scales(%s) : (tensor<4x8xi8>, tensor<4x1xf32>) -> tensor<4x8xf32>
    %y = mamba.linear %x, %w : (tensor<?x?x8xf32>, tensor<4x8xf32>) -> tensor<?x?x4xf32>
    return %y : tensor<?x?x4xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x8xf32>) -> tensor<?x1x4xf32> {
    %q = arith.constant dense<3> : tensor<4x8xi8>
    %s = arith.constant dense<0.25> : tensor<4x1xf32>
    %w = mamba.dequantize %q, scales(%s) : (tensor<4x8xi8>, tensor<4x1xf32>) -> tensor<4x8xf32>
    %y = mamba.linear %x, %w : (tensor<?x1x8xf32>, tensor<4x8xf32>) -> tensor<?x1x4xf32>
    return %y : tensor<?x1x4xf32>
  }
}

// -----

// quantize whose only reader dequantizes with the same scales: one
// requantize launch (x -> its int8 grid, the code kept in a register);
// a quantize whose code is also read elsewhere stays a quantize.
// CHECK-LABEL: gpu.module @requantize_inner64_v4
// CHECK: gpu.func @requantize_inner64_v4(
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "i32"]
// CHECK: arith.divf
// CHECK: math.roundeven
// CHECK: %[[Q:.*]] = arith.fptosi %{{.*}} : f32 to i8
// CHECK: %[[QF:.*]] = arith.sitofp %[[Q]] : i8 to f32
// CHECK: arith.mulf %[[QF]], %{{.*}} : f32
// CHECK-LABEL: gpu.module @quantize_inner64_v4
// CHECK-LABEL: gpu.module @dequantize_inner64_v4
// PTX-LABEL: .visible .entry requantize_inner64_v4(
// PTX: div.rn.f32
// PTX: cvt.rni.f32.f32
// PTX: mul.rn.f32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    %s = arith.constant dense<0.5> : tensor<1xf32>
    %q = mamba.quantize %x, scales(%s) : (tensor<?x?x64xf32>, tensor<1xf32>) -> tensor<?x?x64xi8>
    %d = mamba.dequantize %q, scales(%s) : (tensor<?x?x64xi8>, tensor<1xf32>) -> tensor<?x?x64xf32>
    return %d : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> (tensor<?x1x64xf32>, tensor<?x1x64xi8>) {
    %s = arith.constant dense<0.5> : tensor<1xf32>
    %q = mamba.quantize %x, scales(%s) : (tensor<?x1x64xf32>, tensor<1xf32>) -> tensor<?x1x64xi8>
    %d = mamba.dequantize %q, scales(%s) : (tensor<?x1x64xi8>, tensor<1xf32>) -> tensor<?x1x64xf32>
    return %d, %q : tensor<?x1x64xf32>, tensor<?x1x64xi8>
  }
}

// -----

// A linear whose output is read only by quantize -> dequantize (same
// scales): the linear's epilogue stores the rounded values itself
// (requantize_parts), its scales (expanded over the 32 columns) the last
// input; no requantize launch remains.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: {\22name\22:\22codegen.scales0\22,\22dtype\22:\22f32\22,\22kind\22:\22weight\22,\22shape\22:[32]}
// CHECK-NOT: requantize_inner
// CHECK-SAME: \22op\22:\22linear\22,\22kernel\22:\22linear_k64_n32_rq1_warp_r16\22,{{.*}}\22attrs\22:{\22requantize_parts\22:[1.0]}
// CHECK-NOT: requantize_inner
// CHECK-LABEL: gpu.module @linear_k64_n32_rq1_warp_r16
// CHECK: gpu.func @linear_k64_n32_rq1_warp_r16(
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "*fp32", "i32"]
// CHECK: gpu.shuffle
// CHECK: arith.divf
// CHECK: math.roundeven
// CHECK: %[[Q:.*]] = arith.fptosi %{{.*}} : f32 to i8
// CHECK: %[[QF:.*]] = arith.sitofp %[[Q]] : i8 to f32
// CHECK: %[[V:.*]] = arith.mulf %[[QF]], %{{.*}} : f32
// CHECK: llvm.store %[[V]]
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>, %w: tensor<32x64xf32>) -> tensor<?x?x32xf32> {
    %s = arith.constant dense<0.5> : tensor<1xf32>
    %y = mamba.linear %x, %w : (tensor<?x?x64xf32>, tensor<32x64xf32>) -> tensor<?x?x32xf32>
    %q = mamba.quantize %y, scales(%s) : (tensor<?x?x32xf32>, tensor<1xf32>) -> tensor<?x?x32xi8>
    %d = mamba.dequantize %q, scales(%s) : (tensor<?x?x32xi8>, tensor<1xf32>) -> tensor<?x?x32xf32>
    return %d : tensor<?x?x32xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x64xf32> {
    return %x : tensor<?x1x64xf32>
  }
}
