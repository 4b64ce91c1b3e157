// RUN: quamba-opt %s -split-input-file --quamba-print-model-summary -o /dev/null 2>&1 | FileCheck %s

// A tied lm_head shares the embedding's resource: counted once.
// CHECK-LABEL: model: #mamba.config<arch = mamba1
// CHECK: entry @embed_only: (tensor<?x?xi32>) -> tensor<?x?x4xf32>
// CHECK: weights: 2 tensors, 10 parameters, 36 bytes
// CHECK-NEXT: bf16: 1 tensors, 2 parameters, 4 bytes
// CHECK-NEXT: f32: 1 tensors, 8 parameters, 32 bytes
// CHECK-NEXT: ops: mamba.embedding x1 mamba.rms_norm x1 mamba.lm_head x1
module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 2, n_layer = 1, vocab_size = 4,
    d_state = 1, d_conv = 1, expand = 1, d_inner = 2, dt_rank = 1, tie_embeddings = true>} {
  func.func @embed_only(%tokens: tensor<?x?xi32>) -> tensor<?x?x4xf32> {
    %table = arith.constant dense_resource<table> : tensor<4x2xf32>
    %gain = arith.constant dense_resource<gain> : tensor<2xbf16>
    %table_again = arith.constant dense_resource<table> : tensor<4x2xf32>
    %x = mamba.embedding %table[%tokens] : (tensor<4x2xf32>, tensor<?x?xi32>) -> tensor<?x?x2xf32>
    %n = mamba.rms_norm %x, %gain : (tensor<?x?x2xf32>, tensor<2xbf16>) -> tensor<?x?x2xf32>
    %logits = mamba.lm_head %n, %table_again : (tensor<?x?x2xf32>, tensor<4x2xf32>) -> tensor<?x?x4xf32>
    return %logits : tensor<?x?x4xf32>
  }
}
{-#
  dialect_resources: {
    builtin: {
      table: "0x040000000000803F0000004000004040000080400000A0400000C0400000E04000000041",
      gain: "0x02000000803F803F"
    }
  }
#-}

// -----

// A module without a config still gets its inventory.
// CHECK-LABEL: model: (no mamba.config)
// CHECK: weights: 0 tensors, 0 parameters, 0 bytes
// CHECK-NEXT: ops:{{$}}
module {
}
