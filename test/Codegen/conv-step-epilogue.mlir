// quamba-convert-mamba-to-gpu fuses a decode causal_conv1d_step whose x is
// a linear's output part, read by nothing else, into the linear's GEMV
// launch (the conv-step epilogue, LaunchOps.h: attr conv_step [part], the
// step's attrs prefixed "conv_step."; operands: the linear's inputs, the
// step's inputs but x, the linear's outputs, the step's outputs). Where the
// linear has a tensor-core alternative for 16 sequences and more, that
// alternative keeps the step's own launch, over the same batch range.
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-convert-mamba-to-gpu --quamba-kernels-to-ptx \
// RUN:   | FileCheck %s --check-prefix=PTX

// fp32 linear -> split [32, 64] -> conv step on part 1: one launch for all
// batches over x, w, state, conv weight, conv bias, z, xc, y, new state;
// neither the plain GEMV nor the step kernel is built.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22name\22:\22decode\22,\22single_token\22:true,\22inputs\22:[{{[0-9]+}},[[X:[0-9]+]],[[STATE:[0-9]+]]],\22outputs\22:[[[Z:[0-9]+]],[[Y:[0-9]+]],[[NEW:[0-9]+]]]
// CHECK-SAME: \22launches\22:[{\22op\22:\22linear\22,\22kernel\22:\22linear_k64_n96_split32x64_conv1_c64_k4_silu1_bias1_warp_r1_pw\22,\22operands\22:[[[X]],{{[0-9]+}},[[STATE]],{{[0-9]+}},{{[0-9]+}},[[Z]],{{[0-9]+}},[[Y]],[[NEW]]]
// CHECK-SAME: \22attrs\22:{\22conv_step\22:[1.0],\22conv_step.has_bias\22:[1.0],\22conv_step.silu\22:[1.0],\22split_sizes\22:[32.0,64.0]}
// CHECK-NOT: \22batch\22
// CHECK-SAME: }],\22sampler\22
// CHECK-NOT: gpu.module @linear_k64_n96_split32x64_warp_r1_pw
// CHECK-NOT: gpu.module @causal_conv1d_step
// CHECK-LABEL: gpu.module @linear_k64_n96_split32x64_conv1_c64_k4_silu1_bias1_warp_r1_pw
// The step's loads come before the sums, its arithmetic after the store.
// CHECK: %[[CH:.*]] = arith.subi %{{.*}}, %c32{{.*}} : index
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[CH]], %c64{{.*}} : index
// CHECK: gpu.shuffle xor
// CHECK: llvm.store
// CHECK: scf.if %[[IN]]
// CHECK: arith.divf
// CHECK: llvm.store
// PTX-LABEL: .visible .entry linear_k64_n96_split32x64_conv1_c64_k4_silu1_bias1_warp_r1_pw(
// PTX: shfl.sync.bfly.b32
// PTX: st.global.b32
// PTX: div.rn.f32
// PTX: st.global.b32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    return %x : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>, %state: tensor<?x64x4xf32>) -> (tensor<?x1x32xf32>, tensor<?x1x64xf32>, tensor<?x64x4xf32>) {
    %w = arith.constant dense<0.5> : tensor<96x64xf32>
    %cw = arith.constant dense<0.25> : tensor<64x4xf32>
    %cb = arith.constant dense<0.125> : tensor<64xf32>
    %y = mamba.linear %x, %w : (tensor<?x1x64xf32>, tensor<96x64xf32>) -> tensor<?x1x96xf32>
    %z, %xc = mamba.split %y [32, 64] : tensor<?x1x96xf32> -> tensor<?x1x32xf32>, tensor<?x1x64xf32>
    %cy, %s = mamba.causal_conv1d_step %xc, state(%state), %cw bias(%cb) {silu} : (tensor<?x1x64xf32>, tensor<?x64x4xf32>, tensor<64x4xf32>, tensor<64xf32>) -> (tensor<?x1x64xf32>, tensor<?x64x4xf32>)
    return %z, %cy, %s : tensor<?x1x32xf32>, tensor<?x1x64xf32>, tensor<?x64x4xf32>
  }
}

// -----

// W8A8: the fused GEMV runs batches 1..15; from 16 on the tensor-core
// linear, then the step's own launch.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22launches\22:[{\22op\22:\22linear_w8a8\22,\22kernel\22:\22linear_w8a8_k64_n96_nobias_split32x64_conv1_c64_k4_silu0_bias0_warp_r1_pw\22
// CHECK-SAME: \22batch\22:[1,15]
// CHECK-SAME: {\22op\22:\22linear_w8a8\22,\22kernel\22:\22linear_w8a8_k64_n96_nobias_split32x64_mma_m16n8\22
// CHECK-SAME: \22batch\22:[16,0]
// CHECK-SAME: {\22op\22:\22causal_conv1d_step\22,\22kernel\22:\22causal_conv1d_step_c64_k4_silu0_bias0\22
// CHECK-SAME: \22batch\22:[16,0]
// CHECK-SAME: }],\22sampler\22
// CHECK-NOT: gpu.module @linear_w8a8_k64_n96_nobias_split32x64_warp_r1
// PTX-LABEL: .visible .entry linear_w8a8_k64_n96_nobias_split32x64_conv1_c64_k4_silu0_bias0_warp_r1_pw(
// PTX: dp4a.s32.s32
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    return %x : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xi8>, %state: tensor<?x64x4xf32>) -> (tensor<?x1x32xf32>, tensor<?x1x64xf32>, tensor<?x64x4xf32>) {
    %xs = arith.constant dense<0.5> : tensor<1xf32>
    %w = arith.constant dense<3> : tensor<96x64xi8>
    %ws = arith.constant dense<0.25> : tensor<96xf32>
    %cw = arith.constant dense<0.25> : tensor<64x4xf32>
    %y = mamba.linear_w8a8 %x scale(%xs), %w scales(%ws) : (tensor<?x1x64xi8>, tensor<1xf32>, tensor<96x64xi8>, tensor<96xf32>) -> tensor<?x1x96xf32>
    %z, %xc = mamba.split %y [32, 64] : tensor<?x1x96xf32> -> tensor<?x1x32xf32>, tensor<?x1x64xf32>
    %cy, %s = mamba.causal_conv1d_step %xc, state(%state), %cw : (tensor<?x1x64xf32>, tensor<?x64x4xf32>, tensor<64x4xf32>) -> (tensor<?x1x64xf32>, tensor<?x64x4xf32>)
    return %z, %cy, %s : tensor<?x1x32xf32>, tensor<?x1x64xf32>, tensor<?x64x4xf32>
  }
}

// -----

// The step's x is also returned: the linear and the step stay two launches.
// CHECK-LABEL: mamba.launch_plan
// CHECK-SAME: \22launches\22:[{\22op\22:\22linear\22,\22kernel\22:\22linear_k64_n96_split32x64_warp_r1_pw\22
// CHECK-NOT: conv_step
// CHECK-SAME: {\22op\22:\22causal_conv1d_step\22,\22kernel\22:\22causal_conv1d_step_c64_k4_silu1_bias0\22
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    return %x : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>, %state: tensor<?x64x4xf32>) -> (tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x64x4xf32>) {
    %w = arith.constant dense<0.5> : tensor<96x64xf32>
    %cw = arith.constant dense<0.25> : tensor<64x4xf32>
    %y = mamba.linear %x, %w : (tensor<?x1x64xf32>, tensor<96x64xf32>) -> tensor<?x1x96xf32>
    %z, %xc = mamba.split %y [32, 64] : tensor<?x1x96xf32> -> tensor<?x1x32xf32>, tensor<?x1x64xf32>
    %cy, %s = mamba.causal_conv1d_step %xc, state(%state), %cw {silu} : (tensor<?x1x64xf32>, tensor<?x64x4xf32>, tensor<64x4xf32>) -> (tensor<?x1x64xf32>, tensor<?x64x4xf32>)
    return %xc, %cy, %s : tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x64x4xf32>
  }
}

// -----

// A GEMV of 4 columns a warp (N / 4 >= 2048 warps): lane c < 4 stores
// column c and runs its step, its loads issued before the sums.
// CHECK-LABEL: gpu.module @linear_k64_n8256_split64x8192_conv1_c8192_k4_silu0_bias0_warp_r1_c4_pw
// CHECK: %[[LANE:.*]] = arith.remui %{{.*}}, %c32{{.*}} : index
// CHECK: %[[MINE:.*]] = arith.minui %[[LANE]], %c3{{.*}} : index
// CHECK: gpu.shuffle xor
// CHECK: %[[STORES:.*]] = arith.cmpi ult, %[[LANE]], %c4{{.*}} : index
// CHECK: scf.if %[[STORES]]
// CHECK: arith.cmpi eq, %[[LANE]]
// CHECK: llvm.store
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
    return %x : tensor<?x?x64xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x64xf32>, %state: tensor<?x8192x4xf32>) -> (tensor<?x1x64xf32>, tensor<?x1x8192xf32>, tensor<?x8192x4xf32>) {
    %w = arith.constant dense<0.5> : tensor<8256x64xf32>
    %cw = arith.constant dense<0.25> : tensor<8192x4xf32>
    %y = mamba.linear %x, %w : (tensor<?x1x64xf32>, tensor<8256x64xf32>) -> tensor<?x1x8256xf32>
    %z, %xc = mamba.split %y [64, 8192] : tensor<?x1x8256xf32> -> tensor<?x1x64xf32>, tensor<?x1x8192xf32>
    %cy, %s = mamba.causal_conv1d_step %xc, state(%state), %cw : (tensor<?x1x8192xf32>, tensor<?x8192x4xf32>, tensor<8192x4xf32>) -> (tensor<?x1x8192xf32>, tensor<?x8192x4xf32>)
    return %z, %cy, %s : tensor<?x1x64xf32>, tensor<?x1x8192xf32>, tensor<?x8192x4xf32>
  }
}

// -----

// K = 6 (not whole 16-byte chunks): the thread kernel, an output a thread,
// runs the step where it stores a column of the part.
// CHECK-LABEL: gpu.module @linear_k6_n96_split32x64_conv1_c64_k4_silu0_bias0_thread
// CHECK: llvm.store
// CHECK: %[[CH:.*]] = arith.subi %{{.*}}, %c32{{.*}} : index
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[CH]], %c64{{.*}} : index
// CHECK: scf.if %[[IN]]
// CHECK: llvm.store
module {
  func.func @prefill(%t: tensor<?x?xi32>, %x: tensor<?x?x6xf32>) -> tensor<?x?x6xf32> {
    return %x : tensor<?x?x6xf32>
  }
  func.func @decode(%t: tensor<?x1xi32>, %x: tensor<?x1x6xf32>, %state: tensor<?x64x4xf32>) -> (tensor<?x1x32xf32>, tensor<?x1x64xf32>, tensor<?x64x4xf32>) {
    %w = arith.constant dense<0.5> : tensor<96x6xf32>
    %cw = arith.constant dense<0.25> : tensor<64x4xf32>
    %y = mamba.linear %x, %w : (tensor<?x1x6xf32>, tensor<96x6xf32>) -> tensor<?x1x96xf32>
    %z, %xc = mamba.split %y [32, 64] : tensor<?x1x96xf32> -> tensor<?x1x32xf32>, tensor<?x1x64xf32>
    %cy, %s = mamba.causal_conv1d_step %xc, state(%state), %cw : (tensor<?x1x64xf32>, tensor<?x64x4xf32>, tensor<64x4xf32>) -> (tensor<?x1x64xf32>, tensor<?x64x4xf32>)
    return %z, %cy, %s : tensor<?x1x32xf32>, tensor<?x1x64xf32>, tensor<?x64x4xf32>
  }
}
