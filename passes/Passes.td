//===- Passes.td - quamba passes ---------------------------*- tablegen -*-===//
//
// Every pass of quamba, with what it guarantees. Pipelines compose them in
// the order of DESIGN.md §4.
//
//===----------------------------------------------------------------------===//
#ifndef QUAMBA_PASSES_TD
#define QUAMBA_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuambaPrintModelSummary : Pass<"quamba-print-model-summary", "ModuleOp"> {
  let summary = "Print the model's configuration and weight inventory";
  let description = [{
    Prints, to stderr, the module's `#mamba.config`, the entry functions with
    their argument and result types, and the weights: the number of distinct
    `dense_resource` weights, their element counts, and the bytes they take
    per element type (a tied lm_head shares the embedding's resource and is
    counted once). Counts mamba ops per kind.

    Guarantee: an analysis only; the IR is unchanged.
  }];
  let dependentDialects = ["mlir::mamba::MambaDialect"];
}

def QuambaFuseNormGains : Pass<"quamba-fuse-norm-gains", "ModuleOp"> {
  let summary = "Fold RMSNorm gains into the following projections; untie lm_head";
  let description = [{
    Quamba2's offline steps 1a and 1c (reference/quamba2.md §2):

    * Every `mamba.rms_norm` gain γ is folded into the projections that read
      the norm's output, `W ← W · diag(γ)` (column k scaled by γ_k): the
      in_proj `mamba.linear` of each block (the gain is the one the fused
      add-norm of the previous layer carries) and, for `norm_f`, `lm_head`.
      The gain then becomes a ones vector.
    * A tied lm_head (its weight is the embedding's resource) gets its own
      resource `lm_head.weight` = `E · diag(g_f)`; the embedding keeps `E`,
      and the module's `#mamba.config` gets `tie_embeddings = false`.

    Every rewritten weight is a new `dense_resource` (blobs are never edited
    in place, since other modules of the context may share them), created
    once and referenced by every constant of the old resource in both
    `@prefill` and `@decode`. Products are computed in double and rounded
    once, to nearest-even, into the weight's element type (f32, bf16, f16).
    Gains that are already all ones are left as they are, so the pass is
    idempotent.

    The Mamba2 gated-norm weight (`mamba.gated_rms_norm`) is not folded into
    out_proj: Quamba2 does not, and it sits before the online Hadamard.

    Guarantee: exact in real arithmetic; in fp32 the logits are unchanged
    within ~1e-5 relative (one extra rounding per folded weight). For bf16 or
    f16 weights the folded product is rounded to that type, which changes
    the logits by the weight type's rounding error.

    Precondition: every `mamba.rms_norm` output is read only as the input of
    a `mamba.linear` or `mamba.lm_head` (otherwise an error names the norm);
    weights are `arith.constant dense_resource` values.
  }];
  let dependentDialects = ["mlir::mamba::MambaDialect",
                           "mlir::arith::ArithDialect"];
}

def QuambaRotate : Pass<"quamba-rotate", "ModuleOp"> {
  let summary = "Hadamard-rotate the residual stream; online Hadamard before out_proj";
  let description = [{
    Quamba2's rotation (reference/quamba2.md §3). With `M = Hᵀ`, `H` the
    orthonormal matrix `mamba.hadamard` applies (`x ← H x` per column; the
    transform of runtime/reference/Hadamard.cpp), `M_D` of size d_model and
    `M_E` of size d_inner:

    * embedding rows `E ← E · M_D` (the residual stream becomes `r · M_D`);
    * in_proj `W_in ← W_in · M_D`; lm_head `W_lm ← W_lm · M_D`;
    * out_proj `W_out ← M_Dᵀ · W_out · M_E` and a bias `b ← M_Dᵀ b`;
    * a `mamba.hadamard` (`y ← y · M_E`) on the input of every out_proj
      (the gated-norm output in Mamba2, the scan output in Mamba1), in both
      `@prefill` and `@decode`.

    Weights are rotated in double and rounded once into a new resource with
    the weight's element type. The residual stream must be read only by
    `mamba.rms_norm`s, and the norms then commute with the rotation because
    their gains are ones. Deterministic.

    Guarantee: exact in real arithmetic (orthogonality, `M Mᵀ = I`, and
    `RMSNorm(r · M) = RMSNorm(r) · M`); in fp32 the logits are unchanged
    within ~1e-5 relative.

    Preconditions: run `quamba-fuse-norm-gains` first; every `mamba.rms_norm`
    gain must be all ones, otherwise the pass fails with "run
    quamba-fuse-norm-gains first" on the norm. d_model and d_inner must be
    `2^k`, `12·2^k` or `40·2^k`; otherwise an error names the size. On
    failure no weight is changed.
  }];
  let dependentDialects = ["mlir::mamba::MambaDialect",
                           "mlir::arith::ArithDialect"];
}

def QuambaCalibrate : Pass<"quamba-calibrate", "ModuleOp"> {
  let summary = "Run the model on calibration text; attach activation statistics";
  let description = [{
    Quamba2's calibration (reference/quamba2.md §4.1, §6, §8), on the CPU
    interpreter. The text of `data` is tokenized (`tokenizer`, a Hugging Face
    tokenizer.json; without it the byte tokenizer, allowed only when the
    embedding has exactly 256 rows) into `T` ids, and `samples` windows of
    `seqlen` tokens are taken at the evenly spaced, non-overlapping starts
    `s_i = floor(i · (T − seqlen) / (samples − 1))` (`s_0 = 0` for one
    sample); `T < samples · seqlen` is an error ("calibration text too
    short"). Each window runs through `@prefill` with batch 1, in order, and
    a progress bar on stderr counts the samples.

    Every executed mamba op except `mamba.split` gets a discardable
    attribute `mamba.calibration`, a dictionary with one entry per observed
    activation, keyed by the ODS name of the operand or result (`input`,
    `result`, `output`, `residual`, `residual_out`, `x`, `y`, `z`, `dt`, `B`,
    `C`, `state`, `logits`). Weights (operands defined by `arith.constant`)
    and token ids are not observed. Each entry holds:

    * `absmax` (f32): the max of |v| over all samples (min-max observer);
    * `percentile` (f32): the `percentile`-th percentile of |v| of each
      sample (linear interpolation between order statistics), smoothed over
      the samples with the EMA of §6.1, `m ← m + ema · (q − m)`, started at
      the first sample's value; always ≤ `absmax`.

    and, for `mamba.ssd_scan`:

    * `x`: `channel_mean_abs` (tensor<d_inner x f32>): per channel the mean
      of |x| over the tokens of a sample, max over samples (§4.1, the
      sort-and-cluster statistic); `channel_absmax` (tensor<d_inner x f32>):
      per channel max |x| (the max over a cluster gives §4.4's x scale);
    * `B`, `C`: `group_absmax` (tensor<G x f32>): absmax per SSD group (§6.2);
    * `state` (the end-of-prompt SSM state): `channel_absmax`
      (tensor<H x P x N x f32>): per (head, channel, state index) absmax,
      from which §6.2's [G, 4, 4, N] state scales follow for any head / dim
      clustering;

    and `channel_absmax`, `channel_mean_abs` (tensor<C x f32>) on
    `mamba.causal_conv1d` `x` / `y` and on `mamba.selective_scan` `x`
    (Mamba1's SSM input), for per-channel analyses. Operands already
    quantized (i8) are skipped.

    `@decode` gets the same dictionaries, verbatim, on the op at the same
    position of its sequence of mamba ops (causal_conv1d_step,
    ssd_step and selective_step stand for the scans): keys keep the prefill
    op's names, so `state` on `ssd_step` is the end-of-prompt state
    statistic (the step's `state` operand / `new_state` result). A `@decode`
    whose ops do not correspond one to one is an error.

    `save` writes the statistics to a JSON file (written to a temporary file
    and renamed, so it is never partial); `load` attaches the statistics of
    such a file instead of running the model (then `data` is not needed).
    The file records, per mamba op of `@prefill` in order, its name and its
    dictionary; a file for a different op sequence is an error.

    Guarantee: no weight, op or type changes: only `mamba.calibration`
    attributes are added (existing ones are replaced). Deterministic: the
    same IR, text and options give bit-identical attributes (sequential
    fp32 interpreter, no threads, no random sampling). GPTQ's layer-input
    Hessians are collected by quamba-gptq itself (on the same windows): they
    are large (K² per linear) and used once, so they do not belong in the
    IR. The CUDA backend is not implemented yet.
  }];
  let options = [
    Option<"data", "data", "std::string", /*default=*/"\"\"",
           "calibration text file (required unless `load` is given)">,
    Option<"samples", "samples", "int64_t", /*default=*/"32",
           "number of calibration windows">,
    Option<"seqlen", "seqlen", "int64_t", /*default=*/"512",
           "tokens per window">,
    Option<"tokenizer", "tokenizer", "std::string", /*default=*/"\"\"",
           "tokenizer.json; default: bytes, only for a 256-row embedding">,
    Option<"percentile", "percentile", "double", /*default=*/"99.999",
           "percentile of |v| per sample, in (0, 100]">,
    Option<"ema", "ema", "double", /*default=*/"0.01",
           "EMA momentum of the per-sample percentiles, in (0, 1]">,
    Option<"save", "save", "std::string", /*default=*/"\"\"",
           "write the statistics to this JSON file">,
    Option<"load", "load", "std::string", /*default=*/"\"\"",
           "attach the statistics of this JSON file instead of running">,
  ];
  let dependentDialects = ["mlir::mamba::MambaDialect"];
}

def QuambaSortCluster : Pass<"quamba-sort-cluster", "ModuleOp"> {
  let summary = "Sort and cluster the SSM input x's heads and channels (Quamba2 §4)";
  let description = [{
    Quamba2's sort-and-cluster (reference/quamba2.md §4). Mamba2 only: a
    Mamba1 model (`mamba.selective_scan`) is left unchanged, as in the
    reference, which has no grouping for Mamba1: we measured the finest
    grouping there is, one scale per SSM-input channel, and it lost to the
    per-tensor percentile scale (BENCHMARKS.md); a module with neither scan
    is an error. Requires the
    `mamba.calibration` statistics of `quamba-calibrate` on every
    `mamba.ssd_scan` (`x`: `channel_mean_abs`, `channel_absmax`); without
    them the scan gets an error "run quamba-calibrate first". Must run before
    `quamba-rotate` (the gated-norm output must feed out_proj directly).

    Per layer (each `ssd_scan` of `@prefill`, matched by order to the
    `ssd_step` of `@decode`), with `m = channel_mean_abs` viewed as
    `[G, H/G, P]`, independently for each SSD group:

    * channels of each head are sorted ascending by `m` (stable sort), and
      the sorted vector is normalised to unit L2 norm;
    * Ward agglomerative clustering (Euclidean; Lance–Williams update, ties
      to the lowest pair of indices) of the H/G heads into
      `min(head-groups, H/G)` clusters; clusters are ordered by first
      appearance (the cluster of local head 0 first, then that of the first
      head not yet placed, ...), heads inside a cluster keep ascending order;
    * dim groups: KMeans of the P sorted positions, each a row of the
      clustered heads' normalised values, into `min(dim-groups, P)` groups,
      initial centroids rows `0, P/k, 2P/k, ...`, Lloyd iterations until the
      assignment is stable (at most 100). Contiguity along the sorted axis is
      guaranteed by construction: the assignment step is the optimal
      contiguous, non-empty segmentation for the current centroids (dynamic
      programming), which equals the nearest-centroid assignment whenever that
      one is contiguous (what the reference asserts).

    Quirks of the reference fixed (DESIGN.md §4): dim groups are computed on
    the heads of the cluster itself (the reference slices the original head
    order); all sorts are stable and the cluster order is deterministic
    (the reference uses numpy's non-stable argsort of the labels); KMeans
    has a fixed deterministic init and no random restarts.

    The weights are permuted per §4.3 into new `dense_resource`s shared by
    `@prefill` and `@decode`: in_proj rows of z and x (and bias) by π_ch,
    dt rows by π_h (B, C rows unchanged); the first E conv1d channels
    (weight, bias) by π_ch; A_log, dt_bias by π_h, D by π_h (by π_ch when
    it has E entries); the gated-norm weight by π_ch; out_proj columns by
    π_ch. The calibration statistics are permuted with them (on `ssd_scan`
    and `ssd_step`): `x`'s per-channel arrays by π_ch and `state`'s
    `[H, P, N]` channel_absmax by (head, channel); per-tensor scalars are
    invariant. Other ops carry only per-tensor statistics.

    Each `ssd_scan` / `ssd_step` gets `mamba.x_groups = {head_group_end:
    tensor<G x HG x i32>, dim_group_end: tensor<G x HG x DG x i32>, scales:
    tensor<G x HG x DG x f32>}` with `HG = min(head-groups, H/G)`,
    `DG = min(dim-groups, P)`: cumulative end indices (local head within the
    SSD group; sorted channel position within a head) and the min-max scale
    `absmax / 127` of the permuted `channel_absmax` over each block (§4.4).

    Guarantee: an exact permutation; fp32 logits are unchanged up to
    summation-order rounding (~1e-6 relative). Deterministic: the same IR
    and options give identical output. On failure no weight is changed.
  }];
  let options = [
    Option<"headGroups", "head-groups", "int64_t", /*default=*/"4",
           "head clusters per SSD group">,
    Option<"dimGroups", "dim-groups", "int64_t", /*default=*/"4",
           "channel (dim) groups per head cluster">,
  ];
  let dependentDialects = ["mlir::mamba::MambaDialect",
                           "mlir::arith::ArithDialect"];
}

def QuambaQuantize : Pass<"quamba-quantize", "ModuleOp"> {
  let summary = "Apply a Quamba2 precision map: integer linears, int8 activations and caches";
  let description = [{
    Quamba2's module replacement (reference/quamba2.md §5) on both entry
    functions. Per mode:

    | | W8A8 | W4A8 | W4A16 |
    |---|---|---|---|
    | embedding | int8, scale per row | 4-bit, scale per row | 4-bit |
    | in_proj, out_proj, lm_head (Mamba1 also x_proj) | `mamba.linear_w8a8`, per-tensor weight scale (Mamba2 in_proj: per z/x/B/C/dt row block) | `mamba.linear_w4a8` (two-level, §7.2) | `mamba.linear_w4a16` |
    | Mamba1 dt_proj | W8A8 | W8A8 | float |
    | linear inputs | int8 per tensor (calibrated absmax) | same | float |
    | Mamba2 z, xBC (per segment), dt, B/C (per SSD group), x (per `mamba.x_groups` block, else per-tensor percentile) | int8 | int8 | float |
    | Mamba1 in_proj / x_proj / dt_proj outputs, conv output u (percentile) | int8 | int8 | float |
    | conv weight, bias (per segment), A_log, D (Mamba1 also dt_bias) | int8 per tensor | same | float |
    | conv state; SSM state (Mamba2 per (group, head group, dim group, n); Mamba1 percentile) | int8 across calls | same | float |

    `w4ax` gives every layer W4A8 or W4A16 (`a16-layers` or `layers-config`,
    a JSON array of "W4A8" / "W4A16" per layer, Quamba2's hybrid config),
    a 4-bit embedding and a W4A8 lm_head (§5.6). `naive` replaces every
    grouped or clipped activation scale by one per-tensor min-max scale and
    every weight block by one per-tensor scale: the ablation baseline.

    "int8" activations are `mamba.quantize` (and `mamba.dequantize` where a
    float op reads them: the float op sees exactly the fake-quantized value
    the int8 kernel would); states cross the function boundary as `i8`
    tensors. Activation scales are `max(absmax, 1e-5) / 127` (at least
    1e-6) from `mamba.calibration`; weights are round-to-nearest from the
    op's float weight, or on quamba-gptq's grid (`mamba.gptq_scales`). The
    4-bit group is `group-size` along K (K itself when smaller; an error
    when it does not divide K). Statistics attributes are removed.

    Guarantee: approximate by design; the result is a deterministic function
    of the IR, its attributes and the options. What it changes in accuracy
    is measured in BENCHMARKS.md. Decode continues prefill exactly as
    before (the states are int8 on both sides of the boundary).
  }];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"w8a8\"",
           "w8a8, w4a8, w4a16 or w4ax">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "4-bit weight group along the input dimension">,
    ListOption<"a16Layers", "a16-layers", "int64_t",
               "w4ax: layers kept at 16-bit activations">,
    Option<"layersConfig", "layers-config", "std::string", /*default=*/"\"\"",
           "w4ax: JSON array of per-layer modes (\"W4A8\" / \"W4A16\")">,
    Option<"naive", "naive", "bool", /*default=*/"false",
           "per-tensor min-max scales everywhere (ablation baseline)">,
  ];
  let dependentDialects = ["mlir::mamba::MambaDialect",
                           "mlir::arith::ArithDialect"];
}

def QuambaGptq : Pass<"quamba-gptq", "ModuleOp"> {
  let summary = "GPTQ 4-bit weights for in_proj, out_proj and lm_head";
  let description = [{
    Quamba2's GPTQ (reference/quamba2.md §7.1) on every in_proj and
    out_proj `mamba.linear` and the `mamba.lm_head` (Mamba1's x_proj and
    dt_proj are left to round-to-nearest, as in Quamba2).

    The layer-input Hessians `H = Σ xᵀx` are collected on the calibration
    windows of `data` (the windows of quamba-calibrate) by running the
    float model through the CPU interpreter, all layers in one pass. This
    differs from the reference, which feeds each layer the outputs of the
    already-quantized layers before it (one forward pass per layer); the
    single pass costs one forward instead of n_layer. Then
    `ref::gptqQuantizeInt4` (runtime/reference/Gptq.h): natural column
    order, damping `damping · mean(diag H)`, Cholesky of H⁻¹, symmetric
    4-bit groups of `group-size` along K (K itself when smaller) with scales
    taken from the error-compensated weights, rounded to fp16.

    Each weight becomes a new f32 resource holding exactly `v · s` (the
    fake-quantized weight, so the IR still runs in float) and its linear op
    (in `@prefill` and `@decode`) gets `mamba.gptq_scales`, the
    `[N, K / group]` scales, from which quamba-quantize recovers the 4-bit
    values exactly.

    Preconditions: lm_head untied (run quamba-fuse-norm-gains); the
    Hessians should see the weights the model will run with, so run it after
    quamba-rotate and quamba-sort-cluster. Guarantee: approximate by design
    (it minimises the layer-output error on the calibration data);
    deterministic for a given OpenBLAS thread count.
  }];
  let options = [
    Option<"data", "data", "std::string", /*default=*/"\"\"",
           "calibration text file">,
    Option<"samples", "samples", "int64_t", /*default=*/"32",
           "number of calibration windows">,
    Option<"seqlen", "seqlen", "int64_t", /*default=*/"512",
           "tokens per window">,
    Option<"tokenizer", "tokenizer", "std::string", /*default=*/"\"\"",
           "tokenizer.json; default: bytes, only for a 256-row embedding">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "4-bit group along the input dimension">,
    Option<"damping", "damping", "double", /*default=*/"0.01",
           "damping as a fraction of mean(diag H)">,
  ];
  let dependentDialects = ["mlir::mamba::MambaDialect",
                           "mlir::arith::ArithDialect"];
}

def QuambaSelectW4AX : Pass<"quamba-select-w4ax", "ModuleOp"> {
  let summary = "Pick W4AX's 16-bit-activation layers by measured sensitivity";
  let description = [{
    Quamba2's hybrid W4AX model keeps some layers at W4A16 and the rest at
    W4A8 but never released how it chose them. This pass measures it: on
    the calibration windows of `data` (those of quamba-calibrate), it
    quantizes trial copies of the module with quamba-quantize{mode=w4ax}
    and runs them through the CPU interpreter:

    * `base`: every layer W4A8; `gain[i]`: the mean next-token NLL of `base`
      minus that of the copy where only layer `i` is W4A16 (what giving
      layer `i` 16-bit activations buys on its own);
    * the `budget` layers with the largest gains become W4A16 (ties to the
      lower index; layers whose gain is not positive are never picked).

    n_layer + 1 trial quantizations and evaluations, each in its own
    MLIRContext (bytecode round trip), so trials leave no resources behind.
    The choice is recorded as the module attribute `mamba.a16_layers`
    (array<i64>, ascending), which quamba-quantize{mode=w4ax} applies; a
    remark lists the gains. Run it right before quamba-quantize, after
    quamba-calibrate and quamba-gptq, so that trials see the final weights
    and scales.

    Guarantee: deterministic (the same module, text and options give the
    same choice). The gains are measured one layer at a time: interactions
    between layers are ignored, which is what makes the search linear in
    the number of layers.
  }];
  let options = [
    Option<"data", "data", "std::string", /*default=*/"\"\"",
           "calibration text file">,
    Option<"samples", "samples", "int64_t", /*default=*/"8",
           "number of evaluation windows">,
    Option<"seqlen", "seqlen", "int64_t", /*default=*/"512",
           "tokens per window">,
    Option<"tokenizer", "tokenizer", "std::string", /*default=*/"\"\"",
           "tokenizer.json; default: bytes, only for a 256-row embedding">,
    Option<"budget", "budget", "int64_t", /*default=*/"-1",
           "number of W4A16 layers; -1: a quarter of the layers, rounded up">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "4-bit weight group, as for quamba-quantize">,
  ];
  let dependentDialects = ["mlir::mamba::MambaDialect",
                           "mlir::arith::ArithDialect"];
}

def QuambaCastWeights : Pass<"quamba-cast-weights", "ModuleOp"> {
  let summary = "Store the projection and embedding matrices in f16 or bf16";
  let description = [{
    The 16-bit float model (`quamba-compile --mode fp16`): every weight read
    by `mamba.linear`, `mamba.lm_head` or `mamba.embedding` (the matrices,
    nearly all of a model's parameters) is rounded once, to nearest-even,
    into `type`, as a new resource that every constant of the old one then
    references. The ops widen their weights to fp32 exactly when they read
    them, so activations, accumulation and the SSM stay fp32; the small
    per-channel weights (norm gains, conv taps and biases, A_log, D,
    dt_bias, biases) keep their type. Half the weight bytes of fp32, which
    is what decode reads per token.

    Guarantee: the model computes exactly with the rounded weights, so the
    logits change only by the weights' rounding (f16: 2^-11 relative per
    weight, as a checkpoint saved in f16). Weights already of `type` are left
    as they are (idempotent); an f16 checkpoint is unchanged. A weight with a
    finite value beyond f16's range (65504) is an error naming it, not an
    infinity. Deterministic.
  }];
  let options = [
    Option<"type", "type", "std::string", /*default=*/"\"f16\"",
           "the weights' new element type: f16 or bf16">,
  ];
  let dependentDialects = ["mlir::mamba::MambaDialect",
                           "mlir::arith::ArithDialect"];
}

#endif // QUAMBA_PASSES_TD
