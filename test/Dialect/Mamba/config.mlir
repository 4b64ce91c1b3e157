// RUN: quamba-opt %s -split-input-file | FileCheck %s
// RUN: quamba-opt %s -split-input-file | quamba-opt -split-input-file | FileCheck %s
// RUN: quamba-opt %s -split-input-file -mlir-print-op-generic | quamba-opt -split-input-file | FileCheck %s

// The #mamba.config attribute round-trips: parameters print in declaration
// order, and the default-valued ones (dt_rank, headdim, nheads, ngroups,
// chunk_size; all 0) are omitted when they hold the default. A module whose
// ops agree with its config passes the module-level verifier.

// A Mamba2 config, written with its parameters out of order, prints in
// declaration order; dt_rank (default 0) is omitted.
// CHECK-LABEL: module attributes {mamba.config = #mamba.config<arch = mamba2, d_model = 64, n_layer = 2, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>} {
// CHECK-NEXT: }
module attributes {mamba.config = #mamba.config<tie_embeddings = true, chunk_size = 16, ngroups = 2, nheads = 8, headdim = 16,
    arch = mamba2, d_model = 64, n_layer = 2, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128>} {
}

// -----

// A Mamba1 config: the Mamba2-only parameters are omitted, also when written
// out with their default value 0.
// CHECK-LABEL: module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 64, n_layer = 2, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, tie_embeddings = false>} {
// CHECK-NEXT: }
module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 64, n_layer = 2, vocab_size = 256, d_state = 16,
    d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, headdim = 0, nheads = 0, ngroups = 0, chunk_size = 0,
    tie_embeddings = false>} {
}

// -----

// A Mamba2 config with an explicit dt_rank = 0 prints without it; an alias
// is expanded on print.
// CHECK-LABEL: module attributes {mamba.config = #mamba.config<arch = mamba2, d_model = 32, n_layer = 1, vocab_size = 64, d_state = 8, d_conv = 4, expand = 2, d_inner = 64, headdim = 8, nheads = 8, ngroups = 1, chunk_size = 4, tie_embeddings = false>} {
// CHECK-NEXT: }
#small = #mamba.config<arch = mamba2, d_model = 32, n_layer = 1, vocab_size = 64, d_state = 8, d_conv = 4, expand = 2,
    d_inner = 64, dt_rank = 0, headdim = 8, nheads = 8, ngroups = 1, chunk_size = 4, tie_embeddings = false>
module attributes {mamba.config = #small} {
}

// -----

// The attribute is a plain attribute too: it can be held under a name that
// no dialect verifies (here on a function), with no module-level check.
// CHECK-LABEL: func.func @configs_as_values()
// CHECK-SAME: m1 = #mamba.config<arch = mamba1, d_model = 4, n_layer = 1, vocab_size = 8, d_state = 2, d_conv = 2, expand = 1, d_inner = 4, dt_rank = 1, tie_embeddings = true>
// CHECK-SAME: m2 = #mamba.config<arch = mamba2, d_model = 4, n_layer = 1, vocab_size = 8, d_state = 2, d_conv = 2, expand = 2, d_inner = 8, headdim = 2, nheads = 4, ngroups = 4, chunk_size = 1, tie_embeddings = true>
func.func @configs_as_values() attributes {
    m1 = #mamba.config<arch = mamba1, d_model = 4, n_layer = 1, vocab_size = 8, d_state = 2, d_conv = 2, expand = 1, d_inner = 4, dt_rank = 1, tie_embeddings = true>,
    m2 = #mamba.config<arch = mamba2, d_model = 4, n_layer = 1, vocab_size = 8, d_state = 2, d_conv = 2, expand = 2, d_inner = 8, headdim = 2, nheads = 4, ngroups = 4, chunk_size = 1, tie_embeddings = true>} {
  return
}

// -----

// A consistent small Mamba2 model passes the module-level verifier:
// embedding and lm_head [vocab_size, d_model] = [256, 64], conv over conv_dim
// = d_inner + 2 * ngroups * d_state = 128 + 2 * 2 * 16 = 192 with d_conv 4,
// ssd_scan with headdim 16, ngroups 2 and nheads 8 (A_log [8]), the decode
// step likewise, and gated_rms_norm with group_size d_inner / ngroups = 64.
// CHECK-LABEL: module attributes {mamba.config = #mamba.config<arch = mamba2,
// CHECK-LABEL: func.func @prefill(
// CHECK: mamba.embedding
// CHECK: mamba.rms_norm
// CHECK: mamba.linear
// CHECK: mamba.split
// CHECK: mamba.causal_conv1d
// CHECK: mamba.split
// CHECK: mamba.ssd_scan
// CHECK: mamba.gated_rms_norm
// CHECK: mamba.linear
// CHECK: mamba.rms_norm
// CHECK: mamba.lm_head
// CHECK-LABEL: func.func @decode(
// CHECK: mamba.causal_conv1d_step
// CHECK: mamba.ssd_step
// CHECK: mamba.gated_rms_norm
module attributes {mamba.config = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16,
    d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>} {
  func.func @prefill(%tokens: tensor<?x?xi32>, %table: tensor<256x64xf32>, %norm_w: tensor<64xf32>,
      %in_proj: tensor<328x64xf32>, %conv_w: tensor<192x4xf32>, %conv_b: tensor<192xf32>,
      %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>, %gnorm_w: tensor<128xf32>,
      %out_proj: tensor<64x128xf32>, %norm_f_w: tensor<64xf32>)
      -> (tensor<?x?x256xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>) {
    %h = mamba.embedding %table[%tokens] : (tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
    %n = mamba.rms_norm %h, %norm_w : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
    %zxbcdt = mamba.linear %n, %in_proj : (tensor<?x?x64xf32>, tensor<328x64xf32>) -> tensor<?x?x328xf32>
    %z, %xBC, %dt = mamba.split %zxbcdt [128, 192, 8] : tensor<?x?x328xf32> -> tensor<?x?x128xf32>, tensor<?x?x192xf32>, tensor<?x?x8xf32>
    %conv, %conv_state = mamba.causal_conv1d %xBC, %conv_w bias(%conv_b) {silu} : (tensor<?x?x192xf32>, tensor<192x4xf32>, tensor<192xf32>) -> (tensor<?x?x192xf32>, tensor<?x192x4xf32>)
    %x, %B, %C = mamba.split %conv [128, 32, 32] : tensor<?x?x192xf32> -> tensor<?x?x128xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
    %y, %ssm_state = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
    %g = mamba.gated_rms_norm %y, %z, %gnorm_w {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %o = mamba.linear %g, %out_proj : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
    %f, %res = mamba.rms_norm %o, %norm_f_w residual(%h) : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
    %logits = mamba.lm_head %f, %table : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
    return %logits, %conv_state, %ssm_state : tensor<?x?x256xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>
  }
  func.func @decode(%xBC: tensor<?x1x192xf32>, %dt: tensor<?x1x8xf32>, %z: tensor<?x1x128xf32>,
      %conv_state: tensor<?x192x4xf32>, %ssm_state: tensor<?x8x16x16xf32>, %conv_w: tensor<192x4xf32>,
      %A_log: tensor<8xf32>, %D: tensor<128xf32>, %dt_bias: tensor<8xf32>, %gnorm_w: tensor<128xf32>)
      -> (tensor<?x1x128xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>) {
    %conv, %new_conv_state = mamba.causal_conv1d_step %xBC, state(%conv_state), %conv_w {silu} : (tensor<?x1x192xf32>, tensor<?x192x4xf32>, tensor<192x4xf32>) -> (tensor<?x1x192xf32>, tensor<?x192x4xf32>)
    %x, %B, %C = mamba.split %conv [128, 32, 32] : tensor<?x1x192xf32> -> tensor<?x1x128xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>
    %y, %new_ssm_state = mamba.ssd_step %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%ssm_state) {headdim = 16 : i64, ngroups = 2 : i64} : (tensor<?x1x128xf32>, tensor<?x1x8xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<8xf32>, tensor<128xf32>, tensor<8xf32>, tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xf32>)
    %g = mamba.gated_rms_norm %y, %z, %gnorm_w {group_size = 64 : i64} : (tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<128xf32>) -> tensor<?x1x128xf32>
    return %g, %new_conv_state, %new_ssm_state : tensor<?x1x128xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>
  }
}

// -----

// A consistent small Mamba1 model passes too: conv over conv_dim = d_inner =
// 128, selective scan with A_log [d_inner, d_state] = [128, 16], untied
// lm_head [256, 64].
// CHECK-LABEL: module attributes {mamba.config = #mamba.config<arch = mamba1,
// CHECK-LABEL: func.func @prefill(
// CHECK: mamba.embedding
// CHECK: mamba.causal_conv1d
// CHECK: mamba.selective_scan
// CHECK: mamba.lm_head
// CHECK-LABEL: func.func @decode(
// CHECK: mamba.causal_conv1d_step
// CHECK: mamba.selective_step
module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16,
    d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, tie_embeddings = false>} {
  func.func @prefill(%tokens: tensor<?x?xi32>, %table: tensor<256x64xf32>, %x: tensor<?x?x128xf32>,
      %conv_w: tensor<128x4xf32>, %dt: tensor<?x?x128xf32>, %B: tensor<?x?x16xf32>, %C: tensor<?x?x16xf32>,
      %z: tensor<?x?x128xf32>, %A_log: tensor<128x16xf32>, %D: tensor<128xf32>, %dt_bias: tensor<128xf32>,
      %hidden: tensor<?x?x64xf32>, %lm_head: tensor<256x64xf32>)
      -> (tensor<?x?x64xf32>, tensor<?x?x128xf32>, tensor<?x128x16xf32>, tensor<?x?x256xf32>) {
    %h = mamba.embedding %table[%tokens] : (tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
    %conv, %conv_state = mamba.causal_conv1d %x, %conv_w {silu} : (tensor<?x?x128xf32>, tensor<128x4xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x4xf32>)
    %y, %ssm_state = mamba.selective_scan %conv, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias) : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x16xf32>)
    %logits = mamba.lm_head %hidden, %lm_head : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
    return %h, %y, %ssm_state, %logits : tensor<?x?x64xf32>, tensor<?x?x128xf32>, tensor<?x128x16xf32>, tensor<?x?x256xf32>
  }
  func.func @decode(%x: tensor<?x1x128xf32>, %conv_state: tensor<?x128x4xf32>, %conv_w: tensor<128x4xf32>,
      %dt: tensor<?x1x128xf32>, %B: tensor<?x1x16xf32>, %C: tensor<?x1x16xf32>, %z: tensor<?x1x128xf32>,
      %A_log: tensor<128x16xf32>, %D: tensor<128xf32>, %dt_bias: tensor<128xf32>, %ssm_state: tensor<?x128x16xf32>)
      -> (tensor<?x1x128xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>) {
    %conv, %new_conv_state = mamba.causal_conv1d_step %x, state(%conv_state), %conv_w {silu} : (tensor<?x1x128xf32>, tensor<?x128x4xf32>, tensor<128x4xf32>) -> (tensor<?x1x128xf32>, tensor<?x128x4xf32>)
    %y, %new_ssm_state = mamba.selective_step %conv, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%ssm_state) : (tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>, tensor<?x1x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>, tensor<?x128x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x128x16xf32>)
    return %y, %new_conv_state, %new_ssm_state : tensor<?x1x128xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>
  }
}
