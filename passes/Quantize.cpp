//===- Quantize.cpp - quamba-quantize -------------------------------------===//
//
// Quamba2's module replacement (reference/quamba2.md §5): the precision map
// of a mode, applied op by op. Linear layers become the integer ops of the
// mamba dialect (linear_w8a8 / linear_w4a8 / linear_w4a16) with new int8 or
// packed int4 weights; activations that Quamba2 stores as int8 get a
// `mamba.quantize` (and a `mamba.dequantize` where a float op consumes
// them); the conv, A_log, D (and Mamba1 dt_bias) weights become int8
// constants dequantized in place; the conv and SSM states cross the
// function boundary as int8. Scales come from the `mamba.calibration`
// statistics (and `mamba.x_groups` of quamba-sort-cluster); 4-bit codes from
// `mamba.gptq_scales` (quamba-gptq) when present, else round-to-nearest.
//
// The arithmetic of every new op is the reference kernels'
// (runtime/reference/QuantizedKernels.h); this file only decides scales,
// codes and where the (de)quantization points are.
//
//===----------------------------------------------------------------------===//
#include "passes/Quantize.h"
#include "passes/QuantizeWeights.h"
#include "passes/WeightRewrite.h"

#include "dialect/Mamba/IR/MambaOps.h"
#include "runtime/reference/QuantizedKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cmath>

namespace mlir::quamba {
#define GEN_PASS_DEF_QUAMBAQUANTIZE
#include "passes/Passes.h.inc"
} // namespace mlir::quamba

using namespace mlir;
using namespace mlir::quamba;
namespace ref = ::quamba::ref;

namespace {

/// The precision of one block (layer) or of the lm_head.
enum class Precision { W8A8, W4A8, W4A16 };

bool hasInt8Activations(Precision p) { return p != Precision::W4A16; }

/// §6: symmetric 8-bit scale from an absmax, with the observers' floors.
float scaleFromAbsmax(float absmax) {
  return std::max(std::max(absmax, 1e-5f) / 127.0f, 1e-6f);
}

/// What a linear layer is, from where its input comes.
enum class LinearRole { InProj, XProj, DtProj, OutProj };

LinearRole roleOf(mamba::LinearOp op, bool isMamba2) {
  Operation *producer = op.getInput().getDefiningOp();
  if (isa_and_nonnull<mamba::RMSNormOp>(producer))
    return LinearRole::InProj;
  if (isMamba2)
    return LinearRole::OutProj;
  // Mamba1: conv -> x_proj -> split [dt_lr, B, C]; dt_lr -> dt_proj.
  if (isa_and_nonnull<mamba::SplitOp>(producer))
    return LinearRole::DtProj;
  if (auto dequantize = dyn_cast_or_null<mamba::DequantizeOp>(producer))
    producer = dequantize.getInput().getDefiningOp<mamba::QuantizeOp>()
                   ? dequantize.getInput()
                         .getDefiningOp<mamba::QuantizeOp>()
                         .getInput()
                         .getDefiningOp()
                   : nullptr;
  if (isa_and_nonnull<mamba::CausalConv1dOp, mamba::CausalConv1dStepOp>(
          producer))
    return LinearRole::XProj;
  return LinearRole::OutProj;
}

class Quantizer {
public:
  Quantizer(ModuleOp module, mamba::ModelConfigAttr config,
            int64_t groupSize, bool naive)
      : module(module), config(config), builder(module.getContext()),
        groupSize(groupSize), naive(naive) {}

  /// Rewrites `func`; `layers` gives each block's precision, `head` the
  /// embedding's and lm_head's.
  LogicalResult run(func::FuncOp func, ArrayRef<Precision> layers,
                    Precision head);

private:
  // Constants -----------------------------------------------------------------
  Value f32Constant(Location loc, ArrayRef<int64_t> shape,
                    ArrayRef<float> values, StringRef name);
  Value i8Constant(Location loc, ArrayRef<int64_t> shape,
                   ArrayRef<int8_t> values, StringRef name);
  /// A dense_resource constant named after `name` holding `bytes`.
  Value blobConstant(Location loc, RankedTensorType type,
                     ArrayRef<char> bytes, size_t alignment, StringRef name);
  Value scalarScale(Location loc, float scale) {
    return f32Constant(loc, {1}, {scale}, "");
  }

  // Statistics ----------------------------------------------------------------
  FailureOr<float> statistic(Operation *op, StringRef tap, StringRef field);
  FailureOr<std::vector<float>> statisticArray(Operation *op, StringRef tap,
                                               StringRef field);

  // Activations -----------------------------------------------------------------
  /// Inserts quantize + dequantize after `value` and makes every other user
  /// read the dequantized value; returns the quantized value.
  Value fakeQuantize(Value value, Value scales);
  /// The per-tensor scale a value is already quantized with, when it is a
  /// per-tensor dequantize (or a split of one).
  Value perTensorGrid(Value value);

  // Weights ---------------------------------------------------------------------
  FailureOr<std::vector<float>> weightValues(Value weight, Operation *user);
  /// Replaces a float weight operand by int8 codes dequantized with one
  /// scale per row block (`rowBlocks` sizes; empty: one block).
  LogicalResult int8Weight(Operation *op, OpOperand &operand,
                           ArrayRef<int64_t> rowBlocks);

  // Ops -------------------------------------------------------------------------
  LogicalResult embedding(mamba::EmbeddingOp op, Precision p);
  LogicalResult linear(Operation *op, Value input, Value weight, Value bias,
                       Value result, Precision p, LinearRole role);
  LogicalResult conv(Operation *op, Precision p);
  LogicalResult ssd(Operation *op, Precision p);
  LogicalResult selective(Operation *op, Precision p);
  LogicalResult gatedNorm(mamba::GatedRMSNormOp op, Precision p);
  /// int8 state: quantize `state` (a result) or dequantize it (a block
  /// argument of @decode) with `scales`.
  void quantizeStateResult(Value state, Value scales);
  void dequantizeStateArgument(Value state, Value scales);

  /// Row blocks of Mamba2's in_proj ([z, x, B, C, dt]) and conv ([x, B, C]).
  SmallVector<int64_t> inProjBlocks() const;
  SmallVector<int64_t> convBlocks() const;
  /// The conv's per-channel input scales (per-segment absmax of the
  /// calibrated x), tensor<C x f32>.
  FailureOr<std::vector<float>> convInputScales(Operation *op);
  FailureOr<std::vector<float>> ssmStateScales(Operation *op);
  std::string layerName(StringRef what) const {
    return ("layers." + Twine(layer) + "." + what).str();
  }

  ModuleOp module;
  mamba::ModelConfigAttr config;
  OpBuilder builder;
  int64_t groupSize;
  bool naive;
  int64_t layer = -1;
  /// New constants go before this op: the first non-constant op of the
  /// entry block, so they dominate every use.
  Operation *constantsEnd = nullptr;
  /// Resources created so far, by requested name: @prefill and @decode
  /// share them (see blobConstant).
  llvm::StringMap<SmallVector<DenseResourceElementsAttr, 1>> resources;
  /// Quantized linear weights by source resource key and format.
  llvm::StringMap<QuantizedLinearWeight> linearWeights;
};

//===----------------------------------------------------------------------===//
// Constants and statistics
//===----------------------------------------------------------------------===//

/// Below this many elements a constant is inline (`dense<...>`), above it a
/// named `dense_resource` (so text dumps can elide it).
constexpr int64_t kInlineLimit = 64;

Value Quantizer::blobConstant(Location loc, RankedTensorType type,
                              ArrayRef<char> bytes, size_t alignment,
                              StringRef name) {
  // Reuse a resource only if it holds these very bytes: @prefill and
  // @decode quantize the same weights identically, but a tied lm_head (or
  // two weights with one base name) must not get another tensor's codes.
  for (DenseResourceElementsAttr existing : resources[name]) {
    AsmResourceBlob *blob = existing.getRawHandle().getBlob();
    if (existing.getType() == type && blob &&
        blob->getData() == bytes)
      return arith::ConstantOp::create(builder, loc, existing);
  }
  DenseResourceElementsAttr created =
      createBlobWeight(type, name, bytes, alignment);
  resources[name].push_back(created);
  return arith::ConstantOp::create(builder, loc, created);
}

Value Quantizer::f32Constant(Location loc, ArrayRef<int64_t> shape,
                             ArrayRef<float> values, StringRef name) {
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(constantsEnd);
  auto type = RankedTensorType::get(shape, builder.getF32Type());
  if (name.empty() || static_cast<int64_t>(values.size()) <= kInlineLimit)
    return arith::ConstantOp::create(builder,
        loc, DenseElementsAttr::get(type, values));
  return blobConstant(
      loc, type,
      ArrayRef<char>(reinterpret_cast<const char *>(values.data()),
                     values.size() * sizeof(float)),
      alignof(float), name);
}

Value Quantizer::i8Constant(Location loc, ArrayRef<int64_t> shape,
                            ArrayRef<int8_t> values, StringRef name) {
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(constantsEnd);
  auto type = RankedTensorType::get(shape, builder.getIntegerType(8));
  if (static_cast<int64_t>(values.size()) <= kInlineLimit)
    return arith::ConstantOp::create(builder,
        loc, DenseElementsAttr::get(type, values));
  return blobConstant(loc, type,
                      ArrayRef<char>(reinterpret_cast<const char *>(
                                         values.data()),
                                     values.size()),
                      alignof(int8_t), name);
}

FailureOr<float> Quantizer::statistic(Operation *op, StringRef tap,
                                      StringRef field) {
  auto dict = op->getAttrOfType<DictionaryAttr>(
      mamba::MambaDialect::getCalibrationAttrName());
  auto entry = dict ? dict.getAs<DictionaryAttr>(tap) : DictionaryAttr();
  auto value = entry ? entry.getAs<FloatAttr>(field) : FloatAttr();
  if (!value)
    return op->emitOpError("has no calibration statistic '")
           << tap << "." << field << "': run quamba-calibrate first";
  return static_cast<float>(value.getValueAsDouble());
}

FailureOr<std::vector<float>>
Quantizer::statisticArray(Operation *op, StringRef tap, StringRef field) {
  auto dict = op->getAttrOfType<DictionaryAttr>(
      mamba::MambaDialect::getCalibrationAttrName());
  auto entry = dict ? dict.getAs<DictionaryAttr>(tap) : DictionaryAttr();
  auto value = entry ? entry.getAs<ElementsAttr>(field) : ElementsAttr();
  if (!value)
    return op->emitOpError("has no calibration statistic '")
           << tap << "." << field << "': run quamba-calibrate first";
  std::vector<float> values;
  for (APFloat v : value.getValues<APFloat>())
    values.push_back(v.convertToFloat());
  return values;
}

//===----------------------------------------------------------------------===//
// Activations and states
//===----------------------------------------------------------------------===//

Value Quantizer::fakeQuantize(Value value, Value scales) {
  auto type = cast<RankedTensorType>(value.getType());
  auto i8Type = RankedTensorType::get(type.getShape(),
                                      builder.getIntegerType(8));
  auto f32Type = RankedTensorType::get(type.getShape(), builder.getF32Type());
  builder.setInsertionPointAfterValue(value);
  Location loc = value.getLoc();
  Value q = mamba::QuantizeOp::create(builder, loc, i8Type, value, scales);
  Value d = mamba::DequantizeOp::create(builder, loc, f32Type, q, scales);
  value.replaceAllUsesExcept(d, q.getDefiningOp());
  return q;
}

Value Quantizer::perTensorGrid(Value value) {
  if (auto split = value.getDefiningOp<mamba::SplitOp>())
    value = split.getInput();
  auto dequantize = value.getDefiningOp<mamba::DequantizeOp>();
  if (!dequantize)
    return Value();
  auto type = cast<RankedTensorType>(dequantize.getScales().getType());
  return type.getNumElements() == 1 ? dequantize.getScales() : Value();
}

void Quantizer::quantizeStateResult(Value state, Value scales) {
  auto type = cast<RankedTensorType>(state.getType());
  builder.setInsertionPointAfterValue(state);
  auto i8Type =
      RankedTensorType::get(type.getShape(), builder.getIntegerType(8));
  Value q = mamba::QuantizeOp::create(builder, state.getLoc(), i8Type, state,
                                              scales);
  state.replaceAllUsesExcept(q, q.getDefiningOp());
}

void Quantizer::dequantizeStateArgument(Value state, Value scales) {
  auto argument = cast<BlockArgument>(state);
  auto type = cast<RankedTensorType>(state.getType());
  builder.setInsertionPoint(constantsEnd);
  argument.setType(
      RankedTensorType::get(type.getShape(), builder.getIntegerType(8)));
  Value d = mamba::DequantizeOp::create(builder, state.getLoc(), type,
                                                argument, scales);
  argument.replaceAllUsesExcept(d, d.getDefiningOp());
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

FailureOr<std::vector<float>> Quantizer::weightValues(Value weight,
                                                      Operation *user) {
  DenseResourceElementsAttr resource = getResourceWeight(weight);
  if (!resource)
    return user->emitOpError(
        "weights must be arith.constant dense_resource values");
  FailureOr<std::vector<double>> values = readWeight(resource, user);
  if (failed(values))
    return failure();
  return std::vector<float>(values->begin(), values->end());
}

LogicalResult Quantizer::int8Weight(Operation *op, OpOperand &operand,
                                    ArrayRef<int64_t> rowBlocks) {
  DenseResourceElementsAttr resource = getResourceWeight(operand.get());
  FailureOr<std::vector<float>> values = weightValues(operand.get(), op);
  if (failed(values))
    return failure();
  auto type = cast<RankedTensorType>(operand.get().getType());
  int64_t rows = type.getDimSize(0);
  int64_t inner = type.getNumElements() / std::max<int64_t>(rows, 1);
  SmallVector<int64_t> blocks(rowBlocks);
  if (blocks.empty())
    blocks.push_back(rows);
  std::vector<int8_t> codes(values->size());
  std::vector<float> scales(rows);
  int64_t row = 0;
  for (int64_t size : blocks) {
    float s = ref::quantizeWeightInt8PerTensor(
        values->data() + row * inner, size * inner, codes.data() + row * inner);
    // An all-zero block has scale 0; any positive scale dequantizes its zero
    // codes exactly, and mamba.dequantize needs a positive one.
    s = s > 0.0f ? s : 1.0f;
    std::fill(scales.begin() + row, scales.begin() + row + size, s);
    row += size;
  }
  std::string key = resourceBaseName(resource.getRawHandle().getKey()).str();
  builder.setInsertionPoint(op);
  Location loc = operand.get().getLoc();
  Value q = i8Constant(loc, type.getShape(), codes, key + ".int8");
  SmallVector<int64_t> scaleShape(type.getRank(), 1);
  scaleShape[0] = rows;
  bool uniform = llvm::all_equal(scales);
  Value s = uniform ? scalarScale(loc, scales[0])
                    : f32Constant(loc, scaleShape, scales, key + ".scales");
  auto f32Type = RankedTensorType::get(type.getShape(), builder.getF32Type());
  operand.set(mamba::DequantizeOp::create(builder, loc, f32Type, q, s));
  return success();
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

LogicalResult Quantizer::embedding(mamba::EmbeddingOp op, Precision p) {
  DenseResourceElementsAttr resource = getResourceWeight(op.getTable());
  FailureOr<std::vector<float>> values = weightValues(op.getTable(), op);
  if (failed(values))
    return failure();
  auto type = cast<RankedTensorType>(op.getTable().getType());
  int64_t vocab = type.getDimSize(0), dim = type.getDimSize(1);
  int64_t bits = p == Precision::W8A8 ? 8 : 4;
  FailureOr<QuantizedTable> table = quantizeEmbeddingTable(
      *values, vocab, dim, bits, op);
  if (failed(table))
    return failure();
  std::string key = resourceBaseName(resource.getRawHandle().getKey()).str();
  builder.setInsertionPoint(op);
  Location loc = op.getLoc();
  Value codes = i8Constant(loc, {vocab, table->rowBytes}, table->codes,
                           key + (bits == 8 ? ".int8" : ".int4"));
  Value scales = f32Constant(loc, {vocab}, table->scales, key + ".row_scales");
  auto q = mamba::QuantizedEmbeddingOp::create(builder, 
      loc, op.getType(), codes, scales, op.getTokens(),
      builder.getI64IntegerAttr(bits),
      mamba::Int4PackingAttr::get(builder.getContext(),
                                  mamba::Int4Packing::Rows));
  op.getResult().replaceAllUsesWith(q.getResult());
  if (constantsEnd == op.getOperation())
    constantsEnd = q;
  op.erase();
  return success();
}

LogicalResult Quantizer::linear(Operation *op, Value input, Value weight,
                                Value bias, Value result, Precision p,
                                LinearRole role) {
  // Mamba1's dt_proj (K = dt_rank) stays W8A8 in W4A8 and float in W4A16
  // (§5.3, §5.4): Quamba2's 4-bit kernels do not take its shapes.
  if (role == LinearRole::DtProj && p == Precision::W4A16)
    return success();
  Format format = p == Precision::W8A8   ? Format::W8A8
                  : p == Precision::W4A8 ? Format::W4A8
                                         : Format::W4A16;
  if (role == LinearRole::DtProj)
    format = Format::W8A8;
  SmallVector<int64_t> rowBlocks;
  if (format == Format::W8A8 && role == LinearRole::InProj &&
      config.isMamba2() && !naive)
    rowBlocks = inProjBlocks();

  DenseResourceElementsAttr resource = getResourceWeight(weight);
  if (!resource)
    return op->emitOpError(
        "weights must be arith.constant dense_resource values");
  std::string key = resourceBaseName(resource.getRawHandle().getKey()).str();
  // The cache is keyed by the exact resource: distinct resources may share a
  // base name.
  std::string cacheKey =
      (resource.getRawHandle().getKey() + "|" + formatName(format)).str();
  auto cached = linearWeights.find(cacheKey);
  if (cached == linearWeights.end()) {
    FailureOr<std::vector<float>> values = weightValues(weight, op);
    if (failed(values))
      return failure();
    auto type = cast<RankedTensorType>(weight.getType());
    FailureOr<QuantizedLinearWeight> quantized = quantizeLinearWeight(
        *values, type.getDimSize(0), type.getDimSize(1), format, groupSize,
        rowBlocks, op->getAttr(kGptqScalesAttrName), op);
    if (failed(quantized))
      return failure();
    cached = linearWeights.try_emplace(cacheKey, std::move(*quantized)).first;
  }
  const QuantizedLinearWeight &w = cached->second;

  builder.setInsertionPoint(op);
  Location loc = op->getLoc();
  Value codes = i8Constant(loc, w.codesShape, w.codes,
                           key + (format == Format::W8A8 ? ".int8" : ".int4"));
  auto resultType = RankedTensorType::get(
      cast<RankedTensorType>(result.getType()).getShape(),
      builder.getF32Type());
  Value replacement;
  if (format == Format::W4A16) {
    Value groupScales = f32Constant(loc, w.groupScalesShape, w.groupScales,
                                    key + ".group_scales");
    replacement = mamba::LinearW4A16Op::create(builder, 
        loc, resultType, input, codes, groupScales, bias,
        builder.getI64IntegerAttr(w.groupSize),
        mamba::Int4PackingAttr::get(builder.getContext(),
                                    mamba::Int4Packing::Rows));
  } else {
    // int8 input: reuse the codes of an input that is already quantized
    // per tensor; otherwise quantize with the calibrated input absmax.
    Value inputScale = perTensorGrid(input);
    Value q;
    auto i8Type = RankedTensorType::get(
        cast<RankedTensorType>(input.getType()).getShape(),
        builder.getIntegerType(8));
    if (auto dequantize = input.getDefiningOp<mamba::DequantizeOp>();
        dequantize && inputScale) {
      q = dequantize.getInput();
    } else {
      if (!inputScale) {
        FailureOr<float> absmax = statistic(op, "input", "absmax");
        if (failed(absmax))
          return failure();
        inputScale = scalarScale(loc, scaleFromAbsmax(*absmax));
      }
      q = mamba::QuantizeOp::create(builder, loc, i8Type, input, inputScale);
    }
    if (format == Format::W8A8) {
      Value scales = f32Constant(loc, {static_cast<int64_t>(w.channelScales.size())},
                                 w.channelScales, key + ".scales");
      replacement = mamba::LinearW8A8Op::create(builder, 
          loc, resultType, q, inputScale, codes, scales, bias);
    } else {
      Value groupScales = f32Constant(loc, w.groupScalesShape, w.groupScales,
                                      key + ".group_scales");
      Value channelScales =
          f32Constant(loc, {static_cast<int64_t>(w.channelScales.size())},
                      w.channelScales, key + ".channel_scales");
      replacement = mamba::LinearW4A8Op::create(builder, 
          loc, resultType, q, inputScale, codes, groupScales, channelScales,
          bias, builder.getI64IntegerAttr(w.groupSize),
          mamba::Int4PackingAttr::get(builder.getContext(),
                                      mamba::Int4Packing::Rows));
    }
  }
  result.replaceAllUsesWith(replacement);
  // Mamba1 stores in_proj, x_proj and dt_proj outputs as int8, one scale
  // each (§5.3).
  bool int8Output = hasInt8Activations(p) && !config.isMamba2() &&
                    role != LinearRole::OutProj && !isa<mamba::LMHeadOp>(op);
  if (int8Output) {
    FailureOr<float> absmax = statistic(op, "result", "absmax");
    if (failed(absmax))
      return failure();
    builder.setInsertionPointAfterValue(replacement);
    fakeQuantize(replacement, scalarScale(loc, scaleFromAbsmax(*absmax)));
  }
  op->erase();
  return success();
}

SmallVector<int64_t> Quantizer::inProjBlocks() const {
  int64_t e = config.getDInner(),
          gn = config.getNgroups() * config.getDState();
  return {e, e, gn, gn, config.getNheads()};
}

SmallVector<int64_t> Quantizer::convBlocks() const {
  if (!config.isMamba2() || naive)
    return {};
  int64_t gn = config.getNgroups() * config.getDState();
  return {config.getDInner(), gn, gn};
}

FailureOr<std::vector<float>> Quantizer::convInputScales(Operation *op) {
  int64_t channels = config.getConvDim();
  if (naive) {
    FailureOr<float> absmax = statistic(op, "x", "absmax");
    if (failed(absmax))
      return failure();
    return std::vector<float>(channels, scaleFromAbsmax(*absmax));
  }
  FailureOr<std::vector<float>> peak =
      statisticArray(op, "x", "channel_absmax");
  if (failed(peak))
    return failure();
  if (static_cast<int64_t>(peak->size()) != channels)
    return op->emitOpError("calibration 'x.channel_absmax' has ")
           << peak->size() << " entries, the conv has " << channels
           << " channels";
  std::vector<float> scales(channels);
  int64_t start = 0;
  for (int64_t size : convBlocks()) {
    float m = *std::max_element(peak->begin() + start,
                                peak->begin() + start + size);
    std::fill(scales.begin() + start, scales.begin() + start + size,
              scaleFromAbsmax(m));
    start += size;
  }
  return scales;
}

LogicalResult Quantizer::conv(Operation *op, Precision p) {
  if (!hasInt8Activations(p))
    return success();
  bool isStep = isa<mamba::CausalConv1dStepOp>(op);
  Value x = op->getOperand(0);
  Location loc = op->getLoc();
  int64_t channels = config.getConvDim();
  // The input (and so the state, which holds past inputs) is int8: Mamba2
  // per segment of xBC; Mamba1 already on in_proj's output grid.
  Value stateScales;
  if (config.isMamba2()) {
    FailureOr<std::vector<float>> scales = convInputScales(op);
    if (failed(scales))
      return failure();
    builder.setInsertionPoint(op);
    fakeQuantize(x, f32Constant(loc, {channels}, *scales,
                                layerName("conv_input_scales")));
    builder.setInsertionPoint(op);
    stateScales = f32Constant(loc, {channels, 1}, *scales,
                              layerName("conv_state_scales"));
  } else {
    Value grid = perTensorGrid(x);
    if (!grid)
      return op->emitOpError("expected the conv input to be in_proj's int8 "
                             "output (quantize in_proj first)");
    stateScales = grid;
  }
  unsigned weightIndex = isStep ? 2 : 1;
  if (failed(int8Weight(op, op->getOpOperand(weightIndex), convBlocks())))
    return failure();
  if (op->getNumOperands() > weightIndex + 1 &&
      failed(int8Weight(op, op->getOpOperand(weightIndex + 1), convBlocks())))
    return failure();
  if (isStep)
    dequantizeStateArgument(op->getOperand(1), stateScales);
  quantizeStateResult(op->getResult(1), stateScales);

  // Mamba1: the conv output u is the SSM input and x_proj's input, int8
  // per tensor with the percentile scale (§5.3, §6.1).
  if (!config.isMamba2()) {
    FailureOr<float> clip = statistic(op, "y", naive ? "absmax" : "percentile");
    if (failed(clip))
      return failure();
    builder.setInsertionPointAfter(op);
    fakeQuantize(op->getResult(0), scalarScale(loc, scaleFromAbsmax(*clip)));
  }
  return success();
}

FailureOr<std::vector<float>> Quantizer::ssmStateScales(Operation *op) {
  int64_t h = config.getNheads(), pd = config.getHeaddim(),
          n = config.getDState(), g = config.getNgroups();
  auto groups = op->getAttrOfType<DictionaryAttr>("mamba.x_groups");
  std::vector<float> scales(h * pd * n);
  if (!groups || naive) {
    FailureOr<float> clip =
        statistic(op, "state", naive ? "absmax" : "percentile");
    if (failed(clip))
      return failure();
    std::fill(scales.begin(), scales.end(), scaleFromAbsmax(*clip));
    return scales;
  }
  FailureOr<std::vector<float>> peak =
      statisticArray(op, "state", "channel_absmax");
  if (failed(peak))
    return failure();
  auto headEnd = groups.getAs<DenseIntElementsAttr>("head_group_end");
  auto dimEnd = groups.getAs<DenseIntElementsAttr>("dim_group_end");
  if (!headEnd || !dimEnd ||
      static_cast<int64_t>(peak->size()) != h * pd * n)
    return op->emitOpError("malformed 'mamba.x_groups' or state statistics");
  auto heads = llvm::to_vector(headEnd.getValues<int32_t>());
  auto dims = llvm::to_vector(dimEnd.getValues<int32_t>());
  int64_t nHG = headEnd.getType().getDimSize(1);
  int64_t nDG = dimEnd.getType().getDimSize(2);
  int64_t perGroup = h / g;
  // §6.2: absmax per (group, head group, dim group, state index) over the
  // heads and channels of the block; every element gets its block's scale.
  auto blockOf = [&](int64_t head, int64_t channel) {
    int64_t group = head / perGroup, local = head % perGroup;
    int64_t hg = 0;
    while (hg + 1 < nHG && local >= heads[group * nHG + hg])
      ++hg;
    int64_t dg = 0;
    while (dg + 1 < nDG && channel >= dims[(group * nHG + hg) * nDG + dg])
      ++dg;
    return (group * nHG + hg) * nDG + dg;
  };
  std::vector<float> blockMax(g * nHG * nDG * n, 0.0f);
  for (int64_t head = 0; head < h; ++head)
    for (int64_t c = 0; c < pd; ++c) {
      int64_t block = blockOf(head, c);
      for (int64_t s = 0; s < n; ++s)
        blockMax[block * n + s] = std::max(
            blockMax[block * n + s], (*peak)[(head * pd + c) * n + s]);
    }
  for (int64_t head = 0; head < h; ++head)
    for (int64_t c = 0; c < pd; ++c) {
      int64_t block = blockOf(head, c);
      for (int64_t s = 0; s < n; ++s)
        scales[(head * pd + c) * n + s] =
            scaleFromAbsmax(blockMax[block * n + s]);
    }
  return scales;
}

LogicalResult Quantizer::ssd(Operation *op, Precision p) {
  if (!hasInt8Activations(p))
    return success();
  bool isStep = isa<mamba::SSDStepOp>(op);
  Location loc = op->getLoc();
  int64_t e = config.getDInner(), g = config.getNgroups(),
          n = config.getDState();
  builder.setInsertionPoint(op);
  // x: per (group, head group, dim group) from sort-and-cluster (§4.4);
  // without it per tensor with the percentile clip (§6.1).
  std::vector<float> xScales(e);
  auto groups = op->getAttrOfType<DictionaryAttr>("mamba.x_groups");
  if (groups && !naive) {
    auto blockScales = groups.getAs<DenseFPElementsAttr>("scales");
    auto headEnd = groups.getAs<DenseIntElementsAttr>("head_group_end");
    auto dimEnd = groups.getAs<DenseIntElementsAttr>("dim_group_end");
    if (!blockScales || !headEnd || !dimEnd)
      return op->emitOpError("malformed 'mamba.x_groups'");
    auto s = llvm::to_vector(blockScales.getValues<float>());
    auto heads = llvm::to_vector(headEnd.getValues<int32_t>());
    auto dims = llvm::to_vector(dimEnd.getValues<int32_t>());
    int64_t nHG = headEnd.getType().getDimSize(1);
    int64_t nDG = dimEnd.getType().getDimSize(2);
    int64_t h = config.getNheads(), pd = config.getHeaddim(), perGroup = h / g;
    for (int64_t head = 0; head < h; ++head) {
      int64_t group = head / perGroup, local = head % perGroup, hg = 0;
      while (hg + 1 < nHG && local >= heads[group * nHG + hg])
        ++hg;
      for (int64_t c = 0; c < pd; ++c) {
        int64_t dg = 0;
        while (dg + 1 < nDG && c >= dims[(group * nHG + hg) * nDG + dg])
          ++dg;
        xScales[head * pd + c] =
            std::max(s[(group * nHG + hg) * nDG + dg], 1e-6f);
      }
    }
  } else {
    FailureOr<float> clip = statistic(op, "x", naive ? "absmax" : "percentile");
    if (failed(clip))
      return failure();
    std::fill(xScales.begin(), xScales.end(), scaleFromAbsmax(*clip));
  }
  fakeQuantize(op->getOperand(0),
               f32Constant(loc, {e}, xScales, layerName("x_scales")));
  // dt: per tensor (raw, before dt_bias).
  FailureOr<float> dt = statistic(op, "dt", "absmax");
  if (failed(dt))
    return failure();
  builder.setInsertionPoint(op);
  fakeQuantize(op->getOperand(1), scalarScale(loc, scaleFromAbsmax(*dt)));
  // B, C: one scale per SSD group (§6.2), per tensor in the naive recipe.
  static constexpr StringLiteral kGroupedTaps[] = {"B", "C"};
  for (auto [index, tap] : llvm::enumerate(kGroupedTaps)) {
    std::vector<float> scales(g * n);
    if (naive) {
      FailureOr<float> absmax = statistic(op, tap, "absmax");
      if (failed(absmax))
        return failure();
      std::fill(scales.begin(), scales.end(), scaleFromAbsmax(*absmax));
    } else {
      FailureOr<std::vector<float>> peak =
          statisticArray(op, tap, "group_absmax");
      if (failed(peak))
        return failure();
      for (int64_t i = 0; i < g * n; ++i)
        scales[i] = scaleFromAbsmax((*peak)[i / n]);
    }
    builder.setInsertionPoint(op);
    fakeQuantize(op->getOperand(2 + index),
                 f32Constant(loc, {g * n}, scales,
                             layerName(("ssd_" + StringRef(tap) + "_scales").str())));
  }
  // A_log and D: int8 per tensor; dt_bias stays float (§5.1).
  if (failed(int8Weight(op, op->getOpOperand(4), {})) ||
      failed(int8Weight(op, op->getOpOperand(5), {})))
    return failure();
  // The SSM state: int8 per (group, head group, dim group, state index).
  FailureOr<std::vector<float>> stateScales = ssmStateScales(op);
  if (failed(stateScales))
    return failure();
  builder.setInsertionPoint(op);
  Value scales = f32Constant(
      loc, {config.getNheads(), config.getHeaddim(), n}, *stateScales,
      layerName("ssm_state_scales"));
  if (isStep)
    dequantizeStateArgument(op->getOperand(7), scales);
  quantizeStateResult(op->getResult(1), scales);
  return success();
}

LogicalResult Quantizer::selective(Operation *op, Precision p) {
  if (!hasInt8Activations(p))
    return success();
  bool isStep = isa<mamba::SelectiveStepOp>(op);
  // A_log, D and dt_bias: int8 per tensor (§5.3).
  for (unsigned index : {5u, 6u, 7u})
    if (failed(int8Weight(op, op->getOpOperand(index), {})))
      return failure();
  FailureOr<float> clip =
      statistic(op, "state", naive ? "absmax" : "percentile");
  if (failed(clip))
    return failure();
  builder.setInsertionPoint(op);
  Value scales = scalarScale(op->getLoc(), scaleFromAbsmax(*clip));
  if (isStep)
    dequantizeStateArgument(op->getOperand(8), scales);
  quantizeStateResult(op->getResult(1), scales);
  return success();
}

LogicalResult Quantizer::gatedNorm(mamba::GatedRMSNormOp op, Precision p) {
  if (!hasInt8Activations(p))
    return success();
  FailureOr<float> absmax = statistic(op, "z", "absmax");
  if (failed(absmax))
    return failure();
  builder.setInsertionPoint(op);
  fakeQuantize(op.getZ(), scalarScale(op.getLoc(), scaleFromAbsmax(*absmax)));
  return success();
}

LogicalResult Quantizer::run(func::FuncOp func, ArrayRef<Precision> layers,
                             Precision head) {
  layer = -1;
  constantsEnd = &*llvm::find_if(func.getBody().front(), [](Operation &op) {
    return !isa<arith::ConstantOp>(op);
  });
  SmallVector<Operation *> ops;
  for (Operation &op : func.getBody().front())
    if (isa<mamba::MambaDialect>(op.getDialect()))
      ops.push_back(&op);
  for (Operation *op : ops) {
    if (auto norm = dyn_cast<mamba::RMSNormOp>(op)) {
      bool final = llvm::any_of(norm.getOutput().getUsers(), [](Operation *u) {
        return isa<mamba::LMHeadOp>(u);
      });
      if (!final)
        ++layer;
      continue;
    }
    if (layer >= static_cast<int64_t>(layers.size()))
      return op->emitOpError("belongs to layer ")
             << layer << " but the precision plan has " << layers.size()
             << " layers";
    Precision p = layer < 0 ? head : layers[layer];
    LogicalResult result =
        llvm::TypeSwitch<Operation *, LogicalResult>(op)
            .Case([&](mamba::EmbeddingOp op) { return embedding(op, head); })
            .Case([&](mamba::LinearOp op) {
              return linear(op, op.getInput(), op.getWeight(), op.getBias(),
                            op.getResult(), p, roleOf(op, config.isMamba2()));
            })
            .Case([&](mamba::LMHeadOp op) {
              return linear(op, op.getInput(), op.getWeight(), Value(),
                            op.getLogits(), head, LinearRole::OutProj);
            })
            .Case<mamba::CausalConv1dOp, mamba::CausalConv1dStepOp>(
                [&](Operation *op) { return conv(op, p); })
            .Case<mamba::SSDScanOp, mamba::SSDStepOp>(
                [&](Operation *op) { return ssd(op, p); })
            .Case<mamba::SelectiveScanOp, mamba::SelectiveStepOp>(
                [&](Operation *op) { return selective(op, p); })
            .Case([&](mamba::GatedRMSNormOp op) { return gatedNorm(op, p); })
            .Default([](Operation *) { return success(); });
    if (failed(result))
      return failure();
  }
  // The float weights the new ops replaced.
  for (Operation &op : llvm::make_early_inc_range(func.getBody().front()))
    if (isa<arith::ConstantOp>(op) && op.use_empty())
      op.erase();
  // States now cross the boundary as int8: refresh the signature.
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  func.setType(FunctionType::get(func.getContext(),
                                 func.getBody().front().getArgumentTypes(),
                                 ret.getOperandTypes()));
  return success();
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// Per-layer precisions of W4AX from a JSON file: an array of "W4A8" /
/// "W4A16" per layer, or {"layers": [...]}.
FailureOr<SmallVector<Precision>> readLayerPlan(ModuleOp module,
                                                StringRef path,
                                                int64_t nLayer) {
  auto fail = [&](const Twine &message) {
    mlir::emitError(module.getLoc(), "quamba-quantize: '")
        << path << "': " << message;
    return failure();
  };
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return fail("cannot read: " + buffer.getError().message());
  llvm::Expected<llvm::json::Value> parsed =
      llvm::json::parse((*buffer)->getBuffer());
  if (!parsed)
    return fail("invalid JSON: " + llvm::toString(parsed.takeError()));
  const llvm::json::Array *list = parsed->getAsArray();
  if (const llvm::json::Object *object = parsed->getAsObject())
    list = object->getArray("layers");
  if (!list)
    return fail("expected an array of per-layer modes (\"W4A8\" or "
                "\"W4A16\") or {\"layers\": [...]}");
  if (static_cast<int64_t>(list->size()) != nLayer)
    return fail("has " + Twine(list->size()) + " layers, the model has " +
                Twine(nLayer));
  SmallVector<Precision> plan;
  for (auto [i, entry] : llvm::enumerate(*list)) {
    std::optional<StringRef> mode = entry.getAsString();
    std::string lower = mode ? mode->lower() : "";
    if (lower == "w4a8")
      plan.push_back(Precision::W4A8);
    else if (lower == "w4a16")
      plan.push_back(Precision::W4A16);
    else
      return fail("layers[" + Twine(i) + "] must be \"W4A8\" or \"W4A16\"");
  }
  return plan;
}

} // namespace

LogicalResult
mlir::quamba::applyQuantization(ModuleOp module,
                                const QuambaQuantizeOptions &options) {
  auto fail = [&](const Twine &message) {
    mlir::emitError(module.getLoc(), "quamba-quantize: ") << message;
    return failure();
  };
  const std::string &mode = options.mode;
  auto config = module->getAttrOfType<mamba::ModelConfigAttr>(
      mamba::MambaDialect::getConfigAttrName());
  if (!config)
    return fail("the module has no #mamba.config");
  if (options.groupSize <= 0 || options.groupSize % 2 != 0)
    return fail("group-size must be positive and even, got " +
                Twine(options.groupSize));
  int64_t nLayer = config.getNLayer();
  bool hasLayerOptions =
      !options.a16Layers.empty() || !options.layersConfig.empty();
  auto selected = module->getAttrOfType<DenseI64ArrayAttr>(kA16LayersAttrName);
  SmallVector<Precision> layers;
  Precision head;
  if (mode == "w8a8" || mode == "w4a8" || mode == "w4a16") {
    Precision p = mode == "w8a8"   ? Precision::W8A8
                  : mode == "w4a8" ? Precision::W4A8
                                   : Precision::W4A16;
    if (hasLayerOptions)
      return fail("a16-layers and layers-config apply to mode=w4ax only");
    layers.assign(nLayer, p);
    head = p;
  } else if (mode == "w4ax") {
    if (!options.a16Layers.empty() && !options.layersConfig.empty())
      return fail("pass a16-layers or layers-config, not both");
    if (!hasLayerOptions && !selected)
      return fail("mode=w4ax needs a16-layers=<i,j,...>, "
                  "layers-config=<file.json>, or quamba-select-w4ax before "
                  "it");
    if (!options.layersConfig.empty()) {
      FailureOr<SmallVector<Precision>> plan =
          readLayerPlan(module, options.layersConfig, nLayer);
      if (failed(plan))
        return failure();
      layers = std::move(*plan);
    } else {
      ArrayRef<int64_t> a16 = options.a16Layers.empty()
                                  ? selected.asArrayRef()
                                  : ArrayRef<int64_t>(options.a16Layers);
      layers.assign(nLayer, Precision::W4A8);
      for (int64_t index : a16) {
        if (index < 0 || index >= nLayer)
          return fail("a16-layers: layer " + Twine(index) +
                      " does not exist (the model has " + Twine(nLayer) +
                      " layers)");
        layers[index] = Precision::W4A16;
      }
    }
    // §5.6: the hybrid model's lm_head is W4A8 (embedding 4-bit).
    head = Precision::W4A8;
  } else {
    return fail("unknown mode '" + mode +
                "'; expected w8a8, w4a8, w4a16 or w4ax");
  }
  if (options.naive && mode != "w8a8" && mode != "w4a8")
    return fail("naive applies to w8a8 and w4a8 only");

  Quantizer quantizer(module, config, options.groupSize, options.naive);
  for (StringRef name : {"prefill", "decode"}) {
    auto func = module.lookupSymbol<func::FuncOp>(name);
    if (!func || func.isExternal())
      continue;
    if (failed(quantizer.run(func, layers, head)))
      return failure();
  }
  // Statistics have been consumed; the weights they describe are gone.
  module->removeAttr(kA16LayersAttrName);
  module.walk([](Operation *op) {
    op->removeAttr(mamba::MambaDialect::getCalibrationAttrName());
    op->removeAttr("mamba.x_groups");
    op->removeAttr(kGptqScalesAttrName);
  });
  return success();
}

namespace {

struct QuantizePass : mlir::quamba::impl::QuambaQuantizeBase<QuantizePass> {
  using QuambaQuantizeBase::QuambaQuantizeBase;

  void runOnOperation() override {
    QuambaQuantizeOptions options;
    options.mode = mode;
    options.groupSize = groupSize;
    options.a16Layers.assign(a16Layers.begin(), a16Layers.end());
    options.layersConfig = layersConfig;
    options.naive = naive;
    if (failed(applyQuantization(getOperation(), options)))
      signalPassFailure();
  }
};

} // namespace
