//===- Kernels.h - the GPU kernel of every launch op -----------*- C++ -*-===//
//
// One emitter per LaunchOps.h op (runtime/plan/LaunchOps.h is the contract:
// operand order, scalars, attrs). An emitter sees the launch with its
// operands' shapes (static trailing dims, B and L symbolic), builds a kernel
// specialised on the static dims and attrs, and fills in the launch's
// kernel name, i32 scalars, grid and block. Kernels are named by their op
// and every parameter they are specialised on, so equal launches share one.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/KernelBuilder.h"
#include "runtime/plan/Plan.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include <string>

namespace mlir::quamba::codegen {

namespace plan = ::quamba::plan;

class KernelContext {
public:
  /// `entry`: the entry point the launch will be appended to (its inputs
  /// and the launches before it), where known.
  KernelContext(ModuleOp container, const plan::Plan &plan,
                plan::Launch &launch, const plan::EntryPoint *entry = nullptr)
      : container(container), plan(plan), launch(launch), entry(entry) {}

  plan::Launch &getLaunch() { return launch; }
  /// The chip the kernels are compiled for ("sm_90a", "sm_80").
  StringRef target() const { return plan.target; }
  const plan::Buffer &operand(unsigned i) const {
    return plan.buffers[launch.operands[i]];
  }
  /// Dimension `axis` of operand `i` (negative counts from the end); must
  /// be static (known at compile time).
  int64_t dim(unsigned i, int axis) const;
  /// The product of operand i's dims before the last, as an expression.
  plan::ShapeExpr rows(unsigned i) const;
  /// The product of all of operand i's dims, as an expression.
  plan::ShapeExpr numel(unsigned i) const;
  /// Whether every operand listed (negative: absent, skipped) is a weight
  /// buffer, which no launch writes: a kernel may load it before it awaits
  /// the previous kernel (KernelBuilder::awaitPredecessor).
  bool areWeights(ArrayRef<int> operands) const;
  /// Whether operand i is an input of the launch's entry point (a state,
  /// the tokens) and launches of the entry come before this one. The
  /// entry's launches write only their results (buffers of their own);
  /// what writes its inputs (the host, an earlier call's launches and
  /// sampler) ran before its first launch. So the launch just before this
  /// one, of the same call, does not write the operand, and every earlier
  /// one had completed before that one let this one start (every kernel
  /// awaits its predecessor before it triggers the next): a kernel may load
  /// the operand before its own wait as well.
  bool isSettledEntryInput(int i) const;
  /// The kernel argument kind of operand i (its dtype, as a pointer).
  ArgKind pointerKind(unsigned i) const;
  /// Pointer kinds of all operands, in order, followed by `scalarCount` i32.
  SmallVector<ArgKind> operandArgs(unsigned scalarCount) const;
  /// The sizes of the launch's split epilogue (attr split_sizes, LaunchOps.h:
  /// its first output is that many operands); empty without one.
  SmallVector<int64_t> splitSizes() const;
  /// "" or "_split<s0>x<s1>..." for kernel names.
  std::string splitSuffix() const;
  /// Per part of the first output (one when it is not split), the kernel
  /// argument of its requantize scales (attr requantize_parts, LaunchOps.h:
  /// the scales are the last inputs, just before the first output at
  /// `firstOutputArg`), or -1 for a part stored as is.
  SmallVector<int> requantizeScaleArgs(unsigned firstOutputArg) const;
  /// The count of requantized parts (the extra scale operands).
  unsigned requantizedPartCount() const;
  /// "_rq" and a digit a part (1: requantized), or "" when none is.
  std::string requantizeSuffix() const;

  /// Uses kernel `name` for this launch, building it with `body` unless an
  /// earlier launch already did. Sets launch.kernel, block = 32 * numWarps.
  void useKernel(const std::string &name, ArrayRef<ArgKind> args,
                 int numWarps,
                 const std::function<void(KernelBuilder &)> &body);
  /// A one-dimensional grid covering `work` items with blocks of
  /// 32 * numWarps threads.
  void gridFor(const plan::ShapeExpr &work, int numWarps);

private:
  ModuleOp container;
  const plan::Plan &plan;
  plan::Launch &launch;
  const plan::EntryPoint *entry;
};

/// KernelContext::splitSizes and requantizeScaleArgs of any launch (its
/// operand positions): a fused launch's halves (plan::convStepEpilogue).
SmallVector<int64_t> splitSizesOf(const plan::Launch &launch);
SmallVector<int> requantizeScaleOperands(const plan::Launch &launch, unsigned firstOutput);

/// An expression for a * b (folding constants).
plan::ShapeExpr mulExpr(const plan::ShapeExpr &a, const plan::ShapeExpr &b);

/// The fp32 sum of `value` over the warp, in every lane: the xor butterfly
/// (offsets 16, 8, 4, 2, 1; v = v + shuffle(v)), unfused, which is
/// ref::butterflySum's order.
Value warpSum(KernelBuilder &k, Value value);

/// Stores `value` as element (row, col) of an output [rows, width] whose
/// kernel argument is `firstArg`, or, with a split epilogue (`parts` the
/// sizes, summing to width), as element (row, col - start_j) of part j (the
/// one holding col), argument firstArg + j.
/// A part j with requantArgs[j] >= 0 stores its value rounded to its int8
/// grid, dequantize(quantize(v)) with the scale of its column in the part
/// (the requantize launch it replaces, bit for bit).
void storeOutput(KernelBuilder &k, Value value, Value row, Value col, unsigned firstArg,
                 int64_t width, ArrayRef<int64_t> parts, ArrayRef<int> requantArgs = {});

/// Where storeOutput puts one element: pointer and index, and where some
/// part is requantized, the scale (loaded, invariant) and whether the
/// element's part is a requantized one (i1; null when the output is one
/// requantized part). No scale: nothing is requantized.
struct OutputSlot {
  Value ptr, index;
  Value requantScale, requantize;
  /// Elements from one row of the part to the next (its width).
  Value rowStride;
};

/// storeOutput in two steps: the slot (its loads) early, ahead of the
/// value, so that a kernel overlaps the scale loads with its main loop
/// instead of waiting for them after it.
OutputSlot prepareOutput(KernelBuilder &k, Value row, Value col, unsigned firstArg,
                         int64_t width, ArrayRef<int64_t> parts, ArrayRef<int> requantArgs = {});
/// Returns the value stored (rounded where its part is requantized).
Value storeOutput(KernelBuilder &k, const OutputSlot &slot, Value value);
/// The value storeOutput would store at `slot`, without the store.
Value requantizedOutput(KernelBuilder &k, const OutputSlot &slot, Value value);

/// A recurrent state operand of a step op: f32, or int8 codes with
/// per-element scales (the launch's state_int8, LaunchOps.h), which loads
/// dequantize (float(q) * s) and stores quantize (sat8(RNE(v / s))) exactly
/// as the dequantize / quantize launches they replace.
struct StateOperand {
  Value ptr;
  /// Null for an f32 state.
  Value scales;

  /// Element `index`, whose scale is scales[scaleIndex].
  Value load(KernelBuilder &k, Value index, Value scaleIndex) const;
  void store(KernelBuilder &k, Value value, Value index, Value scaleIndex) const;
  /// The same with the element's scale already loaded (`scale()`: an
  /// invariant load, null for an f32 state), so that a kernel loads it once
  /// for the load and the store, and may load it early.
  Value scale(KernelBuilder &k, Value scaleIndex) const;
  Value loadScaled(KernelBuilder &k, Value index, Value scale) const;
  void storeScaled(KernelBuilder &k, Value value, Value index, Value scale) const;
};

/// Where one channel's causal_conv1d_step (LaunchOps.h) finds its operands
/// among a kernel's arguments: its own launch's, or those of a linear with
/// the conv-step epilogue.
struct ConvStepArgs {
  int64_t channels = 0, kernel = 0;
  bool silu = false, hasBias = false;
  unsigned stateIn = 0, weight = 0, bias = 0;
  /// An int8 state's scales, or -1 (f32 state).
  int scales = -1;
  /// y (its first part) and its split epilogue (storeOutput's arguments).
  unsigned out = 0;
  SmallVector<int64_t> parts;
  SmallVector<int> requant;
  unsigned stateOut = 0;

  /// What a kernel is specialised on: "c<C>_k<K>_silu<0|1>_bias<0|1>", then
  /// "_qstate", the split and the requantized parts as other kernel names.
  std::string name() const;
};
/// The arguments of `conv` (a causal_conv1d_step launch) where operand i of
/// it is kernel argument argOf[i] of ctx's launch.
FailureOr<ConvStepArgs> convStepArgs(KernelContext &ctx, const plan::Launch &conv,
                                     ArrayRef<int> argOf, Location loc);
/// The step of channel c of sequence seq with new input x: the rolled state
/// stored, y stored (as ref::causalConv1dStep, bit for bit).
void emitConvStepChannel(KernelBuilder &k, const ConvStepArgs &a, Value seq, Value c, Value x);
/// emitConvStepChannel in two steps, so that a kernel may issue the loads
/// (state window, weights, bias, y's slot) long before x exists: a GEMV
/// before its sums.
struct ConvStepChannel {
  SmallVector<Value> window, weights;
  Value bias;
  OutputSlot y;
};
ConvStepChannel loadConvStepChannel(KernelBuilder &k, const ConvStepArgs &a, Value seq, Value c);
void storeConvStepChannel(KernelBuilder &k, const ConvStepArgs &a, const ConvStepChannel &ch,
                          Value seq, Value c, Value x);

/// From this batch on, an integer decode linear (W8A8, W4A8) takes the
/// tensor-core kernel prefill uses (16-row tiles: the weights read once per
/// tile, not once per sequence), and mamba2's gated norm + Hadamard the
/// one-block-a-row kernel prefill uses instead of a cluster a row. The
/// fp32-activation linears keep a row a warp: the prefill kernel's 16-row
/// blocks measured slower at batch 16 (mamba2-2.7b fp16 TPOT 19.9 vs 18.3
/// ms, H200): each warp re-reads fp32 x for every row from L1, which then
/// limits it.
constexpr int64_t kBatchedDecodeMinBatch = 16;

/// The smallest batch from which a decode launch of `op` may have a kernel
/// of its own for many rows (kBatchedDecodeMinBatch), or 0 when one kernel
/// serves every batch. LaunchPlan then emits both alternatives, with batch
/// ranges (plan::Launch::runsFor), and keeps one where they are the same.
int64_t batchedDecodeMinBatch(StringRef op);

/// Whether ctx's launch is a decode launch for batches below
/// kBatchedDecodeMinBatch (its rows, B, are few): not prefill (rows B * L),
/// not the many-rows alternative.
bool isFewRowsDecode(KernelContext &ctx);

/// Builds the kernel for ctx's launch; fails with a diagnostic at `loc` for
/// an op or a shape no emitter handles.
LogicalResult emitKernel(KernelContext &ctx, Location loc);

// The emitters, one per family (kernels/*.cpp).
LogicalResult emitElementwise(KernelContext &ctx, Location loc); // (de|re)quantize
LogicalResult emitNorm(KernelContext &ctx, Location loc);      // rms_norm, add_rms_norm, gated_rms_norm
LogicalResult emitLinear(KernelContext &ctx, Location loc);    // linear, linear_bias, linear_w8a8/w4a8/w4a16
LogicalResult emitEmbedding(KernelContext &ctx, Location loc); // embedding, quantized_embedding
LogicalResult emitSplit(KernelContext &ctx, Location loc);
LogicalResult emitConv(KernelContext &ctx, Location loc);      // causal_conv1d(_step)
LogicalResult emitScan(KernelContext &ctx, Location loc);      // ssd_step, selective_scan/step
LogicalResult emitSSDChunked(KernelContext &ctx, Location loc); // ssd_chunk_state/scan, ssd_state_passing
LogicalResult emitHadamard(KernelContext &ctx, Location loc);
LogicalResult emitArgmax(KernelContext &ctx, Location loc);    // the greedy sampler
LogicalResult emitSample(KernelContext &ctx, Location loc);    // the random sampler

} // namespace mlir::quamba::codegen
