// RUN: quamba-opt %s -split-input-file -verify-diagnostics

// Diagnostics of the mamba dialect: one case per verifier message of
// MambaOps.cpp (per-op shape contracts) and MambaDialect.cpp (#mamba.config
// and the module-level check of ops against it). Sizes follow a tiny Mamba2
// model: D 64, E 128, H 8, P 16, G 2, N 16, K 4, conv_dim 192, V 256.

//===----------------------------------------------------------------------===//
// ShapeContract: rank, one-token steps, dimension mismatches
//===----------------------------------------------------------------------===//

// An operand of the wrong rank names the expected dimensions and the type.
func.func @embedding_table_rank(%table: tensor<256xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.embedding' op 'table' must have rank 2 [V, D], got 'tensor<256xf32>'}}
  %0 = mamba.embedding %table[%tokens] : (tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// A decode step takes exactly one token: L must be statically 1.
func.func @conv_step_two_tokens(%x: tensor<?x2x192xf32>, %state: tensor<?x192x4xf32>, %w: tensor<192x4xf32>) -> tensor<?x2x192xf32> {
  // expected-error @+1 {{'mamba.causal_conv1d_step' op 'x' dimension 1 must be 1 (one token per step), got 2}}
  %y, %s = mamba.causal_conv1d_step %x, state(%state), %w {silu} : (tensor<?x2x192xf32>, tensor<?x192x4xf32>, tensor<192x4xf32>) -> (tensor<?x2x192xf32>, tensor<?x192x4xf32>)
  return %y : tensor<?x2x192xf32>
}

// -----

// Two operands disagree on a named dimension: both sides are named.
func.func @ssd_scan_dt_heads_mismatch(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x7xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op 'A_log' dimension 0 (H) is 8, but 'dt' has H = 7}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x7xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
  return %y : tensor<?x?x128xf32>
}

// -----

// A dimension bound by an attribute (P = headdim) is named as such.
func.func @ssd_scan_state_headdim_mismatch(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x8x8x16xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op 'state' dimension 2 (P) is 8, but headdim = 16}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x8x16xf32>)
  return %s : tensor<?x8x8x16xf32>
}

//===----------------------------------------------------------------------===//
// Model wrapper ops
//===----------------------------------------------------------------------===//

// -----

// The embedding result's width is the table's D.
func.func @embedding_result_width(%table: tensor<256x64xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x32xf32> {
  // expected-error @+1 {{'mamba.embedding' op 'result' dimension 2 (D) is 32, but 'table' has D = 64}}
  %0 = mamba.embedding %table[%tokens] : (tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<?x?x32xf32>
  return %0 : tensor<?x?x32xf32>
}

// -----

// rms_norm: eps must be positive.
func.func @rms_norm_zero_eps(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.rms_norm' op eps must be positive and finite, got 0}}
  %0 = mamba.rms_norm %x, %w {eps = 0.0 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// rms_norm: the fused add-norm needs both the residual operand and result.
func.func @rms_norm_residual_without_result(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>, %r: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.rms_norm' op has a residual operand but no residual result, or the reverse; the fused form needs both}}
  %0 = mamba.rms_norm %x, %w residual(%r) : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// rms_norm: the weight is [D] of the input.
func.func @rms_norm_weight_width(%x: tensor<?x?x64xf32>, %w: tensor<32xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.rms_norm' op 'weight' dimension 0 (D) is 32, but 'input' has D = 64}}
  %0 = mamba.rms_norm %x, %w : (tensor<?x?x64xf32>, tensor<32xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// linear: the weight is [out_features, in_features] (PyTorch layout), so a
// transposed weight is rejected.
func.func @linear_transposed_weight(%x: tensor<?x?x64xf32>, %w: tensor<64x328xf32>) -> tensor<?x?x328xf32> {
  // expected-error @+1 {{'mamba.linear' op 'weight' dimension 1 (in_features) is 328, but 'input' has in_features = 64}}
  %0 = mamba.linear %x, %w : (tensor<?x?x64xf32>, tensor<64x328xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}

// -----

// linear: the bias has out_features elements.
func.func @linear_bias_width(%x: tensor<?x?x128xf32>, %w: tensor<64x128xf32>, %b: tensor<128xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear' op 'bias' dimension 0 (out_features) is 128, but 'weight' has out_features = 64}}
  %0 = mamba.linear %x, %w bias(%b) : (tensor<?x?x128xf32>, tensor<64x128xf32>, tensor<128xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// lm_head: logits are [B, L, V] of the weight's V.
func.func @lm_head_logits_width(%x: tensor<?x?x64xf32>, %w: tensor<256x64xf32>) -> tensor<?x?x255xf32> {
  // expected-error @+1 {{'mamba.lm_head' op 'logits' dimension 2 (V) is 255, but 'weight' has V = 256}}
  %0 = mamba.lm_head %x, %w : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x255xf32>
  return %0 : tensor<?x?x255xf32>
}

//===----------------------------------------------------------------------===//
// split
//===----------------------------------------------------------------------===//

// -----

// split: one size per result.
func.func @split_sizes_vs_results(%x: tensor<?x?x328xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.split' op has 3 sizes but 2 results}}
  %0:2 = mamba.split %x [128, 192, 8] : tensor<?x?x328xf32> -> tensor<?x?x128xf32>, tensor<?x?x200xf32>
  return %0#0 : tensor<?x?x128xf32>
}

// -----

// split: a rank-0 input has no last dimension.
func.func @split_rank0(%x: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{'mamba.split' op 'input' must have rank >= 1}}
  %0 = mamba.split %x [1] : tensor<f32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// split: every piece is non-empty.
func.func @split_zero_size(%x: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.split' op sizes must be positive, got 0}}
  %0:2 = mamba.split %x [128, 0] : tensor<?x?x128xf32> -> tensor<?x?x128xf32>, tensor<?x?x0xf32>
  return %0#0 : tensor<?x?x128xf32>
}

// -----

// split: the sizes cover the last dimension exactly.
func.func @split_sizes_sum(%x: tensor<?x?x328xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.split' op sizes add up to 320 but the last dimension of 'input' is 328}}
  %0:3 = mamba.split %x [128, 184, 8] : tensor<?x?x328xf32> -> tensor<?x?x128xf32>, tensor<?x?x184xf32>, tensor<?x?x8xf32>
  return %0#0 : tensor<?x?x128xf32>
}

// -----

// split: each result is the input's shape with its size as last dimension.
func.func @split_result_shape(%x: tensor<?x?x192xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.split' op result 1 has shape 'tensor<?x?x16xf32>', expected the input's shape with 32 as the last dimension}}
  %0:3 = mamba.split %x [128, 32, 32] : tensor<?x?x192xf32> -> tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x32xf32>
  return %0#0 : tensor<?x?x128xf32>
}

//===----------------------------------------------------------------------===//
// causal_conv1d
//===----------------------------------------------------------------------===//

// -----

// causal_conv1d: the conv state is [B, C, K] of the weight's K.
func.func @conv_state_kernel(%x: tensor<?x?x192xf32>, %w: tensor<192x4xf32>) -> tensor<?x192x3xf32> {
  // expected-error @+1 {{'mamba.causal_conv1d' op 'state' dimension 2 (K) is 3, but 'weight' has K = 4}}
  %y, %s = mamba.causal_conv1d %x, %w {silu} : (tensor<?x?x192xf32>, tensor<192x4xf32>) -> (tensor<?x?x192xf32>, tensor<?x192x3xf32>)
  return %s : tensor<?x192x3xf32>
}

// -----

// causal_conv1d: the bias has C elements.
func.func @conv_bias_channels(%x: tensor<?x?x192xf32>, %w: tensor<192x4xf32>, %b: tensor<128xf32>) -> tensor<?x?x192xf32> {
  // expected-error @+1 {{'mamba.causal_conv1d' op 'bias' dimension 0 (C) is 128, but 'x' has C = 192}}
  %y, %s = mamba.causal_conv1d %x, %w bias(%b) {silu} : (tensor<?x?x192xf32>, tensor<192x4xf32>, tensor<128xf32>) -> (tensor<?x?x192xf32>, tensor<?x192x4xf32>)
  return %y : tensor<?x?x192xf32>
}

//===----------------------------------------------------------------------===//
// ssd_scan / ssd_step
//===----------------------------------------------------------------------===//

// -----

// ssd_scan: headdim must be positive.
func.func @ssd_scan_zero_headdim(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op headdim must be positive, got 0}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 0 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
  return %y : tensor<?x?x128xf32>
}

// -----

// ssd_step: ngroups must be positive.
func.func @ssd_step_negative_ngroups(%x: tensor<?x1x128xf32>, %dt: tensor<?x1x8xf32>, %B: tensor<?x1x32xf32>,
    %C: tensor<?x1x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>, %state: tensor<?x8x16x16xf32>) -> tensor<?x1x128xf32> {
  // expected-error @+1 {{'mamba.ssd_step' op ngroups must be positive, got -2}}
  %y, %s = mamba.ssd_step %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%state) {headdim = 16 : i64, ngroups = -2 : i64} : (tensor<?x1x128xf32>, tensor<?x1x8xf32>, tensor<?x1x32xf32>, tensor<?x1x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xf32>)
  return %y : tensor<?x1x128xf32>
}

// -----

// ssd_scan: chunk_size must be positive.
func.func @ssd_scan_zero_chunk_size(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op chunk_size must be positive, got 0}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 0 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
  return %y : tensor<?x?x128xf32>
}

// -----

// ssd_scan: dt_min is a lower clamp on a softplus, so it cannot be negative.
func.func @ssd_scan_negative_dt_min(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op dt_min must be finite and >= 0, got -1}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64, dt_min = -1.0 : f64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
  return %y : tensor<?x?x128xf32>
}

// -----

// ssd_scan: the dt limit is an interval, dt_max >= dt_min.
func.func @ssd_scan_dt_max_below_dt_min(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op dt_max (0.5) must be >= dt_min (1)}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64, dt_min = 1.0 : f64, dt_max = 0.5 : f64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
  return %y : tensor<?x?x128xf32>
}

// -----

// ssd_scan: E = H * P when both the channels of x and the heads are known.
func.func @ssd_scan_heads_times_headdim(%x: tensor<?x?x120xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x120xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op nheads * headdim (8 * 16 = 128) must equal the channels of 'x' (120)}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x120xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x120xf32>, tensor<?x8x16x16xf32>)
  return %y : tensor<?x?x120xf32>
}

// -----

// ssd_scan: with the heads unknown, the channels of x must still split into
// heads of headdim.
func.func @ssd_scan_channels_not_divisible_by_headdim(%x: tensor<?x?x120xf32>, %dt: tensor<?x?x?xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<?xf32>, %D: tensor<?xf32>, %dt_bias: tensor<?xf32>) -> tensor<?x?x120xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op 'x' has 120 channels, not divisible by headdim (16)}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x120xf32>, tensor<?x?x?xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) -> (tensor<?x?x120xf32>, tensor<?x?x16x16xf32>)
  return %y : tensor<?x?x120xf32>
}

// -----

// ssd_scan: heads are shared out evenly between the groups.
func.func @ssd_scan_ngroups_divides_nheads(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x48xf32>,
    %C: tensor<?x?x48xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op ngroups (3) must divide nheads (8)}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 3 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x48xf32>, tensor<?x?x48xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
  return %y : tensor<?x?x128xf32>
}

// -----

// ssd_scan: B and C hold G * N channels.
func.func @ssd_scan_bc_not_divisible_by_ngroups(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x30xf32>,
    %C: tensor<?x?x30xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op 'B' has 30 channels, not divisible by ngroups (4)}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 4 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x30xf32>, tensor<?x?x30xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x?xf32>)
  return %y : tensor<?x?x128xf32>
}

// -----

// ssd_scan: D is a vector.
func.func @ssd_scan_d_rank(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8x16xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op 'D' must have rank 1 ([H] or [E]), got 'tensor<8x16xf32>'}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8x16xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
  return %y : tensor<?x?x128xf32>
}

// -----

// ssd_scan: D is per head [H] or per channel [E] (D_has_hdim), nothing else.
func.func @ssd_scan_d_size(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<16xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op 'D' has 16 elements, expected nheads (8) or d_inner (128)}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<16xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
  return %y : tensor<?x?x128xf32>
}

// -----

// ssd_step: new_state has the state's shape.
func.func @ssd_step_new_state(%x: tensor<?x1x128xf32>, %dt: tensor<?x1x8xf32>, %B: tensor<?x1x?xf32>,
    %C: tensor<?x1x?xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>, %state: tensor<?x8x16x16xf32>) -> tensor<?x8x16x8xf32> {
  // expected-error @+1 {{'mamba.ssd_step' op 'new_state' dimension 3 (N) is 8, but 'state' has N = 16}}
  %y, %s = mamba.ssd_step %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%state) {headdim = 16 : i64, ngroups = 2 : i64} : (tensor<?x1x128xf32>, tensor<?x1x8xf32>, tensor<?x1x?xf32>, tensor<?x1x?xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x8x16x8xf32>)
  return %s : tensor<?x8x16x8xf32>
}

// -----

// ssd_scan: N is derived as (channels of B and C) / ngroups, here 32 / 2 = 16,
// so a state with N = 8 is rejected. The derived size is attributed to
// 'ngroups', the divisor that produced it.
func.func @ssd_scan_state_d_state_from_bc(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x8x16x8xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op 'state' dimension 3 (N) is 8, but 'B' has 32 channels and ngroups = 2, so N = 16}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x8xf32>)
  return %s : tensor<?x8x16x8xf32>
}

//===----------------------------------------------------------------------===//
// gated_rms_norm
//===----------------------------------------------------------------------===//

// -----

// gated_rms_norm: eps must be positive.
func.func @gated_rms_norm_negative_eps(%y: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.gated_rms_norm' op eps must be positive and finite, got -1e-05}}
  %0 = mamba.gated_rms_norm %y, %z, %w {group_size = 64 : i64, eps = -1.0e-05 : f64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  return %0 : tensor<?x?x128xf32>
}

// -----

// gated_rms_norm: group_size must be positive.
func.func @gated_rms_norm_zero_group_size(%y: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.gated_rms_norm' op group_size must be positive, got 0}}
  %0 = mamba.gated_rms_norm %y, %z, %w {group_size = 0 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  return %0 : tensor<?x?x128xf32>
}

// -----

// gated_rms_norm: groups tile d_inner.
func.func @gated_rms_norm_group_size_divides(%y: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.gated_rms_norm' op group_size (48) must divide d_inner (128)}}
  %0 = mamba.gated_rms_norm %y, %z, %w {group_size = 48 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  return %0 : tensor<?x?x128xf32>
}

//===----------------------------------------------------------------------===//
// selective_scan / selective_step
//===----------------------------------------------------------------------===//

// -----

// selective_scan: A_log is [E, N], N from B and C.
func.func @selective_scan_a_log_state(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x128xf32>, %B: tensor<?x?x16xf32>,
    %C: tensor<?x?x16xf32>, %z: tensor<?x?x128xf32>, %A_log: tensor<128x8xf32>, %D: tensor<128xf32>, %dt_bias: tensor<128xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.selective_scan' op 'A_log' dimension 1 (N) is 8, but 'B' has N = 16}}
  %y, %s = mamba.selective_scan %x, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias) : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x16xf32>)
  return %y : tensor<?x?x128xf32>
}

// -----

// selective_step: one token per step.
func.func @selective_step_two_tokens(%x: tensor<?x2x128xf32>, %dt: tensor<?x2x128xf32>, %B: tensor<?x2x16xf32>,
    %C: tensor<?x2x16xf32>, %z: tensor<?x2x128xf32>, %A_log: tensor<128x16xf32>, %D: tensor<128xf32>, %dt_bias: tensor<128xf32>,
    %state: tensor<?x128x16xf32>) -> tensor<?x2x128xf32> {
  // expected-error @+1 {{'mamba.selective_step' op 'x' dimension 1 must be 1 (one token per step), got 2}}
  %y, %s = mamba.selective_step %x, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%state) : (tensor<?x2x128xf32>, tensor<?x2x128xf32>, tensor<?x2x16xf32>, tensor<?x2x16xf32>, tensor<?x2x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>, tensor<?x128x16xf32>) -> (tensor<?x2x128xf32>, tensor<?x128x16xf32>)
  return %y : tensor<?x2x128xf32>
}

//===----------------------------------------------------------------------===//
// hadamard
//===----------------------------------------------------------------------===//

// -----

// hadamard: a rank-0 input has no last dimension.
func.func @hadamard_rank0(%x: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{'mamba.hadamard' op 'input' must have rank >= 1}}
  %0 = mamba.hadamard %x : tensor<f32>
  return %0 : tensor<f32>
}

// -----

// hadamard: only 2^k, 12 * 2^k and 40 * 2^k (20 = 5 * 2^2 is none of them).
func.func @hadamard_unsupported_size(%x: tensor<?x?x20xf32>) -> tensor<?x?x20xf32> {
  // expected-error @+1 {{'mamba.hadamard' op size 20 of the last dimension is not 2^k, 12 * 2^k or 40 * 2^k}}
  %0 = mamba.hadamard %x : tensor<?x?x20xf32>
  return %0 : tensor<?x?x20xf32>
}

//===----------------------------------------------------------------------===//
// Quantization: quantize / dequantize
//===----------------------------------------------------------------------===//

// -----

// quantize: the input is a float tensor, not already int8 codes.
func.func @quantize_int8_input(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>) -> tensor<?x?x64xi8> {
  // expected-error @+1 {{'mamba.quantize' op operand #0 must be ranked tensor of floating-point values, but got 'tensor<?x?x64xi8>'}}
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x?x64xi8>, tensor<1xf32>) -> tensor<?x?x64xi8>
  return %0 : tensor<?x?x64xi8>
}

// -----

// quantize: the scales are f32, whatever the input's float type.
func.func @quantize_bf16_scales(%x: tensor<?x?x64xbf16>, %s: tensor<1xbf16>) -> tensor<?x?x64xi8> {
  // expected-error @+1 {{'mamba.quantize' op operand #1 must be ranked tensor of 32-bit float values, but got 'tensor<1xbf16>'}}
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x?x64xbf16>, tensor<1xbf16>) -> tensor<?x?x64xi8>
  return %0 : tensor<?x?x64xi8>
}

// -----

// quantize: the codes are int8 (4-bit values exist only packed in weights).
func.func @quantize_i4_result(%x: tensor<?x?x64xf32>, %s: tensor<1xf32>) -> tensor<?x?x64xi4> {
  // expected-error @+1 {{'mamba.quantize' op result #0 must be ranked tensor of 8-bit signless integer values, but got 'tensor<?x?x64xi4>'}}
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x?x64xf32>, tensor<1xf32>) -> tensor<?x?x64xi4>
  return %0 : tensor<?x?x64xi4>
}

// -----

// dequantize: the input is int8 codes.
func.func @dequantize_float_input(%x: tensor<?x?x64xf32>, %s: tensor<1xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.dequantize' op operand #0 must be ranked tensor of 8-bit signless integer values, but got 'tensor<?x?x64xf32>'}}
  %0 = mamba.dequantize %x, scales(%s) : (tensor<?x?x64xf32>, tensor<1xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// dequantize: the result is f32 (one fp32 multiply), not bf16.
func.func @dequantize_bf16_result(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>) -> tensor<?x?x64xbf16> {
  // expected-error @+1 {{'mamba.dequantize' op result #0 must be ranked tensor of 32-bit float values, but got 'tensor<?x?x64xbf16>'}}
  %0 = mamba.dequantize %x, scales(%s) : (tensor<?x?x64xi8>, tensor<1xf32>) -> tensor<?x?x64xbf16>
  return %0 : tensor<?x?x64xbf16>
}

// -----

// quantize: the scales are constants of a known shape.
func.func @quantize_dynamic_scales(%x: tensor<?x?x64xf32>, %s: tensor<?xf32>) -> tensor<?x?x64xi8> {
  // expected-error @+1 {{'mamba.quantize' op 'scales' must have a static shape, got 'tensor<?xf32>'}}
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x?x64xf32>, tensor<?xf32>) -> tensor<?x?x64xi8>
  return %0 : tensor<?x?x64xi8>
}

// -----

// quantize: the scales align with trailing dimensions, so they cannot have
// more of them than the input (even leading 1s).
func.func @quantize_scales_rank(%x: tensor<?x192x4xf32>, %s: tensor<1x192x1x1xf32>) -> tensor<?x192x4xi8> {
  // expected-error @+1 {{'mamba.quantize' op 'scales' 'tensor<1x192x1x1xf32>' has more dimensions than the quantized tensor 'tensor<?x192x4xf32>'}}
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x192x4xf32>, tensor<1x192x1x1xf32>) -> tensor<?x192x4xi8>
  return %0 : tensor<?x192x4xi8>
}

// -----

// quantize: per-channel scales of a [B, C, K] conv state are [C, 1]; a [C]
// vector aligns with K instead and does not broadcast.
func.func @quantize_conv_state_scales_misaligned(%x: tensor<?x192x4xf32>, %s: tensor<192xf32>) -> tensor<?x192x4xi8> {
  // expected-error @+1 {{'mamba.quantize' op 'scales' 'tensor<192xf32>' does not broadcast against 'tensor<?x192x4xf32>': scales dimension 0 is 192, tensor dimension 2 is 4}}
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x192x4xf32>, tensor<192xf32>) -> tensor<?x192x4xi8>
  return %0 : tensor<?x192x4xi8>
}

// -----

// dequantize: per-channel scales need the channel dimension to be known.
func.func @dequantize_scales_dynamic_channels(%x: tensor<?x?x?xi8>, %s: tensor<128xf32>) -> tensor<?x?x?xf32> {
  // expected-error @+1 {{'mamba.dequantize' op 'scales' 'tensor<128xf32>' does not broadcast against 'tensor<?x?x?xi8>': scales dimension 0 is 128, tensor dimension 2 is dynamic}}
  %0 = mamba.dequantize %x, scales(%s) : (tensor<?x?x?xi8>, tensor<128xf32>) -> tensor<?x?x?xf32>
  return %0 : tensor<?x?x?xf32>
}

// -----

// quantize: the result has the input's shape.
func.func @quantize_result_shape(%x: tensor<?x?x64xf32>, %s: tensor<64xf32>) -> tensor<?x?x32xi8> {
  // expected-error @+1 {{'mamba.quantize' op 'result' 'tensor<?x?x32xi8>' must have the shape of 'input' 'tensor<?x?x64xf32>'}}
  %0 = mamba.quantize %x, scales(%s) : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x32xi8>
  return %0 : tensor<?x?x32xi8>
}

// -----

// dequantize: the result has the input's shape (rank included).
func.func @dequantize_result_rank(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{'mamba.dequantize' op 'result' 'tensor<?x64xf32>' must have the shape of 'input' 'tensor<?x?x64xi8>'}}
  %0 = mamba.dequantize %x, scales(%s) : (tensor<?x?x64xi8>, tensor<1xf32>) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

//===----------------------------------------------------------------------===//
// Quantization: linear_w8a8
//===----------------------------------------------------------------------===//

// -----

// linear_w8a8: the activations are int8 codes.
func.func @linear_w8a8_float_input(%x: tensor<?x?x128xf32>, %s: tensor<1xf32>, %w: tensor<64x128xi8>, %ws: tensor<64xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w8a8' op operand #0 must be ranked tensor of 8-bit signless integer values, but got 'tensor<?x?x128xf32>'}}
  %0 = mamba.linear_w8a8 %x scale(%s), %w scales(%ws) : (tensor<?x?x128xf32>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// linear_w8a8: the weight is int8 too.
func.func @linear_w8a8_f16_weight(%x: tensor<?x?x128xi8>, %s: tensor<1xf32>, %w: tensor<64x128xf16>, %ws: tensor<64xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w8a8' op operand #2 must be ranked tensor of 8-bit signless integer values, but got 'tensor<64x128xf16>'}}
  %0 = mamba.linear_w8a8 %x scale(%s), %w scales(%ws) : (tensor<?x?x128xi8>, tensor<1xf32>, tensor<64x128xf16>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// linear_w8a8: the bias is added after the fp32 epilogue, so it is a float.
func.func @linear_w8a8_int_bias(%x: tensor<?x?x128xi8>, %s: tensor<1xf32>, %w: tensor<64x128xi8>, %ws: tensor<64xf32>, %b: tensor<64xi32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w8a8' op operand #4 must be ranked tensor of floating-point values, but got 'tensor<64xi32>'}}
  %0 = mamba.linear_w8a8 %x scale(%s), %w scales(%ws) bias(%b) : (tensor<?x?x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<64xi32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// linear_w8a8: the result is the f32 epilogue, not the int32 accumulator.
func.func @linear_w8a8_i32_result(%x: tensor<?x?x128xi8>, %s: tensor<1xf32>, %w: tensor<64x128xi8>, %ws: tensor<64xf32>) -> tensor<?x?x64xi32> {
  // expected-error @+1 {{'mamba.linear_w8a8' op result #0 must be ranked tensor of 32-bit float values, but got 'tensor<?x?x64xi32>'}}
  %0 = mamba.linear_w8a8 %x scale(%s), %w scales(%ws) : (tensor<?x?x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<?x?x64xi32>
  return %0 : tensor<?x?x64xi32>
}

// -----

// linear_w8a8: the activations have one scale per tensor.
func.func @linear_w8a8_per_channel_input_scale(%x: tensor<?x?x128xi8>, %s: tensor<128xf32>, %w: tensor<64x128xi8>, %ws: tensor<64xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w8a8' op 'input_scale' must be tensor<1xf32> (one scale per tensor), got 'tensor<128xf32>'}}
  %0 = mamba.linear_w8a8 %x scale(%s), %w scales(%ws) : (tensor<?x?x128xi8>, tensor<128xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// linear_w8a8: the input is [B, L, K].
func.func @linear_w8a8_input_rank(%x: tensor<?x128xi8>, %s: tensor<1xf32>, %w: tensor<64x128xi8>, %ws: tensor<64xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w8a8' op 'input' must have rank 3 [B, L, in_features], got 'tensor<?x128xi8>'}}
  %0 = mamba.linear_w8a8 %x scale(%s), %w scales(%ws) : (tensor<?x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// linear_w8a8: the weight is [out_features, in_features], not transposed.
func.func @linear_w8a8_transposed_weight(%x: tensor<?x?x128xi8>, %s: tensor<1xf32>, %w: tensor<128x64xi8>, %ws: tensor<128xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.linear_w8a8' op 'weight' dimension 1 (in_features) is 64, but 'input' has in_features = 128}}
  %0 = mamba.linear_w8a8 %x scale(%s), %w scales(%ws) : (tensor<?x?x128xi8>, tensor<1xf32>, tensor<128x64xi8>, tensor<128xf32>) -> tensor<?x?x128xf32>
  return %0 : tensor<?x?x128xf32>
}

// -----

// linear_w8a8: the result has out_features columns.
func.func @linear_w8a8_result_width(%x: tensor<?x?x128xi8>, %s: tensor<1xf32>, %w: tensor<64x128xi8>, %ws: tensor<64xf32>) -> tensor<?x?x128xf32> {
  // expected-error @+1 {{'mamba.linear_w8a8' op 'result' dimension 2 (out_features) is 128, but 'weight' has out_features = 64}}
  %0 = mamba.linear_w8a8 %x scale(%s), %w scales(%ws) : (tensor<?x?x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<?x?x128xf32>
  return %0 : tensor<?x?x128xf32>
}

// -----

// linear_w8a8: the bias has out_features elements.
func.func @linear_w8a8_bias_width(%x: tensor<?x?x128xi8>, %s: tensor<1xf32>, %w: tensor<64x128xi8>, %ws: tensor<64xf32>, %b: tensor<128xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w8a8' op 'bias' dimension 0 (out_features) is 128, but 'weight' has out_features = 64}}
  %0 = mamba.linear_w8a8 %x scale(%s), %w scales(%ws) bias(%b) : (tensor<?x?x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<128xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// linear_w8a8: one weight scale per output row; a per-tensor weight scale is
// repeated over the rows, not given as [1].
func.func @linear_w8a8_per_tensor_weight_scale(%x: tensor<?x?x128xi8>, %s: tensor<1xf32>, %w: tensor<64x128xi8>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w8a8' op 'weight_scales' dimension 0 (out_features) is 1, but 'weight' has out_features = 64}}
  %0 = mamba.linear_w8a8 %x scale(%s), %w scales(%s) : (tensor<?x?x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<1xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

//===----------------------------------------------------------------------===//
// Quantization: linear_w4a8 / linear_w4a16
//===----------------------------------------------------------------------===//

// -----

// linear_w4a8: the activations have one scale per tensor here too.
func.func @linear_w4a8_per_channel_input_scale(%x: tensor<?x?x64xi8>, %s: tensor<64xf32>, %w: tensor<328x32xi8>,
    %gs: tensor<328x2xf32>, %cs: tensor<328xf32>) -> tensor<?x?x328xf32> {
  // expected-error @+1 {{'mamba.linear_w4a8' op 'input_scale' must be tensor<1xf32> (one scale per tensor), got 'tensor<64xf32>'}}
  %0 = mamba.linear_w4a8 %x scale(%s), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x?x64xi8>, tensor<64xf32>, tensor<328x32xi8>, tensor<328x2xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}

// -----

// linear_w4a8: constant group scales must be fp16-valued (the GPU decode runs
// in fp16); 0.1 is not (1.5 and NaN are accepted).
func.func @linear_w4a8_group_scales_not_fp16(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>, %w: tensor<2x32xi8>,
    %cs: tensor<2xf32>) -> tensor<?x?x2xf32> {
  %gs = arith.constant dense<[[1.5, 0x7FC00000], [0.1, 2.0]]> : tensor<2x2xf32>
  // expected-error @+1 {{'mamba.linear_w4a8' op 'group_scales' must be fp16-valued (the in-kernel int4 -> int8 decode runs in fp16), element 2 is 0.100000001}}
  %0 = mamba.linear_w4a8 %x scale(%s), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<2x32xi8>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<?x?x2xf32>
  return %0 : tensor<?x?x2xf32>
}

// -----

// linear_w4a8: the weight is a 2-D [N, K / 2] byte matrix.
func.func @linear_w4a8_weight_rank(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>, %w: tensor<328x32x1xi8>,
    %gs: tensor<328x2xf32>, %cs: tensor<328xf32>) -> tensor<?x?x328xf32> {
  // expected-error @+1 {{'mamba.linear_w4a8' op 'weight' must have rank 2 [out_features, packed_in], got 'tensor<328x32x1xi8>'}}
  %0 = mamba.linear_w4a8 %x scale(%s), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32x1xi8>, tensor<328x2xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}

// -----

// linear_w4a8: an unpacked [N, K] weight is rejected: its K bytes hold 2 * K
// 4-bit values, which disagrees with the input's K.
func.func @linear_w4a8_unpacked_weight(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>, %w: tensor<328x64xi8>,
    %gs: tensor<328x2xf32>, %cs: tensor<328xf32>) -> tensor<?x?x328xf32> {
  // expected-error @+1 {{'mamba.linear_w4a8' op 'weight' dimension 1 (64 bytes, two 4-bit values each) (in_features) is 128, but 'input' has in_features = 64}}
  %0 = mamba.linear_w4a8 %x scale(%s), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x64xi8>, tensor<328x2xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}

// -----

// linear_w4a8: a group never splits a byte, so group_size is even.
func.func @linear_w4a8_odd_group_size(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>, %w: tensor<328x32xi8>,
    %gs: tensor<328x2xf32>, %cs: tensor<328xf32>) -> tensor<?x?x328xf32> {
  // expected-error @+1 {{'mamba.linear_w4a8' op group_size must be positive and even, got 33}}
  %0 = mamba.linear_w4a8 %x scale(%s), %w group_scales(%gs) channel_scales(%cs) {group_size = 33 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x2xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}

// -----

// linear_w4a8: groups tile K; with the input's K dynamic, K is taken from the
// weight (32 bytes, 64 values), which 48 does not divide.
func.func @linear_w4a8_group_size_divides_k(%x: tensor<?x?x?xi8>, %s: tensor<1xf32>, %w: tensor<328x32xi8>,
    %gs: tensor<328x?xf32>, %cs: tensor<328xf32>) -> tensor<?x?x328xf32> {
  // expected-error @+1 {{'mamba.linear_w4a8' op in_features 64 is not a multiple of group_size 48}}
  %0 = mamba.linear_w4a8 %x scale(%s), %w group_scales(%gs) channel_scales(%cs) {group_size = 48 : i64} : (tensor<?x?x?xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x?xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}

// -----

// linear_w4a8: group_scales has K / group_size columns (64 / 32 = 2).
func.func @linear_w4a8_group_scales_columns(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>, %w: tensor<328x32xi8>,
    %gs: tensor<328x4xf32>, %cs: tensor<328xf32>) -> tensor<?x?x328xf32> {
  // expected-error @+1 {{'mamba.linear_w4a8' op 'group_scales' dimension 1 (groups) is 4, but in_features / group_size = 64 / 32 = 2}}
  %0 = mamba.linear_w4a8 %x scale(%s), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x4xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}

// -----

// linear_w4a8: group_scales has one row per output row.
func.func @linear_w4a8_group_scales_rows(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>, %w: tensor<328x32xi8>,
    %gs: tensor<128x2xf32>, %cs: tensor<328xf32>) -> tensor<?x?x328xf32> {
  // expected-error @+1 {{'mamba.linear_w4a8' op 'group_scales' dimension 0 (out_features) is 128, but 'weight' has out_features = 328}}
  %0 = mamba.linear_w4a8 %x scale(%s), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<128x2xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}

// -----

// linear_w4a8: group_scales is a matrix even with one group per row.
func.func @linear_w4a8_group_scales_rank(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>, %w: tensor<328x32xi8>,
    %gs: tensor<328xf32>, %cs: tensor<328xf32>) -> tensor<?x?x328xf32> {
  // expected-error @+1 {{'mamba.linear_w4a8' op 'group_scales' must have rank 2 [out_features, groups], got 'tensor<328xf32>'}}
  %0 = mamba.linear_w4a8 %x scale(%s), %w group_scales(%gs) channel_scales(%cs) {group_size = 64 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}

// -----

// linear_w4a8: channel_scales has one scale per output row.
func.func @linear_w4a8_channel_scales(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>, %w: tensor<328x32xi8>,
    %gs: tensor<328x2xf32>, %cs: tensor<64xf32>) -> tensor<?x?x328xf32> {
  // expected-error @+1 {{'mamba.linear_w4a8' op 'channel_scales' dimension 0 (out_features) is 64, but 'weight' has out_features = 328}}
  %0 = mamba.linear_w4a8 %x scale(%s), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x2xf32>, tensor<64xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}

// -----

// linear_w4a8: rows is the only packing there is.
func.func @linear_w4a8_unknown_packing(%x: tensor<?x?x64xi8>, %s: tensor<1xf32>, %w: tensor<328x32xi8>,
    %gs: tensor<328x2xf32>, %cs: tensor<328xf32>) -> tensor<?x?x328xf32> {
  // expected-error @+2 {{expected ::mlir::mamba::Int4Packing to be one of: rows}}
  // expected-error @+1 {{failed to parse Mamba_Int4PackingAttr parameter 'value' which is to be a `::mlir::mamba::Int4Packing`}}
  %0 = mamba.linear_w4a8 %x scale(%s), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64, packing = #mamba.int4_packing<marlin>} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x2xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  return %0 : tensor<?x?x328xf32>
}

// -----

// linear_w4a16: the activations are floats (W4A16), not int8 codes.
func.func @linear_w4a16_int8_input(%x: tensor<?x?x128xi8>, %w: tensor<64x64xi8>, %gs: tensor<64x2xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w4a16' op operand #0 must be ranked tensor of floating-point values, but got 'tensor<?x?x128xi8>'}}
  %0 = mamba.linear_w4a16 %x, %w group_scales(%gs) {group_size = 64 : i64} : (tensor<?x?x128xi8>, tensor<64x64xi8>, tensor<64x2xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// linear_w4a16: the weight is packed bytes (i8), not an i4 tensor.
func.func @linear_w4a16_i4_weight(%x: tensor<?x?x128xf32>, %w: tensor<64x128xi4>, %gs: tensor<64x2xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w4a16' op operand #1 must be ranked tensor of 8-bit signless integer values, but got 'tensor<64x128xi4>'}}
  %0 = mamba.linear_w4a16 %x, %w group_scales(%gs) {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<64x128xi4>, tensor<64x2xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// linear_w4a16: group_size must be positive.
func.func @linear_w4a16_zero_group_size(%x: tensor<?x?x128xf32>, %w: tensor<64x64xi8>, %gs: tensor<64x2xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w4a16' op group_size must be positive and even, got 0}}
  %0 = mamba.linear_w4a16 %x, %w group_scales(%gs) {group_size = 0 : i64} : (tensor<?x?x128xf32>, tensor<64x64xi8>, tensor<64x2xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// linear_w4a16: K must be even to pack into bytes: an input of 127 channels
// does not match a weight of 64 bytes (128 values).
func.func @linear_w4a16_odd_k(%x: tensor<?x?x127xf32>, %w: tensor<64x64xi8>, %gs: tensor<64x2xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w4a16' op 'weight' dimension 1 (64 bytes, two 4-bit values each) (in_features) is 128, but 'input' has in_features = 127}}
  %0 = mamba.linear_w4a16 %x, %w group_scales(%gs) {group_size = 64 : i64} : (tensor<?x?x127xf32>, tensor<64x64xi8>, tensor<64x2xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// linear_w4a16: group_scales has K / group_size columns, K from the input
// when the weight's byte count is dynamic.
func.func @linear_w4a16_group_scales_columns(%x: tensor<?x?x128xf32>, %w: tensor<64x?xi8>, %gs: tensor<64x4xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w4a16' op 'group_scales' dimension 1 (groups) is 4, but in_features / group_size = 128 / 64 = 2}}
  %0 = mamba.linear_w4a16 %x, %w group_scales(%gs) {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<64x?xi8>, tensor<64x4xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// linear_w4a16: the bias has out_features elements.
func.func @linear_w4a16_bias_width(%x: tensor<?x?x128xf32>, %w: tensor<64x64xi8>, %gs: tensor<64x2xf32>, %b: tensor<128xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w4a16' op 'bias' dimension 0 (out_features) is 128, but 'weight' has out_features = 64}}
  %0 = mamba.linear_w4a16 %x, %w group_scales(%gs) bias(%b) {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<64x64xi8>, tensor<64x2xf32>, tensor<128xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// linear_w4a16: group_size is required (it has no default).
func.func @linear_w4a16_without_group_size(%x: tensor<?x?x128xf32>, %w: tensor<64x64xi8>, %gs: tensor<64x2xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.linear_w4a16' op requires attribute 'group_size'}}
  %0 = mamba.linear_w4a16 %x, %w group_scales(%gs) : (tensor<?x?x128xf32>, tensor<64x64xi8>, tensor<64x2xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

//===----------------------------------------------------------------------===//
// Quantization: quantized_embedding
//===----------------------------------------------------------------------===//

// -----

// quantized_embedding: tables hold 8-bit or 4-bit values, nothing else.
func.func @quantized_embedding_bits(%table: tensor<256x16xi8>, %scales: tensor<256xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.quantized_embedding' op bits must be 4 or 8, got 2}}
  %0 = mamba.quantized_embedding %table scales(%scales) [%tokens] {bits = 2 : i64} : (tensor<256x16xi8>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// quantized_embedding: the table is int8 codes, not floats.
func.func @quantized_embedding_float_table(%table: tensor<256x64xf32>, %scales: tensor<256xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.quantized_embedding' op operand #0 must be ranked tensor of 8-bit signless integer values, but got 'tensor<256x64xf32>'}}
  %0 = mamba.quantized_embedding %table scales(%scales) [%tokens] {bits = 8 : i64} : (tensor<256x64xf32>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// quantized_embedding: token ids are integers.
func.func @quantized_embedding_float_tokens(%table: tensor<256x64xi8>, %scales: tensor<256xf32>, %tokens: tensor<?x?xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.quantized_embedding' op operand #2 must be ranked tensor of signless integer values, but got 'tensor<?x?xf32>'}}
  %0 = mamba.quantized_embedding %table scales(%scales) [%tokens] {bits = 8 : i64} : (tensor<256x64xi8>, tensor<256xf32>, tensor<?x?xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// quantized_embedding: the row scales are a [V] vector.
func.func @quantized_embedding_scales_rank(%table: tensor<256x64xi8>, %scales: tensor<256x1xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.quantized_embedding' op 'scales' must have rank 1 [V], got 'tensor<256x1xf32>'}}
  %0 = mamba.quantized_embedding %table scales(%scales) [%tokens] {bits = 8 : i64} : (tensor<256x64xi8>, tensor<256x1xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// quantized_embedding: one row scale per vocabulary entry (the mismatch is
// reported on the table, the scales having bound V first).
func.func @quantized_embedding_row_scales(%table: tensor<256x64xi8>, %scales: tensor<255xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.quantized_embedding' op 'scales' dimension 0 (V) is 255, but 'table' has V = 256}}
  %0 = mamba.quantized_embedding %table scales(%scales) [%tokens] {bits = 8 : i64} : (tensor<256x64xi8>, tensor<255xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// quantized_embedding: with bits = 8 the table is [V, D] of the result's D.
func.func @quantized_embedding_int8_width(%table: tensor<256x32xi8>, %scales: tensor<256xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.quantized_embedding' op 'table' dimension 1 (D) is 32, but 'result' has D = 64}}
  %0 = mamba.quantized_embedding %table scales(%scales) [%tokens] {bits = 8 : i64} : (tensor<256x32xi8>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// quantized_embedding: with bits = 4 the table is [V, D / 2] bytes, so an
// unpacked [V, D] table gives twice the result's width.
func.func @quantized_embedding_int4_unpacked(%table: tensor<256x64xi8>, %scales: tensor<256xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.quantized_embedding' op 'table' dimension 1 (64 bytes, two 4-bit values each) (D) is 128, but 'result' has D = 64}}
  %0 = mamba.quantized_embedding %table scales(%scales) [%tokens] {bits = 4 : i64} : (tensor<256x64xi8>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// quantized_embedding: the result is [B, L, D] of the tokens' B and L.
func.func @quantized_embedding_result_batch(%table: tensor<256x64xi8>, %scales: tensor<256xf32>, %tokens: tensor<2x?xi32>) -> tensor<3x?x64xf32> {
  // expected-error @+1 {{'mamba.quantized_embedding' op 'result' dimension 0 (B) is 3, but 'tokens' has B = 2}}
  %0 = mamba.quantized_embedding %table scales(%scales) [%tokens] {bits = 8 : i64} : (tensor<256x64xi8>, tensor<256xf32>, tensor<2x?xi32>) -> tensor<3x?x64xf32>
  return %0 : tensor<3x?x64xf32>
}

//===----------------------------------------------------------------------===//
// #mamba.config: the attribute's own verifier (reported while parsing, at the
// attribute's `<`)
//===----------------------------------------------------------------------===//

// -----

// Every size is positive.
// expected-error @+1 {{#mamba.config: d_model must be positive, got 0}}
#bad = #mamba.config<arch = mamba1, d_model = 0, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 0, dt_rank = 4, tie_embeddings = true>
module attributes {mamba.config = #bad} {}

// -----

// Every size is positive (checked in declaration order: n_layer after d_model).
// expected-error @+1 {{#mamba.config: n_layer must be positive, got -1}}
#bad = #mamba.config<arch = mamba2, d_model = 64, n_layer = -1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #bad} {}

// -----

// d_inner = expand * d_model.
// expected-error @+1 {{#mamba.config: d_inner (100) must equal expand * d_model (2 * 64 = 128)}}
#bad = #mamba.config<arch = mamba1, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 100, dt_rank = 4, tie_embeddings = true>
module attributes {mamba.config = #bad} {}

// -----

// A mamba1 model needs dt_rank (it defaults to 0 when omitted).
// expected-error @+1 {{#mamba.config: a mamba1 model needs dt_rank > 0, got 0}}
#bad = #mamba.config<arch = mamba1, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, tie_embeddings = true>
module attributes {mamba.config = #bad} {}

// -----

// A mamba2 model needs headdim, nheads, ngroups and chunk_size.
// expected-error @+1 {{#mamba.config: a mamba2 model needs headdim > 0, got 0}}
#bad = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #bad} {}

// -----

// A mamba2 model needs chunk_size (the last of its required fields).
// expected-error @+1 {{#mamba.config: a mamba2 model needs chunk_size > 0, got 0}}
#bad = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, tie_embeddings = true>
module attributes {mamba.config = #bad} {}

// -----

// nheads * headdim = d_inner.
// expected-error @+1 {{#mamba.config: nheads * headdim (4 * 16 = 64) must equal d_inner (128)}}
#bad = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 4, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #bad} {}

// -----

// ngroups divides nheads.
// expected-error @+1 {{#mamba.config: ngroups (3) must divide nheads (8)}}
#bad = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 3, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #bad} {}

// -----

// An attribute used inline (no alias) is reported at its own location too.
module attributes {mamba.config =
    // expected-error @+1 {{#mamba.config: vocab_size must be positive, got 0}}
    #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 0, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>} {}

//===----------------------------------------------------------------------===//
// Discardable mamba.* attributes
//===----------------------------------------------------------------------===//

// -----

// Only mamba.config is a mamba dialect attribute.
// expected-error @+1 {{unknown mamba dialect attribute 'mamba.model'}}
module attributes {mamba.model = "tiny"} {}

// -----

// mamba.config holds a #mamba.config.
// expected-error @+1 {{'mamba.config' must be a #mamba.config attribute}}
module attributes {mamba.config = {d_model = 64 : i64}} {}

// -----

// mamba.config is a module attribute, not a function attribute.
#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
// expected-error @+1 {{'mamba.config' belongs on a builtin.module}}
func.func @config_on_func() attributes {mamba.config = #m2} {
  return
}

//===----------------------------------------------------------------------===//
// Ops against the module's #mamba.config
//===----------------------------------------------------------------------===//

// -----

// The embedding table is [vocab_size, d_model] of the config.
#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @embedding_vocab(%table: tensor<255x64xf32>, %tokens: tensor<?x?xi32>) -> tensor<?x?x64xf32> {
    // expected-error @+1 {{'mamba.embedding' op 'table' dimension 0 is 255 but the model config has vocab_size = 256}}
    %0 = mamba.embedding %table[%tokens] : (tensor<255x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
    return %0 : tensor<?x?x64xf32>
  }
}

// -----

// The lm_head weight is [vocab_size, d_model] of the config.
#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @lm_head_d_model(%x: tensor<?x?x32xf32>, %w: tensor<256x32xf32>) -> tensor<?x?x256xf32> {
    // expected-error @+1 {{'mamba.lm_head' op 'weight' dimension 1 is 32 but the model config has d_model = 64}}
    %0 = mamba.lm_head %x, %w : (tensor<?x?x32xf32>, tensor<256x32xf32>) -> tensor<?x?x256xf32>
    return %0 : tensor<?x?x256xf32>
  }
}

// -----

// A Mamba2 conv runs over conv_dim = d_inner + 2 * ngroups * d_state channels
// (here 128 + 2 * 2 * 16 = 192), not d_inner.
#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @conv_dim(%x: tensor<?x?x128xf32>, %w: tensor<128x4xf32>) -> tensor<?x?x128xf32> {
    // expected-error @+1 {{'mamba.causal_conv1d' op 'weight' dimension 0 is 128 but the model config has conv_dim = 192}}
    %y, %s = mamba.causal_conv1d %x, %w {silu} : (tensor<?x?x128xf32>, tensor<128x4xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x4xf32>)
    return %y : tensor<?x?x128xf32>
  }
}

// -----

// The conv kernel is d_conv of the config (decode step too).
#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @conv_step_d_conv(%x: tensor<?x1x192xf32>, %state: tensor<?x192x3xf32>, %w: tensor<192x3xf32>) -> tensor<?x1x192xf32> {
    // expected-error @+1 {{'mamba.causal_conv1d_step' op 'weight' dimension 1 is 3 but the model config has d_conv = 4}}
    %y, %s = mamba.causal_conv1d_step %x, state(%state), %w {silu} : (tensor<?x1x192xf32>, tensor<?x192x3xf32>, tensor<192x3xf32>) -> (tensor<?x1x192xf32>, tensor<?x192x3xf32>)
    return %y : tensor<?x1x192xf32>
  }
}

// -----

// ssd_scan's headdim attribute agrees with the config.
#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @ssd_scan_headdim_vs_config(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x4xf32>, %B: tensor<?x?x32xf32>,
      %C: tensor<?x?x32xf32>, %A_log: tensor<4xf32>, %D: tensor<4xf32>, %dt_bias: tensor<4xf32>) -> tensor<?x?x128xf32> {
    // expected-error @+1 {{'mamba.ssd_scan' op headdim 32 contradicts the model config (headdim = 16)}}
    %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 32 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x4xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<?x?x128xf32>, tensor<?x4x32x16xf32>)
    return %y : tensor<?x?x128xf32>
  }
}

// -----

// ssd_step's ngroups attribute agrees with the config.
#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @ssd_step_ngroups_vs_config(%x: tensor<?x1x128xf32>, %dt: tensor<?x1x8xf32>, %B: tensor<?x1x16xf32>,
      %C: tensor<?x1x16xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>, %state: tensor<?x8x16x16xf32>) -> tensor<?x1x128xf32> {
    // expected-error @+1 {{'mamba.ssd_step' op ngroups 1 contradicts the model config (ngroups = 2)}}
    %y, %s = mamba.ssd_step %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%state) {headdim = 16 : i64, ngroups = 1 : i64} : (tensor<?x1x128xf32>, tensor<?x1x8xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<?x8x16x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x8x16x16xf32>)
    return %y : tensor<?x1x128xf32>
  }
}

// -----

// ssd_scan's A_log has nheads of the config.
#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @ssd_scan_nheads_vs_config(%x: tensor<?x?x64xf32>, %dt: tensor<?x?x4xf32>, %B: tensor<?x?x32xf32>,
      %C: tensor<?x?x32xf32>, %A_log: tensor<4xf32>, %D: tensor<4xf32>, %dt_bias: tensor<4xf32>) -> tensor<?x?x64xf32> {
    // expected-error @+1 {{'mamba.ssd_scan' op 'A_log' dimension 0 is 4 but the model config has nheads = 8}}
    %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x64xf32>, tensor<?x?x4xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<?x?x64xf32>, tensor<?x4x16x16xf32>)
    return %y : tensor<?x?x64xf32>
  }
}

// -----

// selective_scan's A_log is [d_inner, d_state] of the config.
#m1 = #mamba.config<arch = mamba1, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, tie_embeddings = true>
module attributes {mamba.config = #m1} {
  func.func @selective_scan_d_state_vs_config(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x128xf32>, %B: tensor<?x?x8xf32>,
      %C: tensor<?x?x8xf32>, %z: tensor<?x?x128xf32>, %A_log: tensor<128x8xf32>, %D: tensor<128xf32>, %dt_bias: tensor<128xf32>) -> tensor<?x?x128xf32> {
    // expected-error @+1 {{'mamba.selective_scan' op 'A_log' dimension 1 is 8 but the model config has d_state = 16}}
    %y, %s = mamba.selective_scan %x, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias) : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x128xf32>, tensor<128x8xf32>, tensor<128xf32>, tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x8xf32>)
    return %y : tensor<?x?x128xf32>
  }
}

// -----

// selective_step's A_log rows are d_inner of the config.
#m1 = #mamba.config<arch = mamba1, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, tie_embeddings = true>
module attributes {mamba.config = #m1} {
  func.func @selective_step_d_inner_vs_config(%x: tensor<?x1x64xf32>, %dt: tensor<?x1x64xf32>, %B: tensor<?x1x16xf32>,
      %C: tensor<?x1x16xf32>, %z: tensor<?x1x64xf32>, %A_log: tensor<64x16xf32>, %D: tensor<64xf32>, %dt_bias: tensor<64xf32>,
      %state: tensor<?x64x16xf32>) -> tensor<?x1x64xf32> {
    // expected-error @+1 {{'mamba.selective_step' op 'A_log' dimension 0 is 64 but the model config has d_inner = 128}}
    %y, %s = mamba.selective_step %x, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%state) : (tensor<?x1x64xf32>, tensor<?x1x64xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>, tensor<?x1x64xf32>, tensor<64x16xf32>, tensor<64xf32>, tensor<64xf32>, tensor<?x64x16xf32>) -> (tensor<?x1x64xf32>, tensor<?x64x16xf32>)
    return %y : tensor<?x1x64xf32>
  }
}

// -----

// gated_rms_norm's group_size is d_inner / ngroups of the config (mamba_ssm),
// not the whole of d_inner (transformers).
#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @gated_rms_norm_group_size_vs_config(%y: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) -> tensor<?x?x128xf32> {
    // expected-error @+1 {{'mamba.gated_rms_norm' op group_size 128 contradicts the model config (d_inner / ngroups = 128 / 2 = 64)}}
    %0 = mamba.gated_rms_norm %y, %z, %w {group_size = 128 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    return %0 : tensor<?x?x128xf32>
  }
}

// -----

// Mamba2 ops (ssd_scan, ssd_step, gated_rms_norm) have no place in a mamba1
// model.
#m1 = #mamba.config<arch = mamba1, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, tie_embeddings = true>
module attributes {mamba.config = #m1} {
  func.func @ssd_scan_in_mamba1(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>,
      %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x128xf32> {
    // expected-error @+1 {{'mamba.ssd_scan' op is a Mamba2 op in a mamba1 model}}
    %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
    return %y : tensor<?x?x128xf32>
  }
}

// -----

// The same for gated_rms_norm (a separate check from the SSD ops').
#m1 = #mamba.config<arch = mamba1, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, tie_embeddings = true>
module attributes {mamba.config = #m1} {
  func.func @gated_rms_norm_in_mamba1(%y: tensor<?x?x128xf32>, %z: tensor<?x?x128xf32>, %w: tensor<128xf32>) -> tensor<?x?x128xf32> {
    // expected-error @+1 {{'mamba.gated_rms_norm' op is a Mamba2 op in a mamba1 model}}
    %0 = mamba.gated_rms_norm %y, %z, %w {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    return %0 : tensor<?x?x128xf32>
  }
}

// -----

// Mamba1 ops have no place in a mamba2 model either.
#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @selective_scan_in_mamba2(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x128xf32>, %B: tensor<?x?x16xf32>,
      %C: tensor<?x?x16xf32>, %z: tensor<?x?x128xf32>, %A_log: tensor<128x16xf32>, %D: tensor<128xf32>, %dt_bias: tensor<128xf32>) -> tensor<?x?x128xf32> {
    // expected-error @+1 {{'mamba.selective_scan' op is a Mamba1 op in a mamba2 model}}
    %y, %s = mamba.selective_scan %x, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias) : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x16xf32>)
    return %y : tensor<?x?x128xf32>
  }
}

// -----

// The SSM state's d_state is the config's (B and C agree with each other but
// not with the model).
#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @ssd_scan_d_state_vs_config(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x64xf32>,
      %C: tensor<?x?x64xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x8x16x32xf32> {
    // expected-error @+1 {{'mamba.ssd_scan' op 'state' dimension 3 is 32 but the model config has d_state = 16}}
    %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x32xf32>)
    return %s : tensor<?x8x16x32xf32>
  }
}

// -----

// A block norm's weight is d_model wide.
#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @rms_norm_width_vs_config(%x: tensor<?x?x32xf32>, %w: tensor<32xf32>) -> tensor<?x?x32xf32> {
    // expected-error @+1 {{'mamba.rms_norm' op 'weight' dimension 0 is 32 but the model config has d_model = 64}}
    %0 = mamba.rms_norm %x, %w : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
    return %0 : tensor<?x?x32xf32>
  }
}

// -----

// An op missing a required attribute inside a configured module is reported
// by its own verifier (the config check must not trip over it first).
#m2 = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
module attributes {mamba.config = #m2} {
  func.func @gated_rms_norm_without_group_size(%y: tensor<?x?x128xf32>, %w: tensor<128xf32>) -> tensor<?x?x128xf32> {
    // expected-error @+1 {{'mamba.gated_rms_norm' op requires attribute 'group_size'}}
    %0 = "mamba.gated_rms_norm"(%y, %y, %w) : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    return %0 : tensor<?x?x128xf32>
  }
}

// -----

// A mamba1 config carries no Mamba2-only sizes.
// expected-error @+1 {{#mamba.config: a mamba1 model has no nheads (got -7)}}
#bad = #mamba.config<arch = mamba1, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, nheads = -7, tie_embeddings = true>

// -----

// A mamba2 config carries no dt_rank.
// expected-error @+1 {{#mamba.config: a mamba2 model has no dt_rank (got 4)}}
#bad = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>

// -----

// A NaN eps is rejected (it fails every comparison, so it needs its own test).
func.func @rms_norm_nan_eps(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.rms_norm' op eps must be positive and finite, got nan}}
  %0 = mamba.rms_norm %x, %w {eps = 0x7FF8000000000000 : f64} : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

// A split needs at least one piece (an empty one would not print back).
func.func @split_no_sizes(%x: tensor<?x?x?xf32>) {
  // expected-error @+1 {{'mamba.split' op needs at least one size}}
  "mamba.split"(%x) <{sizes = array<i64>}> : (tensor<?x?x?xf32>) -> ()
  return
}

// -----

// D's size is checked even when x's channels are dynamic (E = H * P).
func.func @ssd_scan_d_size_dynamic_x(%x: tensor<?x?x?xf32>, %dt: tensor<?x?x8xf32>, %B: tensor<?x?x32xf32>,
    %C: tensor<?x?x32xf32>, %A_log: tensor<8xf32>, %D: tensor<5xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x?x?xf32> {
  // expected-error @+1 {{'mamba.ssd_scan' op 'D' has 5 elements, expected nheads (8) or d_inner (128)}}
  %y, %s = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x?xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<5xf32>, tensor<8xf32>) -> (tensor<?x?x?xf32>, tensor<?x8x16x16xf32>)
  return %y : tensor<?x?x?xf32>
}

// -----

// A nested module is checked against its own config, not the outer one's:
// this rms_norm of width 32 is right for the inner model, and the error is
// the outer model's own op.
#outer = #mamba.config<arch = mamba2, d_model = 64, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>
#inner = #mamba.config<arch = mamba1, d_model = 32, n_layer = 1, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 64, dt_rank = 2, tie_embeddings = true>
module attributes {mamba.config = #outer} {
  module attributes {mamba.config = #inner} {
    func.func @inner_norm(%x: tensor<?x?x32xf32>, %w: tensor<32xf32>) -> tensor<?x?x32xf32> {
      %0 = mamba.rms_norm %x, %w : (tensor<?x?x32xf32>, tensor<32xf32>) -> tensor<?x?x32xf32>
      return %0 : tensor<?x?x32xf32>
    }
  }
  func.func @outer_norm(%x: tensor<?x?x16xf32>, %w: tensor<16xf32>) -> tensor<?x?x16xf32> {
    // expected-error @+1 {{'mamba.rms_norm' op 'weight' dimension 0 is 16 but the model config has d_model = 64}}
    %0 = mamba.rms_norm %x, %w : (tensor<?x?x16xf32>, tensor<16xf32>) -> tensor<?x?x16xf32>
    return %0 : tensor<?x?x16xf32>
  }
}

// -----

// Calibration statistics are a dictionary on a mamba op.
func.func @calibration_not_dictionary(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.calibration' must be a dictionary attribute}}
  %0 = mamba.hadamard %x {mamba.calibration = 1.0 : f32} : tensor<?x?x64xf32>
  return %0 : tensor<?x?x64xf32>
}

// -----

func.func @calibration_not_on_mamba_op(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  // expected-error @+1 {{'mamba.calibration' belongs on a mamba dialect op}}
  return {mamba.calibration = {}} %x : tensor<?x?x64xf32>
}
