// RUN: quamba-opt %s -split-input-file -verify-diagnostics --quamba-rotate | FileCheck %s

// d_model 4, d_inner 8, M = Hᵀ / sqrt(n) with H the Sylvester matrix of
// mamba.hadamard (symmetric for 2^k). Expected values computed independently
// in Python (exact integer products H4 · W · H8ᵀ, then scaled):
//   table  E · M4       = [[5,-1,-2,0],[0,0,1,-1],[1,1,1,1],[2,0,0,0]]
//   w_lm   W_lm · M4    = [[.5,.5,.5,.5],[1,-1,1,-1],[1,0,1,0],[1,2,-1,-2]]
//   w_in   W_in · M4    (rows of 8x4)
//   w_out  M4ᵀ · W_out · M8 = H4 · W_out · H8ᵀ / (2 sqrt 8), first row
//          [-6,-2,-4,0,6,-14,-28,0] / 5.657 = [-1.0607, -0.3536, ...]
//   bias   M4ᵀ b        = [1.5, -0.5, -2.5, 3.5]
// The unit gains are untouched; a mamba.hadamard feeds out_proj in both
// functions.

// CHECK-LABEL: func.func @prefill
// CHECK-DAG: arith.constant dense_resource<[[TABLE:table_[0-9]+]]> : tensor<4x4xf32>
// CHECK-DAG: arith.constant dense_resource<ones> : tensor<4xf32>
// CHECK-DAG: arith.constant dense_resource<[[WIN:w_in_[0-9]+]]> : tensor<8x4xf32>
// CHECK-DAG: %[[WOUT:.*]] = arith.constant dense_resource<[[WOUTK:w_out_[0-9]+]]> : tensor<4x8xf32>
// CHECK-DAG: %[[BIAS:.*]] = arith.constant dense_resource<[[BIASK:bias_[0-9]+]]> : tensor<4xf32>
// CHECK-DAG: arith.constant dense_resource<[[WLM:w_lm_[0-9]+]]> : tensor<4x4xf32>
// CHECK: %[[H:.*]] = mamba.linear
// CHECK-NEXT: %[[Y:.*]] = mamba.hadamard %[[H]] : tensor<?x?x8xf32>
// CHECK-NEXT: mamba.linear %[[Y]], %[[WOUT]] bias(%[[BIAS]])
// CHECK-LABEL: func.func @decode
// CHECK-DAG: arith.constant dense_resource<[[TABLE]]> : tensor<4x4xf32>
// CHECK-DAG: arith.constant dense_resource<[[WIN]]> : tensor<8x4xf32>
// CHECK-DAG: %[[WOUT2:.*]] = arith.constant dense_resource<[[WOUTK]]> : tensor<4x8xf32>
// CHECK-DAG: arith.constant dense_resource<[[BIASK]]> : tensor<4xf32>
// CHECK-DAG: arith.constant dense_resource<[[WLM]]> : tensor<4x4xf32>
// CHECK: %[[H2:.*]] = mamba.linear
// CHECK-NEXT: %[[Y2:.*]] = mamba.hadamard %[[H2]] : tensor<?x1x8xf32>
// CHECK-NEXT: mamba.linear %[[Y2]], %[[WOUT2]]
// CHECK: dialect_resources
// CHECK-DAG: [[TABLE]]: "0x040000000000A040000080BF000000C00000000000000000000000000000803F000080BF0000803F0000803F0000803F0000803F00000040000000000000000000000000"
// CHECK-DAG: ones: "0x040000000000803F0000803F0000803F0000803F"
// CHECK-DAG: [[WIN]]: "0x04000000000080BF000080BF000000C000000000000000BF0000C03F0000003F0000204000000000000080BF00004040000000000000003F0000C03F0000003F000020C00000803F000080BF000000C000000000000080BF000080BF000000C000000000000000BF0000C03F0000003F0000204000000000000080BF0000404000000000"
// CHECK-DAG: [[WOUTK]]: "0x04000000B6C387BFF304B5BEF30435BF00000000B6C3873F55641EC055649EC000000000F304B5BE55641E40000000000000000055641EC055641EC00000000000000000F30435BF0000000055641E4055641EC055649EC00000000055641EC055641E40000000000000000055641EC055641EC0000000000000000055641E4055641E40"
// CHECK-DAG: [[BIASK]]: "0x040000000000C03F000000BF000020C000006040"
// CHECK-DAG: [[WLM]]: "0x040000000000003F0000003F0000003F0000003F0000803F000080BF0000803F000080BF0000803F000000000000803F000000000000803F00000040000080BF000000C0"
module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 4, n_layer = 1, vocab_size = 4,
    d_state = 1, d_conv = 1, expand = 2, d_inner = 8, dt_rank = 1, tie_embeddings = false>} {
  func.func @prefill(%tokens: tensor<?x?xi32>) -> tensor<?x?x4xf32> {
    %table = arith.constant dense_resource<table> : tensor<4x4xf32>
    %g = arith.constant dense_resource<ones> : tensor<4xf32>
    %w_in = arith.constant dense_resource<w_in> : tensor<8x4xf32>
    %w_out = arith.constant dense_resource<w_out> : tensor<4x8xf32>
    %bias = arith.constant dense_resource<bias> : tensor<4xf32>
    %w_lm = arith.constant dense_resource<w_lm> : tensor<4x4xf32>
    %x = mamba.embedding %table[%tokens] : (tensor<4x4xf32>, tensor<?x?xi32>) -> tensor<?x?x4xf32>
    %n = mamba.rms_norm %x, %g : (tensor<?x?x4xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
    %h = mamba.linear %n, %w_in : (tensor<?x?x4xf32>, tensor<8x4xf32>) -> tensor<?x?x8xf32>
    %o = mamba.linear %h, %w_out bias(%bias) : (tensor<?x?x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<?x?x4xf32>
    %nf, %r = mamba.rms_norm %o, %g residual(%x) : (tensor<?x?x4xf32>, tensor<4xf32>, tensor<?x?x4xf32>) -> (tensor<?x?x4xf32>, tensor<?x?x4xf32>)
    %logits = mamba.lm_head %nf, %w_lm : (tensor<?x?x4xf32>, tensor<4x4xf32>) -> tensor<?x?x4xf32>
    return %logits : tensor<?x?x4xf32>
  }
  func.func @decode(%tokens: tensor<?x1xi32>) -> tensor<?x1x4xf32> {
    %table = arith.constant dense_resource<table> : tensor<4x4xf32>
    %g = arith.constant dense_resource<ones> : tensor<4xf32>
    %w_in = arith.constant dense_resource<w_in> : tensor<8x4xf32>
    %w_out = arith.constant dense_resource<w_out> : tensor<4x8xf32>
    %bias = arith.constant dense_resource<bias> : tensor<4xf32>
    %w_lm = arith.constant dense_resource<w_lm> : tensor<4x4xf32>
    %x = mamba.embedding %table[%tokens] : (tensor<4x4xf32>, tensor<?x1xi32>) -> tensor<?x1x4xf32>
    %n = mamba.rms_norm %x, %g : (tensor<?x1x4xf32>, tensor<4xf32>) -> tensor<?x1x4xf32>
    %h = mamba.linear %n, %w_in : (tensor<?x1x4xf32>, tensor<8x4xf32>) -> tensor<?x1x8xf32>
    %o = mamba.linear %h, %w_out bias(%bias) : (tensor<?x1x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<?x1x4xf32>
    %nf, %r = mamba.rms_norm %o, %g residual(%x) : (tensor<?x1x4xf32>, tensor<4xf32>, tensor<?x1x4xf32>) -> (tensor<?x1x4xf32>, tensor<?x1x4xf32>)
    %logits = mamba.lm_head %nf, %w_lm : (tensor<?x1x4xf32>, tensor<4x4xf32>) -> tensor<?x1x4xf32>
    return %logits : tensor<?x1x4xf32>
  }
}
{-#
  dialect_resources: {
    builtin: {
      table: "0x040000000000803F000000400000404000008040000000000000803F00000000000080BF000000400000000000000000000000000000803F0000803F0000803F0000803F",
      ones: "0x040000000000803F0000803F0000803F0000803F",
      w_in: "0x04000000000000C0000080BF000000000000803F00000040000000C0000080BF000000000000803F00000040000000C0000080BF000000000000803F00000040000000C0000080BF000000000000803F00000040000000C0000080BF000000000000803F00000040000000C0000080BF000000000000803F00000040000000C0000080BF",
      w_out: "0x04000000000040C0000000C0000080BF000000000000803F0000004000004040000040C0000000C0000080BF000000000000803F0000004000004040000040C0000000C0000080BF000000000000803F0000004000004040000040C0000000C0000080BF000000000000803F0000004000004040000040C0000000C0000080BF00000000",
      bias: "0x040000000000803F000000C00000000000008040",
      w_lm: "0x040000000000803F000000000000000000000000000000000000004000000000000000000000803F0000803F0000000000000000000000000000000000004040000080BF"
    }
  }
#-}

// -----

// Gains that are not ones: the rotation would not commute with the norm.
module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 2, n_layer = 1, vocab_size = 4,
    d_state = 1, d_conv = 1, expand = 1, d_inner = 2, dt_rank = 1, tie_embeddings = true>} {
  func.func @prefill(%tokens: tensor<?x?xi32>) -> tensor<?x?x4xf32> {
    %table = arith.constant dense_resource<table2> : tensor<4x2xf32>
    %gain = arith.constant dense_resource<gain2> : tensor<2xf32>
    %x = mamba.embedding %table[%tokens] : (tensor<4x2xf32>, tensor<?x?xi32>) -> tensor<?x?x2xf32>
    // expected-error @+1 {{'mamba.rms_norm' op gain 'gain2' is not all ones: run quamba-fuse-norm-gains first}}
    %n = mamba.rms_norm %x, %gain : (tensor<?x?x2xf32>, tensor<2xf32>) -> tensor<?x?x2xf32>
    %logits = mamba.lm_head %n, %table : (tensor<?x?x2xf32>, tensor<4x2xf32>) -> tensor<?x?x4xf32>
    return %logits : tensor<?x?x4xf32>
  }
}
{-#
  dialect_resources: {
    builtin: {
      table2: "0x040000000000803F0000004000004040000080400000A0400000C0400000E04000000041",
      gain2: "0x04000000000000400000003F"
    }
  }
#-}

// -----

// d_model 6 is not 2^k, 12*2^k or 40*2^k.
module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 6, n_layer = 1, vocab_size = 2,
    d_state = 1, d_conv = 1, expand = 1, d_inner = 6, dt_rank = 1, tie_embeddings = true>} {
  func.func @prefill(%tokens: tensor<?x?xi32>) -> tensor<?x?x2xf32> {
    %table = arith.constant dense_resource<table6> : tensor<2x6xf32>
    %gain = arith.constant dense_resource<ones6> : tensor<6xf32>
    // expected-error @+1 {{'mamba.embedding' op d_model 6 is not a supported Hadamard size (2^k, 12*2^k or 40*2^k)}}
    %x = mamba.embedding %table[%tokens] : (tensor<2x6xf32>, tensor<?x?xi32>) -> tensor<?x?x6xf32>
    %n = mamba.rms_norm %x, %gain : (tensor<?x?x6xf32>, tensor<6xf32>) -> tensor<?x?x6xf32>
    %logits = mamba.lm_head %n, %table : (tensor<?x?x6xf32>, tensor<2x6xf32>) -> tensor<?x?x2xf32>
    return %logits : tensor<?x?x2xf32>
  }
}
{-#
  dialect_resources: {
    builtin: {
      table6: "0x040000000000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F",
      ones6: "0x040000000000803F0000803F0000803F0000803F0000803F0000803F"
    }
  }
#-}
