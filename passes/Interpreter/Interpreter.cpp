//===- Interpreter.cpp - run mamba IR on the CPU --------------------------===//
#include "passes/Interpreter/Interpreter.h"

#include "dialect/Mamba/IR/MambaOps.h"
#include "runtime/Float16.h"
#include "runtime/reference/FloatSemantics.h"
#include "runtime/reference/Kernels.h"
#include "runtime/reference/QuantizedKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

using namespace mlir;
using namespace mlir::quamba;
namespace ref = ::quamba::ref;

HostTensor HostTensor::floats(std::vector<int64_t> shape) {
  HostTensor t;
  t.shape = std::move(shape);
  t.values.assign(t.numel(), 0.0f);
  return t;
}

HostTensor HostTensor::tokens(std::vector<int64_t> shape,
                              std::vector<int32_t> ids) {
  HostTensor t;
  t.shape = std::move(shape);
  t.ints = std::move(ids);
  t.isInteger = true;
  return t;
}

HostTensor HostTensor::int8s(std::vector<int64_t> shape) {
  HostTensor t;
  t.shape = std::move(shape);
  t.bytes.assign(t.numel(), 0);
  t.isInt8 = true;
  return t;
}

int64_t HostTensor::numel() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1},
                         std::multiplies<int64_t>());
}

namespace {

llvm::Error opError(Operation *op, const llvm::Twine &message) {
  std::string name = op->getName().getStringRef().str();
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "'" + name + "': " + message);
}

/// The last dimension of a tensor and the number of rows before it.
std::pair<int64_t, int64_t> rowsAndWidth(const HostTensor &t) {
  int64_t width = t.shape.empty() ? 1 : t.shape.back();
  return {width == 0 ? 0 : t.numel() / width, width};
}

/// `shape` with its last dimension replaced.
std::vector<int64_t> withLast(std::vector<int64_t> shape, int64_t last) {
  shape.back() = last;
  return shape;
}

/// The codes of an i8 constant (dense_resource blob or inline dense).
llvm::Expected<HostTensor> int8Values(arith::ConstantOp op,
                                      std::vector<int64_t> shape) {
  HostTensor t = HostTensor::int8s(std::move(shape));
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(op.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return opError(op, "weight '" + resource.getRawHandle().getKey() +
                             "' has no data (elided from this IR?)");
    ArrayRef<char> bytes = blob->getData();
    if (bytes.size() != t.bytes.size())
      return opError(op, "weight '" + resource.getRawHandle().getKey() +
                             "' holds " + std::to_string(bytes.size()) +
                             " bytes, not what its type needs");
    std::memcpy(t.bytes.data(), bytes.data(), bytes.size());
    return t;
  }
  if (auto dense = dyn_cast<DenseIntElementsAttr>(op.getValue())) {
    int64_t i = 0;
    for (const llvm::APInt &value : dense.getValues<llvm::APInt>())
      t.bytes[i++] = static_cast<int8_t>(value.getSExtValue());
    return t;
  }
  return opError(op, "unsupported i8 constant attribute");
}

/// fp32 values of a float constant (dense_resource blob or inline dense).
llvm::Expected<HostTensor> constantValues(arith::ConstantOp op) {
  auto type = cast<RankedTensorType>(op.getType());
  HostTensor t = HostTensor::floats(
      std::vector<int64_t>(type.getShape().begin(), type.getShape().end()));
  Type element = type.getElementType();
  if (element.isInteger(8))
    return int8Values(op, t.shape);
  if (!isa<FloatType>(element))
    return opError(op, "only float and i8 constants are supported, got " +
                           std::to_string(element.getIntOrFloatBitWidth()) +
                           "-bit integers");
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(op.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return opError(op, "weight '" + resource.getRawHandle().getKey() +
                             "' has no data (elided from this IR?)");
    ArrayRef<char> bytes = blob->getData();
    unsigned bits = element.getIntOrFloatBitWidth();
    if (bytes.size() * 8 != static_cast<size_t>(t.numel()) * bits)
      return opError(op, "weight '" + resource.getRawHandle().getKey() +
                             "' holds " + std::to_string(bytes.size()) +
                             " bytes, not what its type needs");
    if (element.isF32()) {
      std::memcpy(t.values.data(), bytes.data(), bytes.size());
      return t;
    }
    // f16 and bf16 widen exactly: bit operations (APFloat per element
    // dominated codegen of billion-weight models).
    if (element.isF16() || element.isBF16()) {
      for (int64_t i = 0; i < t.numel(); ++i) {
        uint16_t raw;
        std::memcpy(&raw, bytes.data() + 2 * i, 2);
        t.values[i] = element.isF16()
                          ? ::quamba::halfToFloat(raw)
                          : ::quamba::ref::bitsFloat(static_cast<uint32_t>(raw) << 16);
      }
      return t;
    }
    const llvm::fltSemantics &semantics =
        cast<FloatType>(element).getFloatSemantics();
    for (int64_t i = 0; i < t.numel(); ++i) {
      uint64_t raw = 0;
      std::memcpy(&raw, bytes.data() + i * bits / 8, bits / 8);
      llvm::APFloat value(semantics, llvm::APInt(bits, raw));
      bool losesInfo = false;
      value.convert(llvm::APFloat::IEEEsingle(),
                    llvm::APFloat::rmNearestTiesToEven, &losesInfo);
      t.values[i] = value.convertToFloat();
    }
    return t;
  }
  if (auto dense = dyn_cast<DenseFPElementsAttr>(op.getValue())) {
    int64_t i = 0;
    for (llvm::APFloat value : dense.getValues<llvm::APFloat>()) {
      bool losesInfo = false;
      value.convert(llvm::APFloat::IEEEsingle(),
                    llvm::APFloat::rmNearestTiesToEven, &losesInfo);
      t.values[i++] = value.convertToFloat();
    }
    return t;
  }
  return opError(op, "unsupported constant attribute");
}

} // namespace

llvm::Expected<HostTensor> mlir::quamba::evaluateConstant(arith::ConstantOp op) {
  return constantValues(op);
}

//===----------------------------------------------------------------------===//
// One function activation
//===----------------------------------------------------------------------===//

class Interpreter::Frame {
public:
  explicit Frame(Interpreter &interpreter) : interpreter(interpreter) {}

  void bind(Value value, HostTensor tensor) {
    env[value] = std::make_shared<const HostTensor>(std::move(tensor));
  }
  const HostTensor &get(Value value) { return *env.at(value); }

  llvm::Expected<std::vector<HostTensor>> runBlock(Block &block) {
    for (Operation &op : block) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        std::vector<HostTensor> results;
        for (Value operand : ret.getOperands())
          results.push_back(get(operand));
        return results;
      }
      if (llvm::Error error = execute(&op))
        return std::move(error);
      if (interpreter.observer && !isa<arith::ConstantOp>(op))
        notify(&op);
    }
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "function body has no func.return");
  }

private:
  void notify(Operation *op) {
    SmallVector<const HostTensor *, 8> operands, results;
    auto lookup = [&](Value value) -> const HostTensor * {
      auto it = env.find(value);
      return it == env.end() ? nullptr : it->second.get();
    };
    for (Value operand : op->getOperands())
      operands.push_back(lookup(operand));
    for (Value result : op->getResults())
      results.push_back(lookup(result));
    interpreter.observer(op, operands, results);
  }

  llvm::Error execute(Operation *op) {
    return llvm::TypeSwitch<Operation *, llvm::Error>(op)
        .Case([&](arith::ConstantOp op) { return constant(op); })
        .Case([&](mamba::EmbeddingOp op) { return embedding(op); })
        .Case([&](mamba::RMSNormOp op) { return rmsNorm(op); })
        .Case([&](mamba::LinearOp op) {
          return linear(op.getInput(), op.getWeight(), op.getBias(),
                        op.getResult());
        })
        .Case([&](mamba::LMHeadOp op) {
          return linear(op.getInput(), op.getWeight(), Value(),
                        op.getLogits());
        })
        .Case([&](mamba::SplitOp op) { return split(op); })
        .Case([&](mamba::CausalConv1dOp op) { return conv(op); })
        .Case([&](mamba::CausalConv1dStepOp op) { return convStep(op); })
        .Case([&](mamba::SSDScanOp op) { return ssdScan(op); })
        .Case([&](mamba::SSDStepOp op) { return ssdStep(op); })
        .Case([&](mamba::SelectiveScanOp op) { return selective(op); })
        .Case([&](mamba::SelectiveStepOp op) { return selective(op); })
        .Case([&](mamba::GatedRMSNormOp op) { return gatedNorm(op); })
        .Case([&](mamba::HadamardOp op) { return hadamard(op); })
        .Case([&](mamba::QuantizeOp op) { return quantize(op); })
        .Case([&](mamba::DequantizeOp op) { return dequantize(op); })
        .Case([&](mamba::LinearW8A8Op op) { return linearW8A8(op); })
        .Case([&](mamba::LinearW4A8Op op) { return linearW4A8(op); })
        .Case([&](mamba::LinearW4A16Op op) { return linearW4A16(op); })
        .Case([&](mamba::QuantizedEmbeddingOp op) {
          return quantizedEmbedding(op);
        })
        .Default([&](Operation *op) {
          return opError(op, "the interpreter does not support this op");
        });
  }

  llvm::Error constant(arith::ConstantOp op) {
    std::string key;
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(op.getValue()))
      key = resource.getRawHandle().getKey().str();
    if (!key.empty()) {
      auto cached = interpreter.weights.find(key);
      if (cached != interpreter.weights.end()) {
        env[op.getResult()] = cached->second;
        return llvm::Error::success();
      }
    }
    auto values = constantValues(op);
    if (!values)
      return values.takeError();
    auto shared = std::make_shared<const HostTensor>(std::move(*values));
    if (!key.empty())
      interpreter.weights[key] = shared;
    env[op.getResult()] = shared;
    return llvm::Error::success();
  }

  llvm::Error embedding(mamba::EmbeddingOp op) {
    const HostTensor &table = get(op.getTable());
    const HostTensor &tokens = get(op.getTokens());
    int64_t vocab = table.shape[0], dim = table.shape[1];
    HostTensor out = HostTensor::floats({tokens.shape[0], tokens.shape[1], dim});
    ::quamba::Status status = ref::embedding(table.values.data(), vocab, dim,
                                             tokens.ints.data(), tokens.numel(),
                                             out.values.data());
    if (!status)
      return opError(op, status.error());
    bind(op.getResult(), std::move(out));
    return llvm::Error::success();
  }

  llvm::Error rmsNorm(mamba::RMSNormOp op) {
    const HostTensor &input = get(op.getInput());
    auto [rows, dim] = rowsAndWidth(input);
    float eps = static_cast<float>(op.getEps().convertToDouble());
    HostTensor out = HostTensor::floats(input.shape);
    const float *weight = get(op.getWeight()).values.data();
    if (!op.getResidual()) {
      ref::rmsNorm(input.values.data(), weight, out.values.data(), rows, dim,
                   eps);
      bind(op.getOutput(), std::move(out));
      return llvm::Error::success();
    }
    HostTensor residual = HostTensor::floats(input.shape);
    ref::addRmsNorm(input.values.data(), get(op.getResidual()).values.data(),
                    weight, out.values.data(), residual.values.data(), rows,
                    dim, eps);
    bind(op.getOutput(), std::move(out));
    bind(op.getResidualOut(), std::move(residual));
    return llvm::Error::success();
  }

  llvm::Error linear(Value inputValue, Value weightValue, Value biasValue,
                     Value result) {
    const HostTensor &input = get(inputValue);
    const HostTensor &weight = get(weightValue);
    auto [rows, in] = rowsAndWidth(input);
    int64_t outFeatures = weight.shape[0];
    HostTensor out = HostTensor::floats(withLast(input.shape, outFeatures));
    ref::linear(input.values.data(), weight.values.data(),
                biasValue ? get(biasValue).values.data() : nullptr,
                out.values.data(), rows, in, outFeatures);
    bind(result, std::move(out));
    return llvm::Error::success();
  }

  llvm::Error split(mamba::SplitOp op) {
    const HostTensor &input = get(op.getInput());
    auto [rows, width] = rowsAndWidth(input);
    int64_t offset = 0;
    for (auto [result, size] : llvm::zip(op.getResults(), op.getSizes())) {
      HostTensor piece = HostTensor::floats(withLast(input.shape, size));
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(&piece.values[r * size],
                    &input.values[r * width + offset], size * sizeof(float));
      offset += size;
      bind(result, std::move(piece));
    }
    return llvm::Error::success();
  }

  llvm::Error conv(mamba::CausalConv1dOp op) {
    const HostTensor &x = get(op.getX());
    const HostTensor &weight = get(op.getWeight());
    int64_t batch = x.shape[0], seqlen = x.shape[1], channels = x.shape[2];
    int64_t kernel = weight.shape[1];
    HostTensor y = HostTensor::floats(x.shape);
    HostTensor state = HostTensor::floats({batch, channels, kernel});
    ref::causalConv1d(x.values.data(), weight.values.data(),
                      op.getBias() ? get(op.getBias()).values.data() : nullptr,
                      y.values.data(), state.values.data(), batch, seqlen,
                      channels, kernel, op.getSilu());
    bind(op.getY(), std::move(y));
    bind(op.getState(), std::move(state));
    return llvm::Error::success();
  }

  llvm::Error convStep(mamba::CausalConv1dStepOp op) {
    const HostTensor &x = get(op.getX());
    const HostTensor &weight = get(op.getWeight());
    HostTensor state = get(op.getState()); // copied: updated in place
    int64_t batch = x.shape[0], channels = x.shape[2], kernel = weight.shape[1];
    if (state.shape[0] != batch)
      return opError(op, "conv state has batch " +
                             std::to_string(state.shape[0]) + ", input has " +
                             std::to_string(batch));
    HostTensor y = HostTensor::floats(x.shape);
    ref::causalConv1dStep(
        x.values.data(), state.values.data(), weight.values.data(),
        op.getBias() ? get(op.getBias()).values.data() : nullptr,
        y.values.data(), batch, channels, kernel, op.getSilu());
    bind(op.getY(), std::move(y));
    bind(op.getNewState(), std::move(state));
    return llvm::Error::success();
  }

  template <typename OpTy> ref::SSDShape ssdShape(OpTy op) {
    const HostTensor &x = get(op.getX());
    const HostTensor &bm = get(op.getB());
    ref::SSDShape shape;
    shape.batch = x.shape[0];
    shape.seqlen = x.shape[1];
    shape.headdim = op.getHeaddim();
    shape.nheads = x.shape[2] / shape.headdim;
    shape.ngroups = op.getNgroups();
    shape.dstate = bm.shape[2] / shape.ngroups;
    shape.dHasHdim = get(op.getD()).shape[0] == x.shape[2];
    return shape;
  }

  llvm::Error ssdScan(mamba::SSDScanOp op) {
    ref::SSDShape shape = ssdShape(op);
    const HostTensor &x = get(op.getX());
    HostTensor y = HostTensor::floats(x.shape);
    HostTensor state = HostTensor::floats(
        {shape.batch, shape.nheads, shape.headdim, shape.dstate});
    float dtMax = op.getDtMax()
                      ? static_cast<float>(op.getDtMax()->convertToDouble())
                      : std::numeric_limits<float>::infinity();
    ref::ssdScan(shape, static_cast<float>(op.getDtMin().convertToDouble()), dtMax,
                 x.values.data(), get(op.getDt()).values.data(),
                 get(op.getB()).values.data(), get(op.getC()).values.data(),
                 get(op.getALog()).values.data(), get(op.getD()).values.data(),
                 get(op.getDtBias()).values.data(), y.values.data(),
                 state.values.data());
    bind(op.getY(), std::move(y));
    bind(op.getState(), std::move(state));
    return llvm::Error::success();
  }

  llvm::Error ssdStep(mamba::SSDStepOp op) {
    ref::SSDShape shape = ssdShape(op);
    const HostTensor &x = get(op.getX());
    HostTensor state = get(op.getState());
    if (state.shape[0] != shape.batch)
      return opError(op, "SSM state has batch " +
                             std::to_string(state.shape[0]) + ", input has " +
                             std::to_string(shape.batch));
    HostTensor y = HostTensor::floats(x.shape);
    ref::ssdStep(shape, x.values.data(), get(op.getDt()).values.data(),
                 get(op.getB()).values.data(), get(op.getC()).values.data(),
                 get(op.getALog()).values.data(), get(op.getD()).values.data(),
                 get(op.getDtBias()).values.data(), state.values.data(),
                 y.values.data());
    bind(op.getY(), std::move(y));
    bind(op.getNewState(), std::move(state));
    return llvm::Error::success();
  }

  /// Mamba1 scan (prefill) and step (decode) share their operands.
  template <typename OpTy> llvm::Error selective(OpTy op) {
    constexpr bool isStep = std::is_same_v<OpTy, mamba::SelectiveStepOp>;
    const HostTensor &x = get(op.getX());
    const HostTensor &aLog = get(op.getALog());
    ref::SelectiveShape shape;
    shape.batch = x.shape[0];
    shape.seqlen = x.shape[1];
    shape.dinner = aLog.shape[0];
    shape.dstate = aLog.shape[1];
    HostTensor y = HostTensor::floats(x.shape);
    const float *args[] = {x.values.data(),
                           get(op.getDt()).values.data(),
                           get(op.getB()).values.data(),
                           get(op.getC()).values.data(),
                           get(op.getZ()).values.data(),
                           aLog.values.data(),
                           get(op.getD()).values.data(),
                           get(op.getDtBias()).values.data()};
    if constexpr (isStep) {
      HostTensor state = get(op.getState());
      if (state.shape[0] != shape.batch)
        return opError(op, "SSM state has batch " +
                               std::to_string(state.shape[0]) +
                               ", input has " + std::to_string(shape.batch));
      ref::selectiveStep(shape, args[0], args[1], args[2], args[3], args[4],
                         args[5], args[6], args[7], state.values.data(),
                         y.values.data());
      bind(op.getNewState(), std::move(state));
    } else {
      HostTensor state =
          HostTensor::floats({shape.batch, shape.dinner, shape.dstate});
      ref::selectiveScan(shape, args[0], args[1], args[2], args[3], args[4],
                         args[5], args[6], args[7], y.values.data(),
                         state.values.data());
      bind(op.getState(), std::move(state));
    }
    bind(op.getY(), std::move(y));
    return llvm::Error::success();
  }

  llvm::Error gatedNorm(mamba::GatedRMSNormOp op) {
    const HostTensor &y = get(op.getY());
    auto [rows, dim] = rowsAndWidth(y);
    HostTensor out = HostTensor::floats(y.shape);
    ref::gatedRmsNorm(y.values.data(), get(op.getZ()).values.data(),
                      get(op.getWeight()).values.data(), out.values.data(),
                      rows, dim, op.getGroupSize(),
                      static_cast<float>(op.getEps().convertToDouble()));
    bind(op.getOutput(), std::move(out));
    return llvm::Error::success();
  }

  llvm::Error hadamard(mamba::HadamardOp op) {
    HostTensor t = get(op.getInput());
    auto [rows, n] = rowsAndWidth(t);
    ::quamba::Status status = ref::hadamard(t.values.data(), rows, n);
    if (!status)
      return opError(op, status.error());
    bind(op.getResult(), std::move(t));
    return llvm::Error::success();
  }

  /// The scales of a quantize / dequantize broadcast to one per element of
  /// the trailing block of `shape` they cover; checks them (positive,
  /// finite).
  llvm::Expected<std::vector<float>>
  broadcastScales(Operation *op, const HostTensor &scales,
                  const std::vector<int64_t> &shape) {
    size_t rank = scales.shape.size();
    if (rank > shape.size())
      return opError(op, "scales have more dimensions than the tensor");
    std::vector<int64_t> block(shape.end() - rank, shape.end());
    ::quamba::Result<std::vector<float>> expanded =
        ref::broadcastScales(scales.values.data(), scales.shape, block);
    if (!expanded)
      return opError(op, expanded.error());
    return expanded.take();
  }

  llvm::Error quantize(mamba::QuantizeOp op) {
    const HostTensor &input = get(op.getInput());
    auto scales = broadcastScales(op, get(op.getScales()), input.shape);
    if (!scales)
      return scales.takeError();
    HostTensor out = HostTensor::int8s(input.shape);
    int64_t inner = static_cast<int64_t>(scales->size());
    if (inner > 0)
      ref::quantizeInt8PerChannel(input.values.data(), scales->data(),
                                  out.bytes.data(), input.numel() / inner,
                                  inner);
    bind(op.getResult(), std::move(out));
    return llvm::Error::success();
  }

  llvm::Error dequantize(mamba::DequantizeOp op) {
    const HostTensor &input = get(op.getInput());
    auto scales = broadcastScales(op, get(op.getScales()), input.shape);
    if (!scales)
      return scales.takeError();
    HostTensor out = HostTensor::floats(input.shape);
    int64_t inner = static_cast<int64_t>(scales->size());
    if (inner > 0)
      ref::dequantizeInt8PerChannel(input.bytes.data(), scales->data(),
                                    out.values.data(), input.numel() / inner,
                                    inner);
    bind(op.getResult(), std::move(out));
    return llvm::Error::success();
  }

  /// Runs a quantized linear kernel `body(rows, in, out, result)` over an
  /// input [..., in] into a result [..., out] and binds it.
  template <typename Body>
  llvm::Error quantizedLinear(Operation *op, const HostTensor &input,
                              int64_t outFeatures, Value result, Body body) {
    auto [rows, in] = rowsAndWidth(input);
    HostTensor out = HostTensor::floats(withLast(input.shape, outFeatures));
    ::quamba::Status status = body(rows, in, out.values.data());
    if (!status)
      return opError(op, status.error());
    bind(result, std::move(out));
    return llvm::Error::success();
  }

  const float *biasOf(Value bias) {
    return bias ? get(bias).values.data() : nullptr;
  }
  static const uint8_t *packedBytes(const HostTensor &t) {
    return reinterpret_cast<const uint8_t *>(t.bytes.data());
  }

  llvm::Error linearW8A8(mamba::LinearW8A8Op op) {
    const HostTensor &input = get(op.getInput());
    const HostTensor &weight = get(op.getWeight());
    float xScale = get(op.getInputScale()).values[0];
    return quantizedLinear(
        op, input, weight.shape[0], op.getResult(),
        [&](int64_t rows, int64_t in, float *out) {
          return ref::linearW8A8(input.bytes.data(), xScale,
                                 weight.bytes.data(),
                                 get(op.getWeightScales()).values.data(),
                                 biasOf(op.getBias()), out, rows, in,
                                 weight.shape[0]);
        });
  }

  llvm::Error linearW4A8(mamba::LinearW4A8Op op) {
    const HostTensor &input = get(op.getInput());
    const HostTensor &weight = get(op.getWeight());
    float xScale = get(op.getInputScale()).values[0];
    return quantizedLinear(
        op, input, weight.shape[0], op.getResult(),
        [&](int64_t rows, int64_t in, float *out) {
          return ref::linearW4A8(
              input.bytes.data(), xScale, packedBytes(weight),
              get(op.getGroupScales()).values.data(),
              get(op.getChannelScales()).values.data(), biasOf(op.getBias()),
              out, rows, in, weight.shape[0], op.getGroupSize());
        });
  }

  llvm::Error linearW4A16(mamba::LinearW4A16Op op) {
    const HostTensor &input = get(op.getInput());
    const HostTensor &weight = get(op.getWeight());
    return quantizedLinear(
        op, input, weight.shape[0], op.getResult(),
        [&](int64_t rows, int64_t in, float *out) {
          return ref::linearW4A16(input.values.data(), packedBytes(weight),
                                  get(op.getGroupScales()).values.data(),
                                  biasOf(op.getBias()), out, rows, in,
                                  weight.shape[0], op.getGroupSize());
        });
  }

  llvm::Error quantizedEmbedding(mamba::QuantizedEmbeddingOp op) {
    const HostTensor &table = get(op.getTable());
    const HostTensor &tokens = get(op.getTokens());
    const float *scales = get(op.getScales()).values.data();
    int64_t vocab = table.shape[0];
    int64_t dim = cast<RankedTensorType>(op.getType()).getDimSize(2);
    HostTensor out =
        HostTensor::floats({tokens.shape[0], tokens.shape[1], dim});
    ::quamba::Status status = ref::quantizedEmbedding(
        table.bytes.data(), scales, vocab, table.shape[1], dim,
        static_cast<int>(op.getBits()), tokens.ints.data(), tokens.numel(), out.values.data());
    if (!status)
      return opError(op, status.error());
    bind(op.getResult(), std::move(out));
    return llvm::Error::success();
  }

  Interpreter &interpreter;
  llvm::DenseMap<Value, std::shared_ptr<const HostTensor>> env;
};

//===----------------------------------------------------------------------===//
// Interpreter
//===----------------------------------------------------------------------===//

Interpreter::Interpreter(ModuleOp module) : module(module) {}
Interpreter::~Interpreter() = default;

/// Checks a runtime argument against the function's declared type.
static llvm::Error checkArgument(func::FuncOp func, unsigned index,
                                 const HostTensor &arg) {
  auto type = cast<RankedTensorType>(func.getArgumentTypes()[index]);
  auto fail = [&](const std::string &what) {
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "@" + func.getSymName().str() + " argument " + std::to_string(index) +
            ": " + what);
  };
  Type element = type.getElementType();
  bool wantsInt8 = element.isInteger(8);
  bool wantsIds = isa<IntegerType>(element) && !wantsInt8;
  auto kind = [](bool ids, bool int8) {
    return std::string(ids ? "token ids" : int8 ? "int8 codes" : "floats");
  };
  if (arg.isInteger != wantsIds || arg.isInt8 != wantsInt8)
    return fail("expected " + kind(wantsIds, wantsInt8) + ", got " +
                kind(arg.isInteger, arg.isInt8));
  if (static_cast<int64_t>(arg.shape.size()) != type.getRank())
    return fail("expected rank " + std::to_string(type.getRank()) + ", got " +
                std::to_string(arg.shape.size()));
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (!type.isDynamicDim(d) && type.getDimSize(d) != arg.shape[d])
      return fail("dimension " + std::to_string(d) + " must be " +
                  std::to_string(type.getDimSize(d)) + ", got " +
                  std::to_string(arg.shape[d]));
  size_t expected = static_cast<size_t>(arg.numel());
  size_t held = arg.isInteger ? arg.ints.size()
                : arg.isInt8  ? arg.bytes.size()
                              : arg.values.size();
  if (held != expected)
    return fail("holds a number of elements that contradicts its shape");
  return llvm::Error::success();
}

llvm::Expected<std::vector<HostTensor>>
Interpreter::run(llvm::StringRef name, std::vector<HostTensor> args) {
  auto func = module.lookupSymbol<func::FuncOp>(name);
  if (!func || func.isExternal())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "the module has no function @" + name);
  if (args.size() != func.getNumArguments())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "@" + name + " takes " + std::to_string(func.getNumArguments()) +
            " arguments, got " + std::to_string(args.size()));
  Frame frame(*this);
  Block &entry = func.getBody().front();
  for (auto [index, arg] : llvm::enumerate(args)) {
    if (llvm::Error error = checkArgument(func, index, arg))
      return std::move(error);
    frame.bind(entry.getArgument(index), std::move(arg));
  }
  return frame.runBlock(entry);
}
