//===- LaunchPlan.cpp - mamba IR to kernels and a launch plan -------------===//
#include "codegen/LaunchPlan.h"

#include "codegen/NvptxTarget.h"
#include "codegen/kernels/HadamardRow.h"
#include "codegen/kernels/Kernels.h"
#include "dialect/Mamba/IR/MambaOps.h"
#include "passes/Interpreter/Interpreter.h"
#include "runtime/Float16.h"
#include "runtime/reference/Kernels.h"
#include "runtime/reference/QuantizedKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cassert>
#include <cmath>
#include <cstring>

namespace mlir::quamba::codegen {

using plan::Buffer;
using plan::BufferKind;
using plan::DType;
using plan::ShapeExpr;
namespace ref = ::quamba::ref;

namespace {

class PlanBuilder {
public:
  PlanBuilder(ModuleOp kernels, StringRef target) : kernels(kernels) {
    result.plan.target = target.str();
  }

  LogicalResult buildEntry(func::FuncOp func);
  LaunchPlanResult take() { return std::move(result); }
  /// The model quantizes activations to int8 (W8A8, W4A8, W4AX): its
  /// W4A16 linears keep the kernels that equal the reference bit for bit
  /// (attr "exact"), since a last-bit difference there would flip int8
  /// codes downstream (GPU and CPU logits 0.09 apart on mamba2-6m W4AX
  /// with the tensor-core sum, 0 without).
  void setInt8Activations(bool v) { int8Activations = v; }

private:
  // --- buffers ------------------------------------------------------------
  static FailureOr<DType> dtypeOf(Type element, Operation *diagOp) {
    if (element.isF16())
      return DType::F16;
    if (isa<FloatType>(element))
      return DType::F32;
    if (element.isInteger(8))
      return DType::I8;
    if (element.isInteger(32))
      return DType::I32;
    diagOp->emitError() << "no plan dtype for element type " << element;
    return failure();
  }

  /// Dynamic dimensions are the batch (dim 0) and the sequence (dim 1),
  /// the IR's convention for activations and states.
  static std::vector<ShapeExpr> shapeOf(RankedTensorType type) {
    std::vector<ShapeExpr> shape;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (!type.isDynamicDim(d))
        shape.emplace_back(type.getDimSize(d));
      else
        shape.push_back(*ShapeExpr::parse(d == 0 ? "B" : "L"));
    }
    return shape;
  }

  int addBuffer(Buffer buffer) {
    result.plan.buffers.push_back(std::move(buffer));
    return static_cast<int>(result.plan.buffers.size()) - 1;
  }

  FailureOr<int> activation(Value value, Operation *diagOp) {
    auto type = cast<RankedTensorType>(value.getType());
    FailureOr<DType> dtype = dtypeOf(type.getElementType(), diagOp);
    if (failed(dtype))
      return failure();
    for (int64_t d = 2; d < type.getRank(); ++d)
      if (type.isDynamicDim(d))
        return diagOp->emitError()
               << "dimension " << d << " of " << type
               << " is dynamic; only the batch and sequence may be";
    Buffer buffer;
    buffer.name = entryName + "." + std::to_string(result.plan.buffers.size());
    buffer.dtype = *dtype;
    buffer.shape = shapeOf(type);
    int index = addBuffer(std::move(buffer));
    buffers[value] = index;
    return index;
  }

  int weight(std::string name, DType dtype, std::vector<int64_t> shape,
             std::vector<char> bytes) {
    Buffer buffer;
    buffer.name = std::move(name);
    buffer.dtype = dtype;
    buffer.kind = BufferKind::Weight;
    for (int64_t d : shape)
      buffer.shape.emplace_back(d);
    int index = addBuffer(std::move(buffer));
    result.weights.push_back({index, std::move(bytes)});
    return index;
  }

  static std::vector<char> floatBytes(const std::vector<float> &values) {
    std::vector<char> bytes(values.size() * sizeof(float));
    std::memcpy(bytes.data(), values.data(), bytes.size());
    return bytes;
  }

  /// The plan buffer of `value`: an activation already produced, or a
  /// constant (materialised as a weight once per distinct attribute).
  FailureOr<int> operand(Value value, Operation *user) {
    auto it = buffers.find(value);
    if (it != buffers.end())
      return it->second;
    auto constant = value.getDefiningOp<arith::ConstantOp>();
    if (!constant)
      return user->emitError("operand is neither a constant nor produced "
                             "by an op the plan lowers");
    Attribute key = constant.getValue();
    // f16 matrices (quamba-cast-weights, or an f16 checkpoint) stay f16 where
    // the kernels read f16: the projections and the embedding. Elsewhere
    // (per-channel vectors) they are widened, exactly, to f32.
    const bool keepF16 =
        cast<ShapedType>(constant.getType()).getElementType().isF16() &&
        isa<mamba::LinearOp, mamba::LMHeadOp, mamba::EmbeddingOp>(user);
    std::pair<Attribute, int> cacheKey{key, keepF16 ? 1 : 0};
    auto cached = constantBuffers.find(cacheKey);
    if (cached != constantBuffers.end())
      return buffers[value] = cached->second;
    llvm::Expected<HostTensor> tensor = evaluateConstant(constant);
    if (!tensor) {
      constant.emitError(llvm::toString(tensor.takeError()));
      return failure();
    }
    std::string name = "codegen.w" + std::to_string(result.weights.size());
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(key))
      name = resource.getRawHandle().getKey().str();
    int index;
    if (tensor->isInt8) {
      std::vector<char> bytes(tensor->bytes.begin(), tensor->bytes.end());
      index = weight(name, DType::I8, tensor->shape, std::move(bytes));
    } else if (keepF16) {
      // Bit operations, not APFloat: a 2.7B model has 2.7e9 of them.
      std::vector<char> bytes(tensor->values.size() * 2);
      for (size_t i = 0; i < tensor->values.size(); ++i) {
        uint16_t bits = ::quamba::floatToHalf(tensor->values[i]);
        assert((std::isnan(tensor->values[i]) ||
                ::quamba::halfToFloat(bits) == tensor->values[i]) &&
               "an f16 resource widens to f32 exactly");
        bytes[2 * i] = static_cast<char>(bits & 0xFF);
        bytes[2 * i + 1] = static_cast<char>(bits >> 8);
      }
      index = weight(name, DType::F16, tensor->shape, std::move(bytes));
    } else if (isResourceOf<BFloat16Type>(key)) {
      // Keep a bf16 checkpoint's weights at their size; the runtime widens
      // them to f32 exactly.
      std::vector<char> bytes;
      for (float v : tensor->values) {
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        uint16_t half = static_cast<uint16_t>(bits >> 16);
        bytes.push_back(static_cast<char>(half & 0xFF));
        bytes.push_back(static_cast<char>(half >> 8));
      }
      index = weight(name, DType::F32, tensor->shape, std::move(bytes));
      result.weights.back().bf16 = true;
    } else {
      index = weight(name, DType::F32, tensor->shape, floatBytes(tensor->values));
    }
    constantBuffers[cacheKey] = index;
    return buffers[value] = index;
  }

  template <typename ElementType> static bool isResourceOf(Attribute value) {
    auto resource = dyn_cast<DenseResourceElementsAttr>(value);
    return resource && isa<ElementType>(resource.getType().getElementType());
  }

  /// A weight of n zeros (the bias of an op without one).
  int zeros(int64_t n) {
    auto it = zeroBuffers.find(n);
    if (it != zeroBuffers.end())
      return it->second;
    int index = weight("codegen.zeros_" + std::to_string(n), DType::F32, {n},
                       floatBytes(std::vector<float>(n, 0.0f)));
    return zeroBuffers[n] = index;
  }

  // --- launches -------------------------------------------------------------
  /// Appends a launch of `op` over `inputs` (values) and `outputs` (the
  /// op's results to allocate), plus extra weight operands spliced at
  /// `extras` positions by the caller through `operands`.
  LogicalResult launch(Operation *irOp, StringRef opName,
                       SmallVector<int> operands, ValueRange outputs,
                       std::map<std::string, std::vector<double>> attrs) {
    // A split that is the only reader of this op's first output becomes
    // the op's split epilogue (LaunchOps.h): the op writes the parts.
    SmallVector<Value> outs(outputs.begin(), outputs.end());
    if (!outs.empty() && outs[0].hasOneUse() && hasSplitEpilogue(opName))
      if (auto split = dyn_cast<mamba::SplitOp>(*outs[0].user_begin())) {
        outs.erase(outs.begin());
        outs.insert(outs.begin(), split.getResults().begin(), split.getResults().end());
        attrs["split_sizes"] = std::vector<double>(split.getSizes().begin(),
                                                   split.getSizes().end());
        fusedSplits.insert(split);
      }
    // Parts of that output whose only reader is a quantize -> dequantize
    // pair (requantize, below) store the rounded values themselves
    // (requantize_parts, LaunchOps.h); their scales become the last inputs.
    if (hasSplitEpilogue(opName)) {
      size_t partCount = attrs.count("split_sizes") ? attrs["split_sizes"].size() : 1;
      std::vector<double> requantized(partCount, 0.0);
      SmallVector<int> scaleOperands;
      for (size_t j = 0; j < partCount; ++j) {
        auto pair = requantizePair(outs[j]);
        if (!pair)
          continue;
        auto [q, dq] = *pair;
        int64_t inner = 0;
        FailureOr<int> scales = expandedScaleBuffer(q, q.getInput(), q.getScales(), inner);
        // Only scales over the part's last dimension (a scale per column).
        if (failed(scales) ||
            inner != cast<RankedTensorType>(outs[j].getType()).getShape().back())
          continue;
        requantized[j] = 1.0;
        scaleOperands.push_back(*scales);
        epilogueRequantizes.insert(q);
        epilogueRequantizes.insert(dq);
        outs[j] = dq.getResult();
      }
      if (!scaleOperands.empty()) {
        attrs["requantize_parts"] = requantized;
        operands.append(scaleOperands.begin(), scaleOperands.end());
      }
    }
    for (Value out : outs) {
      FailureOr<int> index = activation(out, irOp);
      if (failed(index))
        return failure();
      operands.push_back(*index);
    }
    if (opName == "linear_w4a16" && int8Activations)
      attrs["exact"] = {1.0};
    plan::Launch launch;
    launch.op = opName.str();
    launch.operands = operands.size() ? std::vector<int>(operands.begin(), operands.end())
                                      : std::vector<int>{};
    launch.attrs = std::move(attrs);
    // Decode of many sequences may have a kernel of its own: the launch is
    // then emitted twice, for batches below and from the threshold.
    std::optional<plan::Launch> batched;
    if (int64_t from = current->singleToken ? batchedDecodeMinBatch(opName) : 0) {
      batched = launch;
      batched->minBatch = from;
    }
    KernelContext ctx(kernels, result.plan, launch, current);
    if (failed(emitKernel(ctx, irOp->getLoc())))
      return failure();
    if (batched) {
      KernelContext batchedCtx(kernels, result.plan, *batched, current);
      if (failed(emitKernel(batchedCtx, irOp->getLoc())))
        return failure();
      if (batched->kernel == launch.kernel)
        batched.reset();
      else
        launch.maxBatch = batched->minBatch - 1;
    }
    current->launches.push_back(std::move(launch));
    if (batched)
      current->launches.push_back(std::move(*batched));
    return success();
  }

  static bool hasSplitEpilogue(StringRef op) {
    static const StringRef ops[] = {"linear",       "linear_bias",   "linear_w8a8",
                                    "linear_w4a8",  "linear_w4a16",  "causal_conv1d",
                                    "causal_conv1d_step"};
    return llvm::is_contained(ops, op);
  }

  LogicalResult inputs(Operation *irOp, ValueRange values,
                       SmallVector<int> &operands) {
    for (Value v : values) {
      FailureOr<int> index = operand(v, irOp);
      if (failed(index))
        return failure();
      operands.push_back(*index);
    }
    return success();
  }

  /// A launch whose buffer operands are exactly `values` then `outputs`.
  LogicalResult simple(Operation *irOp, StringRef opName, ValueRange values,
                       ValueRange outputs,
                       std::map<std::string, std::vector<double>> attrs = {}) {
    SmallVector<int> operands;
    if (failed(inputs(irOp, values, operands)))
      return failure();
    return launch(irOp, opName, operands, outputs, std::move(attrs));
  }

  /// `bias` if present, else a zero buffer of `n` (kernels then need no
  /// variant without a bias); records has_bias for the CPU backend.
  LogicalResult biasOperand(Operation *irOp, Value bias, int64_t n,
                            SmallVector<int> &operands,
                            std::map<std::string, std::vector<double>> &attrs) {
    attrs["has_bias"] = {bias ? 1.0 : 0.0};
    if (!bias) {
      operands.push_back(zeros(n));
      return success();
    }
    return inputs(irOp, bias, operands);
  }

  LogicalResult lowerOp(Operation *op);
  /// Fuses each causal_conv1d_step whose x is a decode linear's output
  /// part, read by nothing else, into that linear's GEMV launch (the
  /// conv-step epilogue, LaunchOps.h); where the linear has an alternative
  /// for many sequences, those keep the step's own launch.
  LogicalResult fuseConvSteps(Location loc);

  /// The entry's samplers: argmax over its logits (result 0) into a [B] i32
  /// buffer, and the random sampler into the same buffer.
  LogicalResult addSampler(Operation *at) {
    if (current->outputs.empty())
      return at->emitError("codegen: the entry returns no logits");
    int logits = current->outputs[0];
    // Only an entry whose result 0 is f32 logits [B, L, V] gets a sampler
    // (tests build entry points that return other things).
    const Buffer &result0 = result.plan.buffers[logits];
    if (result0.dtype != DType::F32 || result0.shape.size() != 3 ||
        !result0.shape[2].isConstant())
      return success();
    Buffer next;
    next.name = entryName + ".next_token";
    next.dtype = DType::I32;
    next.shape = {result.plan.buffers[logits].shape[0]};
    int out = addBuffer(std::move(next));
    plan::Launch launch;
    launch.op = "argmax";
    launch.operands = {logits, out};
    KernelContext ctx(kernels, result.plan, launch);
    if (failed(emitKernel(ctx, at->getLoc())))
      return failure();
    current->sampler = std::move(launch);

    // The random sampler writes the same next-token buffer; its parameters
    // (temperature, top-k, top-p, seed, step) are a small buffer the host
    // fills before each step, so a captured decode graph sees new values.
    Buffer params;
    params.name = entryName + ".sampling_params";
    params.dtype = DType::I32;
    params.shape = {ShapeExpr(::quamba::ref::kSampleParamWords)};
    plan::Launch sample;
    sample.op = "sample";
    sample.operands = {logits, addBuffer(std::move(params)), out};
    KernelContext sampleCtx(kernels, result.plan, sample);
    if (failed(emitKernel(sampleCtx, at->getLoc())))
      return failure();
    current->randomSampler = std::move(sample);
    return success();
  }
  LogicalResult lowerScaled(Operation *op, Value input, Value scales,
                            Value output, StringRef opName);
  LogicalResult lowerHadamard(mamba::HadamardOp op);
  LogicalResult lowerRMSNorm(mamba::RMSNormOp op);
  LogicalResult lowerGatedRMSNorm(mamba::GatedRMSNormOp op);
  /// The plan buffer of H_m for a Hadamard transform of rows of n.
  FailureOr<int> hadamardFactorBuffer(Operation *op, int64_t n);
  /// A quantize that is `value`'s only reader, with scales over its last
  /// dimension, and whose codes are not requantized: the producer's launch
  /// stores the codes itself (quantize_output, LaunchOps.h). Appends the
  /// expanded scales to `operands`, sets the attr, and makes `value` the
  /// codes; leaves all as they are when there is no such quantize.
  LogicalResult fuseQuantizedOutput(Value &value, SmallVector<int> &operands,
                                    std::map<std::string, std::vector<double>> &attrs);
  LogicalResult lowerSSDScan(mamba::SSDScanOp op);
  /// An activation buffer no IR value names (a multi-launch lowering's
  /// intermediate), f32 of `shape` (expressions of B and L).
  int scratch(StringRef what, std::vector<ShapeExpr> shape) {
    Buffer buffer;
    buffer.name = entryName + "." + std::to_string(result.plan.buffers.size()) + "." + what.str();
    buffer.shape = std::move(shape);
    return addBuffer(std::move(buffer));
  }
  /// Appends one launch of `opName` with buffer operands `operands` (LaunchOps.h
  /// order, outputs included), building its kernel.
  LogicalResult rawLaunch(Operation *irOp, StringRef opName, SmallVector<int> operands,
                          std::map<std::string, std::vector<double>> attrs) {
    plan::Launch launch;
    launch.op = opName.str();
    launch.operands.assign(operands.begin(), operands.end());
    launch.attrs = std::move(attrs);
    KernelContext ctx(kernels, result.plan, launch, current);
    if (failed(emitKernel(ctx, irOp->getLoc())))
      return failure();
    current->launches.push_back(std::move(launch));
    return success();
  }
  LogicalResult foldConstantDequantize(mamba::DequantizeOp op);
  /// The state operand and new-state result of a step op (null otherwise).
  static std::pair<Value, Value> stepState(Operation *op) {
    if (auto o = dyn_cast<mamba::CausalConv1dStepOp>(op))
      return {o.getState(), o.getNewState()};
    if (auto o = dyn_cast<mamba::SSDStepOp>(op))
      return {o.getState(), o.getNewState()};
    if (auto o = dyn_cast<mamba::SelectiveStepOp>(op))
      return {o.getState(), o.getNewState()};
    return {};
  }
  /// Launches step op `op` over `values` (its state among them) and
  /// `outputs` (its new state last), with its int8 state fused in when
  /// fusedStates holds it: the state operand is the int8 codes, the
  /// expanded scales come after the inputs (`operands` may already hold
  /// extra inputs, e.g. a bias), the new state is the quantized one.
  LogicalResult lowerStep(Operation *op, StringRef opName, SmallVector<Value> values,
                          SmallVector<int> extraInputs, SmallVector<Value> outputs,
                          std::map<std::string, std::vector<double>> attrs);
  /// The plan buffer of `scales` expanded over the trailing block of
  /// `tensor` (one scale per element of the block), and the block's size.
  /// The block has the scales' rank, or `blockRank` dimensions (the scales
  /// broadcast over the leading ones) when that is larger.
  FailureOr<int> expandedScaleBuffer(Operation *op, Value tensor, Value scales, int64_t &inner,
                                     int64_t blockRank = 0);
  /// Whether a and b are the same value or constants of the same attribute.
  static bool sameConstant(Value a, Value b) {
    if (a == b)
      return true;
    auto ca = a.getDefiningOp<arith::ConstantOp>(), cb = b.getDefiningOp<arith::ConstantOp>();
    return ca && cb && ca.getValue() == cb.getValue() && ca.getType() == cb.getType();
  }

  ModuleOp kernels;
  bool int8Activations = false;
  LaunchPlanResult result;
  plan::EntryPoint *current = nullptr;
  std::string entryName;
  llvm::DenseMap<Value, int> buffers;
  /// Splits lowered as their producer's split epilogue.
  llvm::SmallPtrSet<Operation *, 16> fusedSplits;
  /// (constant, 1 if stored as f16) -> its weight buffer.
  llvm::DenseMap<std::pair<Attribute, int>, int> constantBuffers;
  std::map<int64_t, int> zeroBuffers;
  std::map<std::vector<float>, int> expandedScales;
  /// Step ops with the dequantize of their state and the quantize of their
  /// new state fused in (both then lower to nothing of their own).
  llvm::DenseMap<Operation *, std::pair<mamba::DequantizeOp, mamba::QuantizeOp>> fusedStates;
  bool fusedStateOp(Operation *op) const {
    for (const auto &entry : fusedStates)
      if (entry.second.first == op || entry.second.second == op)
        return true;
    return false;
  }
  /// quantize -> dequantize pairs a producer's epilogue computes.
  llvm::SmallPtrSet<Operation *, 16> epilogueRequantizes;
  /// The quantize -> dequantize pair (same scales, each the only reader of
  /// its input) reading `value`, if that is its only reader.
  std::optional<std::pair<mamba::QuantizeOp, mamba::DequantizeOp>> requantizePair(Value value) {
    if (!value.hasOneUse())
      return std::nullopt;
    auto q = dyn_cast<mamba::QuantizeOp>(*value.user_begin());
    if (!q || fusedStateOp(q) || !q.getResult().hasOneUse())
      return std::nullopt;
    auto dq = dyn_cast<mamba::DequantizeOp>(*q.getResult().user_begin());
    if (!dq || !sameConstant(dq.getScales(), q.getScales()))
      return std::nullopt;
    return std::make_pair(q, dq);
  }
  /// Quantizes and Hadamard transforms a producer's launch computes
  /// (quantize_output, hadamard; LaunchOps.h).
  llvm::SmallPtrSet<Operation *, 16> fusedIntoProducer;
  /// Dequantizes lowered with their quantize as one requantize launch.
  llvm::SmallPtrSet<Operation *, 16> fusedDequantizes;
  /// (int8 constant, scales) -> its dequantized f32 weight.
  llvm::DenseMap<std::pair<Attribute, Attribute>, int> foldedDequantizes;
};

static double f64(const APFloat &value) { return value.convertToDouble(); }

FailureOr<int> PlanBuilder::expandedScaleBuffer(Operation *op, Value tensor, Value scales,
                                                int64_t &inner, int64_t blockRank) {
  auto inputType = cast<RankedTensorType>(tensor.getType());
  auto scaleType = cast<RankedTensorType>(scales.getType());
  int64_t rank = std::max<int64_t>(scaleType.getRank(), blockRank);
  std::vector<int64_t> scaleShape(rank - scaleType.getRank(), 1);
  scaleShape.insert(scaleShape.end(), scaleType.getShape().begin(), scaleType.getShape().end());
  if (rank > inputType.getRank())
    return op->emitError("scales have more dimensions than the tensor");
  // The trailing block of the input the scales cover; it must be static.
  std::vector<int64_t> block(inputType.getShape().end() - rank,
                             inputType.getShape().end());
  inner = 1;
  for (int64_t d : block) {
    if (ShapedType::isDynamic(d))
      return op->emitError("scales broadcast over a dynamic dimension");
    inner *= d;
  }
  auto constant = scales.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return op->emitError("scales must be constants to lower to a kernel");
  llvm::Expected<HostTensor> values = evaluateConstant(constant);
  if (!values) {
    op->emitError(llvm::toString(values.takeError()));
    return failure();
  }
  ::quamba::Result<std::vector<float>> broadcast =
      ref::broadcastScales(values->values.data(), scaleShape, block);
  if (!broadcast)
    return op->emitError(broadcast.error());
  std::vector<float> expanded = broadcast.take();
  auto it = expandedScales.find(expanded);
  if (it != expandedScales.end())
    return it->second;
  int index = weight("codegen.scales" + std::to_string(expandedScales.size()), DType::F32,
                     {inner}, floatBytes(expanded));
  expandedScales[expanded] = index;
  return index;
}

LogicalResult PlanBuilder::lowerScaled(Operation *op, Value input, Value scales,
                                       Value output, StringRef opName) {
  int64_t inner = 0;
  FailureOr<int> scaleBuffer = expandedScaleBuffer(op, input, scales, inner);
  if (failed(scaleBuffer))
    return failure();
  SmallVector<int> operands;
  if (failed(inputs(op, input, operands)))
    return failure();
  operands.push_back(*scaleBuffer);
  return launch(op, opName, operands, output,
                {{"inner", {static_cast<double>(inner)}}});
}

LogicalResult PlanBuilder::lowerStep(Operation *op, StringRef opName, SmallVector<Value> values,
                                     SmallVector<int> extraInputs, SmallVector<Value> outputs,
                                     std::map<std::string, std::vector<double>> attrs) {
  auto [state, newState] = stepState(op);
  auto fused = fusedStates.find(op);
  if (fused != fusedStates.end()) {
    auto [dq, q] = fused->second;
    *llvm::find(values, state) = dq.getInput();
    outputs.back() = q.getResult();
    // The kernels index the scales by the element of a sequence's state:
    // expanded over every dimension but the batch.
    int64_t inner = 0;
    int64_t stateRank = cast<RankedTensorType>(dq.getInput().getType()).getRank();
    FailureOr<int> scaleBuffer =
        expandedScaleBuffer(op, dq.getInput(), dq.getScales(), inner, stateRank - 1);
    if (failed(scaleBuffer))
      return failure();
    extraInputs.push_back(*scaleBuffer);
    attrs["state_int8"] = {1.0};
  }
  SmallVector<int> operands;
  if (failed(inputs(op, values, operands)))
    return failure();
  operands.append(extraInputs.begin(), extraInputs.end());
  return launch(op, opName, operands, outputs, std::move(attrs));
}

/// A dequantized int8 constant (quamba-quantize's conv, A_log, D and dt_bias
/// weights) becomes an f32 weight computed here with the reference kernel
/// (float(q) * scale, one IEEE multiply: the bits a dequantize launch would
/// write), instead of a launch per layer and step.
LogicalResult PlanBuilder::foldConstantDequantize(mamba::DequantizeOp op) {
  auto input = op.getInput().getDefiningOp<arith::ConstantOp>();
  auto scales = op.getScales().getDefiningOp<arith::ConstantOp>();
  if (!scales)
    return op.emitError("scales must be constants to lower to a kernel");
  llvm::Expected<HostTensor> q = evaluateConstant(input);
  llvm::Expected<HostTensor> s = evaluateConstant(scales);
  if (!q || !s) {
    op.emitError(llvm::toString(q ? s.takeError() : q.takeError()));
    return failure();
  }
  if (!q->isInt8)
    return op.emitError("dequantize of a constant that is not int8");
  std::pair<Attribute, Attribute> key{input.getValue(), scales.getValue()};
  if (auto it = foldedDequantizes.find(key); it != foldedDequantizes.end()) {
    buffers[op.getResult()] = it->second;
    return success();
  }
  auto type = cast<RankedTensorType>(op.getResult().getType());
  auto scaleType = cast<RankedTensorType>(op.getScales().getType());
  std::vector<int64_t> block(type.getShape().end() - scaleType.getRank(), type.getShape().end());
  ::quamba::Result<std::vector<float>> expanded = ref::broadcastScales(
      s->values.data(),
      std::vector<int64_t>(scaleType.getShape().begin(), scaleType.getShape().end()), block);
  if (!expanded)
    return op.emitError(expanded.error());
  std::vector<float> inner = expanded.take();
  const int64_t count = static_cast<int64_t>(q->bytes.size());
  if (inner.empty() || count % static_cast<int64_t>(inner.size()) != 0)
    return op.emitError("scales do not tile the dequantized constant");
  std::vector<float> values(count);
  ref::dequantizeInt8PerChannel(q->bytes.data(), inner.data(), values.data(),
                                count / static_cast<int64_t>(inner.size()),
                                static_cast<int64_t>(inner.size()));
  std::string name = "codegen.dequantized" + std::to_string(result.weights.size());
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(input.getValue()))
    name = resource.getRawHandle().getKey().str() + ".dequantized";
  int index = weight(name, DType::F32, q->shape, floatBytes(values));
  foldedDequantizes[key] = index;
  buffers[op.getResult()] = index;
  return success();
}

FailureOr<int> PlanBuilder::hadamardFactorBuffer(Operation *op, int64_t n) {
  int64_t m = 0;
  const float *factor = ref::hadamardFactor(n, &m);
  if (!factor)
    return op->emitError() << "hadamard size " << n << " is not 2^k, 12 * 2^k or 40 * 2^k";
  std::string name = "codegen.hadamard_factor_" + std::to_string(m);
  for (const WeightData &w : result.weights)
    if (result.plan.buffers[w.buffer].name == name)
      return w.buffer;
  return weight(name, DType::F32, {m, m}, floatBytes(std::vector<float>(factor, factor + m * m)));
}

LogicalResult PlanBuilder::fuseQuantizedOutput(Value &value, SmallVector<int> &operands,
                                               std::map<std::string, std::vector<double>> &attrs) {
  if (!value.hasOneUse())
    return success();
  auto q = dyn_cast<mamba::QuantizeOp>(*value.user_begin());
  if (!q || fusedStateOp(q) || !q.getScales().getDefiningOp<arith::ConstantOp>())
    return success();
  // quantize -> dequantize is a requantize launch (or a producer's
  // requantize_parts): keep it.
  if (q.getResult().hasOneUse())
    if (auto dq = dyn_cast<mamba::DequantizeOp>(*q.getResult().user_begin()))
      if (sameConstant(dq.getScales(), q.getScales()))
        return success();
  int64_t inner = 0;
  FailureOr<int> scales = expandedScaleBuffer(q, q.getInput(), q.getScales(), inner);
  if (failed(scales))
    return failure();
  if (inner != cast<RankedTensorType>(value.getType()).getShape().back())
    return success();
  operands.push_back(*scales);
  attrs["quantize_output"] = {1.0};
  fusedIntoProducer.insert(q);
  value = q.getResult();
  return success();
}

LogicalResult PlanBuilder::lowerHadamard(mamba::HadamardOp op) {
  if (fusedIntoProducer.contains(op))
    return success(); // a gated norm's epilogue
  int64_t n = cast<RankedTensorType>(op.getInput().getType()).getShape().back();
  SmallVector<int> operands;
  if (failed(inputs(op, op.getInput(), operands)))
    return failure();
  FailureOr<int> factor = hadamardFactorBuffer(op, n);
  if (failed(factor))
    return failure();
  operands.push_back(*factor);
  Value out = op.getResult();
  std::map<std::string, std::vector<double>> attrs;
  // The kernel quantizes from a shared row only.
  if (n <= HadamardRow::kMaxSharedRow && failed(fuseQuantizedOutput(out, operands, attrs)))
    return failure();
  return launch(op, "hadamard", operands, out, std::move(attrs));
}

LogicalResult PlanBuilder::lowerRMSNorm(mamba::RMSNormOp op) {
  std::map<std::string, std::vector<double>> attrs = {{"eps", {f64(op.getEps())}}};
  SmallVector<Value> in = {op.getInput(), op.getWeight()};
  if (op.getResidual())
    in.insert(in.begin() + 1, op.getResidual());
  SmallVector<int> operands;
  if (failed(inputs(op, in, operands)))
    return failure();
  Value out = op.getOutput();
  if (failed(fuseQuantizedOutput(out, operands, attrs)))
    return failure();
  if (!op.getResidual())
    return launch(op, "rms_norm", operands, out, std::move(attrs));
  return launch(op, "add_rms_norm", operands, {out, op.getResidualOut()}, std::move(attrs));
}

LogicalResult PlanBuilder::lowerGatedRMSNorm(mamba::GatedRMSNormOp op) {
  std::map<std::string, std::vector<double>> attrs = {
      {"group_size", {static_cast<double>(op.getGroupSize())}}, {"eps", {f64(op.getEps())}}};
  SmallVector<int> operands;
  if (failed(inputs(op, {op.getY(), op.getZ(), op.getWeight()}, operands)))
    return failure();
  Value out = op.getOutput();
  // A Hadamard transform that is the norm's only reader, where one block
  // holds the row (its groups' threads, the row in shared memory).
  int64_t dim = cast<RankedTensorType>(out.getType()).getShape().back();
  int64_t groupSize = op.getGroupSize(), m = 0;
  auto rotation = out.hasOneUse() ? dyn_cast<mamba::HadamardOp>(*out.user_begin()) : nullptr;
  if (rotation && groupSize > 0 && dim % groupSize == 0 && dim <= HadamardRow::kMaxSharedRow &&
      dim / groupSize * ref::normThreads(groupSize) <= 1024 && ref::hadamardFactor(dim, &m)) {
    FailureOr<int> factor = hadamardFactorBuffer(rotation, dim);
    if (failed(factor))
      return failure();
    operands.push_back(*factor);
    attrs["hadamard"] = {1.0};
    fusedIntoProducer.insert(rotation);
    out = rotation.getResult();
  }
  if (failed(fuseQuantizedOutput(out, operands, attrs)))
    return failure();
  return launch(op, "gated_rms_norm", operands, out, std::move(attrs));
}

/// The chunked scan's four launches (LaunchOps.h; ref::ssdScan is their
/// composition): per-chunk dt and cumulative decay plus chunk states, the
/// states passed across chunks, C B^T per chunk and group, then y. Their intermediates are activations
/// of the prefill (the arena reuses them across layers).
LogicalResult PlanBuilder::lowerSSDScan(mamba::SSDScanOp o) {
  auto xType = cast<RankedTensorType>(o.getX().getType());
  bool dHasHdim =
      cast<RankedTensorType>(o.getD().getType()).getDimSize(0) == xType.getShape().back();
  int64_t P = o.getHeaddim(), H = xType.getShape().back() / P;
  int64_t N = cast<RankedTensorType>(o.getB().getType()).getShape().back() / o.getNgroups();
  double headdim = static_cast<double>(P), ngroups = static_cast<double>(o.getNgroups());
  SmallVector<int> in;
  if (failed(inputs(o, {o.getX(), o.getDt(), o.getB(), o.getC(), o.getALog(), o.getD(),
                        o.getDtBias()},
                    in)))
    return failure();
  const int x = in[0], dt = in[1], B = in[2], C = in[3], aLog = in[4], D = in[5], dtBias = in[6];
  ShapeExpr batch = *ShapeExpr::parse("B"), seqlen = *ShapeExpr::parse("L");
  ShapeExpr chunks = *ShapeExpr::parse("cdiv(L," + std::to_string(ref::kSSDChunk) + ")");
  int dtOut = scratch("ssd_dt", {batch, ShapeExpr(H), seqlen});
  int cum = scratch("ssd_cum", {batch, ShapeExpr(H), seqlen});
  std::vector<ShapeExpr> statesShape = {batch, chunks, ShapeExpr(H), ShapeExpr(P), ShapeExpr(N)};
  int chunkStates = scratch("ssd_chunk_states", statesShape);
  int initStates = scratch("ssd_init_states", statesShape);
  int cb = scratch("ssd_cb", {batch, chunks, ShapeExpr(o.getNgroups()), ShapeExpr(ref::kSSDChunk),
                              ShapeExpr(ref::kSSDChunk)});
  FailureOr<int> y = activation(o.getY(), o), state = activation(o.getState(), o);
  if (failed(y) || failed(state))
    return failure();
  // JSON has no infinity: an unbounded dt_max is left out (LaunchOps.h).
  std::map<std::string, std::vector<double>> stateAttrs = {
      {"headdim", {headdim}}, {"ngroups", {ngroups}}, {"dt_min", {f64(o.getDtMin())}}};
  if (o.getDtMax() && std::isfinite(f64(*o.getDtMax())))
    stateAttrs["dt_max"] = {f64(*o.getDtMax())};
  if (failed(rawLaunch(o, "ssd_chunk_state", {x, dt, B, aLog, dtBias, dtOut, cum, chunkStates},
                       std::move(stateAttrs))) ||
      failed(rawLaunch(o, "ssd_state_passing", {cum, chunkStates, initStates, *state}, {})) ||
      failed(rawLaunch(o, "ssd_chunk_cb", {B, C, cb}, {{"ngroups", {ngroups}}})))
    return failure();
  return rawLaunch(o, "ssd_chunk_scan", {x, dtOut, cum, C, cb, D, initStates, *y},
                   {{"headdim", {headdim}},
                    {"ngroups", {ngroups}},
                    {"d_has_hdim", {dHasHdim ? 1.0 : 0.0}}});
}

LogicalResult PlanBuilder::lowerOp(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](arith::ConstantOp) { return success(); })
      .Case([&](mamba::EmbeddingOp o) {
        return simple(o, "embedding", {o.getTable(), o.getTokens()}, o.getResult());
      })
      .Case([&](mamba::QuantizedEmbeddingOp o) {
        return simple(o, "quantized_embedding",
                      {o.getTable(), o.getScales(), o.getTokens()}, o.getResult(),
                      {{"bits", {static_cast<double>(o.getBits())}}});
      })
      .Case([&](mamba::RMSNormOp o) { return lowerRMSNorm(o); })
      .Case([&](mamba::LinearOp o) {
        if (o.getBias())
          return simple(o, "linear_bias", {o.getInput(), o.getWeight(), o.getBias()},
                        o.getResult());
        return simple(o, "linear", {o.getInput(), o.getWeight()}, o.getResult());
      })
      .Case([&](mamba::LMHeadOp o) {
        return simple(o, "linear", {o.getInput(), o.getWeight()}, o.getLogits());
      })
      .Case([&](mamba::SplitOp o) {
        if (fusedSplits.contains(o))
          return success(); // its producer writes the parts
        std::vector<double> sizes(o.getSizes().begin(), o.getSizes().end());
        return simple(o, "split", o.getInput(), o.getResults(), {{"sizes", sizes}});
      })
      .Case([&](mamba::CausalConv1dOp o) {
        SmallVector<int> operands;
        std::map<std::string, std::vector<double>> attrs = {{"silu", {o.getSilu() ? 1.0 : 0.0}}};
        int64_t channels = cast<RankedTensorType>(o.getWeight().getType()).getDimSize(0);
        if (failed(inputs(o, {o.getX(), o.getWeight()}, operands)) ||
            failed(biasOperand(o, o.getBias(), channels, operands, attrs)))
          return failure();
        return launch(o, "causal_conv1d", operands, {o.getY(), o.getState()}, attrs);
      })
      .Case([&](mamba::CausalConv1dStepOp o) {
        SmallVector<int> operands;
        std::map<std::string, std::vector<double>> attrs = {{"silu", {o.getSilu() ? 1.0 : 0.0}}};
        int64_t channels = cast<RankedTensorType>(o.getWeight().getType()).getDimSize(0);
        if (failed(biasOperand(o, o.getBias(), channels, operands, attrs)))
          return failure();
        return lowerStep(o, "causal_conv1d_step", {o.getX(), o.getState(), o.getWeight()},
                         operands, {o.getY(), o.getNewState()}, attrs);
      })
      .Case([&](mamba::SSDScanOp o) { return lowerSSDScan(o); })
      .Case([&](mamba::SSDStepOp o) {
        bool dHasHdim = cast<RankedTensorType>(o.getD().getType()).getDimSize(0) ==
                        cast<RankedTensorType>(o.getX().getType()).getShape().back();
        return lowerStep(o, "ssd_step",
                         {o.getX(), o.getDt(), o.getB(), o.getC(), o.getALog(), o.getD(),
                          o.getDtBias(), o.getState()},
                         {}, {o.getY(), o.getNewState()},
                         {{"headdim", {static_cast<double>(o.getHeaddim())}},
                          {"ngroups", {static_cast<double>(o.getNgroups())}},
                          {"d_has_hdim", {dHasHdim ? 1.0 : 0.0}}});
      })
      .Case([&](mamba::SelectiveScanOp o) {
        return simple(o, "selective_scan",
                      {o.getX(), o.getDt(), o.getB(), o.getC(), o.getZ(), o.getALog(),
                       o.getD(), o.getDtBias()},
                      {o.getY(), o.getState()});
      })
      .Case([&](mamba::SelectiveStepOp o) {
        return lowerStep(o, "selective_step",
                         {o.getX(), o.getDt(), o.getB(), o.getC(), o.getZ(), o.getALog(),
                          o.getD(), o.getDtBias(), o.getState()},
                         {}, {o.getY(), o.getNewState()}, {});
      })
      .Case([&](mamba::GatedRMSNormOp o) { return lowerGatedRMSNorm(o); })
      .Case([&](mamba::HadamardOp o) { return lowerHadamard(o); })
      .Case([&](mamba::QuantizeOp o) {
        if (fusedStateOp(o) || epilogueRequantizes.contains(o) || fusedIntoProducer.contains(o))
          return success(); // a step op writes the int8 state, or a producer the rounded values or codes
        // quantize -> dequantize with the same scales, the code read by
        // nothing else: one launch rounding x to its int8 grid.
        if (o.getResult().hasOneUse())
          if (auto dq = dyn_cast<mamba::DequantizeOp>(*o.getResult().user_begin()))
            if (sameConstant(dq.getScales(), o.getScales())) {
              fusedDequantizes.insert(dq);
              return lowerScaled(o, o.getInput(), o.getScales(), dq.getResult(), "requantize");
            }
        return lowerScaled(o, o.getInput(), o.getScales(), o.getResult(), "quantize");
      })
      .Case([&](mamba::DequantizeOp o) {
        if (fusedDequantizes.contains(o) || fusedStateOp(o) || epilogueRequantizes.contains(o))
          return success(); // its quantize (requantize) or a step op reads the codes
        if (o.getInput().getDefiningOp<arith::ConstantOp>())
          return foldConstantDequantize(o);
        return lowerScaled(o, o.getInput(), o.getScales(), o.getResult(), "dequantize");
      })
      .Case([&](mamba::LinearW8A8Op o) {
        SmallVector<int> operands;
        std::map<std::string, std::vector<double>> attrs;
        int64_t n = cast<RankedTensorType>(o.getWeight().getType()).getDimSize(0);
        if (failed(inputs(o, {o.getInput(), o.getInputScale(), o.getWeight(),
                              o.getWeightScales()}, operands)) ||
            failed(biasOperand(o, o.getBias(), n, operands, attrs)))
          return failure();
        return launch(o, "linear_w8a8", operands, o.getResult(), attrs);
      })
      .Case([&](mamba::LinearW4A8Op o) {
        SmallVector<int> operands;
        std::map<std::string, std::vector<double>> attrs = {
            {"group_size", {static_cast<double>(o.getGroupSize())}}};
        int64_t n = cast<RankedTensorType>(o.getWeight().getType()).getDimSize(0);
        if (failed(inputs(o, {o.getInput(), o.getInputScale(), o.getWeight(),
                              o.getGroupScales(), o.getChannelScales()}, operands)) ||
            failed(biasOperand(o, o.getBias(), n, operands, attrs)))
          return failure();
        return launch(o, "linear_w4a8", operands, o.getResult(), attrs);
      })
      .Case([&](mamba::LinearW4A16Op o) {
        SmallVector<int> operands;
        std::map<std::string, std::vector<double>> attrs = {
            {"group_size", {static_cast<double>(o.getGroupSize())}}};
        int64_t n = cast<RankedTensorType>(o.getWeight().getType()).getDimSize(0);
        if (failed(inputs(o, {o.getInput(), o.getWeight(), o.getGroupScales()}, operands)) ||
            failed(biasOperand(o, o.getBias(), n, operands, attrs)))
          return failure();
        return launch(o, "linear_w4a16", operands, o.getResult(), attrs);
      })
      .Default([&](Operation *op) {
        return op->emitError("codegen: no launch for this op");
      });
}

LogicalResult PlanBuilder::buildEntry(func::FuncOp func) {
  result.plan.entries.emplace_back();
  current = &result.plan.entries.back();
  current->name = func.getSymName().str();
  entryName = current->name;
  for (BlockArgument arg : func.getArguments()) {
    FailureOr<int> index = activation(arg, func);
    if (failed(index))
      return failure();
    current->inputs.push_back(*index);
  }
  if (auto tokens = dyn_cast<RankedTensorType>(func.getArgumentTypes()[0]))
    current->singleToken = tokens.getRank() == 2 && tokens.getDimSize(1) == 1;
  // Step ops whose int8 state is dequantized and quantized around them
  // take both into their launch (state_int8, LaunchOps.h).
  func.walk([&](Operation *op) {
    auto [state, newState] = stepState(op);
    if (!state)
      return;
    auto dq = state.getDefiningOp<mamba::DequantizeOp>();
    if (!dq || !state.hasOneUse() || dq.getInput().getDefiningOp<arith::ConstantOp>() ||
        !newState.hasOneUse())
      return;
    auto q = dyn_cast<mamba::QuantizeOp>(*newState.user_begin());
    if (q && sameConstant(q.getScales(), dq.getScales()))
      fusedStates[op] = {dq, q};
  });
  for (Operation &op : func.getBody().front()) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (Value v : ret.getOperands()) {
        FailureOr<int> index = operand(v, ret);
        if (failed(index))
          return failure();
        current->outputs.push_back(*index);
      }
      if (failed(addSampler(ret)))
        return failure();
      continue;
    }
    if (failed(lowerOp(&op)))
      return failure();
  }
  if (current->singleToken)
    return fuseConvSteps(func.getLoc());
  return success();
}

/// The first output operand of a linear launch (LaunchOps.h), or -1.
static int linearFirstOutput(const plan::Launch &l) {
  static const StringRef linears[] = {"linear", "linear_bias", "linear_w8a8", "linear_w4a8",
                                      "linear_w4a16"};
  if (!llvm::is_contained(linears, l.op) || l.attrs.count(plan::kConvStepAttr))
    return -1;
  return plan::epilogueOutputOperand(l);
}

LogicalResult PlanBuilder::fuseConvSteps(Location loc) {
  std::vector<plan::Launch> &launches = current->launches;
  for (size_t ci = 0; ci < launches.size(); ++ci) {
    if (launches[ci].op != "causal_conv1d_step")
      continue;
    const int x = launches[ci].operands[0];
    // x's producers: the launches right before the step, a linear and its
    // batch alternatives (nothing else runs between them and the step, so
    // the step may run in the linear's epilogue).
    auto partOf = [&](const plan::Launch &l) -> int {
      int first = linearFirstOutput(l);
      if (first < 0)
        return -1;
      for (size_t i = first; i < l.operands.size(); ++i)
        if (l.operands[i] == x)
          return static_cast<int>(i) - first;
      return -1;
    };
    size_t first = ci;
    while (first > 0 && partOf(launches[first - 1]) >= 0)
      --first;
    // The step must be x's only reader.
    auto reads = [&](const plan::Launch &l) { return llvm::is_contained(l.operands, x); };
    bool onlyReader = !llvm::is_contained(current->outputs, x);
    for (size_t i = 0; i < launches.size() && onlyReader; ++i)
      onlyReader = (i >= first && i <= ci) || !reads(launches[i]);
    for (const std::optional<plan::Launch> *s : {&current->sampler, &current->randomSampler})
      onlyReader = onlyReader && !(*s && reads(**s));
    // The alternative for few sequences: the GEMV that takes the epilogue.
    size_t pi = first;
    while (pi < ci && launches[pi].minBatch != 1)
      ++pi;
    if (first == ci || !onlyReader || pi == ci)
      continue;
    const plan::Launch &producer = launches[pi], &step = launches[ci];
    const int linearOut = linearFirstOutput(producer);
    const int stepOut = plan::epilogueOutputOperand(step);
    plan::Launch fused;
    fused.op = producer.op;
    fused.attrs = producer.attrs;
    fused.attrs[plan::kConvStepAttr] = {static_cast<double>(partOf(producer))};
    for (const auto &[key, values] : step.attrs)
      fused.attrs[plan::kConvStepPrefix + key] = values;
    // LaunchOps.h: linear inputs, step inputs but x, linear outputs, step
    // outputs.
    auto append = [&](const plan::Launch &l, int from, int to) {
      fused.operands.insert(fused.operands.end(), l.operands.begin() + from,
                            l.operands.begin() + to);
    };
    append(producer, 0, linearOut);
    append(step, 1, stepOut);
    append(producer, linearOut, producer.operands.size());
    append(step, stepOut, step.operands.size());
    fused.minBatch = producer.minBatch;
    fused.maxBatch = producer.maxBatch;
    KernelContext ctx(kernels, result.plan, fused);
    if (failed(emitKernel(ctx, loc)))
      return failure();
    const int64_t stepFrom = producer.maxBatch + 1;
    launches[pi] = std::move(fused);
    if (launches[pi].maxBatch == 0) {
      launches.erase(launches.begin() + ci);
      --ci;
    } else {
      // Larger batches keep the linear's other kernel, then the step.
      launches[ci].minBatch = stepFrom;
    }
  }
  return success();
}

/// Starts every thread of `func` with `griddepcontrol.wait` (nothing before
/// it reads or writes memory, so a launch with programmatic stream
/// serialization computes exactly what a serialized one does: the kernel's
/// blocks may be scheduled while the previous kernel drains, hiding the
/// launch latency, but read nothing before it has completed and flushed),
/// then `griddepcontrol.launch_dependents`, which lets the next kernel's
/// launch begin once every block of this one is running. Each kernel
/// waiting for its predecessor's completion makes the ordering transitive.
void awaitPredecessorGrid(gpu::GPUFuncOp func) {
  // A kernel that placed its wait itself (KernelBuilder::awaitPredecessor)
  // reads only weights before it.
  if (func->hasAttr(KernelBuilder::kAwaitsInBodyAttr))
    return;
  OpBuilder builder = OpBuilder::atBlockBegin(&func.getBody().front());
  NVVM::GriddepcontrolOp::create(builder, func.getLoc(), NVVM::GridDepActionKind::wait);
  NVVM::GriddepcontrolOp::create(builder, func.getLoc(),
                                 NVVM::GridDepActionKind::launch_dependents);
}

} // namespace

FailureOr<LaunchPlanResult> buildLaunchPlan(ModuleOp model, ModuleOp kernels,
                                            StringRef target) {
  {
    DialectRegistry registry;
    registerCodegenDialects(registry);
    kernels.getContext()->appendDialectRegistry(registry);
    kernels.getContext()->loadAllAvailableDialects();
  }
  PlanBuilder builder(kernels, target);
  builder.setInt8Activations(
      model.walk([](mamba::QuantizeOp) { return WalkResult::interrupt(); }).wasInterrupted());
  for (StringRef name : {"prefill", "decode"}) {
    auto func = model.lookupSymbol<func::FuncOp>(name);
    if (!func || func.isExternal())
      return model.emitError() << "codegen: the model has no @" << name;
    if (failed(builder.buildEntry(func)))
      return failure();
  }
  LaunchPlanResult result = builder.take();
  // Kernels no launch runs any more (a GEMV whose launches all took an
  // epilogue) stay out of the artifact.
  llvm::StringSet<> used;
  for (const plan::EntryPoint &entry : result.plan.entries) {
    for (const plan::Launch &l : entry.launches)
      used.insert(l.kernel);
    for (const std::optional<plan::Launch> *s : {&entry.sampler, &entry.randomSampler})
      if (*s)
        used.insert((*s)->kernel);
  }
  for (auto module : llvm::make_early_inc_range(kernels.getOps<gpu::GPUModuleOp>()))
    if (!used.contains(module.getName()))
      module.erase();
  const bool overlap = supportsProgrammaticLaunch(target);
  // The kernel list of the plan: every gpu.module codegen built, with its
  // Triton signature (visible arguments) and warps.
  for (auto module : kernels.getOps<gpu::GPUModuleOp>()) {
    plan::KernelInfo info;
    info.name = module.getName().str();
    for (auto func : module.getOps<gpu::GPUFuncOp>()) {
      if (overlap) {
        awaitPredecessorGrid(func);
        info.awaitsPredecessor = true;
      } else {
        // Serialized launches need no wait; sm_80 has no griddepcontrol.
        func.walk([](NVVM::GriddepcontrolOp op) { op.erase(); });
      }
      if (auto block = func.getKnownBlockSizeAttr())
        info.numWarps = block[0] / 32;
      info.sharedBytes = static_cast<int>(dynamicSharedBytes(func));
      if (auto signature = func->getAttrOfType<ArrayAttr>("quamba.signature"))
        for (auto entry : signature.getAsValueRange<StringAttr>())
          info.signature.push_back(entry.str());
    }
    result.plan.kernels.push_back(std::move(info));
  }
  return result;
}

} // namespace mlir::quamba::codegen
