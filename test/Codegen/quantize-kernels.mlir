// quamba-convert-mamba-to-gpu: quantize and dequantize become one-thread-per-
// element kernels with Triton's ABI, specialised on the scale block.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: gpu.module @quantize_inner64
// CHECK: gpu.func @quantize_inner64(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*i8", "i32"]
// CHECK: arith.divf
// CHECK: math.roundeven
// CHECK: arith.fptosi %{{.*}} : f32 to i8
// PTX-LABEL: .visible .entry quantize_inner64(
// PTX: div.rn.f32
// PTX: cvt.rni.f32.f32
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
