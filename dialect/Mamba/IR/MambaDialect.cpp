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
    if (dtRank <= 0)
      return emitError() << "#mamba.config: a mamba1 model needs dt_rank > 0, "
                            "got "
                         << dtRank;
    return success();
  }
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
/// consistent with the model it belongs to.
class ConfigChecker {
public:
  explicit ConfigChecker(ModelConfigAttr config) : config(config) {}

  LogicalResult check(Operation *op) {
    return llvm::TypeSwitch<Operation *, LogicalResult>(op)
        .Case<EmbeddingOp>([&](auto op) {
          return expectDims(op, "table", op.getTable(),
                            {{"vocab_size", config.getVocabSize()},
                             {"d_model", config.getDModel()}});
        })
        .Case<LMHeadOp>([&](auto op) {
          return expectDims(op, "weight", op.getWeight(),
                            {{"vocab_size", config.getVocabSize()},
                             {"d_model", config.getDModel()}});
        })
        .Case<CausalConv1dOp, CausalConv1dStepOp>([&](auto op) {
          return expectDims(op, "weight", op.getWeight(),
                            {{"conv_dim", config.getConvDim()},
                             {"d_conv", config.getDConv()}});
        })
        .Case<SSDScanOp, SSDStepOp>([&](auto op) { return checkSSD(op); })
        .Case<SelectiveScanOp, SelectiveStepOp>([&](auto op) {
          return expectDims(op, "A_log", op.getALog(),
                            {{"d_inner", config.getDInner()},
                             {"d_state", config.getDState()}});
        })
        .Case<GatedRMSNormOp>([&](GatedRMSNormOp op) -> LogicalResult {
          if (!config.isMamba2())
            return op.emitOpError("is a Mamba2 op in a mamba1 model");
          int64_t expected = config.getDInner() / config.getNgroups();
          if (op.getGroupSize() != expected)
            return op.emitOpError()
                   << "group_size " << op.getGroupSize()
                   << " contradicts the model config (d_inner / ngroups = "
                   << config.getDInner() << " / " << config.getNgroups()
                   << " = " << expected << ")";
          return success();
        })
        .Default([](Operation *) { return success(); });
  }

private:
  template <typename OpTy> LogicalResult checkSSD(OpTy op) {
    if (!config.isMamba2())
      return op.emitOpError("is a Mamba2 op in a mamba1 model");
    std::pair<StringRef, int64_t> attrs[] = {
        {"headdim", op.getHeaddim()}, {"ngroups", op.getNgroups()}};
    std::pair<StringRef, int64_t> expected[] = {
        {"headdim", config.getHeaddim()}, {"ngroups", config.getNgroups()}};
    for (auto [attr, want] : llvm::zip(attrs, expected))
      if (attr.second != want.second)
        return op.emitOpError()
               << attr.first << " " << attr.second
               << " contradicts the model config (" << want.first << " = "
               << want.second << ")";
    return expectDims(op, "A_log", op.getALog(),
                      {{"nheads", config.getNheads()}});
  }

  /// `value`'s static dims must equal the config's sizes.
  LogicalResult
  expectDims(Operation *op, StringRef name, Value value,
             ArrayRef<std::pair<StringRef, int64_t>> expected) {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getRank() != static_cast<int64_t>(expected.size()))
      return success(); // the op's own verifier reports rank errors
    for (auto [dim, want] : llvm::enumerate(expected)) {
      int64_t got = type.getDimSize(dim);
      if (!ShapedType::isDynamic(got) && got != want.second)
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
  ConfigChecker checker(config);
  WalkResult result = op->walk([&](Operation *nested) {
    return failed(checker.check(nested)) ? WalkResult::interrupt()
                                         : WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}
