//===- MambaOps.td - mamba dialect operations --------------*- tablegen -*-===//
//
// Dimension names used throughout: B batch, L sequence length, D d_model,
// V vocabulary (padded), E d_inner, K conv kernel, C conv channels, H heads,
// P headdim, G groups, N d_state. Activations are ranked float tensors
// computed in fp32 by the reference kernels; weights keep their stored float
// type (f32, f16, bf16).
//
//===----------------------------------------------------------------------===//
#ifndef QUAMBA_DIALECT_MAMBA_OPS_TD
#define QUAMBA_DIALECT_MAMBA_OPS_TD

include "dialect/Mamba/IR/MambaDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/EnumAttr.td"

def Mamba_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Mamba_TokenTensor : RankedTensorOf<[AnySignlessInteger]>;

// Every op checks its shapes in C++ (MambaOps.cpp), where one shape contract
// per op unifies named dimensions across operands and results.
class Mamba_PureOp<string mnemonic, list<Trait> traits = []>
    : Mamba_Op<mnemonic, !listconcat([Pure], traits)> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Model wrapper: embedding, norms, projections, lm_head
//===----------------------------------------------------------------------===//

def Mamba_EmbeddingOp : Mamba_PureOp<"embedding"> {
  let summary = "token embedding lookup";
  let description = [{
    `result[b, l, :] = table[tokens[b, l], :]`. Token ids outside `[0, V)` are
    an error at run time.
  }];
  let arguments = (ins Mamba_FloatTensor:$table, Mamba_TokenTensor:$tokens);
  let results = (outs Mamba_FloatTensor:$result);
  let assemblyFormat = [{
    $table `[` $tokens `]` attr-dict `:` functional-type(operands, results)
  }];
}

def Mamba_RMSNormOp : Mamba_PureOp<"rms_norm"> {
  let summary = "RMSNorm, optionally fused with the residual add";
  let description = [{
    Without `residual`: `output = input / sqrt(mean(input^2) + eps) * weight`
    over the last dimension, in fp32.

    With `residual` (mamba_ssm's fused add-norm): `r = input + residual`;
    `output = RMSNorm(r)`; the second result is `r`, the new residual stream
    (kept in fp32).
  }];
  let arguments = (ins Mamba_FloatTensor:$input, Mamba_FloatTensor:$weight,
                       Optional<Mamba_FloatTensor>:$residual,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs Mamba_FloatTensor:$output,
                      Optional<Mamba_FloatTensor>:$residual_out);
  let assemblyFormat = [{
    $input `,` $weight (`residual` `(` $residual^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Mamba_LinearOp : Mamba_PureOp<"linear"> {
  let summary = "input x weight^T (+ bias)";
  let description = [{
    `result[..., n] = sum_k input[..., k] * weight[n, k] (+ bias[n])`, with
    the weight in PyTorch's `[out_features, in_features]` layout.
  }];
  let arguments = (ins Mamba_FloatTensor:$input, Mamba_FloatTensor:$weight,
                       Optional<Mamba_FloatTensor>:$bias);
  let results = (outs Mamba_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` `(` $bias^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Mamba_SplitOp : Mamba_PureOp<"split"> {
  let summary = "split the last dimension into consecutive pieces";
  let description = [{
    Result `i` holds columns `[sum(sizes[0:i]), sum(sizes[0:i+1]))` of the
    last dimension; the sizes must add up to it. Used for in_proj's
    `[z, xBC, dt]` and the conv output's `[x, B, C]` (Mamba2), and x_proj's
    `[dt, B, C]` (Mamba1).
  }];
  let arguments = (ins Mamba_FloatTensor:$input, DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Mamba_FloatTensor>:$results);
  let assemblyFormat = [{
    $input $sizes attr-dict `:` type($input) `->` type($results)
  }];
}

def Mamba_LMHeadOp : Mamba_PureOp<"lm_head"> {
  let summary = "logits = input x weight^T";
  let description = [{
    `logits[b, l, v] = sum_d input[b, l, d] * weight[v, d]`. With tied
    embeddings the weight is the embedding table itself. Rows beyond the
    tokenizer's vocabulary (padding) are produced like any other; consumers
    mask them.
  }];
  let arguments = (ins Mamba_FloatTensor:$input, Mamba_FloatTensor:$weight);
  let results = (outs Mamba_FloatTensor:$logits);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Depthwise causal convolution
//===----------------------------------------------------------------------===//

def Mamba_CausalConv1dOp : Mamba_PureOp<"causal_conv1d"> {
  let summary = "depthwise causal conv1d over a sequence (prefill)";
  let description = [{
    `y[b, t, c] = act(bias[c] + sum_k weight[c, k] * x[b, t - K + 1 + k, c])`
    with `x[b, t < 0, c] = 0`; weight index `K - 1` multiplies the current
    token; `act` is SiLU when `silu` is set. The second result is the conv
    state a following decode step starts from: the last `K` inputs,
    `state[b, c, k] = x[b, L - K + k, c]` (zero before the sequence start).
  }];
  let arguments = (ins Mamba_FloatTensor:$x, Mamba_FloatTensor:$weight,
                       Optional<Mamba_FloatTensor>:$bias, UnitAttr:$silu);
  let results = (outs Mamba_FloatTensor:$y, Mamba_FloatTensor:$state);
  let assemblyFormat = [{
    $x `,` $weight (`bias` `(` $bias^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Mamba_CausalConv1dStepOp : Mamba_PureOp<"causal_conv1d_step"> {
  let summary = "one-token update of the depthwise causal conv1d (decode)";
  let description = [{
    Rolls `state` left by one and puts `x[b, 0, :]` in its last column, then
    `y[b, 0, c] = act(bias[c] + sum_k new_state[b, c, k] * weight[c, k])`.
  }];
  let arguments = (ins Mamba_FloatTensor:$x, Mamba_FloatTensor:$state,
                       Mamba_FloatTensor:$weight,
                       Optional<Mamba_FloatTensor>:$bias, UnitAttr:$silu);
  let results = (outs Mamba_FloatTensor:$y, Mamba_FloatTensor:$new_state);
  let assemblyFormat = [{
    $x `,` `state` `(` $state `)` `,` $weight (`bias` `(` $bias^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Mamba2: state space duality (SSD)
//===----------------------------------------------------------------------===//

def Mamba_SSDScanOp : Mamba_PureOp<"ssd_scan"> {
  let summary = "Mamba2 chunked SSD scan over a sequence (prefill)";
  let description = [{
    With `x` viewed as `[B, L, H, P]` and `B`, `C` as `[B, L, G, N]`, head `h`
    using group `h / (H / G)`, from a zero state:

    ```
    dt'[t, h]  = clamp(softplus(dt[t, h] + dt_bias[h]), dt_min, dt_max)
    h_t[h,p,n] = exp(dt'[t,h] * -exp(A_log[h])) * h_{t-1}[h,p,n]
                 + dt'[t,h] * B[t,g,n] * x[t,h,p]
    y[t,h,p]   = sum_n C[t,g,n] * h_t[h,p,n] + D[h] * x[t,h,p]
    ```

    softplus(v) = v for v > 20. `D` is `[H]`, or `[E]` (D_has_hdim).
    `dt_max` absent means +infinity. `chunk_size` records the checkpoint's
    (mamba_ssm's) chunk length; it does not change the result: quamba
    computes the scan in chunks of its own (`ref::kSSDChunk` = 64 tokens, the
    same on every backend), equal to the recurrence up to fp32 rounding. The
    second result is the final state `[B, H, P, N]`.
  }];
  let arguments = (ins Mamba_FloatTensor:$x, Mamba_FloatTensor:$dt,
                       Mamba_FloatTensor:$B, Mamba_FloatTensor:$C,
                       Mamba_FloatTensor:$A_log, Mamba_FloatTensor:$D,
                       Mamba_FloatTensor:$dt_bias,
                       I64Attr:$headdim, I64Attr:$ngroups, I64Attr:$chunk_size,
                       DefaultValuedAttr<F64Attr, "0.0">:$dt_min,
                       OptionalAttr<F64Attr>:$dt_max);
  let results = (outs Mamba_FloatTensor:$y, Mamba_FloatTensor:$state);
  let assemblyFormat = [{
    $x `,` $dt `,` $B `,` $C `,` `A_log` `(` $A_log `)` `,` `D` `(` $D `)` `,`
    `dt_bias` `(` $dt_bias `)` attr-dict `:` functional-type(operands, results)
  }];
}

def Mamba_SSDStepOp : Mamba_PureOp<"ssd_step"> {
  let summary = "Mamba2 one-token state update (decode)";
  let description = [{
    One step of the `ssd_scan` recurrence from `state` `[B, H, P, N]`, for
    `L = 1`. As in mamba_ssm's `selective_state_update`, the step does not
    clamp dt to the dt limit.
  }];
  let arguments = (ins Mamba_FloatTensor:$x, Mamba_FloatTensor:$dt,
                       Mamba_FloatTensor:$B, Mamba_FloatTensor:$C,
                       Mamba_FloatTensor:$A_log, Mamba_FloatTensor:$D,
                       Mamba_FloatTensor:$dt_bias, Mamba_FloatTensor:$state,
                       I64Attr:$headdim, I64Attr:$ngroups);
  let results = (outs Mamba_FloatTensor:$y, Mamba_FloatTensor:$new_state);
  let assemblyFormat = [{
    $x `,` $dt `,` $B `,` $C `,` `A_log` `(` $A_log `)` `,` `D` `(` $D `)` `,`
    `dt_bias` `(` $dt_bias `)` `,` `state` `(` $state `)` attr-dict `:`
    functional-type(operands, results)
  }];
}

def Mamba_GatedRMSNormOp : Mamba_PureOp<"gated_rms_norm"> {
  let summary = "Mamba2 grouped gated RMSNorm (norm_before_gate = false)";
  let description = [{
    `v = y * silu(z)`; each contiguous group of `group_size` channels is
    normalised, `v_g / sqrt(mean(v_g^2) + eps)`; then `output = v * weight`.
    `group_size = E / ngroups` as in mamba_ssm (transformers normalises over
    all of E, which differs when ngroups > 1).
  }];
  let arguments = (ins Mamba_FloatTensor:$y, Mamba_FloatTensor:$z,
                       Mamba_FloatTensor:$weight, I64Attr:$group_size,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs Mamba_FloatTensor:$output);
  let assemblyFormat = [{
    $y `,` $z `,` $weight attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Mamba1: selective scan
//===----------------------------------------------------------------------===//

def Mamba_SelectiveScanOp : Mamba_PureOp<"selective_scan"> {
  let summary = "Mamba1 selective scan over a sequence, gated by z (prefill)";
  let description = [{
    From a zero state, for channel `c` of `E` and state index `n` of `N`:

    ```
    dt'[t, c]  = softplus(dt[t, c] + dt_bias[c])
    h_t[c, n]  = exp(dt'[t,c] * -exp(A_log[c,n])) * h_{t-1}[c,n]
                 + dt'[t,c] * B[t,n] * x[t,c]
    y[t, c]    = (sum_n h_t[c,n] * C[t,n] + D[c] * x[t,c]) * silu(z[t,c])
    ```

    softplus(v) = v for v > 20. The second result is the final state
    `[B, E, N]`.
  }];
  let arguments = (ins Mamba_FloatTensor:$x, Mamba_FloatTensor:$dt,
                       Mamba_FloatTensor:$B, Mamba_FloatTensor:$C,
                       Mamba_FloatTensor:$z, Mamba_FloatTensor:$A_log,
                       Mamba_FloatTensor:$D, Mamba_FloatTensor:$dt_bias);
  let results = (outs Mamba_FloatTensor:$y, Mamba_FloatTensor:$state);
  let assemblyFormat = [{
    $x `,` $dt `,` $B `,` $C `,` `z` `(` $z `)` `,` `A_log` `(` $A_log `)` `,`
    `D` `(` $D `)` `,` `dt_bias` `(` $dt_bias `)` attr-dict `:`
    functional-type(operands, results)
  }];
}

def Mamba_SelectiveStepOp : Mamba_PureOp<"selective_step"> {
  let summary = "Mamba1 one-token state update (decode)";
  let description = [{
    One step of the `selective_scan` recurrence from `state` `[B, E, N]`,
    for `L = 1`.
  }];
  let arguments = (ins Mamba_FloatTensor:$x, Mamba_FloatTensor:$dt,
                       Mamba_FloatTensor:$B, Mamba_FloatTensor:$C,
                       Mamba_FloatTensor:$z, Mamba_FloatTensor:$A_log,
                       Mamba_FloatTensor:$D, Mamba_FloatTensor:$dt_bias,
                       Mamba_FloatTensor:$state);
  let results = (outs Mamba_FloatTensor:$y, Mamba_FloatTensor:$new_state);
  let assemblyFormat = [{
    $x `,` $dt `,` $B `,` $C `,` `z` `(` $z `)` `,` `A_log` `(` $A_log `)` `,`
    `D` `(` $D `)` `,` `dt_bias` `(` $dt_bias `)` `,` `state` `(` $state `)`
    attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Rotation
//===----------------------------------------------------------------------===//

def Mamba_HadamardOp : Mamba_PureOp<"hadamard", [SameOperandsAndResultType]> {
  let summary = "orthonormal Hadamard transform of the last dimension";
  let description = [{
    `result = H_n x / sqrt(n)` over the last dimension `n` (x a column), which
    must be `2^k`, `12 * 2^k` or `40 * 2^k`: the sizes Quamba2's rotation
    uses. `H_n = H_m kron W_(2^k)` with `W` the natural-order Sylvester matrix
    and `H_12`, `H_40` the matrices of Dao-AILab's fast-hadamard-transform
    (which Quamba2 applies online and offline), so a row is viewed as
    `[m][2^k]`. The transform is its own inverse for `2^k` and `12 * 2^k`; for
    `40 * 2^k` the inverse is its transpose. runtime/reference/Hadamard.cpp
    is the definition.
  }];
  let arguments = (ins Mamba_FloatTensor:$input);
  let results = (outs Mamba_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Quantization (Quamba2, reference/quamba2.md §5, §7.2)
//
// Quantized activations are plain `i8` tensors; their scales are explicit f32
// tensor operands (constants), so every granularity Quamba2 needs -- per
// tensor, per segment, per channel, per (SSD group, head group, dim group)
// and the SSM state's per (group, head group, dim group, state index) --
// is one broadcast rule rather than a type per case. Arithmetic follows
// runtime/reference/QuantizedKernels.h, which is the definition.
//===----------------------------------------------------------------------===//

def Mamba_Int8Tensor : RankedTensorOf<[I8]>;
def Mamba_F32Tensor : RankedTensorOf<[F32]>;

def Mamba_QuantizeOp : Mamba_PureOp<"quantize"> {
  let summary = "symmetric int8 quantization with broadcast scales";
  let description = [{
    `result = sat8(RNE(input / scale))` (NaN to 0), where `scales` broadcasts
    against the trailing dimensions of `input` (numpy rules: its shape is
    right-aligned with the input's, and a scales dimension is either equal
    to the input's or 1). `tensor<1xf32>` is per-tensor, `tensor<Cxf32>` per
    channel of the last dimension, `tensor<Cx1xf32>` per channel of a
    `[B, C, K]` conv state, `tensor<HxPxNxf32>` per element of a `[B, H, P,
    N]` SSM state. Scales must be positive and finite (checked when run).
  }];
  let arguments = (ins Mamba_FloatTensor:$input, Mamba_F32Tensor:$scales);
  let results = (outs Mamba_Int8Tensor:$result);
  let assemblyFormat = [{
    $input `,` `scales` `(` $scales `)` attr-dict `:`
    functional-type(operands, results)
  }];
}

def Mamba_DequantizeOp : Mamba_PureOp<"dequantize"> {
  let summary = "int8 codes times broadcast scales";
  let description = [{
    `result = float(input) * scale` (one fp32 multiply), `scales` broadcast
    as for `mamba.quantize`. Dequantizing the result of a `mamba.quantize`
    with the same scales gives the fake-quantized values.
  }];
  let arguments = (ins Mamba_Int8Tensor:$input, Mamba_F32Tensor:$scales);
  let results = (outs Mamba_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` `scales` `(` $scales `)` attr-dict `:`
    functional-type(operands, results)
  }];
}

def Mamba_Int4Packing : I32EnumAttr<"Int4Packing",
    "how 4-bit weight values are laid out in bytes", [
      I32EnumAttrCase<"Rows", 0, "rows">,
    ]> {
  let cppNamespace = "::mlir::mamba";
  let description = [{
    `rows`: each row of `[N, K]` values `v` in [-8, 7] is stored as `K / 2`
    bytes, element `2i` in the low nibble and `2i + 1` in the high nibble of
    byte `i`, as the code `v + 8` (runtime/reference/QuantizedKernels.h).
    Tile-permuted layouts (Marlin, Marlin-QQQ) are codegen's concern.
  }];
  let genSpecializedAttr = 0;
}
def Mamba_Int4PackingAttr : EnumAttr<Mamba_Dialect, Mamba_Int4Packing,
                                     "int4_packing"> {
  let assemblyFormat = "`<` $value `>`";
}

def Mamba_LinearW8A8Op : Mamba_PureOp<"linear_w8a8"> {
  let summary = "int8 x int8 -> int32 linear with an fp32 epilogue";
  let description = [{
    `result[..., n] = float(sum_k input[..., k] * weight[n, k]) *
    (input_scale * weight_scales[n]) (+ bias[n])`: the accumulation is exact
    in int32, the epilogue is `ref::linearW8A8`. `input_scale` is
    `tensor<1xf32>`; `weight_scales` holds one scale per output row (a
    per-tensor or per-segment weight scale repeated over its rows).
  }];
  let arguments = (ins Mamba_Int8Tensor:$input, Mamba_F32Tensor:$input_scale,
                       Mamba_Int8Tensor:$weight,
                       Mamba_F32Tensor:$weight_scales,
                       Optional<Mamba_FloatTensor>:$bias);
  let results = (outs Mamba_F32Tensor:$result);
  let assemblyFormat = [{
    $input `scale` `(` $input_scale `)` `,` $weight `scales` `(`
    $weight_scales `)` (`bias` `(` $bias^ `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Mamba_LinearW4A8Op : Mamba_PureOp<"linear_w4a8"> {
  let summary = "two-level 4-bit weights (Marlin-QQQ) times int8 activations";
  let description = [{
    `weight` holds 4-bit values packed as `packing` says (`[N, K / 2]` i8
    bytes). In-kernel each value becomes an int8 weight
    `w8 = sat8(RNE(v * group_scales[n, k / group_size]))`; then exactly
    `mamba.linear_w8a8` with `channel_scales` as the per-row weight scales
    (`ref::linearW4A8`). The group scales must be fp16-valued (Marlin-QQQ
    stores them in fp16; the GPU decode computes in fp16): the verifier
    checks constant ones.
  }];
  let arguments = (ins Mamba_Int8Tensor:$input, Mamba_F32Tensor:$input_scale,
                       Mamba_Int8Tensor:$weight,
                       Mamba_F32Tensor:$group_scales,
                       Mamba_F32Tensor:$channel_scales,
                       Optional<Mamba_FloatTensor>:$bias,
                       I64Attr:$group_size,
                       DefaultValuedAttr<Mamba_Int4PackingAttr,
                                         "::mlir::mamba::Int4Packing::Rows">:$packing);
  let results = (outs Mamba_F32Tensor:$result);
  let assemblyFormat = [{
    $input `scale` `(` $input_scale `)` `,` $weight `group_scales` `(`
    $group_scales `)` `channel_scales` `(` $channel_scales `)`
    (`bias` `(` $bias^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
}

def Mamba_LinearW4A16Op : Mamba_PureOp<"linear_w4a16"> {
  let summary = "4-bit weights with group scales times float activations";
  let description = [{
    `result[..., n] = sum_k input[..., k] * (v[n, k] *
    group_scales[n, k / group_size]) (+ bias[n])`, accumulated in fp32 in
    ascending k (`ref::linearW4A16`); `weight` packed as for
    `mamba.linear_w4a8`.
  }];
  let arguments = (ins Mamba_FloatTensor:$input, Mamba_Int8Tensor:$weight,
                       Mamba_F32Tensor:$group_scales,
                       Optional<Mamba_FloatTensor>:$bias,
                       I64Attr:$group_size,
                       DefaultValuedAttr<Mamba_Int4PackingAttr,
                                         "::mlir::mamba::Int4Packing::Rows">:$packing);
  let results = (outs Mamba_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `group_scales` `(` $group_scales `)`
    (`bias` `(` $bias^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
}

def Mamba_QuantizedEmbeddingOp : Mamba_PureOp<"quantized_embedding"> {
  let summary = "embedding lookup from an int8 or int4 table with row scales";
  let description = [{
    `result[b, l, :] = float(v[tokens[b, l], :]) * scales[tokens[b, l]]`.
    With `bits = 8` the table is `[V, D]` i8 values; with `bits = 4` it is
    `[V, D / 2]` bytes of 4-bit values packed as `packing` says.
  }];
  let arguments = (ins Mamba_Int8Tensor:$table, Mamba_F32Tensor:$scales,
                       Mamba_TokenTensor:$tokens, I64Attr:$bits,
                       DefaultValuedAttr<Mamba_Int4PackingAttr,
                                         "::mlir::mamba::Int4Packing::Rows">:$packing);
  let results = (outs Mamba_F32Tensor:$result);
  let assemblyFormat = [{
    $table `scales` `(` $scales `)` `[` $tokens `]` attr-dict `:`
    functional-type(operands, results)
  }];
}

#endif // QUAMBA_DIALECT_MAMBA_OPS_TD
