// RUN: quamba-opt %s -split-input-file | FileCheck %s
// RUN: quamba-opt %s -split-input-file -mlir-print-op-generic | quamba-opt -split-input-file | FileCheck %s
// RUN: quamba-opt %s -emit-bytecode | quamba-opt | FileCheck %s --check-prefixes=CHECK,BC

// Round trip of every mamba op through the custom form, the generic form and
// bytecode. The bytecode run reads the whole file as one module (bytecode
// output cannot be split into cases), so function names are unique and the
// config modules below nest inside it; the BC lines check that nesting.
//
// Sizes follow a tiny Mamba2 model: d_model 64, d_inner 128, 8 heads of 16,
// 2 groups, d_state 16, d_conv 4, conv_dim 128 + 2 * 2 * 16 = 192, vocab 256;
// in_proj emits z (128), xBC (192) and dt (8), 328 columns. The Mamba1 layer
// has dt_rank 4, so x_proj emits 4 + 2 * 16 = 36 columns.

// BC-LABEL: module {

// A Mamba2 layer over a sequence (prefill): fused add-norm, in_proj, split
// into z / xBC / dt, conv, split into x / B / C, SSD scan, gated norm,
// out_proj. The conv and SSM states are returned for the decode steps.

// CHECK-LABEL: func.func @mamba2_prefill_layer(
// CHECK-SAME: %[[HIDDEN:[^:]*]]: tensor<?x?x64xf32>, %[[RESIDUAL:[^:]*]]: tensor<?x?x64xf32>,
// CHECK-SAME: %[[NORM_W:[^:]*]]: tensor<64xf32>, %[[IN_PROJ:[^:]*]]: tensor<328x64xf32>,
// CHECK-SAME: %[[CONV_W:[^:]*]]: tensor<192x4xf32>, %[[CONV_B:[^:]*]]: tensor<192xf32>,
// CHECK-SAME: %[[A_LOG:[^:]*]]: tensor<8xf32>, %[[D:[^:]*]]: tensor<8xf32>, %[[DT_BIAS:[^:]*]]: tensor<8xf32>,
// CHECK-SAME: %[[GNORM_W:[^:]*]]: tensor<128xf32>, %[[OUT_PROJ:[^:]*]]: tensor<64x128xf32>)
// CHECK-SAME: -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>)
// CHECK: %[[NORMED:.*]], %[[RES_OUT:.*]] = mamba.rms_norm %[[HIDDEN]], %[[NORM_W]] residual(%[[RESIDUAL]]) : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
// CHECK: %[[ZXBCDT:.*]] = mamba.linear %[[NORMED]], %[[IN_PROJ]] : (tensor<?x?x64xf32>, tensor<328x64xf32>) -> tensor<?x?x328xf32>
// CHECK: %[[ZXBCDT_S:.*]]:3 = mamba.split %[[ZXBCDT]] [128, 192, 8] : tensor<?x?x328xf32> -> tensor<?x?x128xf32>, tensor<?x?x192xf32>, tensor<?x?x8xf32>
// CHECK: %[[CONV:.*]], %[[CONV_STATE:.*]] = mamba.causal_conv1d %[[ZXBCDT_S]]#1, %[[CONV_W]] bias(%[[CONV_B]]) {silu} : (tensor<?x?x192xf32>, tensor<192x4xf32>, tensor<192xf32>) -> (tensor<?x?x192xf32>, tensor<?x192x4xf32>)
// CHECK: %[[XBC:.*]]:3 = mamba.split %[[CONV]] [128, 32, 32] : tensor<?x?x192xf32> -> tensor<?x?x128xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
// CHECK: %[[Y:.*]], %[[SSM_STATE:.*]] = mamba.ssd_scan %[[XBC]]#0, %[[ZXBCDT_S]]#2, %[[XBC]]#1, %[[XBC]]#2, A_log(%[[A_LOG]]), D(%[[D]]), dt_bias(%[[DT_BIAS]])
// CHECK-SAME: {chunk_size = 16 : i64, headdim = 16 : i64, ngroups = 2 : i64}
// CHECK-SAME: : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
// CHECK: %[[GATED:.*]] = mamba.gated_rms_norm %[[Y]], %[[ZXBCDT_S]]#0, %[[GNORM_W]] {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
// CHECK: %[[OUT:.*]] = mamba.linear %[[GATED]], %[[OUT_PROJ]] : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
// CHECK: return %[[OUT]], %[[RES_OUT]], %[[CONV_STATE]], %[[SSM_STATE]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>
func.func @mamba2_prefill_layer(%hidden: tensor<?x?x64xf32>, %residual: tensor<?x?x64xf32>,
    %norm_w: tensor<64xf32>, %in_proj: tensor<328x64xf32>,
    %conv_w: tensor<192x4xf32>, %conv_b: tensor<192xf32>,
    %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>,
    %gnorm_w: tensor<128xf32>, %out_proj: tensor<64x128xf32>)
    -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>) {
  %n, %r = mamba.rms_norm %hidden, %norm_w residual(%residual) : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
  %zxbcdt = mamba.linear %n, %in_proj : (tensor<?x?x64xf32>, tensor<328x64xf32>) -> tensor<?x?x328xf32>
  %z, %xBC, %dt = mamba.split %zxbcdt [128, 192, 8] : tensor<?x?x328xf32> -> tensor<?x?x128xf32>, tensor<?x?x192xf32>, tensor<?x?x8xf32>
  %conv, %conv_state = mamba.causal_conv1d %xBC, %conv_w bias(%conv_b) {silu} : (tensor<?x?x192xf32>, tensor<192x4xf32>, tensor<192xf32>) -> (tensor<?x?x192xf32>, tensor<?x192x4xf32>)
  %x, %B, %C = mamba.split %conv [128, 32, 32] : tensor<?x?x192xf32> -> tensor<?x?x128xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
  %y, %ssm_state = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
  %g = mamba.gated_rms_norm %y, %z, %gnorm_w {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
  %out = mamba.linear %g, %out_proj : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
  return %out, %r, %conv_state, %ssm_state : tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>
}

// -----

// The same Mamba2 layer for one token (decode): the conv and SSD steps take
// the states as operands and return the updated ones. Here the batch is
// static and the token dimension is 1.

// CHECK-LABEL: func.func @mamba2_decode_layer(
// CHECK-SAME: %[[HIDDEN:[^:]*]]: tensor<2x1x64xf32>, %[[RESIDUAL:[^:]*]]: tensor<2x1x64xf32>,
// CHECK-SAME: %[[CONV_STATE:[^:]*]]: tensor<2x192x4xf32>, %[[SSM_STATE:[^:]*]]: tensor<2x8x16x16xf32>,
// CHECK-SAME: %[[NORM_W:[^:]*]]: tensor<64xf32>, %[[IN_PROJ:[^:]*]]: tensor<328x64xf32>,
// CHECK-SAME: %[[CONV_W:[^:]*]]: tensor<192x4xf32>, %[[CONV_B:[^:]*]]: tensor<192xf32>,
// CHECK-SAME: %[[A_LOG:[^:]*]]: tensor<8xf32>, %[[D:[^:]*]]: tensor<8xf32>, %[[DT_BIAS:[^:]*]]: tensor<8xf32>,
// CHECK-SAME: %[[GNORM_W:[^:]*]]: tensor<128xf32>, %[[OUT_PROJ:[^:]*]]: tensor<64x128xf32>)
// CHECK: %[[NORMED:.*]], %[[RES_OUT:.*]] = mamba.rms_norm %[[HIDDEN]], %[[NORM_W]] residual(%[[RESIDUAL]])
// CHECK: %[[ZXBCDT:.*]] = mamba.linear %[[NORMED]], %[[IN_PROJ]] : (tensor<2x1x64xf32>, tensor<328x64xf32>) -> tensor<2x1x328xf32>
// CHECK: %[[ZXBCDT_S:.*]]:3 = mamba.split %[[ZXBCDT]] [128, 192, 8] : tensor<2x1x328xf32> -> tensor<2x1x128xf32>, tensor<2x1x192xf32>, tensor<2x1x8xf32>
// CHECK: %[[CONV:.*]], %[[NEW_CONV_STATE:.*]] = mamba.causal_conv1d_step %[[ZXBCDT_S]]#1, state(%[[CONV_STATE]]), %[[CONV_W]] bias(%[[CONV_B]]) {silu}
// CHECK-SAME: : (tensor<2x1x192xf32>, tensor<2x192x4xf32>, tensor<192x4xf32>, tensor<192xf32>) -> (tensor<2x1x192xf32>, tensor<2x192x4xf32>)
// CHECK: %[[XBC:.*]]:3 = mamba.split %[[CONV]] [128, 32, 32]
// CHECK: %[[Y:.*]], %[[NEW_SSM_STATE:.*]] = mamba.ssd_step %[[XBC]]#0, %[[ZXBCDT_S]]#2, %[[XBC]]#1, %[[XBC]]#2, A_log(%[[A_LOG]]), D(%[[D]]), dt_bias(%[[DT_BIAS]]), state(%[[SSM_STATE]])
// CHECK-SAME: {headdim = 16 : i64, ngroups = 2 : i64}
// CHECK-SAME: -> (tensor<2x1x128xf32>, tensor<2x8x16x16xf32>)
// CHECK: %[[GATED:.*]] = mamba.gated_rms_norm %[[Y]], %[[ZXBCDT_S]]#0, %[[GNORM_W]] {group_size = 64 : i64}
// CHECK: %[[OUT:.*]] = mamba.linear %[[GATED]], %[[OUT_PROJ]]
// CHECK: return %[[OUT]], %[[RES_OUT]], %[[NEW_CONV_STATE]], %[[NEW_SSM_STATE]] : tensor<2x1x64xf32>, tensor<2x1x64xf32>, tensor<2x192x4xf32>, tensor<2x8x16x16xf32>
func.func @mamba2_decode_layer(%hidden: tensor<2x1x64xf32>, %residual: tensor<2x1x64xf32>,
    %conv_state: tensor<2x192x4xf32>, %ssm_state: tensor<2x8x16x16xf32>,
    %norm_w: tensor<64xf32>, %in_proj: tensor<328x64xf32>,
    %conv_w: tensor<192x4xf32>, %conv_b: tensor<192xf32>,
    %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>,
    %gnorm_w: tensor<128xf32>, %out_proj: tensor<64x128xf32>)
    -> (tensor<2x1x64xf32>, tensor<2x1x64xf32>, tensor<2x192x4xf32>, tensor<2x8x16x16xf32>) {
  %n, %r = mamba.rms_norm %hidden, %norm_w residual(%residual) : (tensor<2x1x64xf32>, tensor<64xf32>, tensor<2x1x64xf32>) -> (tensor<2x1x64xf32>, tensor<2x1x64xf32>)
  %zxbcdt = mamba.linear %n, %in_proj : (tensor<2x1x64xf32>, tensor<328x64xf32>) -> tensor<2x1x328xf32>
  %z, %xBC, %dt = mamba.split %zxbcdt [128, 192, 8] : tensor<2x1x328xf32> -> tensor<2x1x128xf32>, tensor<2x1x192xf32>, tensor<2x1x8xf32>
  %conv, %new_conv_state = mamba.causal_conv1d_step %xBC, state(%conv_state), %conv_w bias(%conv_b) {silu} : (tensor<2x1x192xf32>, tensor<2x192x4xf32>, tensor<192x4xf32>, tensor<192xf32>) -> (tensor<2x1x192xf32>, tensor<2x192x4xf32>)
  %x, %B, %C = mamba.split %conv [128, 32, 32] : tensor<2x1x192xf32> -> tensor<2x1x128xf32>, tensor<2x1x32xf32>, tensor<2x1x32xf32>
  %y, %new_ssm_state = mamba.ssd_step %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%ssm_state) {headdim = 16 : i64, ngroups = 2 : i64} : (tensor<2x1x128xf32>, tensor<2x1x8xf32>, tensor<2x1x32xf32>, tensor<2x1x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<2x8x16x16xf32>) -> (tensor<2x1x128xf32>, tensor<2x8x16x16xf32>)
  %g = mamba.gated_rms_norm %y, %z, %gnorm_w {group_size = 64 : i64} : (tensor<2x1x128xf32>, tensor<2x1x128xf32>, tensor<128xf32>) -> tensor<2x1x128xf32>
  %out = mamba.linear %g, %out_proj : (tensor<2x1x128xf32>, tensor<64x128xf32>) -> tensor<2x1x64xf32>
  return %out, %r, %new_conv_state, %new_ssm_state : tensor<2x1x64xf32>, tensor<2x1x64xf32>, tensor<2x192x4xf32>, tensor<2x8x16x16xf32>
}

// -----

// A Mamba1 layer over a sequence: in_proj to x and z, conv over d_inner
// channels, x_proj to dt / B / C, dt_proj without bias (its bias is the
// scan's dt_bias), selective scan gated by z, out_proj.

// CHECK-LABEL: func.func @mamba1_prefill_layer(
// CHECK-SAME: %[[HIDDEN:[^:]*]]: tensor<?x?x64xf32>, %[[IN_PROJ:[^:]*]]: tensor<256x64xf32>,
// CHECK-SAME: %[[CONV_W:[^:]*]]: tensor<128x4xf32>, %[[CONV_B:[^:]*]]: tensor<128xf32>,
// CHECK-SAME: %[[X_PROJ:[^:]*]]: tensor<36x128xf32>, %[[DT_PROJ:[^:]*]]: tensor<128x4xf32>, %[[DT_BIAS:[^:]*]]: tensor<128xf32>,
// CHECK-SAME: %[[A_LOG:[^:]*]]: tensor<128x16xf32>, %[[D:[^:]*]]: tensor<128xf32>, %[[OUT_PROJ:[^:]*]]: tensor<64x128xf32>)
// CHECK: %[[XZ:.*]] = mamba.linear %[[HIDDEN]], %[[IN_PROJ]] : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
// CHECK: %[[XZ_S:.*]]:2 = mamba.split %[[XZ]] [128, 128] : tensor<?x?x256xf32> -> tensor<?x?x128xf32>, tensor<?x?x128xf32>
// CHECK: %[[CONV:.*]], %[[CONV_STATE:.*]] = mamba.causal_conv1d %[[XZ_S]]#0, %[[CONV_W]] bias(%[[CONV_B]]) {silu} : (tensor<?x?x128xf32>, tensor<128x4xf32>, tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x4xf32>)
// CHECK: %[[DBC:.*]] = mamba.linear %[[CONV]], %[[X_PROJ]] : (tensor<?x?x128xf32>, tensor<36x128xf32>) -> tensor<?x?x36xf32>
// CHECK: %[[DBC_S:.*]]:3 = mamba.split %[[DBC]] [4, 16, 16] : tensor<?x?x36xf32> -> tensor<?x?x4xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>
// CHECK: %[[DT:.*]] = mamba.linear %[[DBC_S]]#0, %[[DT_PROJ]] : (tensor<?x?x4xf32>, tensor<128x4xf32>) -> tensor<?x?x128xf32>
// CHECK: %[[Y:.*]], %[[SSM_STATE:.*]] = mamba.selective_scan %[[CONV]], %[[DT]], %[[DBC_S]]#1, %[[DBC_S]]#2, z(%[[XZ_S]]#1), A_log(%[[A_LOG]]), D(%[[D]]), dt_bias(%[[DT_BIAS]])
// CHECK-SAME: -> (tensor<?x?x128xf32>, tensor<?x128x16xf32>)
// CHECK: %[[OUT:.*]] = mamba.linear %[[Y]], %[[OUT_PROJ]] : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
// CHECK: return %[[OUT]], %[[CONV_STATE]], %[[SSM_STATE]] : tensor<?x?x64xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>
func.func @mamba1_prefill_layer(%hidden: tensor<?x?x64xf32>, %in_proj: tensor<256x64xf32>,
    %conv_w: tensor<128x4xf32>, %conv_b: tensor<128xf32>,
    %x_proj: tensor<36x128xf32>, %dt_proj: tensor<128x4xf32>, %dt_bias: tensor<128xf32>,
    %A_log: tensor<128x16xf32>, %D: tensor<128xf32>, %out_proj: tensor<64x128xf32>)
    -> (tensor<?x?x64xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>) {
  %xz = mamba.linear %hidden, %in_proj : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
  %x, %z = mamba.split %xz [128, 128] : tensor<?x?x256xf32> -> tensor<?x?x128xf32>, tensor<?x?x128xf32>
  %conv, %conv_state = mamba.causal_conv1d %x, %conv_w bias(%conv_b) {silu} : (tensor<?x?x128xf32>, tensor<128x4xf32>, tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x4xf32>)
  %dbc = mamba.linear %conv, %x_proj : (tensor<?x?x128xf32>, tensor<36x128xf32>) -> tensor<?x?x36xf32>
  %dt_low, %B, %C = mamba.split %dbc [4, 16, 16] : tensor<?x?x36xf32> -> tensor<?x?x4xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>
  %dt = mamba.linear %dt_low, %dt_proj : (tensor<?x?x4xf32>, tensor<128x4xf32>) -> tensor<?x?x128xf32>
  %y, %ssm_state = mamba.selective_scan %conv, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias) : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x?x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>) -> (tensor<?x?x128xf32>, tensor<?x128x16xf32>)
  %out = mamba.linear %y, %out_proj : (tensor<?x?x128xf32>, tensor<64x128xf32>) -> tensor<?x?x64xf32>
  return %out, %conv_state, %ssm_state : tensor<?x?x64xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>
}

// -----

// The Mamba1 layer for one token, with the states threaded through.

// CHECK-LABEL: func.func @mamba1_decode_layer(
// CHECK-SAME: %[[HIDDEN:[^:]*]]: tensor<?x1x64xf32>, %[[CONV_STATE:[^:]*]]: tensor<?x128x4xf32>, %[[SSM_STATE:[^:]*]]: tensor<?x128x16xf32>,
// CHECK-SAME: %[[IN_PROJ:[^:]*]]: tensor<256x64xf32>, %[[CONV_W:[^:]*]]: tensor<128x4xf32>, %[[CONV_B:[^:]*]]: tensor<128xf32>,
// CHECK-SAME: %[[X_PROJ:[^:]*]]: tensor<36x128xf32>, %[[DT_PROJ:[^:]*]]: tensor<128x4xf32>, %[[DT_BIAS:[^:]*]]: tensor<128xf32>,
// CHECK-SAME: %[[A_LOG:[^:]*]]: tensor<128x16xf32>, %[[D:[^:]*]]: tensor<128xf32>, %[[OUT_PROJ:[^:]*]]: tensor<64x128xf32>)
// CHECK: %[[XZ:.*]] = mamba.linear %[[HIDDEN]], %[[IN_PROJ]]
// CHECK: %[[XZ_S:.*]]:2 = mamba.split %[[XZ]] [128, 128] : tensor<?x1x256xf32> -> tensor<?x1x128xf32>, tensor<?x1x128xf32>
// CHECK: %[[CONV:.*]], %[[NEW_CONV_STATE:.*]] = mamba.causal_conv1d_step %[[XZ_S]]#0, state(%[[CONV_STATE]]), %[[CONV_W]] bias(%[[CONV_B]]) {silu}
// CHECK-SAME: -> (tensor<?x1x128xf32>, tensor<?x128x4xf32>)
// CHECK: %[[DBC:.*]] = mamba.linear %[[CONV]], %[[X_PROJ]]
// CHECK: %[[DBC_S:.*]]:3 = mamba.split %[[DBC]] [4, 16, 16]
// CHECK: %[[DT:.*]] = mamba.linear %[[DBC_S]]#0, %[[DT_PROJ]]
// CHECK: %[[Y:.*]], %[[NEW_SSM_STATE:.*]] = mamba.selective_step %[[CONV]], %[[DT]], %[[DBC_S]]#1, %[[DBC_S]]#2, z(%[[XZ_S]]#1), A_log(%[[A_LOG]]), D(%[[D]]), dt_bias(%[[DT_BIAS]]), state(%[[SSM_STATE]])
// CHECK-SAME: -> (tensor<?x1x128xf32>, tensor<?x128x16xf32>)
// CHECK: %[[OUT:.*]] = mamba.linear %[[Y]], %[[OUT_PROJ]]
// CHECK: return %[[OUT]], %[[NEW_CONV_STATE]], %[[NEW_SSM_STATE]] : tensor<?x1x64xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>
func.func @mamba1_decode_layer(%hidden: tensor<?x1x64xf32>, %conv_state: tensor<?x128x4xf32>, %ssm_state: tensor<?x128x16xf32>,
    %in_proj: tensor<256x64xf32>, %conv_w: tensor<128x4xf32>, %conv_b: tensor<128xf32>,
    %x_proj: tensor<36x128xf32>, %dt_proj: tensor<128x4xf32>, %dt_bias: tensor<128xf32>,
    %A_log: tensor<128x16xf32>, %D: tensor<128xf32>, %out_proj: tensor<64x128xf32>)
    -> (tensor<?x1x64xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>) {
  %xz = mamba.linear %hidden, %in_proj : (tensor<?x1x64xf32>, tensor<256x64xf32>) -> tensor<?x1x256xf32>
  %x, %z = mamba.split %xz [128, 128] : tensor<?x1x256xf32> -> tensor<?x1x128xf32>, tensor<?x1x128xf32>
  %conv, %new_conv_state = mamba.causal_conv1d_step %x, state(%conv_state), %conv_w bias(%conv_b) {silu} : (tensor<?x1x128xf32>, tensor<?x128x4xf32>, tensor<128x4xf32>, tensor<128xf32>) -> (tensor<?x1x128xf32>, tensor<?x128x4xf32>)
  %dbc = mamba.linear %conv, %x_proj : (tensor<?x1x128xf32>, tensor<36x128xf32>) -> tensor<?x1x36xf32>
  %dt_low, %B, %C = mamba.split %dbc [4, 16, 16] : tensor<?x1x36xf32> -> tensor<?x1x4xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>
  %dt = mamba.linear %dt_low, %dt_proj : (tensor<?x1x4xf32>, tensor<128x4xf32>) -> tensor<?x1x128xf32>
  %y, %new_ssm_state = mamba.selective_step %conv, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%ssm_state) : (tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>, tensor<?x1x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>, tensor<?x128x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x128x16xf32>)
  %out = mamba.linear %y, %out_proj : (tensor<?x1x128xf32>, tensor<64x128xf32>) -> tensor<?x1x64xf32>
  return %out, %new_conv_state, %new_ssm_state : tensor<?x1x64xf32>, tensor<?x128x4xf32>, tensor<?x128x16xf32>
}

// -----

// rms_norm in both forms: plain (first layer, default eps elided) and fused
// with the residual add (explicit eps kept); a bf16 norm weight from a small
// constant.

// CHECK-LABEL: func.func @rms_norm_fused_residual(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x?x64xf32>, %[[RESIDUAL:[^:]*]]: tensor<?x?x64xf32>)
// CHECK: %[[W:.*]] = arith.constant dense<1.000000e+00> : tensor<64xbf16>
// CHECK: %[[PLAIN:.*]] = mamba.rms_norm %[[X]], %[[W]] : (tensor<?x?x64xf32>, tensor<64xbf16>) -> tensor<?x?x64xf32>
// CHECK: %[[FUSED:.*]], %[[NEW_RESIDUAL:.*]] = mamba.rms_norm %[[PLAIN]], %[[W]] residual(%[[RESIDUAL]]) {eps = 9.9999999999999995E-7 : f64}
// CHECK-SAME: : (tensor<?x?x64xf32>, tensor<64xbf16>, tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
// CHECK: return %[[FUSED]], %[[NEW_RESIDUAL]]
func.func @rms_norm_fused_residual(%x: tensor<?x?x64xf32>, %residual: tensor<?x?x64xf32>)
    -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %w = arith.constant dense<1.0> : tensor<64xbf16>
  %plain = mamba.rms_norm %x, %w {eps = 1.0e-05 : f64} : (tensor<?x?x64xf32>, tensor<64xbf16>) -> tensor<?x?x64xf32>
  %fused, %new_residual = mamba.rms_norm %plain, %w residual(%residual) {eps = 1.0e-06 : f64} : (tensor<?x?x64xf32>, tensor<64xbf16>, tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>)
  return %fused, %new_residual : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// -----

// linear with and without bias, static shapes, an f16 weight: Mamba1's
// dt_proj with its bias folded in, and a rank-3 input of one token.

// CHECK-LABEL: func.func @linear_with_bias(
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x16x4xf32>, %[[W:[^:]*]]: tensor<128x4xf16>, %[[B:[^:]*]]: tensor<128xf32>, %[[T:[^:]*]]: tensor<1x1x4xf32>)
// CHECK: %[[WITH:.*]] = mamba.linear %[[X]], %[[W]] bias(%[[B]]) : (tensor<2x16x4xf32>, tensor<128x4xf16>, tensor<128xf32>) -> tensor<2x16x128xf32>
// CHECK: %[[WITHOUT:.*]] = mamba.linear %[[T]], %[[W]] : (tensor<1x1x4xf32>, tensor<128x4xf16>) -> tensor<1x1x128xf32>
// CHECK: return %[[WITH]], %[[WITHOUT]]
func.func @linear_with_bias(%x: tensor<2x16x4xf32>, %w: tensor<128x4xf16>, %b: tensor<128xf32>, %t: tensor<1x1x4xf32>)
    -> (tensor<2x16x128xf32>, tensor<1x1x128xf32>) {
  %with = mamba.linear %x, %w bias(%b) : (tensor<2x16x4xf32>, tensor<128x4xf16>, tensor<128xf32>) -> tensor<2x16x128xf32>
  %without = mamba.linear %t, %w : (tensor<1x1x4xf32>, tensor<128x4xf16>) -> tensor<1x1x128xf32>
  return %with, %without : tensor<2x16x128xf32>, tensor<1x1x128xf32>
}

// -----

// split into three pieces, static and dynamic; a one-piece split is allowed.

// CHECK-LABEL: func.func @split_three_ways(
// CHECK-SAME: %[[S:[^:]*]]: tensor<2x3x328xf32>, %[[D:[^:]*]]: tensor<?x?x?xf32>)
// CHECK: %[[P:.*]]:3 = mamba.split %[[S]] [128, 192, 8] : tensor<2x3x328xf32> -> tensor<2x3x128xf32>, tensor<2x3x192xf32>, tensor<2x3x8xf32>
// CHECK: %[[Q:.*]]:3 = mamba.split %[[D]] [128, 32, 32] : tensor<?x?x?xf32> -> tensor<?x?x128xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
// CHECK: %[[R:.*]] = mamba.split %[[Q]]#1 [32] : tensor<?x?x32xf32> -> tensor<?x?x32xf32>
// CHECK: return %[[P]]#2, %[[Q]]#0, %[[R]] : tensor<2x3x8xf32>, tensor<?x?x128xf32>, tensor<?x?x32xf32>
func.func @split_three_ways(%s: tensor<2x3x328xf32>, %d: tensor<?x?x?xf32>)
    -> (tensor<2x3x8xf32>, tensor<?x?x128xf32>, tensor<?x?x32xf32>) {
  %z, %xBC, %dt = mamba.split %s [128, 192, 8] : tensor<2x3x328xf32> -> tensor<2x3x128xf32>, tensor<2x3x192xf32>, tensor<2x3x8xf32>
  %x, %B, %C = mamba.split %d [128, 32, 32] : tensor<?x?x?xf32> -> tensor<?x?x128xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
  %B2 = mamba.split %B [32] : tensor<?x?x32xf32> -> tensor<?x?x32xf32>
  return %dt, %x, %B2 : tensor<2x3x8xf32>, tensor<?x?x128xf32>, tensor<?x?x32xf32>
}

// -----

// ssd_scan with the dt limit (dt_min, dt_max) set; both attributes print back.

// CHECK-LABEL: func.func @ssd_scan_dt_limit(
// CHECK-SAME: %[[X:[^:]*]]: tensor<1x32x128xf32>, %[[DT:[^:]*]]: tensor<1x32x8xf32>, %[[B:[^:]*]]: tensor<1x32x32xf32>, %[[C:[^:]*]]: tensor<1x32x32xf32>,
// CHECK-SAME: %[[A_LOG:[^:]*]]: tensor<8xf32>, %[[D:[^:]*]]: tensor<8xf32>, %[[DT_BIAS:[^:]*]]: tensor<8xf32>)
// CHECK: %[[Y:.*]], %[[STATE:.*]] = mamba.ssd_scan %[[X]], %[[DT]], %[[B]], %[[C]], A_log(%[[A_LOG]]), D(%[[D]]), dt_bias(%[[DT_BIAS]])
// CHECK-SAME: {chunk_size = 8 : i64, dt_max = 1.000000e-01 : f64, dt_min = 1.000000e-03 : f64, headdim = 16 : i64, ngroups = 2 : i64}
// CHECK-SAME: -> (tensor<1x32x128xf32>, tensor<1x8x16x16xf32>)
// CHECK: return %[[Y]], %[[STATE]]
func.func @ssd_scan_dt_limit(%x: tensor<1x32x128xf32>, %dt: tensor<1x32x8xf32>, %B: tensor<1x32x32xf32>, %C: tensor<1x32x32xf32>,
    %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>) -> (tensor<1x32x128xf32>, tensor<1x8x16x16xf32>) {
  %y, %state = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 8 : i64, dt_min = 0.001 : f64, dt_max = 0.1 : f64} : (tensor<1x32x128xf32>, tensor<1x32x8xf32>, tensor<1x32x32xf32>, tensor<1x32x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<1x32x128xf32>, tensor<1x8x16x16xf32>)
  return %y, %state : tensor<1x32x128xf32>, tensor<1x8x16x16xf32>
}

// -----

// ssd_scan with a per-channel D ([E] = [128], D_has_hdim) and the default
// dt_min (0.0, elided on print); ngroups = 1 (B and C are [.., N]).

// CHECK-LABEL: func.func @ssd_scan_d_has_hdim(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x?x128xf32>, %[[DT:[^:]*]]: tensor<?x?x8xf32>, %[[B_AND_C:[^:]*]]: tensor<?x?x16xf32>,
// CHECK-SAME: %[[A_LOG:[^:]*]]: tensor<8xf32>, %[[D:[^:]*]]: tensor<128xf32>, %[[DT_BIAS:[^:]*]]: tensor<8xf32>)
// CHECK: %[[Y:.*]], %[[STATE:.*]] = mamba.ssd_scan %[[X]], %[[DT]], %[[B_AND_C]], %[[B_AND_C]], A_log(%[[A_LOG]]), D(%[[D]]), dt_bias(%[[DT_BIAS]])
// CHECK-SAME: {chunk_size = 16 : i64, headdim = 16 : i64, ngroups = 1 : i64}
// CHECK-SAME: : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<8xf32>, tensor<128xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
// CHECK: return %[[STATE]] : tensor<?x8x16x16xf32>
func.func @ssd_scan_d_has_hdim(%x: tensor<?x?x128xf32>, %dt: tensor<?x?x8xf32>, %b_and_c: tensor<?x?x16xf32>,
    %A_log: tensor<8xf32>, %D: tensor<128xf32>, %dt_bias: tensor<8xf32>) -> tensor<?x8x16x16xf32> {
  %y, %state = mamba.ssd_scan %x, %dt, %b_and_c, %b_and_c, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 1 : i64, chunk_size = 16 : i64, dt_min = 0.0 : f64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<8xf32>, tensor<128xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
  return %state : tensor<?x8x16x16xf32>
}

// -----

// hadamard over the sizes Quamba2 rotates: 2^k (128), 12 * 2^k (96) and
// 40 * 2^k (160), and an unknown size.

// CHECK-LABEL: func.func @hadamard_sizes(
// CHECK-SAME: %[[A:[^:]*]]: tensor<?x?x128xf32>, %[[B:[^:]*]]: tensor<4x96xf32>, %[[C:[^:]*]]: tensor<160xf16>, %[[D:[^:]*]]: tensor<?x?xf32>)
// CHECK: %[[HA:.*]] = mamba.hadamard %[[A]] : tensor<?x?x128xf32>
// CHECK: %[[HB:.*]] = mamba.hadamard %[[B]] : tensor<4x96xf32>
// CHECK: %[[HC:.*]] = mamba.hadamard %[[C]] : tensor<160xf16>
// CHECK: %[[HD:.*]] = mamba.hadamard %[[D]] : tensor<?x?xf32>
// CHECK: return %[[HA]], %[[HB]], %[[HC]], %[[HD]]
func.func @hadamard_sizes(%a: tensor<?x?x128xf32>, %b: tensor<4x96xf32>, %c: tensor<160xf16>, %d: tensor<?x?xf32>)
    -> (tensor<?x?x128xf32>, tensor<4x96xf32>, tensor<160xf16>, tensor<?x?xf32>) {
  %ha = mamba.hadamard %a : tensor<?x?x128xf32>
  %hb = mamba.hadamard %b : tensor<4x96xf32>
  %hc = mamba.hadamard %c : tensor<160xf16>
  %hd = mamba.hadamard %d : tensor<?x?xf32>
  return %ha, %hb, %hc, %hd : tensor<?x?x128xf32>, tensor<4x96xf32>, tensor<160xf16>, tensor<?x?xf32>
}

// -----

// Embedding and a tied lm_head (the table is the lm_head weight).

// CHECK-LABEL: func.func @embedding_lm_head(
// CHECK-SAME: %[[TOKENS:[^:]*]]: tensor<?x?xi64>, %[[TABLE:[^:]*]]: tensor<256x64xf32>, %[[NORM_W:[^:]*]]: tensor<64xf32>)
// CHECK: %[[EMB:.*]] = mamba.embedding %[[TABLE]][%[[TOKENS]]] : (tensor<256x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
// CHECK: %[[NORMED:.*]] = mamba.rms_norm %[[EMB]], %[[NORM_W]]
// CHECK: %[[LOGITS:.*]] = mamba.lm_head %[[NORMED]], %[[TABLE]] : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
// CHECK: return %[[LOGITS]] : tensor<?x?x256xf32>
func.func @embedding_lm_head(%tokens: tensor<?x?xi64>, %table: tensor<256x64xf32>, %norm_w: tensor<64xf32>) -> tensor<?x?x256xf32> {
  %emb = mamba.embedding %table[%tokens] : (tensor<256x64xf32>, tensor<?x?xi64>) -> tensor<?x?x64xf32>
  %normed = mamba.rms_norm %emb, %norm_w : (tensor<?x?x64xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %logits = mamba.lm_head %normed, %table : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
  return %logits : tensor<?x?x256xf32>
}

// -----

// quantize at the granularities Quamba2 uses, each dequantized back with the
// same scales: per tensor ([1], a constant), per channel of the last
// dimension ([C]), per channel of a [B, C, K] conv state ([C, 1]) and per
// element of a [B, H, P, N] SSM state ([H, P, N]); a bf16 input is allowed.

// CHECK-LABEL: func.func @quantize_dequantize_scales(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x?x64xf32>, %[[Y:[^:]*]]: tensor<2x16x128xbf16>, %[[Y_SCALES:[^:]*]]: tensor<128xf32>,
// CHECK-SAME: %[[CONV_STATE:[^:]*]]: tensor<?x192x4xf32>, %[[CONV_SCALES:[^:]*]]: tensor<192x1xf32>,
// CHECK-SAME: %[[SSM_STATE:[^:]*]]: tensor<?x8x16x16xf32>, %[[SSM_SCALES:[^:]*]]: tensor<8x16x16xf32>)
// CHECK: %[[X_SCALE:.*]] = arith.constant dense<2.500000e-01> : tensor<1xf32>
// CHECK: %[[XQ:.*]] = mamba.quantize %[[X]], scales(%[[X_SCALE]]) : (tensor<?x?x64xf32>, tensor<1xf32>) -> tensor<?x?x64xi8>
// CHECK: %[[YQ:.*]] = mamba.quantize %[[Y]], scales(%[[Y_SCALES]]) : (tensor<2x16x128xbf16>, tensor<128xf32>) -> tensor<2x16x128xi8>
// CHECK: %[[CQ:.*]] = mamba.quantize %[[CONV_STATE]], scales(%[[CONV_SCALES]]) : (tensor<?x192x4xf32>, tensor<192x1xf32>) -> tensor<?x192x4xi8>
// CHECK: %[[SQ:.*]] = mamba.quantize %[[SSM_STATE]], scales(%[[SSM_SCALES]]) : (tensor<?x8x16x16xf32>, tensor<8x16x16xf32>) -> tensor<?x8x16x16xi8>
// CHECK: %[[XD:.*]] = mamba.dequantize %[[XQ]], scales(%[[X_SCALE]]) : (tensor<?x?x64xi8>, tensor<1xf32>) -> tensor<?x?x64xf32>
// CHECK: %[[YD:.*]] = mamba.dequantize %[[YQ]], scales(%[[Y_SCALES]]) : (tensor<2x16x128xi8>, tensor<128xf32>) -> tensor<2x16x128xf32>
// CHECK: %[[CD:.*]] = mamba.dequantize %[[CQ]], scales(%[[CONV_SCALES]]) : (tensor<?x192x4xi8>, tensor<192x1xf32>) -> tensor<?x192x4xf32>
// CHECK: %[[SD:.*]] = mamba.dequantize %[[SQ]], scales(%[[SSM_SCALES]]) : (tensor<?x8x16x16xi8>, tensor<8x16x16xf32>) -> tensor<?x8x16x16xf32>
// CHECK: return %[[XD]], %[[YD]], %[[CD]], %[[SD]] : tensor<?x?x64xf32>, tensor<2x16x128xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>
func.func @quantize_dequantize_scales(%x: tensor<?x?x64xf32>, %y: tensor<2x16x128xbf16>, %y_scales: tensor<128xf32>,
    %conv_state: tensor<?x192x4xf32>, %conv_scales: tensor<192x1xf32>,
    %ssm_state: tensor<?x8x16x16xf32>, %ssm_scales: tensor<8x16x16xf32>)
    -> (tensor<?x?x64xf32>, tensor<2x16x128xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>) {
  %x_scale = arith.constant dense<0.25> : tensor<1xf32>
  %xq = mamba.quantize %x, scales(%x_scale) : (tensor<?x?x64xf32>, tensor<1xf32>) -> tensor<?x?x64xi8>
  %yq = mamba.quantize %y, scales(%y_scales) : (tensor<2x16x128xbf16>, tensor<128xf32>) -> tensor<2x16x128xi8>
  %cq = mamba.quantize %conv_state, scales(%conv_scales) : (tensor<?x192x4xf32>, tensor<192x1xf32>) -> tensor<?x192x4xi8>
  %sq = mamba.quantize %ssm_state, scales(%ssm_scales) : (tensor<?x8x16x16xf32>, tensor<8x16x16xf32>) -> tensor<?x8x16x16xi8>
  %xd = mamba.dequantize %xq, scales(%x_scale) : (tensor<?x?x64xi8>, tensor<1xf32>) -> tensor<?x?x64xf32>
  %yd = mamba.dequantize %yq, scales(%y_scales) : (tensor<2x16x128xi8>, tensor<128xf32>) -> tensor<2x16x128xf32>
  %cd = mamba.dequantize %cq, scales(%conv_scales) : (tensor<?x192x4xi8>, tensor<192x1xf32>) -> tensor<?x192x4xf32>
  %sd = mamba.dequantize %sq, scales(%ssm_scales) : (tensor<?x8x16x16xi8>, tensor<8x16x16xf32>) -> tensor<?x8x16x16xf32>
  return %xd, %yd, %cd, %sd : tensor<?x?x64xf32>, tensor<2x16x128xf32>, tensor<?x192x4xf32>, tensor<?x8x16x16xf32>
}

// -----

// linear_w8a8 with and without bias: out_proj (128 -> 64) on int8
// activations with a per-tensor input scale and per-row weight scales (a
// constant here, to check its value prints back); the bias may be f16.

// CHECK-LABEL: func.func @linear_w8a8_bias(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x?x128xi8>, %[[X_SCALE:[^:]*]]: tensor<1xf32>, %[[W:[^:]*]]: tensor<64x128xi8>,
// CHECK-SAME: %[[B:[^:]*]]: tensor<64xf16>, %[[T:[^:]*]]: tensor<2x1x128xi8>)
// CHECK: %[[W_SCALES:.*]] = arith.constant dense<1.250000e-01> : tensor<64xf32>
// CHECK: %[[WITH:.*]] = mamba.linear_w8a8 %[[X]] scale(%[[X_SCALE]]), %[[W]] scales(%[[W_SCALES]]) bias(%[[B]])
// CHECK-SAME: : (tensor<?x?x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<64xf16>) -> tensor<?x?x64xf32>
// CHECK: %[[WITHOUT:.*]] = mamba.linear_w8a8 %[[T]] scale(%[[X_SCALE]]), %[[W]] scales(%[[W_SCALES]]) : (tensor<2x1x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<2x1x64xf32>
// CHECK: return %[[WITH]], %[[WITHOUT]] : tensor<?x?x64xf32>, tensor<2x1x64xf32>
func.func @linear_w8a8_bias(%x: tensor<?x?x128xi8>, %x_scale: tensor<1xf32>, %w: tensor<64x128xi8>,
    %b: tensor<64xf16>, %t: tensor<2x1x128xi8>) -> (tensor<?x?x64xf32>, tensor<2x1x64xf32>) {
  %w_scales = arith.constant dense<0.125> : tensor<64xf32>
  %with = mamba.linear_w8a8 %x scale(%x_scale), %w scales(%w_scales) bias(%b) : (tensor<?x?x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>, tensor<64xf16>) -> tensor<?x?x64xf32>
  %without = mamba.linear_w8a8 %t scale(%x_scale), %w scales(%w_scales) : (tensor<2x1x128xi8>, tensor<1xf32>, tensor<64x128xi8>, tensor<64xf32>) -> tensor<2x1x64xf32>
  return %with, %without : tensor<?x?x64xf32>, tensor<2x1x64xf32>
}

// -----

// linear_w4a8 (Marlin-QQQ): in_proj 64 -> 328 from 4-bit weights packed in
// 32 bytes per row, group scales [328, 64 / 32] and channel scales [328].
// The default packing (rows) is elided on print, whether it was written or
// not; the attribute itself prints back where it is not a default (here a
// function attribute). group_size 64 (one group per row), with a bias.

// CHECK-LABEL: func.func @linear_w4a8(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x?x64xi8>, %[[X_SCALE:[^:]*]]: tensor<1xf32>, %[[W:[^:]*]]: tensor<328x32xi8>,
// CHECK-SAME: %[[GS:[^:]*]]: tensor<328x2xf32>, %[[CS:[^:]*]]: tensor<328xf32>, %[[GS1:[^:]*]]: tensor<328x1xf32>, %[[B:[^:]*]]: tensor<328xf32>)
// CHECK-SAME: -> (tensor<?x?x328xf32>, tensor<?x?x328xf32>, tensor<?x?x328xf32>)
// CHECK-SAME: attributes {packing = #mamba.int4_packing<rows>}
// CHECK: %[[EXPLICIT:.*]] = mamba.linear_w4a8 %[[X]] scale(%[[X_SCALE]]), %[[W]] group_scales(%[[GS]]) channel_scales(%[[CS]]) {group_size = 32 : i64}
// CHECK-SAME: : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x2xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
// CHECK: %[[DEFAULT:.*]] = mamba.linear_w4a8 %[[X]] scale(%[[X_SCALE]]), %[[W]] group_scales(%[[GS]]) channel_scales(%[[CS]]) {group_size = 32 : i64}
// CHECK-SAME: : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x2xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
// CHECK: %[[BIASED:.*]] = mamba.linear_w4a8 %[[X]] scale(%[[X_SCALE]]), %[[W]] group_scales(%[[GS1]]) channel_scales(%[[CS]]) bias(%[[B]]) {group_size = 64 : i64}
// CHECK-SAME: : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x1xf32>, tensor<328xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
// CHECK: return %[[EXPLICIT]], %[[DEFAULT]], %[[BIASED]]
func.func @linear_w4a8(%x: tensor<?x?x64xi8>, %x_scale: tensor<1xf32>, %w: tensor<328x32xi8>,
    %gs: tensor<328x2xf32>, %cs: tensor<328xf32>, %gs1: tensor<328x1xf32>, %b: tensor<328xf32>)
    -> (tensor<?x?x328xf32>, tensor<?x?x328xf32>, tensor<?x?x328xf32>) attributes {packing = #mamba.int4_packing<rows>} {
  %explicit = mamba.linear_w4a8 %x scale(%x_scale), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64, packing = #mamba.int4_packing<rows>} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x2xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  %default = mamba.linear_w4a8 %x scale(%x_scale), %w group_scales(%gs) channel_scales(%cs) {group_size = 32 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x2xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  %biased = mamba.linear_w4a8 %x scale(%x_scale), %w group_scales(%gs1) channel_scales(%cs) bias(%b) {group_size = 64 : i64} : (tensor<?x?x64xi8>, tensor<1xf32>, tensor<328x32xi8>, tensor<328x1xf32>, tensor<328xf32>, tensor<328xf32>) -> tensor<?x?x328xf32>
  return %explicit, %default, %biased : tensor<?x?x328xf32>, tensor<?x?x328xf32>, tensor<?x?x328xf32>
}

// -----

// linear_w4a16: out_proj 128 -> 64 from 4-bit weights (64 bytes per row)
// with group scales [64, 128 / 64] on f16 activations, with and without a
// bias; K is taken from the weight when the input's is dynamic.

// CHECK-LABEL: func.func @linear_w4a16(
// CHECK-SAME: %[[X:[^:]*]]: tensor<?x?x128xf16>, %[[W:[^:]*]]: tensor<64x64xi8>, %[[GS:[^:]*]]: tensor<64x2xf32>,
// CHECK-SAME: %[[B:[^:]*]]: tensor<64xf32>, %[[D:[^:]*]]: tensor<?x?x?xf32>)
// CHECK: %[[WITH:.*]] = mamba.linear_w4a16 %[[X]], %[[W]] group_scales(%[[GS]]) bias(%[[B]]) {group_size = 64 : i64}
// CHECK-SAME: : (tensor<?x?x128xf16>, tensor<64x64xi8>, tensor<64x2xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
// CHECK: %[[WITHOUT:.*]] = mamba.linear_w4a16 %[[D]], %[[W]] group_scales(%[[GS]]) {group_size = 64 : i64}
// CHECK-SAME: : (tensor<?x?x?xf32>, tensor<64x64xi8>, tensor<64x2xf32>) -> tensor<?x?x64xf32>
// CHECK: return %[[WITH]], %[[WITHOUT]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>
func.func @linear_w4a16(%x: tensor<?x?x128xf16>, %w: tensor<64x64xi8>, %gs: tensor<64x2xf32>,
    %b: tensor<64xf32>, %d: tensor<?x?x?xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %with = mamba.linear_w4a16 %x, %w group_scales(%gs) bias(%b) {group_size = 64 : i64} : (tensor<?x?x128xf16>, tensor<64x64xi8>, tensor<64x2xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
  %without = mamba.linear_w4a16 %d, %w group_scales(%gs) {group_size = 64 : i64, packing = #mamba.int4_packing<rows>} : (tensor<?x?x?xf32>, tensor<64x64xi8>, tensor<64x2xf32>) -> tensor<?x?x64xf32>
  return %with, %without : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// -----

// quantized_embedding from an int8 table [V, D] = [256, 64] and from a 4-bit
// table of 32 bytes per row (D = 64), both with one scale per row.

// CHECK-LABEL: func.func @quantized_embedding_bits(
// CHECK-SAME: %[[TOKENS:[^:]*]]: tensor<?x?xi32>, %[[TABLE8:[^:]*]]: tensor<256x64xi8>, %[[TABLE4:[^:]*]]: tensor<256x32xi8>, %[[SCALES:[^:]*]]: tensor<256xf32>)
// CHECK: %[[EMB8:.*]] = mamba.quantized_embedding %[[TABLE8]] scales(%[[SCALES]]) [%[[TOKENS]]] {bits = 8 : i64}
// CHECK-SAME: : (tensor<256x64xi8>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
// CHECK: %[[EMB4:.*]] = mamba.quantized_embedding %[[TABLE4]] scales(%[[SCALES]]) [%[[TOKENS]]] {bits = 4 : i64}
// CHECK-SAME: : (tensor<256x32xi8>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
// CHECK: return %[[EMB8]], %[[EMB4]] : tensor<?x?x64xf32>, tensor<?x?x64xf32>
func.func @quantized_embedding_bits(%tokens: tensor<?x?xi32>, %table8: tensor<256x64xi8>, %table4: tensor<256x32xi8>,
    %scales: tensor<256xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %emb8 = mamba.quantized_embedding %table8 scales(%scales) [%tokens] {bits = 8 : i64} : (tensor<256x64xi8>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  %emb4 = mamba.quantized_embedding %table4 scales(%scales) [%tokens] {bits = 4 : i64, packing = #mamba.int4_packing<rows>} : (tensor<256x32xi8>, tensor<256xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
  return %emb8, %emb4 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// -----

// A Mamba2 model module: the config round-trips (default dt_rank omitted) and
// the ops agree with it (conv over conv_dim 192, 8 heads of 16, group_size
// d_inner / ngroups = 64).

// BC: {{^}}  module attributes {
// CHECK: mamba.config = #mamba.config<arch = mamba2, d_model = 64, n_layer = 2, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>}
// CHECK-LABEL: func.func @mamba2_model_ops(
// CHECK: mamba.embedding
// CHECK: mamba.causal_conv1d {{.*}} {silu} : (tensor<?x?x192xf32>, tensor<192x4xf32>)
// CHECK: mamba.ssd_scan
// CHECK-SAME: {chunk_size = 16 : i64, headdim = 16 : i64, ngroups = 2 : i64}
// CHECK: mamba.gated_rms_norm {{.*}} {group_size = 64 : i64}
// CHECK: mamba.lm_head
module attributes {mamba.config = #mamba.config<arch = mamba2, d_model = 64, n_layer = 2, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, headdim = 16, nheads = 8, ngroups = 2, chunk_size = 16, tie_embeddings = true>} {
  func.func @mamba2_model_ops(%tokens: tensor<?x?xi32>, %table: tensor<256x64xf32>, %xBC: tensor<?x?x192xf32>, %conv_w: tensor<192x4xf32>,
      %dt: tensor<?x?x8xf32>, %A_log: tensor<8xf32>, %D: tensor<8xf32>, %dt_bias: tensor<8xf32>, %z: tensor<?x?x128xf32>,
      %gnorm_w: tensor<128xf32>, %hidden: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x128xf32>, tensor<?x8x16x16xf32>, tensor<?x?x256xf32>) {
    %emb = mamba.embedding %table[%tokens] : (tensor<256x64xf32>, tensor<?x?xi32>) -> tensor<?x?x64xf32>
    %conv, %conv_state = mamba.causal_conv1d %xBC, %conv_w {silu} : (tensor<?x?x192xf32>, tensor<192x4xf32>) -> (tensor<?x?x192xf32>, tensor<?x192x4xf32>)
    %x, %B, %C = mamba.split %conv [128, 32, 32] : tensor<?x?x192xf32> -> tensor<?x?x128xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>
    %y, %state = mamba.ssd_scan %x, %dt, %B, %C, A_log(%A_log), D(%D), dt_bias(%dt_bias) {headdim = 16 : i64, ngroups = 2 : i64, chunk_size = 16 : i64} : (tensor<?x?x128xf32>, tensor<?x?x8xf32>, tensor<?x?x32xf32>, tensor<?x?x32xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<?x?x128xf32>, tensor<?x8x16x16xf32>)
    %g = mamba.gated_rms_norm %y, %z, %gnorm_w {group_size = 64 : i64} : (tensor<?x?x128xf32>, tensor<?x?x128xf32>, tensor<128xf32>) -> tensor<?x?x128xf32>
    %logits = mamba.lm_head %hidden, %table : (tensor<?x?x64xf32>, tensor<256x64xf32>) -> tensor<?x?x256xf32>
    return %emb, %g, %state, %logits : tensor<?x?x64xf32>, tensor<?x?x128xf32>, tensor<?x8x16x16xf32>, tensor<?x?x256xf32>
  }
}

// -----

// A Mamba1 model module: the config round-trips (the Mamba2-only fields, all
// default, omitted) and the conv (over d_inner) and the selective scan agree
// with it.

// BC: {{^}}  module attributes {
// CHECK: mamba.config = #mamba.config<arch = mamba1, d_model = 64, n_layer = 2, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, tie_embeddings = false>}
// CHECK-LABEL: func.func @mamba1_model_ops(
// CHECK: mamba.causal_conv1d_step {{.*}} : (tensor<?x1x128xf32>, tensor<?x128x4xf32>, tensor<128x4xf32>)
// CHECK: mamba.selective_step
// CHECK-SAME: tensor<128x16xf32>
// CHECK: mamba.lm_head
module attributes {mamba.config = #mamba.config<arch = mamba1, d_model = 64, n_layer = 2, vocab_size = 256, d_state = 16, d_conv = 4, expand = 2, d_inner = 128, dt_rank = 4, tie_embeddings = false>} {
  func.func @mamba1_model_ops(%x: tensor<?x1x128xf32>, %conv_state: tensor<?x128x4xf32>, %conv_w: tensor<128x4xf32>,
      %dt: tensor<?x1x128xf32>, %B: tensor<?x1x16xf32>, %C: tensor<?x1x16xf32>, %z: tensor<?x1x128xf32>,
      %A_log: tensor<128x16xf32>, %D: tensor<128xf32>, %dt_bias: tensor<128xf32>, %ssm_state: tensor<?x128x16xf32>,
      %hidden: tensor<?x1x64xf32>, %lm_head: tensor<256x64xf32>) -> (tensor<?x1x128xf32>, tensor<?x1x256xf32>) {
    %conv, %new_conv_state = mamba.causal_conv1d_step %x, state(%conv_state), %conv_w {silu} : (tensor<?x1x128xf32>, tensor<?x128x4xf32>, tensor<128x4xf32>) -> (tensor<?x1x128xf32>, tensor<?x128x4xf32>)
    %y, %new_ssm_state = mamba.selective_step %conv, %dt, %B, %C, z(%z), A_log(%A_log), D(%D), dt_bias(%dt_bias), state(%ssm_state) : (tensor<?x1x128xf32>, tensor<?x1x128xf32>, tensor<?x1x16xf32>, tensor<?x1x16xf32>, tensor<?x1x128xf32>, tensor<128x16xf32>, tensor<128xf32>, tensor<128xf32>, tensor<?x128x16xf32>) -> (tensor<?x1x128xf32>, tensor<?x128x16xf32>)
    %logits = mamba.lm_head %hidden, %lm_head : (tensor<?x1x64xf32>, tensor<256x64xf32>) -> tensor<?x1x256xf32>
    return %y, %logits : tensor<?x1x128xf32>, tensor<?x1x256xf32>
  }
}
