// RUN: quamba-opt %s -split-input-file --quamba-cast-weights | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-cast-weights --quamba-cast-weights | FileCheck %s
// RUN: quamba-opt %s -split-input-file --quamba-cast-weights=type=bf16 | FileCheck %s --check-prefix=BF16

// The embedding table (tied to lm_head) and the linear's weight become f16
// resources read by every user; the norm gain keeps f32. Values rounded to
// nearest-even, by hand: table [1, 0.1, -2.5, 3] -> f16 0x3C00, 0x2E66
// (0.0999755859375), 0xC100, 0x4200; w [1, 2, 3, 4] exactly. A second run
// changes nothing (the second RUN line checks the same output).
// bf16: 0x3F80, 0x3DCD, 0xC020, 0x4040.
// CHECK-LABEL: func.func @prefill
// CHECK: %[[TABLE:.*]] = arith.constant dense_resource<table_1> : tensor<2x2xf16>
// CHECK: %[[G:.*]] = arith.constant dense_resource<g> : tensor<2xf32>
// CHECK: %[[W:.*]] = arith.constant dense_resource<w_1> : tensor<2x2xf16>
// CHECK: mamba.embedding %[[TABLE]][%{{.*}}] : (tensor<2x2xf16>, tensor<?x?xi32>) -> tensor<?x?x2xf32>
// CHECK: mamba.rms_norm %{{.*}}, %[[G]]
// CHECK: mamba.linear %{{.*}}, %[[W]] : (tensor<?x?x2xf32>, tensor<2x2xf16>) -> tensor<?x?x2xf32>
// CHECK: mamba.lm_head %{{.*}}, %[[TABLE]] : (tensor<?x?x2xf32>, tensor<2x2xf16>)
// CHECK: dialect_resources
// CHECK-DAG: table_1: "0x02000000003C662E00C10042"
// CHECK-DAG: g: "0x040000000000803F0000803F"
// CHECK-DAG: w_1: "0x02000000003C004000420044"
// BF16-LABEL: func.func @prefill
// BF16: arith.constant dense_resource<table_1> : tensor<2x2xbf16>
// BF16: arith.constant dense_resource<g> : tensor<2xf32>
// BF16-DAG: table_1: "0x02000000803FCD3D20C04040"
module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 2, n_layer = 1, vocab_size = 2,
    d_state = 1, d_conv = 1, expand = 1, d_inner = 2, dt_rank = 1, tie_embeddings = true>} {
  func.func @prefill(%tokens: tensor<?x?xi32>) -> tensor<?x?x2xf32> {
    %table = arith.constant dense_resource<table> : tensor<2x2xf32>
    %g = arith.constant dense_resource<g> : tensor<2xf32>
    %w = arith.constant dense_resource<w> : tensor<2x2xf32>
    %x = mamba.embedding %table[%tokens] : (tensor<2x2xf32>, tensor<?x?xi32>) -> tensor<?x?x2xf32>
    %n = mamba.rms_norm %x, %g : (tensor<?x?x2xf32>, tensor<2xf32>) -> tensor<?x?x2xf32>
    %h = mamba.linear %n, %w : (tensor<?x?x2xf32>, tensor<2x2xf32>) -> tensor<?x?x2xf32>
    %logits = mamba.lm_head %h, %table : (tensor<?x?x2xf32>, tensor<2x2xf32>) -> tensor<?x?x2xf32>
    return %logits : tensor<?x?x2xf32>
  }
}
{-#
  dialect_resources: {
    builtin: {
      table: "0x040000000000803FCDCCCC3D000020C000004040",
      g: "0x040000000000803F0000803F",
      w: "0x040000000000803F000000400000404000008040"
    }
  }
#-}
