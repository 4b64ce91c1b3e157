// quamba-convert-mamba-to-gpu gives each entry point whose result 0 is f32
// logits [B, L, V] a greedy sampler: an argmax launch over the last position
// into a [B] i32 buffer, one warp per sequence for small vocabularies, one
// block for large ones (xor-shuffle reduction that keeps the lower index
// among equal maxima, then the warps' winners through shared memory), and a random sampler: a sample
// launch (ref::sampleToken) from the logits and an [8] i32 params buffer the
// host fills each step into the same next-token buffer, one warp per
// sequence: warp sums for the top-k / top-p bit searches, the splitmix64
// hash in 64-bit multiplies, quamba's exp/log, no approximate instruction.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx | FileCheck %s --check-prefix=PTX

// CHECK: \22name\22:\22prefill.next_token\22,\22dtype\22:\22i32\22,\22kind\22:\22activation\22,\22shape\22:[\22B\22]
// CHECK-SAME: \22name\22:\22prefill.sampling_params\22,\22dtype\22:\22i32\22,\22kind\22:\22activation\22,\22shape\22:[8]
// CHECK-SAME: \22sampler\22:{\22op\22:\22argmax\22,\22kernel\22:\22argmax_v40\22,\22operands\22:[3,4],{{[^}]*}}\22scalars\22:[\22B\22,\22L\22],\22attrs\22:{},\22grid\22:[\22cdiv(B*32,128)\22,1,1]
// CHECK-SAME: \22random_sampler\22:{\22op\22:\22sample\22,\22kernel\22:\22sample_v40\22,\22operands\22:[3,5,4],\22scalars\22:[\22B\22,\22L\22]
// CHECK-SAME: \22sampler\22:{\22op\22:\22argmax\22,\22kernel\22:\22argmax_v40\22,{{[^}]*}}\22scalars\22:[\22B\22,1]
// CHECK-SAME: \22random_sampler\22:{\22op\22:\22sample\22,\22kernel\22:\22sample_v40\22,{{[^}]*}}\22scalars\22:[\22B\22,1]
// CHECK-LABEL: gpu.module @argmax_v40
// CHECK: gpu.func @argmax_v40(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-COUNT-10: gpu.shuffle  xor
// CHECK-LABEL: gpu.module @sample_v40
// CHECK: gpu.func @sample_v40(%{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>, %{{.*}}: i32, %{{.*}}: i32, %{{.*}}: !llvm.ptr<1>, %{{.*}}: !llvm.ptr<1>) kernel
// CHECK-SAME: quamba.signature = ["*fp32", "*i32", "*i32", "i32", "i32"]
// CHECK: %[[MIX:.*]] = arith.constant -4658895280553007687 : i64
// CHECK: arith.muli %{{.*}}, %[[MIX]] : i64
// PTX-LABEL: .visible .entry argmax_v40(
// PTX-COUNT-10: shfl.sync.bfly.b32
// PTX: st.global.b32
// PTX-LABEL: .visible .entry sample_v40(
// PTX-NOT: {{\.approx|fma\.rn}}
// PTX: shfl.sync.bfly.b32
// PTX-NOT: {{\.approx|fma\.rn}}
// PTX: cvt.rpi.f64.f64
// PTX-NOT: {{\.approx|fma\.rn}}
// PTX: mul.lo.s64
// PTX-NOT: {{\.approx|fma\.rn}}
// PTX: st.global.b32
// PTX-NOT: {{\.approx|fma\.rn}}
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x40xf32>) -> tensor<?x?x40xf32> {
    %s = arith.constant dense<1.0> : tensor<40xf32>
    %y = mamba.rms_norm %x, %s : (tensor<?x?x40xf32>, tensor<40xf32>) -> tensor<?x?x40xf32>
    return %y : tensor<?x?x40xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x40xf32>) -> tensor<?x1x40xf32> {
    %s = arith.constant dense<1.0> : tensor<40xf32>
    %y = mamba.rms_norm %x, %s : (tensor<?x1x40xf32>, tensor<40xf32>) -> tensor<?x1x40xf32>
    return %y : tensor<?x1x40xf32>
  }
}

// -----

// A GPT-NeoX vocabulary: one block of 1024 threads per sequence, 8 logits
// loaded per thread before they are compared, the 32 warp winners combined
// by thread 0 after a barrier.
// CHECK: \22sampler\22:{\22op\22:\22argmax\22,\22kernel\22:\22argmax_v50288\22,{{.*}}\22grid\22:[\22B\22,1,1],\22block\22:[1024,1,1]
// CHECK-LABEL: gpu.module @argmax_v50288
// CHECK: llvm.mlir.global internal @warp_indices() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<32 x i32>
// CHECK: llvm.mlir.global internal @warp_values() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<32 x f32>
// CHECK: gpu.func @argmax_v50288
// CHECK: scf.for
// CHECK-COUNT-8: llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: gpu.shuffle  xor
// CHECK: gpu.barrier
// PTX-LABEL: .visible .entry argmax_v50288(
// PTX: .shared .align 16 .b8 warp_values[128];
// PTX: shfl.sync.bfly.b32
// PTX: bar.sync
// PTX: st.global.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x50288xf32>) -> tensor<?x?x50288xf32> {
    return %x : tensor<?x?x50288xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x50288xf32>) -> tensor<?x1x50288xf32> {
    return %x : tensor<?x1x50288xf32>
  }
}
