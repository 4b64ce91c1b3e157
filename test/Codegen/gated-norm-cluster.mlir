// mamba2's one-group gated norm + Hadamard + quantize before out_proj, at
// decode batches below 16, runs over a cluster of 8 blocks that read each
// other's shared memory (sm_90): block c owns the values [c * T, (c+1) * T)
// of the row (T = 320 threads for n = 2560), every block adds the squares
// of value t of all 8 blocks in the one-block kernel's order, transforms
// its 5 blocks of 64 values, and computes 8 of the 64 columns of the
// 40-point factor. Prefill and batches from 16 keep one block a row.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 \
// RUN:   | FileCheck %s --check-prefix=SM80

// The plan: prefill one block a row; decode a cluster a row (grid B * 8)
// for batches 1..15, one block a row from 16.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22name\22:\22prefill\22,{{.*}}\22kernel\22:\22gated_rms_norm_d2560_g2560_eps3727c5ac_hadamard_q8_pw\22,{{.*}}\22grid\22:[\22B*L\22,1,1],\22block\22:[320,1,1],\22shared\22:0}]}
// CHECK-SAME: \22name\22:\22decode\22,{{.*}}\22kernel\22:\22gated_rms_norm_d2560_g2560_eps3727c5ac_hadamard_q8_pw_cluster8\22,{{.*}}\22grid\22:[\22B*8\22,1,1],\22block\22:[320,1,1],\22shared\22:0,\22batch\22:[1,15]}
// CHECK-SAME: \22kernel\22:\22gated_rms_norm_d2560_g2560_eps3727c5ac_hadamard_q8_pw\22,{{.*}}\22grid\22:[\22B\22,1,1],\22block\22:[320,1,1],\22shared\22:0,\22batch\22:[16,0]}
// The kernel: clusters of 8; weight, quantize scale and H_40's sign masks
// (constant memory) before the wait; the squares to shared memory, a
// cluster barrier, value t's square from each of the 8 blocks in order.
// CHECK-LABEL: gpu.func @gated_rms_norm_d2560_g2560_eps3727c5ac_hadamard_q8_pw_cluster8(
// CHECK-SAME: nvvm.cluster_dim = array<i32: 8, 1, 1>
// CHECK: %[[SIGNS:.*]] = llvm.mlir.addressof @hadamard_signs : !llvm.ptr<4>
// CHECK: llvm.load %{{.*}} : !llvm.ptr<4> -> i64
// CHECK: nvvm.griddepcontrol wait
// CHECK: %[[SQUARES:.*]] = llvm.mlir.addressof @squares : !llvm.ptr<3>
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// CHECK-COUNT-8: nvvm.mapa %{{.*}} : !llvm.ptr<3> -> !llvm.ptr<7>
// CHECK: @warp_totals
// CHECK: @hadamard_part
// CHECK: gpu.shuffle xor
// CHECK: nvvm.cluster.arrive {aligned}
// The column fetch from the block holding it, a barrier before anyone
// leaves, then the factor and the int8 store.
// CHECK: @hadamard_columns
// CHECK: nvvm.mapa
// CHECK: nvvm.cluster.arrive {aligned}
// CHECK-NEXT: nvvm.cluster.wait {aligned}
// CHECK-COUNT-40: arith.xori
// CHECK: arith.fptosi %{{.*}} : f32 to i8
// CHECK: gpu.return
// PTX-LABEL: .visible .entry gated_rms_norm_d2560_g2560_eps3727c5ac_hadamard_q8_pw_cluster8(
// PTX-SAME: .explicitcluster\0A.reqnctapercluster 8, 1, 1
// PTX-SAME: ld.const.b64
// PTX-SAME: griddepcontrol.wait
// PTX-SAME: barrier.cluster.arrive.aligned;\0A\09barrier.cluster.wait.aligned;\0A\09mapa.shared::cluster.u64
// PTX-SAME: ld.shared::cluster.b32
// PTX-SAME: ld.shared::cluster.b32
// PTX-SAME: ld.shared::cluster.b32
// PTX-SAME: ld.shared::cluster.b32
// PTX-SAME: ld.shared::cluster.b32
// PTX-SAME: ld.shared::cluster.b32
// PTX-SAME: ld.shared::cluster.b32
// PTX-SAME: ld.shared::cluster.b32
// PTX-SAME: st.global.b8
// SM80-NOT: cluster8
// SM80-NOT: nvvm.cluster
module {
  func.func @prefill(%t: tensor<?x?xi32>, %y: tensor<?x?x2560xf32>, %z: tensor<?x?x2560xf32>) -> tensor<?x?x2560xi8> {
    %w = arith.constant dense<0.5> : tensor<2560xf32>
    %s = arith.constant dense<0.25> : tensor<1xf32>
    %n = mamba.gated_rms_norm %y, %z, %w {group_size = 2560 : i64} : (tensor<?x?x2560xf32>, tensor<?x?x2560xf32>, tensor<2560xf32>) -> tensor<?x?x2560xf32>
    %h = mamba.hadamard %n : tensor<?x?x2560xf32>
    %q = mamba.quantize %h, scales(%s) : (tensor<?x?x2560xf32>, tensor<1xf32>) -> tensor<?x?x2560xi8>
    return %q : tensor<?x?x2560xi8>
  }
  func.func @decode(%t: tensor<?x1xi32>, %y: tensor<?x1x2560xf32>, %z: tensor<?x1x2560xf32>) -> tensor<?x1x2560xi8> {
    %w = arith.constant dense<0.5> : tensor<2560xf32>
    %s = arith.constant dense<0.25> : tensor<1xf32>
    %n = mamba.gated_rms_norm %y, %z, %w {group_size = 2560 : i64} : (tensor<?x1x2560xf32>, tensor<?x1x2560xf32>, tensor<2560xf32>) -> tensor<?x1x2560xf32>
    %h = mamba.hadamard %n : tensor<?x1x2560xf32>
    %q = mamba.quantize %h, scales(%s) : (tensor<?x1x2560xf32>, tensor<1xf32>) -> tensor<?x1x2560xi8>
    return %q : tensor<?x1x2560xi8>
  }
}

// -----

// Two groups of 1280: each group's sum is its own, and one block holds the
// row: no cluster kernel, one decode launch for every batch.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22name\22:\22decode\22,{{.*}}\22kernel\22:\22gated_rms_norm_d2560_g1280_eps3727c5ac_hadamard_q8_pw\22,{{.*}}\22grid\22:[\22B\22,1,1],\22block\22:[320,1,1],\22shared\22:0}]}
// CHECK-NOT: cluster
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
    return %x : tensor<?x?x128xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %y: tensor<?x1x2560xf32>, %z: tensor<?x1x2560xf32>) -> tensor<?x1x2560xi8> {
    %w = arith.constant dense<0.5> : tensor<2560xf32>
    %s = arith.constant dense<0.25> : tensor<1xf32>
    %n = mamba.gated_rms_norm %y, %z, %w {group_size = 1280 : i64} : (tensor<?x1x2560xf32>, tensor<?x1x2560xf32>, tensor<2560xf32>) -> tensor<?x1x2560xf32>
    %h = mamba.hadamard %n : tensor<?x1x2560xf32>
    %q = mamba.quantize %h, scales(%s) : (tensor<?x1x2560xf32>, tensor<1xf32>) -> tensor<?x1x2560xi8>
    return %q : tensor<?x1x2560xi8>
  }
}
