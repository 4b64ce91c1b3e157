// quamba-convert-mamba-to-gpu: hadamard becomes one block per row (a thread
// per butterfly pair, 128 to 1024 threads), grid = rows, in ref::hadamard's order: x copied into out, log2(p)
// butterfly passes in place with a barrier after each, then the m-point
// factor per column as straight-line adds and subtracts (H_m's +-1 entries
// compiled in) and the 1/sqrt(n) scale. Specialised on n.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu=target=sm_80 --quamba-kernels-to-ptx=chip=sm_80 \
// RUN:   | FileCheck %s --check-prefix=PTX

// n = 64 = 2^6 (m = 1): a copy, six butterfly passes, the scale 1/8.
// CHECK: mamba.launch_plan
// CHECK-SAME: codegen.hadamard_factor_1
// CHECK-SAME: \22op\22:\22hadamard\22,\22kernel\22:\22hadamard_n64\22
// CHECK-SAME: \22scalars\22:[\22B*L\22],\22attrs\22:{},\22grid\22:[\22B*L\22,1,1],\22block\22:[128,1,1]
// CHECK-SAME: \22scalars\22:[\22B\22],\22attrs\22:{},\22grid\22:[\22B\22,1,1]
// CHECK-LABEL: gpu.module @hadamard_n64
// CHECK: gpu.func @hadamard_n64(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-SAME: quamba.signature = ["*fp32", "*fp32", "*fp32", "i32"]
// CHECK: gpu.barrier
// CHECK-COUNT-6: arith.subf
// CHECK: arith.constant 1.250000e-01 : f32
// PTX-LABEL: .visible .entry hadamard_n64(
// PTX: ld.global
// PTX: bar.sync
// PTX: sub.rn.f32
// PTX: st.global
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    %y = mamba.hadamard %x : tensor<?x?x64xf32>
    return %y : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>) -> tensor<?x1x64xf32> {
    %y = mamba.hadamard %x : tensor<?x1x64xf32>
    return %y : tensor<?x1x64xf32>
  }
}

// -----

// n = 160 = 40 * 4: two butterfly passes on the row in shared memory, then
// the 40-point factor: 128 threads, so the 40 outputs of each of the 4
// columns split into 20 groups of 2 (160 threads' work for 80 items is one
// each); a group's thread loads its column's 40 values and sums them with
// H_40's signs compiled in: adds and subtracts, no multiplication before the
// scale.
// CHECK: mamba.launch_plan
// CHECK-SAME: codegen.hadamard_factor_40
// CHECK-SAME: [40,40]
// CHECK-SAME: \22kernel\22:\22hadamard_n160\22
// CHECK-LABEL: gpu.module @hadamard_n160
// CHECK: llvm.mlir.global internal @hadamard_row() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<160 x f32>
// CHECK: gpu.barrier
// CHECK: arith.subf
// CHECK: gpu.barrier
// CHECK: arith.subf
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK-COUNT-40: llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK-NOT: arith.mulf
// CHECK-COUNT-40: arith.{{addf|subf}}
// CHECK: arith.mulf
// CHECK: llvm.store
// CHECK-NOT: arith.mulf
// CHECK-COUNT-40: arith.{{addf|subf}}
// CHECK: arith.mulf
// CHECK: llvm.store
// CHECK: scf.if
// PTX-LABEL: .visible .entry hadamard_n160(
// PTX: bar.sync
// PTX: sub.rn.f32
// PTX: bar.sync
// PTX: add.rn.f32
// PTX: mul.rn.f32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x160xf32>) -> tensor<?x?x160xf32> {
    %y = mamba.hadamard %x : tensor<?x?x160xf32>
    return %y : tensor<?x?x160xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x160xf32>) -> tensor<?x1x160xf32> {
    return %x : tensor<?x1x160xf32>
  }
}

// -----

// n = 12: no butterfly pass; the factor alone, from shared memory, a
// group (thread) per output. Row 0 of H_12 (Paley II) starts + - +:
// out[0] = ((0 + v0) - v1) + v2 ...
// CHECK-LABEL: gpu.module @hadamard_n12
// CHECK: gpu.barrier
// CHECK: %[[V0:.*]] = llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK: %[[V1:.*]] = llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK: %[[V2:.*]] = llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK: %[[S0:.*]] = arith.addf %{{.*}}, %[[V0]] : f32
// CHECK-NEXT: %[[S1:.*]] = arith.subf %[[S0]], %[[V1]] : f32
// CHECK-NEXT: arith.addf %[[S1]], %[[V2]] : f32
// CHECK: arith.mulf
// CHECK: gpu.return
// PTX-LABEL: .visible .entry hadamard_n12(
// PTX: sub.rn.f32
// PTX: ret;
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x12xf32>) -> tensor<?x?x12xf32> {
    %y = mamba.hadamard %x : tensor<?x?x12xf32>
    return %y : tensor<?x?x12xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x12xf32>) -> tensor<?x1x12xf32> {
    return %x : tensor<?x1x12xf32>
  }
}

// -----

// n = 5120 = 40 * 128 (mamba2-2.7b's d_inner): 2560 butterfly pairs, so the
// block has the maximum 1024 threads.
// CHECK: \22kernel\22:\22hadamard_n5120\22,{{.*}}\22block\22:[1024,1,1]
// CHECK: gpu.func @hadamard_n5120(
// CHECK-SAME: known_block_size = array<i32: 1024, 1, 1>
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x5120xf32>) -> tensor<?x?x5120xf32> {
    %y = mamba.hadamard %x : tensor<?x?x5120xf32>
    return %y : tensor<?x?x5120xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x5120xf32>) -> tensor<?x1x5120xf32> {
    return %x : tensor<?x1x5120xf32>
  }
}

// -----

// n = 20480 = 40 * 512 (over 48 KiB): the work row is the output in global
// memory, and the thread of column r reads its 40 values before it writes
// its 40 outputs, each ((0 + v0) - v1) + ... with H_40's signs compiled in.
// CHECK-LABEL: gpu.module @hadamard_n20480_global
// CHECK-NOT: addr_space = 3
// CHECK: gpu.barrier
// CHECK-COUNT-40: llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK-NOT: arith.mulf
// CHECK-COUNT-40: arith.{{addf|subf}}
// CHECK: arith.mulf
// CHECK: llvm.store
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x20480xf32>) -> tensor<?x?x20480xf32> {
    %y = mamba.hadamard %x : tensor<?x?x20480xf32>
    return %y : tensor<?x?x20480xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x20480xf32>) -> tensor<?x1x20480xf32> {
    return %x : tensor<?x1x20480xf32>
  }
}
