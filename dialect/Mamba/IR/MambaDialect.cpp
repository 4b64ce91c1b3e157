//===- MambaDialect.cpp - the mamba dialect -------------------------------===//
//
// Registration, the #mamba.config attribute, and the module-level check that
// every op agrees with the model configuration.
//
//===----------------------------------------------------------------------===//
#include "dialect/Mamba/IR/MambaDialect.h"
#include "dialect/Mamba/IR/MambaOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::mamba;

#include "dialect/Mamba/IR/MambaOpsDialect.cpp.inc"
#include "dialect/Mamba/IR/MambaOpsEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/Mamba/IR/MambaOpsAttributes.cpp.inc"

void MambaDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialect/Mamba/IR/MambaOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/Mamba/IR/MambaOpsAttributes.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// #mamba.config
//===----------------------------------------------------------------------===//

int64_t ModelConfigAttr::getConvDim() const {
  if (!isMamba2())
    return getDInner();
  return getDInner() + 2 * getNgroups() * getDState();
}

LogicalResult
ModelConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        Arch arch, int64_t dModel, int64_t nLayer,
                        int64_t vocabSize, int64_t dState, int64_t dConv,
                        int64_t expand, int64_t dInner, int64_t dtRank,
                        int64_t headdim, int64_t nheads, int64_t ngroups,
                        int64_t chunkSize, bool tieEmbeddings) {
  std::pair<StringRef, int64_t> sizes[] = {
      {"d_model", dModel}, {"n_layer", nLayer},   {"vocab_size", vocabSize},
      {"d_state", dState}, {"d_conv", dConv},     {"expand", expand},
      {"d_inner", dInner}};
  for (auto [name, value] : sizes)
    if (value <= 0)
      return emitError() << "#mamba.config: " << name
                         << " must be positive, got " << value;
  if (dInner != expand * dModel)
    return emitError() << "#mamba.config: d_inner (" << dInner
                       << ") must equal expand * d_model (" << expand << " * "
                       << dModel << " = " << expand * dModel << ")";
  if (arch == Arch::mamba1) {
    std::pair<StringRef, int64_t> mamba2Only[] = {{"headdim", headdim},
                                                  {"nheads", nheads},
                                                  {"ngroups", ngroups},
                                                  {"chunk_size", chunkSize}};
    for (auto [name, value] : mamba2Only)
      if (value != 0)
        return emitError() << "#mamba.config: a mamba1 model has no " << name
                           << " (got " << value << ")";
    if (dtRank <= 0)
      return emitError() << "#mamba.config: a mamba1 model needs dt_rank > 0, "
                            "got "
                         << dtRank;
    return success();
  }
  if (dtRank != 0)
    return emitError() << "#mamba.config: a mamba2 model has no dt_rank (got "
                       << dtRank << ")";
  std::pair<StringRef, int64_t> mamba2Sizes[] = {{"headdim", headdim},
                                                 {"nheads", nheads},
                                                 {"ngroups", ngroups},
                                                 {"chunk_size", chunkSize}};
  for (auto [name, value] : mamba2Sizes)
    if (value <= 0)
      return emitError() << "#mamba.config: a mamba2 model needs " << name
                         << " > 0, got " << value;
  if (nheads * headdim != dInner)
    return emitError() << "#mamba.config: nheads * headdim (" << nheads
                       << " * " << headdim << " = " << nheads * headdim
                       << ") must equal d_inner (" << dInner << ")";
  if (nheads % ngroups != 0)
    return emitError() << "#mamba.config: ngroups (" << ngroups
                       << ") must divide nheads (" << nheads << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// Ops against the module's config
//===----------------------------------------------------------------------===//

namespace {
/// Checks one op against the model configuration. The per-op verifiers
/// check that an op is consistent with itself; this checks that it is
/// consistent with the model it belongs to. It runs before the nested ops are
/// verified (attribute verifiers run on entry), so it reads attributes and
/// types defensively and leaves malformed ops to their own verifiers.
class ConfigChecker {
public:
  explicit ConfigChecker(ModelConfigAttr config) : config(config) {}

  LogicalResult check(Operation *op) {
    const int64_t d = config.getDModel(), e = config.getDInner();
    const int64_t n = config.getDState();
    return llvm::TypeSwitch<Operation *, LogicalResult>(op)
        .Case<EmbeddingOp>([&](auto op) {
          return expectDims(op, "table", op.getTable(),
                            {{"vocab_size", config.getVocabSize()},
                             {"d_model", d}});
        })
        .Case<LMHeadOp>([&](auto op) {
          return expectDims(op, "weight", op.getWeight(),
                            {{"vocab_size", config.getVocabSize()},
                             {"d_model", d}});
        })
        .Case<RMSNormOp>([&](auto op) {
          return expectDims(op, "weight", op.getWeight(), {{"d_model", d}});
        })
        .Case<CausalConv1dOp, CausalConv1dStepOp>([&](auto op) {
          return expectDims(op, "weight", op.getWeight(),
                            {{"conv_dim", config.getConvDim()},
                             {"d_conv", config.getDConv()}});
        })
        .Case<SSDScanOp, SSDStepOp>([&](auto op) { return checkSSD(op); })
        .Case<SelectiveScanOp, SelectiveStepOp>([&](auto op) -> LogicalResult {
          if (config.isMamba2())
            return op.emitOpError("is a Mamba1 op in a mamba2 model");
          return success(
              succeeded(expectDims(op, "A_log", op.getALog(),
                                   {{"d_inner", e}, {"d_state", n}})) &&
              succeeded(expectDims(op, "state", stateOf(op),
                                   {{"batch", kAny},
                                    {"d_inner", e},
                                    {"d_state", n}})));
        })
        .Case<GatedRMSNormOp>([&](GatedRMSNormOp op) -> LogicalResult {
          if (!config.isMamba2())
            return op.emitOpError("is a Mamba2 op in a mamba1 model");
          auto groupSize = op.getGroupSizeAttr();
          int64_t expected = e / config.getNgroups();
          if (groupSize && groupSize.getInt() != expected)
            return op.emitOpError()
                   << "group_size " << groupSize.getInt()
                   << " contradicts the model config (d_inner / ngroups = "
                   << e << " / " << config.getNgroups() << " = " << expected
                   << ")";
          return expectDims(op, "weight", op.getWeight(), {{"d_inner", e}});
        })
        .Default([](Operation *) { return success(); });
  }

private:
  static constexpr int64_t kAny = ShapedType::kDynamic;

  static Value stateOf(SSDScanOp op) { return op.getState(); }
  static Value stateOf(SSDStepOp op) { return op.getState(); }
  static Value stateOf(SelectiveScanOp op) { return op.getState(); }
  static Value stateOf(SelectiveStepOp op) { return op.getState(); }

  template <typename OpTy> LogicalResult checkSSD(OpTy op) {
    if (!config.isMamba2())
      return op.emitOpError("is a Mamba2 op in a mamba1 model");
    std::pair<StringRef, IntegerAttr> attrs[] = {
        {"headdim", op.getHeaddimAttr()}, {"ngroups", op.getNgroupsAttr()}};
    int64_t expected[] = {config.getHeaddim(), config.getNgroups()};
    for (auto [attr, want] : llvm::zip(attrs, expected))
      if (attr.second && attr.second.getInt() != want)
        return op.emitOpError()
               << attr.first << " " << attr.second.getInt()
               << " contradicts the model config (" << attr.first << " = "
               << want << ")";
    return success(
        succeeded(expectDims(op, "A_log", op.getALog(),
                             {{"nheads", config.getNheads()}})) &&
        succeeded(expectDims(op, "state", stateOf(op),
                             {{"batch", kAny},
                              {"nheads", config.getNheads()},
                              {"headdim", config.getHeaddim()},
                              {"d_state", config.getDState()}})));
  }

  /// `value`'s static dims must equal the config's sizes (kAny: unchecked).
  LogicalResult
  expectDims(Operation *op, StringRef name, Value value,
             ArrayRef<std::pair<StringRef, int64_t>> expected) {
    auto type = dyn_cast_or_null<RankedTensorType>(value ? value.getType()
                                                         : Type());
    if (!type || type.getRank() != static_cast<int64_t>(expected.size()))
      return success(); // the op's own verifier reports rank errors
    for (auto [dim, want] : llvm::enumerate(expected)) {
      int64_t got = type.getDimSize(dim);
      if (want.second != kAny && !ShapedType::isDynamic(got) &&
          got != want.second)
        return op->emitOpError()
               << "'" << name << "' dimension " << dim << " is " << got
               << " but the model config has " << want.first << " = "
               << want.second;
    }
    return success();
  }

  ModelConfigAttr config;
};
} // namespace

LogicalResult MambaDialect::verifyOperationAttribute(Operation *op,
                                                     NamedAttribute attr) {
  if (attr.getName() == getCalibrationAttrName()) {
    if (!isa<DictionaryAttr>(attr.getValue()))
      return op->emitError() << "'" << getCalibrationAttrName()
                             << "' must be a dictionary attribute";
    if (!isa<MambaDialect>(op->getDialect()))
      return op->emitError() << "'" << getCalibrationAttrName()
                             << "' belongs on a mamba dialect op";
    return success();
  }
  if (attr.getName() == "mamba.launch_plan") {
    // quamba-convert-mamba-to-gpu's launch plan (JSON), on the module.
    if (!isa<StringAttr>(attr.getValue()) || !isa<ModuleOp>(op))
      return op->emitError()
             << "'mamba.launch_plan' must be a string attribute on a module";
    return success();
  }
  if (attr.getName() == "mamba.gptq_scales") {
    // quamba-gptq's 4-bit group scales of a linear weight.
    if (!isa<ElementsAttr>(attr.getValue()) ||
        !isa<MambaDialect>(op->getDialect()))
      return op->emitError() << "'mamba.gptq_scales' must be an elements "
                                "attribute on a mamba dialect op";
    return success();
  }
  if (attr.getName() == "mamba.x_groups") {
    // quamba-sort-cluster's x group ranges and scales.
    if (!isa<DictionaryAttr>(attr.getValue()) ||
        !isa<MambaDialect>(op->getDialect()))
      return op->emitError()
             << "'mamba.x_groups' must be a dictionary on a mamba dialect op";
    return success();
  }
  if (attr.getName() == "mamba.a16_layers") {
    // quamba-select-w4ax's choice of W4A16 layers, on the model module.
    if (!isa<DenseI64ArrayAttr>(attr.getValue()) || !isa<ModuleOp>(op))
      return op->emitError() << "'mamba.a16_layers' must be an array<i64> "
                                "on a module";
    return success();
  }
  if (attr.getName() != getConfigAttrName())
    return op->emitError() << "unknown mamba dialect attribute '"
                           << attr.getName().getValue() << "'";
  auto config = dyn_cast<ModelConfigAttr>(attr.getValue());
  if (!config)
    return op->emitError() << "'" << getConfigAttrName()
                           << "' must be a #mamba.config attribute";
  if (!isa<ModuleOp>(op))
    return op->emitError() << "'" << getConfigAttrName()
                           << "' belongs on a builtin.module";
  // A nested module is a model of its own, checked against its own config.
  ConfigChecker checker(config);
  WalkResult result = op->walk<WalkOrder::PreOrder>([&](Operation *nested) {
    if (nested != op && isa<ModuleOp>(nested))
      return WalkResult::skip();
    return failed(checker.check(nested)) ? WalkResult::interrupt()
                                         : WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}
