//===- LaunchOps.h - what each launch of a plan computes --------*- C++ -*-===//
//
// The contract between codegen and the backends. A launch names an op; its
// buffer operands come in the order listed here (inputs, then outputs), then
// its i32 scalar arguments, then (GPU only) Triton's two hidden scratch
// pointers. The CPU backend runs the op with the reference kernel named in
// the comment (runtime/reference/); every generated GPU kernel for the op
// computes the same function (DESIGN.md §2: the reference kernels are the one
// source of truth). Shapes come from the plan's buffer shapes; "rows" is the
// number of elements of the first operand over its last dimension.
//
// Split epilogue: linear, linear_bias, linear_w8a8, linear_w4a8,
// linear_w4a16, causal_conv1d and causal_conv1d_step may carry the attr
// split_sizes [s_0, ..., s_k-1]: their first output (out / y, [.., W] with
// W = sum s_i) is then k operands out_0[.., s_0], ..., out_k-1 in its place,
// holding what `split` of that output would give (codegen fuses a split
// that is an op's only reader this way; a launch fewer per split).
//
// Int8 state: causal_conv1d_step, ssd_step and selective_step may carry the
// flag state_int8: state_in and state_out are then int8 codes, and the
// state's scales (f32, one per element of a sequence's state: the scales
// expanded over [C, K], [H, P, N] or [E, N]) come after the other inputs;
// the op dequantizes the state (ref::dequantizeInt8PerChannel) and
// quantizes the new one (ref::quantizeInt8PerChannel) around the f32 step
// (codegen fuses a dequantize only the step reads and a quantize that is
// the new state's only reader, with the same scales; two launches and an
// f32 state's round trip fewer per layer and token).
//
// Requantized parts: the ops with a split epilogue may carry the attr
// requantize_parts [r_0, ...] (one per part, or one for an unsplit output):
// part j with r_j = 1 holds dequantize(quantize(v)) of the op's value v with
// scales over its last dimension (requantize's function), and those scales
// (f32, one per column of the part, in part order) are the last inputs,
// after an int8 state's scales (codegen fuses a quantize -> dequantize pair
// that is a part's only reader; one launch and a round trip fewer).
//
// Quantized output: rms_norm, add_rms_norm, gated_rms_norm and hadamard may
// carry the flag quantize_output: their first output (out) then holds the
// int8 codes ref::quantizeInt8PerChannel(v, scales) of the op's f32 value v,
// with scales over its last dimension (f32, one per element of a row) the
// last input (codegen fuses a quantize that is the output's only reader and
// is not itself requantized; one launch and an f32 round trip fewer).
//
// Hadamard epilogue: gated_rms_norm may carry the flag hadamard: its value
// is then ref::hadamard of each normalised row (all its groups), and the
// factor [m, m] (as hadamard's) is an input after weight (codegen fuses a
// hadamard that is the norm's only reader; mamba2's gated norm, Hadamard and
// quantize before out_proj become one launch).
//
// Conv-step epilogue: linear, linear_bias, linear_w8a8, linear_w4a8 and
// linear_w4a16 may carry the attr conv_step [j]: the launch then computes
// the linear, then causal_conv1d_step with x = the linear's output part j
// (its whole output when unsplit; x [B, C] is the linear's rows, so decode
// only), the step's attrs prefixed "conv_step." (conv_step.silu,
// conv_step.state_int8, conv_step.split_sizes, ...). Operands: the linear's
// inputs, the step's inputs but x, the linear's outputs (part j included),
// the step's outputs (plan::convStepEpilogue splits them apart). Codegen
// fuses a step whose x only it reads (the step is per channel, the GEMV's
// epilogue per column: a launch and a round trip of x fewer per layer).
//
// Batch ranges: a launch may run only for batches in [min, max] (plan JSON
// "batch"; plan::Launch::runsFor). Codegen emits such alternatives for one
// op (a decode linear's kernel for few and for many sequences) over disjoint
// ranges, each computing the function below: a backend may run either. A
// fused launch's alternative may be its unfused launches, each with the
// same range.
//
// Activations are f32; an f16 weight (quamba-cast-weights) is widened exactly
// where it is read, so it changes no arithmetic (the CPU backend widens it on
// upload). Outputs never alias inputs: in-place IR updates (SSM and conv states) read
// one buffer and write another.
//
// op                   operands                                  scalars  attrs
// -------------------  ----------------------------------------  -------  -----------------------
// embedding            table[V,D] f32|f16, tokens[B,L] i32, out[B,L,D]  count  -
//                        (ref::embedding; tokens are checked on the host)
// quantized_embedding  table[V,D or D/2] i8, scales[V], tokens, out  count   bits (8|4)
// rms_norm             x, weight[D], out                           rows     eps
// add_rms_norm         x, residual, weight[D], out, residual_out   rows     eps  (ref::addRmsNorm)
// linear               x[rows,K], weight[N,K] f32|f16, out[rows,N]  rows    -
// linear_bias          x, weight, bias[N], out                     rows     -
// split                x[rows,W], out_0[rows,s_0], out_1, ...      rows     sizes
// causal_conv1d        x[B,L,C], weight[C,K], bias[C], y, state[B,C,K]  batch, seqlen  silu, has_bias
//                        (bias is a zero buffer when has_bias = 0)
// causal_conv1d_step   x[B,C], state_in[B,C,K], weight, bias, y, state_out  batch  silu, has_bias
// ssd_chunk_state      x[B,L,H*P], dt[B,L,H], B[B,L,G*N], A_log[H], dt_bias[H],
//                        dt_out[B,H,L], cum[B,H,L], chunk_states[B,cdiv(L,64),H,P,N]
//                                                                  batch, seqlen  headdim, ngroups,
//                                                                   dt_min, dt_max
//                        (ref::ssdChunkState; dt_max absent = +infinity: JSON has no infinity)
// ssd_state_passing    cum, chunk_states, init_states[B,cdiv(L,64),H,P,N], state[B,H,P,N]
//                                                                  batch, seqlen  -
//                        (ref::ssdStatePassing)
// ssd_chunk_cb         B, C[B,L,G*N], cb[B,cdiv(L,64),G,64,64]      batch, seqlen  ngroups
//                        (ref::ssdChunkCB)
// ssd_chunk_scan       x, dt_out, cum, C, cb, D, init_states, y    batch, seqlen  headdim,
//                                                                   ngroups, d_has_hdim
//                        (ref::ssdChunkScan; the four are ref::ssdScan, the IR's ssd_scan,
//                         in chunks of ref::kSSDChunk = 64 tokens)
// ssd_step             x, dt, B, C, A_log, D, dt_bias, state_in, y, state_out  batch  headdim, ngroups, d_has_hdim
// selective_scan       x, dt, B, C, z, A_log, D, dt_bias, y, state  batch, seqlen  -
// selective_step       x, dt, B, C, z, A_log, D, dt_bias, state_in, y, state_out  batch  -
// gated_rms_norm       y, z, weight[D], out                        rows     group_size, eps
//                        (ref::gatedRmsNorm; with hadamard: y, z, weight, factor, out)
// hadamard             x[rows,n], factor[m,m], out[rows,n]         rows     -   (ref::hadamard;
//                        factor = ref::hadamardFactor(m), n = m * 2^k, for the GPU kernel)
// quantize             x f32, scales[inner], out i8                count    inner
//                        (scales expanded over the trailing block at compile time;
//                         element i uses scales[i % inner]; RNE, saturating)
// dequantize           q i8, scales[inner], out f32                count    inner
// requantize           x f32, scales[inner], out f32               count    inner
//                        (dequantize(quantize(x)): x rounded to its int8 grid, as
//                         ref::quantizeInt8PerChannel then ref::dequantizeInt8PerChannel;
//                         codegen fuses a quantize whose only reader dequantizes
//                         with the same scales)
// linear_w8a8          x i8, x_scale[1], w i8[N,K], w_scales[N], bias[N], out  rows  has_bias
// linear_w4a8          x i8, x_scale[1], w u8[N,K/2], group_scales[N,K/g],
//                        channel_scales[N], bias[N], out          rows     group_size, has_bias
// linear_w4a16         x f32, w u8[N,K/2], group_scales[N,K/g], bias[N], out  rows  group_size, has_bias
// argmax               logits[B,L,V], out i32[B]                   batch, seqlen  -
//                        (an entry point's sampler: the greedy next token of each sequence,
//                         argmax of its last position, the lowest index among equal maxima)
// sample               logits[B,L,V], params i32[8], out i32[B]    batch, seqlen  -
//                        (an entry point's random sampler: ref::sampleToken on the last
//                         position of each sequence, sequence = its row; params are
//                         ref::sampleParamsToWords: temperature, top-k, top-p, allowed ids,
//                         seed, step, filled by the host before each step)
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string_view>

namespace quamba::plan {

/// Every op name a plan may use (the table above).
inline constexpr std::string_view kLaunchOps[] = {
    "embedding",      "quantized_embedding", "rms_norm",
    "add_rms_norm",   "linear",              "linear_bias",
    "split",          "causal_conv1d",       "causal_conv1d_step",
    "ssd_chunk_state", "ssd_state_passing",  "ssd_chunk_cb",
    "ssd_chunk_scan",
    "ssd_step",       "selective_scan",
    "selective_step", "gated_rms_norm",      "hadamard",
    "quantize",       "dequantize",          "requantize",
    "linear_w8a8",
    "linear_w4a8",    "linear_w4a16",        "argmax",
    "sample",
};

} // namespace quamba::plan
