// quamba-convert-mamba-to-gpu on sm_90a starts every kernel with
// `griddepcontrol.wait` then `griddepcontrol.launch_dependents`, before any
// memory access (but decode GEMVs' weight loads: await-after-weight-loads.mlir), and marks the kernel `awaits_predecessor` in the plan: the
// runtime may then launch it with programmatic stream serialization. sm_80
// has no griddepcontrol: neither the instructions nor the mark.
// RUN: quamba-opt %s --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx | FileCheck %s --check-prefix=PTX
// RUN: quamba-opt %s --quamba-convert-mamba-to-gpu=target=sm_80 | FileCheck %s --check-prefix=SM80
// RUN: quamba-opt %s --quamba-convert-mamba-to-gpu=target=sm_80 --quamba-kernels-to-ptx=chip=sm_80 \
// RUN:   | FileCheck %s --check-prefix=PTX80

// CHECK-LABEL: \22name\22:\22linear_k64_n32_warp_r16\22
// CHECK-SAME: \22awaits_predecessor\22:true
// CHECK-LABEL: gpu.func @linear_k64_n32_warp_r16(
// CHECK-SAME: kernel
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-LABEL: gpu.func @argmax_v32(
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents

// PTX-LABEL: .visible .entry linear_k64_n32_warp_r16(
// PTX-NOT: ld.global
// PTX-SAME: griddepcontrol.wait;
// PTX-SAME: griddepcontrol.launch_dependents;
// PTX-SAME: ld.global

// SM80-NOT: awaits_predecessor
// SM80-NOT: griddepcontrol
// PTX80-NOT: griddepcontrol
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
