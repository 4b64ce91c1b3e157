//===- CheckpointImporter.cpp - checkpoint -> mamba IR --------------------===//
#include "dialect/Mamba/Import/CheckpointImporter.h"

#include "dialect/Mamba/IR/MambaOps.h"
#include "dialect/Mamba/Import/CheckpointSchema.h"
#include "runtime/ModelConfig.h"
#include "runtime/Safetensors.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <vector>

using namespace mlir;
using namespace mlir::mamba;
using quamba::ModelConfig;
namespace st = quamba::safetensors;

namespace {

llvm::Error importError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// The row-major index [i, j, ...] of element `flat` of `shape`.
std::string elementIndex(llvm::ArrayRef<int64_t> shape, uint64_t flat) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = static_cast<int64_t>(flat % static_cast<uint64_t>(shape[d]));
    flat /= static_cast<uint64_t>(shape[d]);
  }
  return shapeString(index);
}

std::string nonFiniteName(double value) {
  return std::isnan(value) ? "NaN" : value > 0 ? "+inf" : "-inf";
}

//===----------------------------------------------------------------------===//
// Checking the checkpoint against the config
//===----------------------------------------------------------------------===//

struct CheckedWeight {
  st::TensorRef ref;
  ExpectedTensor expected;
};

/// Matches every checkpoint tensor to the schema of `config`: each expected
/// tensor must be present once with the implied shape and a float dtype; no
/// tensor may be left over (it would belong to a model we do not build).
llvm::Expected<std::map<std::string, CheckedWeight>>
checkWeights(const st::Checkpoint &checkpoint, const ModelConfig &config,
             const std::string &dir) {
  // Canonical name -> checkpoint name, rejecting two spellings of one tensor.
  std::map<std::string, std::string> canonical;
  for (const std::string &name : checkpoint.names()) {
    auto [it, inserted] = canonical.emplace(canonicalTensorName(name), name);
    if (!inserted)
      return importError(dir + ": tensors '" + it->second + "' and '" + name +
                         "' are two spellings of the same weight");
  }

  // The config's layer count is checked against the checkpoint before the
  // schema is built: a config claiming 2^30 layers must fail fast.
  std::string lastNorm = layerTensorName(config.nLayer - 1, "norm.weight");
  if (!canonical.count(lastNorm))
    return importError(dir + ": config.json has " +
                       std::to_string(config.nLayer) +
                       " layers, but the checkpoint has no tensor '" +
                       lastNorm + "'");

  std::map<std::string, CheckedWeight> weights;
  for (const ExpectedTensor &expected : expectedTensors(config)) {
    auto found = canonical.find(expected.name);
    if (found == canonical.end())
      return importError(dir + ": missing tensor '" + expected.name +
                         "' (shape " + shapeString(expected.shape) + ")");
    st::TensorRef ref = *checkpoint.find(found->second);
    const st::TensorInfo &info = *ref.info;
    std::vector<int64_t> shape(info.shape.begin(), info.shape.end());
    if (shape != expected.shape)
      return importError(ref.file->path() + ": tensor '" + info.name +
                         "' has shape " + shapeString(shape) +
                         " but config.json implies " +
                         shapeString(expected.shape) + " = " + expected.why);
    if (info.dtype != st::DType::F32 && info.dtype != st::DType::F16 &&
        info.dtype != st::DType::BF16)
      return importError(ref.file->path() + ": tensor '" + info.name +
                         "' has dtype " +
                         std::string(st::dtypeName(info.dtype)) +
                         "; a checkpoint's weights must be F32, F16 or BF16");
    // NaN or infinite weights would poison calibration, the quantization
    // scales and every logit; no Mamba weight is legitimately non-finite.
    if (std::optional<st::NonFinite> bad = st::findNonFinite(info, ref.data()))
      return importError(ref.file->path() + ": tensor '" + info.name + "' has " +
                         std::to_string(bad->count) + " non-finite value" +
                         (bad->count == 1 ? "" : "s") + "; the first is " +
                         nonFiniteName(bad->value) + " at " +
                         elementIndex(shape, bad->first) + " (flat index " +
                         std::to_string(bad->first) +
                         "); a checkpoint's weights must be finite");
    weights.emplace(expected.name, CheckedWeight{ref, expected});
    canonical.erase(found);
  }

  // A tied lm_head may be stored as a second copy (mamba_ssm); it is unused.
  if (config.tieEmbeddings)
    canonical.erase("lm_head.weight");
  if (!canonical.empty()) {
    size_t extra = canonical.size();
    return importError(
        dir + ": unexpected tensor '" + canonical.begin()->second + "' (" +
        std::to_string(extra) + (extra == 1 ? " tensor is" : " tensors are") +
        " not part of a " + std::string(quamba::archName(config.arch)) +
        " model with this config.json)");
  }
  return weights;
}

//===----------------------------------------------------------------------===//
// Weights as dense_resource blobs
//===----------------------------------------------------------------------===//

Type elementType(MLIRContext &context, st::DType dtype) {
  switch (dtype) {
  case st::DType::F16:
    return Float16Type::get(&context);
  case st::DType::BF16:
    return BFloat16Type::get(&context);
  default:
    return Float32Type::get(&context);
  }
}

std::vector<float> upcastToF32(const st::TensorInfo &info, const uint8_t *data) {
  std::vector<float> values(info.numel());
  if (info.dtype == st::DType::F32) {
    std::memcpy(values.data(), data, values.size() * sizeof(float));
    return values;
  }
  const llvm::fltSemantics &semantics = info.dtype == st::DType::F16
                                            ? llvm::APFloat::IEEEhalf()
                                            : llvm::APFloat::BFloat();
  for (size_t i = 0; i < values.size(); ++i) {
    uint16_t bits;
    std::memcpy(&bits, data + 2 * i, sizeof(bits));
    llvm::APFloat value(semantics, llvm::APInt(16, bits));
    bool losesInfo = false;
    value.convert(llvm::APFloat::IEEEsingle(),
                  llvm::APFloat::rmNearestTiesToEven, &losesInfo);
    values[i] = value.convertToFloat();
  }
  return values;
}

/// Creates one DenseResourceElementsAttr per weight. Blobs point into the
/// mapped checkpoint file, which they keep alive; A_log, D and dt_bias are
/// upcast to f32 copies, and misaligned tensors are copied.
class WeightTable {
public:
  WeightTable(MLIRContext &context, std::map<std::string, CheckedWeight> weights)
      : context(context), weights(std::move(weights)) {}

  DenseResourceElementsAttr get(const std::string &name) {
    auto cached = attrs.find(name);
    if (cached != attrs.end())
      return cached->second;
    const CheckedWeight &weight = weights.at(name);
    const st::TensorInfo &info = *weight.ref.info;
    std::vector<int64_t> shape = weight.expected.shape;
    // The depthwise conv weight [C, 1, K] is stored as [C, K]: same bytes.
    if (shape.size() == 3 && shape[1] == 1)
      shape = {shape[0], shape[2]};

    AsmResourceBlob blob;
    Type element;
    if (weight.expected.upcastToF32) {
      element = Float32Type::get(&context);
      blob = HeapAsmResourceBlob::allocateAndCopyInferAlign<float>(
          upcastToF32(info, weight.ref.data()));
    } else {
      element = elementType(context, info.dtype);
      size_t align = st::dtypeBits(info.dtype) / 8;
      llvm::ArrayRef<char> bytes(
          reinterpret_cast<const char *>(weight.ref.data()), info.byteSize());
      if (weight.ref.file->isAligned(info)) {
        std::shared_ptr<const st::File> keepAlive = weight.ref.file;
        blob = UnmanagedAsmResourceBlob::allocateWithAlign(
            bytes, align,
            [keepAlive](void *, size_t, size_t) mutable { keepAlive.reset(); });
      } else {
        blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
            bytes, align, /*dataIsMutable=*/false);
      }
    }
    auto type = RankedTensorType::get(shape, element);
    auto attr = DenseResourceElementsAttr::get(type, name, std::move(blob));
    attrs.emplace(name, attr);
    return attr;
  }

private:
  MLIRContext &context;
  std::map<std::string, CheckedWeight> weights;
  std::map<std::string, DenseResourceElementsAttr> attrs;
};

//===----------------------------------------------------------------------===//
// Building @prefill and @decode
//===----------------------------------------------------------------------===//

enum class Entry { Prefill, Decode };

/// Builds one entry function. Prefill runs a whole prompt from zero state;
/// decode runs one token from the states it is given. Both return the logits
/// followed by each layer's conv state and SSM state.
class EntryBuilder {
public:
  EntryBuilder(OpBuilder &builder, const ModelConfig &config,
               WeightTable &weights, Entry entry)
      : b(builder), config(config), weights(weights), entry(entry),
        f32(builder.getF32Type()) {}

  func::FuncOp build(Location loc) {
    MLIRContext *ctx = b.getContext();
    const int64_t dyn = ShapedType::kDynamic;
    seqLen = entry == Entry::Prefill ? dyn : 1;
    SmallVector<Type> stateTypes;
    for (int64_t l = 0; l < config.nLayer; ++l) {
      stateTypes.push_back(convStateType());
      stateTypes.push_back(ssmStateType());
    }
    SmallVector<Type> inputs = {
        RankedTensorType::get({dyn, seqLen}, b.getI32Type())};
    if (entry == Entry::Decode)
      inputs.append(stateTypes);
    SmallVector<Type> results = {act(config.vocabSize)};
    results.append(stateTypes);

    StringRef name = entry == Entry::Prefill ? "prefill" : "decode";
    auto func = func::FuncOp::create(b, loc, name,
                                     FunctionType::get(ctx, inputs, results));
    Block *body = func.addEntryBlock();
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(body);

    Value tokens = body->getArgument(0);
    Value residual = EmbeddingOp::create(b, loc, act(config.dModel),
                                         weight(loc, "backbone.embeddings.weight"),
                                         tokens);
    Value normed = RMSNormOp::create(
                       b, loc, TypeRange{act(config.dModel)}, residual,
                       weight(loc, layerTensorName(0, "norm.weight")), Value(),
                       epsAttr())
                       .getOutput();
    SmallVector<Value> states;
    for (int64_t l = 0; l < config.nLayer; ++l) {
      Location layerLoc =
          NameLoc::get(b.getStringAttr("backbone.layers." + std::to_string(l)));
      Value convState, ssmState;
      if (entry == Entry::Decode) {
        convState = body->getArgument(1 + 2 * l);
        ssmState = body->getArgument(2 + 2 * l);
      }
      Value mixed = config.arch == quamba::Arch::Mamba2
                        ? buildMamba2Mixer(layerLoc, l, normed, convState, ssmState)
                        : buildMamba1Mixer(layerLoc, l, normed, convState, ssmState);
      states.push_back(convState);
      states.push_back(ssmState);
      std::string nextNorm = l + 1 < config.nLayer
                                 ? layerTensorName(l + 1, "norm.weight")
                                 : "backbone.norm_f.weight";
      auto norm = RMSNormOp::create(
          b, layerLoc, TypeRange{act(config.dModel), act(config.dModel)}, mixed,
          weight(layerLoc, nextNorm), residual, epsAttr());
      normed = norm.getOutput();
      residual = norm.getResidualOut();
    }
    Value lmHead = weight(loc, config.tieEmbeddings ? "backbone.embeddings.weight"
                                                    : "lm_head.weight");
    Value logits =
        LMHeadOp::create(b, loc, act(config.vocabSize), normed, lmHead);
    SmallVector<Value> returned = {logits};
    returned.append(states);
    func::ReturnOp::create(b, loc, returned);
    return func;
  }

private:
  /// An activation [B, L, width] in f32 (L = 1 for decode).
  RankedTensorType act(int64_t width) {
    return RankedTensorType::get({ShapedType::kDynamic, seqLen, width}, f32);
  }
  RankedTensorType convStateType() {
    return RankedTensorType::get(
        {ShapedType::kDynamic, config.convDim(), config.dConv}, f32);
  }
  RankedTensorType ssmStateType() {
    if (config.arch == quamba::Arch::Mamba2)
      return RankedTensorType::get({ShapedType::kDynamic, config.nheads,
                                    config.headdim, config.dState},
                                   f32);
    return RankedTensorType::get(
        {ShapedType::kDynamic, config.dInner, config.dState}, f32);
  }
  FloatAttr epsAttr() { return b.getF64FloatAttr(config.normEps); }

  /// The weight as a constant, created once per function and name.
  Value weight(Location loc, const std::string &name) {
    auto it = constants.find(name);
    if (it != constants.end())
      return it->second;
    // Constants go first in the function, in the order they are first used.
    OpBuilder::InsertionGuard guard(b);
    if (lastConstant)
      b.setInsertionPointAfter(lastConstant);
    else
      b.setInsertionPointToStart(b.getInsertionBlock());
    auto constant = arith::ConstantOp::create(b, loc, weights.get(name));
    lastConstant = constant;
    constants.emplace(name, constant);
    return constant;
  }
  Value layerWeight(Location loc, int64_t layer, const char *suffix) {
    return weight(loc, layerTensorName(layer, suffix));
  }
  Value optionalLayerWeight(Location loc, int64_t layer, const char *suffix,
                            bool present) {
    return present ? layerWeight(loc, layer, suffix) : Value();
  }

  Value linear(Location loc, Value input, int64_t layer, const char *weightName,
               const char *biasName, bool hasBias, int64_t outFeatures) {
    // Sequenced, so constants appear in the same order with every compiler.
    Value weightValue = layerWeight(loc, layer, weightName);
    Value biasValue = optionalLayerWeight(loc, layer, biasName, hasBias);
    return LinearOp::create(b, loc, act(outFeatures), input, weightValue,
                            biasValue);
  }

  SmallVector<Value> split(Location loc, Value input, ArrayRef<int64_t> sizes) {
    SmallVector<Type> types;
    for (int64_t size : sizes)
      types.push_back(act(size));
    return SplitOp::create(b, loc, types, input, sizes).getResults();
  }

  /// Conv over `x` (prefill) or one step from `state` (decode), with SiLU.
  /// Sets `state` to the conv state after the call.
  Value conv(Location loc, int64_t layer, Value x, Value &state) {
    Value w = layerWeight(loc, layer, "mixer.conv1d.weight");
    Value bias = optionalLayerWeight(loc, layer, "mixer.conv1d.bias",
                                     config.useConvBias);
    RankedTensorType yType = act(config.convDim());
    if (entry == Entry::Prefill) {
      auto op = CausalConv1dOp::create(b, loc, yType, convStateType(), x, w,
                                       bias, /*silu=*/true);
      state = op.getState();
      return op.getY();
    }
    auto op = CausalConv1dStepOp::create(b, loc, yType, convStateType(), x,
                                         state, w, bias, /*silu=*/true);
    state = op.getNewState();
    return op.getY();
  }

  Value buildMamba2Mixer(Location loc, int64_t l, Value u, Value &convState,
                         Value &ssmState) {
    const int64_t e = config.dInner, gn = config.ngroups * config.dState;
    Value zxbcdt = linear(loc, u, l, "mixer.in_proj.weight",
                          "mixer.in_proj.bias", config.useBias,
                          config.inProjRows());
    SmallVector<Value> zxdt = split(loc, zxbcdt, {e, config.convDim(), config.nheads});
    Value xbc = conv(loc, l, zxdt[1], convState);
    SmallVector<Value> xBC = split(loc, xbc, {e, gn, gn});
    Value aLog = layerWeight(loc, l, "mixer.A_log");
    Value d = layerWeight(loc, l, "mixer.D");
    Value dtBias = layerWeight(loc, l, "mixer.dt_bias");
    Value y;
    if (entry == Entry::Prefill) {
      FloatAttr dtMax = std::isinf(config.dtLimitMax)
                            ? FloatAttr()
                            : b.getF64FloatAttr(config.dtLimitMax);
      auto scan = SSDScanOp::create(
          b, loc, act(e), ssmStateType(), xBC[0], zxdt[2], xBC[1], xBC[2], aLog,
          d, dtBias, b.getI64IntegerAttr(config.headdim),
          b.getI64IntegerAttr(config.ngroups),
          b.getI64IntegerAttr(config.chunkSize),
          b.getF64FloatAttr(config.dtLimitMin), dtMax);
      y = scan.getY();
      ssmState = scan.getState();
    } else {
      auto step = SSDStepOp::create(
          b, loc, act(e), ssmStateType(), xBC[0], zxdt[2], xBC[1], xBC[2], aLog,
          d, dtBias, ssmState, b.getI64IntegerAttr(config.headdim),
          b.getI64IntegerAttr(config.ngroups));
      y = step.getY();
      ssmState = step.getNewState();
    }
    Value gated = GatedRMSNormOp::create(
        b, loc, act(e), y, zxdt[0], layerWeight(loc, l, "mixer.norm.weight"),
        b.getI64IntegerAttr(e / config.ngroups), epsAttr());
    return linear(loc, gated, l, "mixer.out_proj.weight", "mixer.out_proj.bias",
                  config.useBias, config.dModel);
  }

  Value buildMamba1Mixer(Location loc, int64_t l, Value u, Value &convState,
                         Value &ssmState) {
    const int64_t e = config.dInner, n = config.dState, r = config.dtRank;
    Value xz = linear(loc, u, l, "mixer.in_proj.weight", "mixer.in_proj.bias",
                      config.useBias, 2 * e);
    SmallVector<Value> xzParts = split(loc, xz, {e, e});
    Value xc = conv(loc, l, xzParts[0], convState);
    Value xdbl = linear(loc, xc, l, "mixer.x_proj.weight", nullptr, false,
                        r + 2 * n);
    SmallVector<Value> dtBC = split(loc, xdbl, {r, n, n});
    // mamba_ssm applies dt_proj without its bias and adds the bias inside the
    // scan (delta_bias); the scan op takes it as dt_bias.
    Value dt = linear(loc, dtBC[0], l, "mixer.dt_proj.weight", nullptr, false, e);
    Value aLog = layerWeight(loc, l, "mixer.A_log");
    Value d = layerWeight(loc, l, "mixer.D");
    Value dtBias = layerWeight(loc, l, "mixer.dt_proj.bias");
    Value y;
    if (entry == Entry::Prefill) {
      auto scan = SelectiveScanOp::create(b, loc, act(e), ssmStateType(), xc,
                                          dt, dtBC[1], dtBC[2], xzParts[1],
                                          aLog, d, dtBias);
      y = scan.getY();
      ssmState = scan.getState();
    } else {
      auto step = SelectiveStepOp::create(b, loc, act(e), ssmStateType(), xc,
                                          dt, dtBC[1], dtBC[2], xzParts[1],
                                          aLog, d, dtBias, ssmState);
      y = step.getY();
      ssmState = step.getNewState();
    }
    return linear(loc, y, l, "mixer.out_proj.weight", "mixer.out_proj.bias",
                  config.useBias, config.dModel);
  }

  OpBuilder &b;
  const ModelConfig &config;
  WeightTable &weights;
  Entry entry;
  Type f32;
  int64_t seqLen = 1;
  std::map<std::string, Value> constants;
  Operation *lastConstant = nullptr;
};

ModelConfigAttr configAttr(MLIRContext &context, const ModelConfig &c) {
  bool m2 = c.arch == quamba::Arch::Mamba2;
  return ModelConfigAttr::get(
      &context, m2 ? mamba::Arch::mamba2 : mamba::Arch::mamba1, c.dModel,
      c.nLayer, c.vocabSize, c.dState, c.dConv, c.expand, c.dInner,
      m2 ? 0 : c.dtRank, m2 ? c.headdim : 0, m2 ? c.nheads : 0,
      m2 ? c.ngroups : 0, m2 ? c.chunkSize : 0, c.tieEmbeddings);
}

} // namespace

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::mamba::importCheckpoint(MLIRContext &context, llvm::StringRef dir) {
  context.loadDialect<MambaDialect, func::FuncDialect, arith::ArithDialect>();

  if (!llvm::sys::fs::is_directory(dir))
    return importError(dir + ": not a checkpoint directory");
  llvm::SmallString<256> configPath(dir);
  llvm::sys::path::append(configPath, "config.json");
  quamba::Result<ModelConfig> config =
      quamba::loadModelConfig(configPath.str().str());
  if (!config)
    return importError(config.error());

  quamba::Result<st::Checkpoint> checkpoint = st::Checkpoint::open(dir.str());
  if (!checkpoint)
    return importError(checkpoint.error());
  auto weights = checkWeights(*checkpoint, *config, dir.str());
  if (!weights)
    return weights.takeError();

  WeightTable table(context, std::move(*weights));
  Location loc = NameLoc::get(StringAttr::get(&context, "model"));
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  (*module)->setAttr(MambaDialect::getConfigAttrName(),
                     configAttr(context, *config));
  OpBuilder builder(module->getBodyRegion());
  for (Entry entry : {Entry::Prefill, Entry::Decode})
    EntryBuilder(builder, *config, table, entry).build(loc);
  if (failed(verify(*module)))
    return importError(dir + ": the imported model does not verify "
                             "(a quamba bug: please report it)");
  return module;
}
