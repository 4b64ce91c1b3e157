//===- Kernels.cpp - kernel naming, dedupe and dispatch -------------------===//
#include "codegen/kernels/Kernels.h"
#include "codegen/kernels/ScalarMath.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Diagnostics.h"

namespace mlir::quamba::codegen {

using plan::ShapeExpr;

ShapeExpr mulExpr(const ShapeExpr &a, const ShapeExpr &b) {
  if (a.isConstant() && b.isConstant())
    return ShapeExpr(a.evaluate(0, 0) * b.evaluate(0, 0));
  if (a.isConstant() && a.evaluate(0, 0) == 1)
    return b;
  if (b.isConstant() && b.evaluate(0, 0) == 1)
    return a;
  // Every expression codegen builds is a product or a cdiv(...) call, so
  // juxtaposing with '*' needs no parentheses.
  return *ShapeExpr::parse(a.text() + "*" + b.text());
}

int64_t KernelContext::dim(unsigned i, int axis) const {
  const plan::Buffer &buffer = operand(i);
  int rank = static_cast<int>(buffer.shape.size());
  int index = axis < 0 ? rank + axis : axis;
  assert(index >= 0 && index < rank && "axis out of range");
  assert(buffer.shape[index].isConstant() && "dimension is not static");
  return buffer.shape[index].evaluate(0, 0);
}

ShapeExpr KernelContext::rows(unsigned i) const {
  const plan::Buffer &buffer = operand(i);
  ShapeExpr out(1);
  for (size_t d = 0; d + 1 < buffer.shape.size(); ++d)
    out = mulExpr(out, buffer.shape[d]);
  return out;
}

ShapeExpr KernelContext::numel(unsigned i) const {
  const plan::Buffer &buffer = operand(i);
  ShapeExpr out(1);
  for (const ShapeExpr &d : buffer.shape)
    out = mulExpr(out, d);
  return out;
}

ArgKind KernelContext::pointerKind(unsigned i) const {
  switch (operand(i).dtype) {
  case plan::DType::F32: return ArgKind::PtrF32;
  case plan::DType::F16: return ArgKind::PtrF16;
  case plan::DType::I8: return ArgKind::PtrI8;
  case plan::DType::U8: return ArgKind::PtrU8;
  case plan::DType::I32: return ArgKind::PtrI32;
  }
  return ArgKind::PtrF32;
}

SmallVector<ArgKind> KernelContext::operandArgs(unsigned scalarCount) const {
  SmallVector<ArgKind> args;
  for (unsigned i = 0; i < launch.operands.size(); ++i)
    args.push_back(pointerKind(i));
  args.append(scalarCount, ArgKind::I32);
  return args;
}

SmallVector<int64_t> KernelContext::splitSizes() const { return splitSizesOf(launch); }

SmallVector<int64_t> splitSizesOf(const plan::Launch &launch) {
  SmallVector<int64_t> sizes;
  auto it = launch.attrs.find("split_sizes");
  if (it != launch.attrs.end())
    for (double size : it->second)
      sizes.push_back(static_cast<int64_t>(size));
  return sizes;
}

std::string KernelContext::splitSuffix() const {
  std::string suffix;
  for (int64_t size : splitSizes())
    suffix += (suffix.empty() ? "_split" : "x") + std::to_string(size);
  return suffix;
}

unsigned KernelContext::requantizedPartCount() const {
  return static_cast<unsigned>(plan::requantizedParts(launch).size());
}

SmallVector<int> KernelContext::requantizeScaleArgs(unsigned firstOutputArg) const {
  return requantizeScaleOperands(launch, firstOutputArg);
}

SmallVector<int> requantizeScaleOperands(const plan::Launch &launch, unsigned firstOutputArg) {
  std::vector<int> parts = plan::requantizedParts(launch);
  SmallVector<int> args(std::max<size_t>(splitSizesOf(launch).size(), 1), -1);
  for (size_t i = 0; i < parts.size(); ++i)
    if (parts[i] < static_cast<int>(args.size()))
      args[parts[i]] = static_cast<int>(firstOutputArg - parts.size() + i);
  return args;
}

std::string KernelContext::requantizeSuffix() const {
  std::vector<int> parts = plan::requantizedParts(launch);
  if (parts.empty())
    return "";
  std::string suffix(std::max<size_t>(splitSizes().size(), 1), '0');
  for (int j : parts)
    if (j < static_cast<int>(suffix.size()))
      suffix[j] = '1';
  return "_rq" + suffix;
}

Value warpSum(KernelBuilder &k, Value value) {
  auto &b = k.b();
  for (int offset = 16; offset >= 1; offset /= 2) {
    auto shuffle = gpu::ShuffleOp::create(b, value, offset, 32, gpu::ShuffleMode::XOR);
    value = arith::AddFOp::create(b, value, shuffle.getShuffleResult());
  }
  return value;
}

Value StateOperand::load(KernelBuilder &k, Value index, Value scaleIndex) const {
  return loadScaled(k, index, scale(k, scaleIndex));
}

void StateOperand::store(KernelBuilder &k, Value value, Value index, Value scaleIndex) const {
  storeScaled(k, value, index, scale(k, scaleIndex));
}

Value StateOperand::scale(KernelBuilder &k, Value scaleIndex) const {
  return scales ? k.loadInvariant(k.b().getF32Type(), scales, scaleIndex) : Value();
}

Value StateOperand::loadScaled(KernelBuilder &k, Value index, Value scale) const {
  auto &b = k.b();
  if (!scales)
    return k.load(b.getF32Type(), ptr, index);
  return dequantizeInt8(k, k.load(b.getI8Type(), ptr, index), scale);
}

void StateOperand::storeScaled(KernelBuilder &k, Value value, Value index, Value scale) const {
  if (!scales)
    return k.store(value, ptr, index);
  k.store(quantizeInt8(k, value, scale), ptr, index);
}

OutputSlot prepareOutput(KernelBuilder &k, Value row, Value col, unsigned firstArg,
                         int64_t width, ArrayRef<int64_t> parts, ArrayRef<int> requantArgs) {
  auto &b = k.b();
  Type f32 = b.getF32Type();
  OutputSlot slot;
  if (parts.size() <= 1) {
    slot.ptr = k.arg(firstArg);
    slot.rowStride = k.idx(width);
    slot.index = arith::AddIOp::create(b, arith::MulIOp::create(b, row, slot.rowStride), col);
    if (!requantArgs.empty() && requantArgs[0] >= 0)
      slot.requantScale = k.loadInvariant(f32, k.arg(requantArgs[0]), col);
    return slot;
  }
  // The part holding col: compares against the static part boundaries,
  // selecting its pointer, width and start (no branch).
  SmallVector<int64_t> starts;
  int64_t start = 0;
  for (int64_t size : parts) {
    starts.push_back(start);
    start += size;
  }
  size_t last = parts.size() - 1;
  Value ptr = k.arg(firstArg + last);
  Value size = k.idx(parts[last]), begin = k.idx(starts[last]);
  for (size_t j = last; j-- > 0;) {
    Value inPart = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, col,
                                         k.idx(starts[j] + parts[j]));
    ptr = arith::SelectOp::create(b, inPart, k.arg(firstArg + j), ptr);
    size = arith::SelectOp::create(b, inPart, k.idx(parts[j]), size);
    begin = arith::SelectOp::create(b, inPart, k.idx(starts[j]), begin);
  }
  Value local = arith::SubIOp::create(b, col, begin);
  slot.ptr = ptr;
  slot.rowStride = size;
  slot.index = arith::AddIOp::create(b, arith::MulIOp::create(b, row, size), local);
  // Requantized parts: the part's own scales. Every requantized part's
  // scale is loaded at local clamped into that part (a scale buffer is
  // only as wide as its part; no branch), and the holding part's is kept.
  for (size_t j = 0; j < requantArgs.size(); ++j) {
    if (requantArgs[j] < 0)
      continue;
    Value inPart = arith::AndIOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::uge, col, k.idx(starts[j])),
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, col, k.idx(starts[j] + parts[j])));
    Value at = arith::MinUIOp::create(b, local, k.idx(parts[j] - 1));
    Value scale = k.loadInvariant(f32, k.arg(requantArgs[j]), at);
    if (!slot.requantScale) {
      slot.requantScale = scale;
      slot.requantize = inPart;
      continue;
    }
    slot.requantScale = arith::SelectOp::create(b, inPart, scale, slot.requantScale);
    slot.requantize = arith::OrIOp::create(b, inPart, slot.requantize);
  }
  return slot;
}

Value requantizedOutput(KernelBuilder &k, const OutputSlot &slot, Value value) {
  if (!slot.requantScale)
    return value;
  Value rounded = dequantizeInt8(k, quantizeInt8(k, value, slot.requantScale), slot.requantScale);
  return slot.requantize ? arith::SelectOp::create(k.b(), slot.requantize, rounded, value)
                         : rounded;
}

Value storeOutput(KernelBuilder &k, const OutputSlot &slot, Value value) {
  value = requantizedOutput(k, slot, value);
  k.store(value, slot.ptr, slot.index);
  return value;
}

void storeOutput(KernelBuilder &k, Value value, Value row, Value col, unsigned firstArg,
                 int64_t width, ArrayRef<int64_t> parts, ArrayRef<int> requantArgs) {
  storeOutput(k, prepareOutput(k, row, col, firstArg, width, parts, requantArgs), value);
}

int64_t batchedDecodeMinBatch(StringRef op) {
  // Linears (tensor cores), the gated norm (one block a row instead of a
  // cluster), ssd_step (four state rows a warp). Where both alternatives are
  // the same kernel (fp32 linears with f32 weights, a gated norm the
  // cluster kernel does not fit), LaunchPlan keeps one launch.
  static const StringRef ops[] = {"linear_w8a8", "linear_w4a8", "linear_w4a16", "linear",
                                  "linear_bias", "gated_rms_norm", "ssd_step"};
  return llvm::is_contained(ops, op) ? kBatchedDecodeMinBatch : 0;
}

bool isFewRowsDecode(KernelContext &ctx) {
  const plan::Launch &launch = ctx.getLaunch();
  return ctx.rows(0).text().find('L') == std::string::npos &&
         launch.minBatch < kBatchedDecodeMinBatch;
}

bool KernelContext::isSettledEntryInput(int i) const {
  return entry && !entry->launches.empty() &&
         llvm::is_contained(entry->inputs, launch.operands[i]);
}

bool KernelContext::areWeights(ArrayRef<int> operands) const {
  return llvm::all_of(operands, [&](int i) {
    return i < 0 || operand(i).kind == plan::BufferKind::Weight;
  });
}

void KernelContext::useKernel(const std::string &name, ArrayRef<ArgKind> args,
                              int numWarps,
                              const std::function<void(KernelBuilder &)> &body) {
  launch.kernel = name;
  launch.block = {32 * numWarps, 1, 1};
  if (auto existing = container.lookupSymbol<gpu::GPUModuleOp>(name)) {
    for (auto func : existing.getOps<gpu::GPUFuncOp>())
      launch.sharedBytes = static_cast<int>(dynamicSharedBytes(func));
    return;
  }
  KernelBuilder builder(container, name, args, numWarps);
  body(builder);
  builder.finish();
  launch.sharedBytes = static_cast<int>(dynamicSharedBytes(builder.func()));
  // Triton's signature of the visible arguments, for the plan's kernel list
  // and the metadata sidecar.
  SmallVector<StringRef> signature;
  for (ArgKind kind : args)
    signature.push_back(tritonSignature(kind));
  builder.func()->setAttr("quamba.signature",
                          builder.b().getStrArrayAttr(signature));
}

void KernelContext::gridFor(const ShapeExpr &work, int numWarps) {
  int threads = 32 * numWarps;
  if (work.isConstant())
    launch.grid[0] = ShapeExpr((work.evaluate(0, 0) + threads - 1) / threads);
  else
    launch.grid[0] = *ShapeExpr::parse("cdiv(" + work.text() + "," +
                                       std::to_string(threads) + ")");
  launch.grid[1] = ShapeExpr(1);
  launch.grid[2] = ShapeExpr(1);
}

LogicalResult emitKernel(KernelContext &ctx, Location loc) {
  const std::string &op = ctx.getLaunch().op;
  if (op == "quantize" || op == "dequantize" || op == "requantize")
    return emitElementwise(ctx, loc);
  if (op == "rms_norm" || op == "add_rms_norm" || op == "gated_rms_norm")
    return emitNorm(ctx, loc);
  if (op == "linear" || op == "linear_bias" || op == "linear_w8a8" ||
      op == "linear_w4a8" || op == "linear_w4a16")
    return emitLinear(ctx, loc);
  if (op == "embedding" || op == "quantized_embedding")
    return emitEmbedding(ctx, loc);
  if (op == "split")
    return emitSplit(ctx, loc);
  if (op == "causal_conv1d" || op == "causal_conv1d_step")
    return emitConv(ctx, loc);
  if (op == "ssd_step" || op == "selective_scan" || op == "selective_step")
    return emitScan(ctx, loc);
  if (op == "ssd_chunk_state" || op == "ssd_state_passing" || op == "ssd_chunk_cb" ||
      op == "ssd_chunk_scan")
    return emitSSDChunked(ctx, loc);
  if (op == "hadamard")
    return emitHadamard(ctx, loc);
  if (op == "argmax")
    return emitArgmax(ctx, loc);
  if (op == "sample")
    return emitSample(ctx, loc);
  return emitError(loc) << "no GPU kernel for launch op '" << op << "'";
}

} // namespace mlir::quamba::codegen
