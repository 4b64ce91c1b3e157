//===- Calibrate.cpp - quamba-calibrate -------------------------------------===//
//
// Quamba2's calibration (reference/quamba2.md §4.1, §6, §8): run @prefill on
// windows of calibration text through the CPU interpreter, observe the
// activations of every mamba op, and attach the statistics as the
// discardable attribute `mamba.calibration` (see Passes.td for the format).
// No weight changes: later passes (sort-and-cluster, quantize) read the
// statistics.
//
//===----------------------------------------------------------------------===//
#include "passes/CalibrationText.h"
#include "passes/Interpreter/Interpreter.h"
#include "passes/Passes.h"

#include "dialect/Mamba/IR/MambaOps.h"
#include "runtime/Progress.h"
#include "runtime/Safetensors.h"
#include "runtime/tokenizer/Tokenizer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace mlir::quamba {
#define GEN_PASS_DEF_QUAMBACALIBRATE
#include "passes/Passes.h.inc"
} // namespace mlir::quamba

using namespace mlir;
using namespace mlir::quamba;

namespace {

/// The observed activations of a mamba op: (ODS name, operand or result
/// index). Empty for ops that are not observed (split, non-mamba ops).
struct Tap {
  StringRef name;
  bool isResult;
  unsigned index;
};

/// Operand index of `value` in `op` (the first use).
unsigned operandIndex(Operation *op, Value value) {
  for (OpOperand &operand : op->getOpOperands())
    if (operand.get() == value)
      return operand.getOperandNumber();
  llvm_unreachable("not an operand");
}

SmallVector<Tap> tapsOf(Operation *op) {
  SmallVector<Tap> taps;
  auto in = [&](StringRef name, Value value) {
    if (value)
      taps.push_back({name, false, operandIndex(op, value)});
  };
  auto out = [&](StringRef name, Value value) {
    if (value)
      taps.push_back(
          {name, true, cast<OpResult>(value).getResultNumber()});
  };
  llvm::TypeSwitch<Operation *>(op)
      .Case([&](mamba::EmbeddingOp op) { out("result", op.getResult()); })
      .Case([&](mamba::RMSNormOp op) {
        in("input", op.getInput());
        in("residual", op.getResidual());
        out("output", op.getOutput());
        out("residual_out", op.getResidualOut());
      })
      .Case([&](mamba::LinearOp op) {
        in("input", op.getInput());
        out("result", op.getResult());
      })
      .Case([&](mamba::LMHeadOp op) {
        in("input", op.getInput());
        out("logits", op.getLogits());
      })
      .Case([&](mamba::CausalConv1dOp op) {
        in("x", op.getX());
        out("y", op.getY());
        out("state", op.getState());
      })
      .Case([&](mamba::SSDScanOp op) {
        in("x", op.getX());
        in("dt", op.getDt());
        in("B", op.getB());
        in("C", op.getC());
        out("y", op.getY());
        out("state", op.getState());
      })
      .Case([&](mamba::SelectiveScanOp op) {
        in("x", op.getX());
        in("dt", op.getDt());
        in("B", op.getB());
        in("C", op.getC());
        in("z", op.getZ());
        out("y", op.getY());
        out("state", op.getState());
      })
      .Case([&](mamba::GatedRMSNormOp op) {
        in("y", op.getY());
        in("z", op.getZ());
        out("output", op.getOutput());
      })
      .Case([&](mamba::HadamardOp op) {
        in("input", op.getInput());
        out("result", op.getResult());
      })
      .Default([](Operation *) {});
  return taps;
}

/// The mamba ops of `func` that carry statistics, in order. For @decode the
/// step ops stand at their prefill counterparts' positions.
SmallVector<Operation *> statisticOps(func::FuncOp func) {
  SmallVector<Operation *> ops;
  for (Operation &op : func.getBody().front())
    if (isa<mamba::MambaDialect>(op.getDialect()) && !isa<mamba::SplitOp>(op))
      ops.push_back(&op);
  return ops;
}

/// The prefill op kind a decode op stands for.
StringRef prefillKind(Operation *op) {
  return llvm::TypeSwitch<Operation *, StringRef>(op)
      .Case([](mamba::CausalConv1dStepOp) {
        return mamba::CausalConv1dOp::getOperationName();
      })
      .Case([](mamba::SSDStepOp) { return mamba::SSDScanOp::getOperationName(); })
      .Case([](mamba::SelectiveStepOp) {
        return mamba::SelectiveScanOp::getOperationName();
      })
      .Default([](Operation *op) { return op->getName().getStringRef(); });
}

/// Running statistics of one activation.
struct ValueStats {
  int64_t count = 0;
  float absmax = 0.0f;
  double percentile = 0.0; // EMA of the per-sample percentiles
  std::vector<float> channelMeanAbs, channelAbsmax, groupAbsmax;
  std::vector<int64_t> channelShape; // shape of channelAbsmax
};

/// The α-quantile (α in [0, 1]) of |v|, interpolating linearly between order
/// statistics (numpy's / torch.quantile's default).
double absQuantile(const std::vector<float> &values, double alpha,
                   std::vector<float> &scratch) {
  if (values.empty())
    return 0.0;
  scratch.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    scratch[i] = std::fabs(values[i]);
  double position = alpha * static_cast<double>(scratch.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(position));
  std::nth_element(scratch.begin(), scratch.begin() + lo, scratch.end());
  double low = scratch[lo];
  if (lo + 1 >= scratch.size())
    return low;
  double high = *std::min_element(scratch.begin() + lo + 1, scratch.end());
  return low + (high - low) * (position - static_cast<double>(lo));
}

/// Max over `into` and `values` element-wise (`into` empty: a copy).
void maxInto(std::vector<float> &into, const std::vector<float> &values) {
  if (into.empty()) {
    into = values;
    return;
  }
  for (size_t i = 0; i < into.size(); ++i)
    into[i] = std::max(into[i], values[i]);
}

struct CalibratePass
    : mlir::quamba::impl::QuambaCalibrateBase<CalibratePass> {
  using QuambaCalibrateBase::QuambaCalibrateBase;
  void runOnOperation() override;

private:
  /// Per prefill op (by position) and tap name: the statistics.
  using OpStats = std::map<std::string, ValueStats>;

  LogicalResult collect(ModuleOp module, func::FuncOp prefill,
                        ArrayRef<Operation *> ops,
                        std::vector<OpStats> &stats);
  void observe(Operation *op, ArrayRef<const HostTensor *> operands,
               ArrayRef<const HostTensor *> results, OpStats &stats);

  std::vector<float> scratch;
};

void CalibratePass::observe(Operation *op,
                            ArrayRef<const HostTensor *> operands,
                            ArrayRef<const HostTensor *> results,
                            OpStats &stats) {
  double alpha = percentile / 100.0;
  for (const Tap &tap : tapsOf(op)) {
    const HostTensor *t =
        tap.isResult ? results[tap.index] : operands[tap.index];
    if (!t || t->isInteger || t->isInt8)
      continue;
    ValueStats &s = stats[tap.name.str()];
    float absmax = 0.0f;
    for (float v : t->values)
      absmax = std::max(absmax, std::fabs(v));
    double q = std::min<double>(absQuantile(t->values, alpha, scratch), absmax);
    s.absmax = s.count == 0 ? absmax : std::max(s.absmax, absmax);
    s.percentile = s.count == 0 ? q : s.percentile + ema * (q - s.percentile);
    ++s.count;

    auto ssd = dyn_cast<mamba::SSDScanOp>(op);
    bool perChannel =
        (tap.name == "x" && isa<mamba::SSDScanOp, mamba::SelectiveScanOp,
                                mamba::CausalConv1dOp>(op)) ||
        (tap.name == "y" && isa<mamba::CausalConv1dOp>(op));
    if (perChannel) {
      // [B, L, E]: mean over the tokens of the (batch-1) sample, per channel.
      int64_t channels = t->shape.back();
      int64_t rows = t->numel() / channels;
      std::vector<double> sum(channels, 0.0);
      std::vector<float> mean(channels), peak(channels, 0.0f);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < channels; ++c) {
          float v = std::fabs(t->values[r * channels + c]);
          sum[c] += v;
          peak[c] = std::max(peak[c], v);
        }
      for (int64_t c = 0; c < channels; ++c)
        mean[c] = static_cast<float>(sum[c] / static_cast<double>(rows));
      maxInto(s.channelMeanAbs, mean);
      maxInto(s.channelAbsmax, peak);
      s.channelShape = {channels};
    } else if (!ssd) {
      continue;
    } else if (tap.name == "B" || tap.name == "C") {
      // [B, L, G * N]: absmax per SSD group.
      int64_t groups = ssd.getNgroups();
      int64_t width = t->shape.back(), dstate = width / groups;
      std::vector<float> peak(groups, 0.0f);
      for (int64_t i = 0; i < t->numel(); ++i) {
        int64_t g = (i % width) / dstate;
        peak[g] = std::max(peak[g], std::fabs(t->values[i]));
      }
      maxInto(s.groupAbsmax, peak);
    } else if (tap.name == "state") {
      // [B, H, P, N]: absmax per (h, p, n) over the batch.
      int64_t per = t->numel() / t->shape[0];
      std::vector<float> peak(per, 0.0f);
      for (int64_t i = 0; i < t->numel(); ++i)
        peak[i % per] = std::max(peak[i % per], std::fabs(t->values[i]));
      maxInto(s.channelAbsmax, peak);
      s.channelShape.assign(t->shape.begin() + 1, t->shape.end());
    }
  }
}

LogicalResult CalibratePass::collect(ModuleOp module, func::FuncOp prefill,
                                     ArrayRef<Operation *> ops,
                                     std::vector<OpStats> &stats) {
  FailureOr<std::vector<std::vector<int32_t>>> windows = calibrationWindows(
      module, prefill, "quamba-calibrate",
      {data, tokenizer, samples, seqlen});
  if (failed(windows))
    return failure();
  llvm::DenseMap<Operation *, size_t> position;
  for (auto [i, op] : llvm::enumerate(ops))
    position[op] = i;
  stats.assign(ops.size(), {});

  Interpreter interpreter(module);
  interpreter.setObserver([&](Operation *op,
                              ArrayRef<const HostTensor *> operands,
                              ArrayRef<const HostTensor *> results) {
    auto it = position.find(op);
    if (it != position.end())
      observe(op, operands, results, stats[it->second]);
  });
  ::quamba::ProgressBar progress("calibrate", samples, "sample");
  for (int64_t i = 0; i < samples; ++i) {
    std::vector<int32_t> window = std::move((*windows)[i]);
    auto out = interpreter.run(
        "prefill", {HostTensor::tokens({1, seqlen}, std::move(window))});
    if (!out)
      return mlir::emitError(prefill.getLoc(), "quamba-calibrate: sample ")
             << i << ": " << llvm::toString(out.takeError());
    progress.update(i + 1);
  }
  progress.finish();
  return success();
}

//===----------------------------------------------------------------------===//
// Attributes and the JSON file
//===----------------------------------------------------------------------===//

DenseElementsAttr floatTensor(MLIRContext *context, ArrayRef<int64_t> shape,
                              ArrayRef<float> values) {
  auto type = RankedTensorType::get(shape, Float32Type::get(context));
  return DenseElementsAttr::get(type, values);
}

DictionaryAttr toAttribute(MLIRContext *context, const std::map<std::string, ValueStats> &stats) {
  Builder b(context);
  SmallVector<NamedAttribute> entries;
  for (const auto &[name, s] : stats) {
    SmallVector<NamedAttribute> fields;
    fields.push_back(b.getNamedAttr("absmax", b.getF32FloatAttr(s.absmax)));
    fields.push_back(b.getNamedAttr(
        "percentile",
        b.getF32FloatAttr(std::min(static_cast<float>(s.percentile), s.absmax))));
    if (!s.channelMeanAbs.empty())
      fields.push_back(b.getNamedAttr(
          "channel_mean_abs",
          floatTensor(context, {static_cast<int64_t>(s.channelMeanAbs.size())},
                      s.channelMeanAbs)));
    if (!s.channelAbsmax.empty())
      fields.push_back(b.getNamedAttr(
          "channel_absmax",
          floatTensor(context, s.channelShape, s.channelAbsmax)));
    if (!s.groupAbsmax.empty())
      fields.push_back(b.getNamedAttr(
          "group_absmax",
          floatTensor(context, {static_cast<int64_t>(s.groupAbsmax.size())},
                      s.groupAbsmax)));
    entries.push_back(b.getNamedAttr(name, b.getDictionaryAttr(fields)));
  }
  return b.getDictionaryAttr(entries);
}

llvm::json::Value toJson(DictionaryAttr dict) {
  llvm::json::Object values;
  for (NamedAttribute entry : dict) {
    llvm::json::Object fields;
    for (NamedAttribute field : cast<DictionaryAttr>(entry.getValue())) {
      if (auto f = dyn_cast<FloatAttr>(field.getValue())) {
        fields[field.getName().str()] = f.getValueAsDouble();
        continue;
      }
      auto dense = cast<DenseElementsAttr>(field.getValue());
      llvm::json::Array shape, data;
      for (int64_t d : dense.getType().getShape())
        shape.push_back(d);
      for (float v : dense.getValues<float>())
        data.push_back(static_cast<double>(v));
      fields[field.getName().str()] =
          llvm::json::Object{{"shape", std::move(shape)},
                             {"values", std::move(data)}};
    }
    values[entry.getName().str()] = std::move(fields);
  }
  return std::move(values);
}

/// The dictionary of one op from its JSON object; errors go to `fail`.
FailureOr<DictionaryAttr> fromJson(MLIRContext *context,
                                   const llvm::json::Object &values,
                                   llvm::function_ref<void(const Twine &)> fail) {
  Builder b(context);
  SmallVector<NamedAttribute> entries;
  for (const auto &entry : values) {
    const llvm::json::Object *fields = entry.second.getAsObject();
    if (!fields) {
      fail("entry '" + entry.first.str() + "' is not an object");
      return failure();
    }
    SmallVector<NamedAttribute> attrs;
    for (const auto &field : *fields) {
      std::string where = entry.first.str() + "." + field.first.str();
      if (std::optional<double> number = field.second.getAsNumber()) {
        attrs.push_back(b.getNamedAttr(
            field.first.str(), b.getF32FloatAttr(static_cast<float>(*number))));
        continue;
      }
      const llvm::json::Object *tensor = field.second.getAsObject();
      const llvm::json::Array *shape = tensor ? tensor->getArray("shape") : nullptr;
      const llvm::json::Array *data = tensor ? tensor->getArray("values") : nullptr;
      if (!shape || !data) {
        fail("'" + where + "' is neither a number nor {shape, values}");
        return failure();
      }
      SmallVector<int64_t> dims;
      int64_t numel = 1;
      for (const llvm::json::Value &d : *shape) {
        std::optional<int64_t> dim = d.getAsInteger();
        if (!dim || *dim < 0) {
          fail("'" + where + "' has a bad shape");
          return failure();
        }
        dims.push_back(*dim);
        numel *= *dim;
      }
      std::vector<float> floats;
      for (const llvm::json::Value &v : *data) {
        std::optional<double> number = v.getAsNumber();
        if (!number) {
          fail("'" + where + "' holds a non-number");
          return failure();
        }
        floats.push_back(static_cast<float>(*number));
      }
      if (static_cast<int64_t>(floats.size()) != numel) {
        fail("'" + where + "' has " + Twine(floats.size()) +
             " values for its shape");
        return failure();
      }
      attrs.push_back(
          b.getNamedAttr(field.first.str(), floatTensor(context, dims, floats)));
    }
    entries.push_back(
        b.getNamedAttr(entry.first.str(), b.getDictionaryAttr(attrs)));
  }
  return b.getDictionaryAttr(entries);
}

LogicalResult saveJson(ModuleOp module, StringRef path,
                       ArrayRef<Operation *> ops,
                       ArrayRef<DictionaryAttr> attrs) {
  llvm::json::Array list;
  for (auto [op, attr] : llvm::zip(ops, attrs))
    list.push_back(llvm::json::Object{
        {"op", op->getName().getStringRef()}, {"values", toJson(attr)}});
  llvm::json::Object root{{"format", "quamba-calibration-v1"},
                          {"ops", std::move(list)}};
  std::string text;
  llvm::raw_string_ostream(text) << llvm::formatv("{0:2}", llvm::json::Value(std::move(root)))
                                 << "\n";
  if (::quamba::Status s = ::quamba::safetensors::writeFileAtomically(path.str(), text); !s)
    return mlir::emitError(module.getLoc(), "quamba-calibrate: cannot write: ") << s.error();
  return success();
}

FailureOr<SmallVector<DictionaryAttr>> loadJson(ModuleOp module, StringRef path,
                                                ArrayRef<Operation *> ops) {
  auto fail = [&](const Twine &message) {
    mlir::emitError(module.getLoc(), "quamba-calibrate: '") << path << "': " << message;
  };
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    fail("cannot read: " + buffer.getError().message());
    return failure();
  }
  llvm::Expected<llvm::json::Value> parsed =
      llvm::json::parse((*buffer)->getBuffer());
  if (!parsed) {
    fail("invalid JSON: " + llvm::toString(parsed.takeError()));
    return failure();
  }
  const llvm::json::Object *root = parsed->getAsObject();
  const llvm::json::Array *list = root ? root->getArray("ops") : nullptr;
  if (!root || root->getString("format") != "quamba-calibration-v1" || !list) {
    fail("not a quamba-calibration-v1 file");
    return failure();
  }
  if (list->size() != ops.size()) {
    fail("has statistics for " + Twine(list->size()) +
         " ops, @prefill has " + Twine(ops.size()) + " mamba ops");
    return failure();
  }
  SmallVector<DictionaryAttr> attrs;
  for (auto [i, entry] : llvm::enumerate(*list)) {
    const llvm::json::Object *object = entry.getAsObject();
    const llvm::json::Object *values = object ? object->getObject("values") : nullptr;
    std::optional<StringRef> name = object ? object->getString("op") : std::nullopt;
    if (!values || !name) {
      fail("ops[" + Twine(i) + "] needs 'op' and 'values'");
      return failure();
    }
    if (*name != ops[i]->getName().getStringRef()) {
      fail("ops[" + Twine(i) + "] is '" + *name + "' but @prefill has '" +
           ops[i]->getName().getStringRef() + "' there");
      return failure();
    }
    FailureOr<DictionaryAttr> attr =
        fromJson(module.getContext(), *values, [&](const Twine &message) {
          fail("ops[" + Twine(i) + "]: " + message);
        });
    if (failed(attr))
      return failure();
    attrs.push_back(*attr);
  }
  return attrs;
}

void CalibratePass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *context = module.getContext();
  auto prefill = module.lookupSymbol<func::FuncOp>("prefill");
  if (!prefill || prefill.isExternal()) {
    mlir::emitError(module.getLoc(), "quamba-calibrate: the module has no @prefill");
    return signalPassFailure();
  }
  if (data.empty() && load.empty()) {
    mlir::emitError(module.getLoc(), "quamba-calibrate: pass data=<calibration text> (or "
                     "load=<statistics.json>)");
    return signalPassFailure();
  }
  if (load.empty() && (samples < 1 || seqlen < 1 || !(percentile > 0.0) ||
                       percentile > 100.0 || !(ema > 0.0) || ema > 1.0)) {
    mlir::emitError(module.getLoc(), "quamba-calibrate: need samples >= 1, seqlen >= 1, "
                     "0 < percentile <= 100 and 0 < ema <= 1");
    return signalPassFailure();
  }

  SmallVector<Operation *> ops = statisticOps(prefill);
  SmallVector<DictionaryAttr> attrs;
  if (!load.empty()) {
    auto loaded = loadJson(module, load, ops);
    if (failed(loaded))
      return signalPassFailure();
    attrs = std::move(*loaded);
  } else {
    std::vector<OpStats> stats;
    if (failed(collect(module, prefill, ops, stats)))
      return signalPassFailure();
    for (const OpStats &s : stats)
      attrs.push_back(toAttribute(context, s));
  }

  // @decode: the same dictionaries at the same positions.
  SmallVector<Operation *> decodeOps;
  if (auto decode = module.lookupSymbol<func::FuncOp>("decode");
      decode && !decode.isExternal()) {
    decodeOps = statisticOps(decode);
    bool matches = decodeOps.size() == ops.size();
    for (size_t i = 0; matches && i < ops.size(); ++i)
      matches = prefillKind(decodeOps[i]) == ops[i]->getName().getStringRef();
    if (!matches) {
      mlir::emitError(decode.getLoc(), "quamba-calibrate: @decode's mamba ops do not "
                       "correspond one to one to @prefill's");
      return signalPassFailure();
    }
  }
  if (!save.empty() && failed(saveJson(module, save, ops, attrs)))
    return signalPassFailure();

  StringRef name = mamba::MambaDialect::getCalibrationAttrName();
  for (auto [i, op] : llvm::enumerate(ops)) {
    op->setAttr(name, attrs[i]);
    if (!decodeOps.empty())
      decodeOps[i]->setAttr(name, attrs[i]);
  }
}

} // namespace
