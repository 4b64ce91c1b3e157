//===- FuseNormGains.cpp - quamba-fuse-norm-gains --------------------------===//
//
// Quamba2 step 1a/1c (reference/quamba2.md §2): fold every RMSNorm gain into
// the projection that reads the norm, set the gain to ones, and untie lm_head
// from the embedding. With unit gains RMSNorm commutes with an orthogonal
// rotation, which quamba-rotate relies on.
//
// In real arithmetic, for a norm n(r) = r / rms(r) followed by a projection:
//   (n(r) ⊙ γ) · Wᵀ = n(r) · (W · diag(γ))ᵀ,
// so W ← W · diag(γ) (scale column k by γ_k) and γ ← 1 is exact. The product
// is computed in double and rounded once into the weight's element type.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/WeightRewrite.h"

#include "dialect/Mamba/IR/MambaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/STLExtras.h"

namespace mlir::quamba {
#define GEN_PASS_DEF_QUAMBAFUSENORMGAINS
#include "passes/Passes.h.inc"
} // namespace mlir::quamba

using namespace mlir;
using namespace mlir::quamba;

namespace {

/// The resource name an untied lm_head gets (uniquified by MLIR if taken).
constexpr StringLiteral kLMHeadWeightName = "lm_head.weight";

/// A projection weight to scale by a norm gain: the projection's resource is
/// read once, however many constants (one per entry function) reference it.
struct GainFold {
  DenseResourceElementsAttr weight;
  DenseResourceElementsAttr gain;
  Operation *anchor; // where diagnostics go
};

/// W · diag(g) for a row-major [rows, cols] W and g of length cols.
std::vector<double> scaleColumns(ArrayRef<double> weight, ArrayRef<double> gain) {
  std::vector<double> out(weight.begin(), weight.end());
  size_t cols = gain.size();
  for (size_t i = 0; i < out.size(); ++i)
    out[i] *= gain[i % cols];
  return out;
}

bool isAllOnes(ArrayRef<double> values) {
  return llvm::all_of(values, [](double v) { return v == 1.0; });
}

struct FuseNormGainsPass
    : quamba::impl::QuambaFuseNormGainsBase<FuseNormGainsPass> {
  void runOnOperation() override;

private:
  LogicalResult collectFolds(ModuleOp module);
  LogicalResult addFold(Operation *projection, Value weightValue,
                        mamba::RMSNormOp norm);
  LogicalResult rewriteWeights(ModuleOp module);
  LogicalResult untieLMHeads(ModuleOp module);
  void markUntied(ModuleOp module);

  /// Projection resource key -> the fold for it (insertion order keeps the
  /// created resource names deterministic).
  llvm::MapVector<StringRef, GainFold> folds;
  /// lm_head ops that read the embedding table (tied), with their gain.
  SmallVector<std::pair<mamba::LMHeadOp, mamba::RMSNormOp>> tiedHeads;
  /// Gains to replace by ones, by resource key.
  llvm::MapVector<StringRef, DenseResourceElementsAttr> gains;
};

/// Finds, for every mamba.rms_norm, the projections that read its output:
/// in_proj `mamba.linear`s (block norms) and `mamba.lm_head` (norm_f). Any
/// other reader would observe the gain, so folding it would change the model.
LogicalResult FuseNormGainsPass::collectFolds(ModuleOp module) {
  llvm::DenseSet<StringRef> tables;
  module.walk([&](mamba::EmbeddingOp embedding) {
    if (auto table = getResourceWeight(embedding.getTable()))
      tables.insert(table.getRawHandle().getKey());
  });

  WalkResult result = module.walk([&](mamba::RMSNormOp norm) -> WalkResult {
    auto gain = getResourceWeight(norm.getWeight());
    if (!gain)
      return norm.emitOpError("gain is not a dense_resource constant");
    gains.insert({gain.getRawHandle().getKey(), gain});
    for (OpOperand &use : norm.getOutput().getUses()) {
      Operation *user = use.getOwner();
      auto linear = dyn_cast<mamba::LinearOp>(user);
      auto head = dyn_cast<mamba::LMHeadOp>(user);
      if (!(linear && use.getOperandNumber() == 0) &&
          !(head && use.getOperandNumber() == 0))
        return norm.emitOpError("output feeds '")
               << user->getName()
               << "', which its gain cannot be folded into (expected the "
                  "input of a mamba.linear or mamba.lm_head)";
      if (head) {
        auto weight = getResourceWeight(head.getWeight());
        if (weight && tables.contains(weight.getRawHandle().getKey())) {
          tiedHeads.push_back({head, norm});
          continue;
        }
        if (failed(addFold(head, head.getWeight(), norm)))
          return WalkResult::interrupt();
        continue;
      }
      if (failed(addFold(linear, linear.getWeight(), norm)))
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

LogicalResult FuseNormGainsPass::addFold(Operation *projection,
                                         Value weightValue,
                                         mamba::RMSNormOp norm) {
  auto weight = getResourceWeight(weightValue);
  if (!weight)
    return projection->emitOpError("weight is not a dense_resource constant");
  auto gain = getResourceWeight(norm.getWeight());
  ArrayRef<int64_t> shape = weight.getType().getShape();
  if (shape.size() != 2 || shape[1] != gain.getType().getNumElements())
    return projection->emitOpError("weight shape does not match the gain");
  auto [it, inserted] =
      folds.insert({weight.getRawHandle().getKey(), {weight, gain, projection}});
  if (!inserted && it->second.gain != gain)
    return projection->emitOpError("weight '")
           << weight.getRawHandle().getKey()
           << "' is shared by projections behind different norm gains";
  return success();
}

/// W ← W · diag(γ) for every fold, each as a new resource; then every gain
/// becomes a ones vector. Constants in both entry functions are redirected.
LogicalResult FuseNormGainsPass::rewriteWeights(ModuleOp module) {
  llvm::StringMap<DenseResourceElementsAttr> replacements;
  for (auto &[key, fold] : folds) {
    FailureOr<std::vector<double>> weight = readWeight(fold.weight, fold.anchor);
    FailureOr<std::vector<double>> gain = readWeight(fold.gain, fold.anchor);
    if (failed(weight) || failed(gain))
      return failure();
    if (isAllOnes(*gain))
      continue; // Already folded: keep the resource.
    replacements[key] = createWeight(fold.weight.getType(), key,
                                     scaleColumns(*weight, *gain));
  }
  for (auto &[key, gain] : gains) {
    FailureOr<std::vector<double>> values = readWeight(gain, module);
    if (failed(values))
      return failure();
    if (isAllOnes(*values))
      continue;
    replacements[key] = createWeight(
        gain.getType(), key, std::vector<double>(values->size(), 1.0));
  }
  redirectConstants(module, replacements);
  return success();
}

/// A tied lm_head reads the embedding's constant. It gets its own resource
/// `lm_head.weight` = E · diag(g_f), created once and read by a new constant
/// next to each tied lm_head (one per entry function); the embedding keeps E.
/// Runs before rewriteWeights so that it reads the original gains.
LogicalResult FuseNormGainsPass::untieLMHeads(ModuleOp module) {
  DenseMap<std::pair<Attribute, Attribute>, DenseResourceElementsAttr> created;
  for (auto [head, norm] : tiedHeads) {
    auto table = getResourceWeight(head.getWeight());
    auto gain = getResourceWeight(norm.getWeight());
    DenseResourceElementsAttr &untied = created[{table, gain}];
    if (!untied) {
      FailureOr<std::vector<double>> weight = readWeight(table, head);
      FailureOr<std::vector<double>> gainValues = readWeight(gain, norm);
      if (failed(weight) || failed(gainValues))
        return failure();
      if (table.getType().getShape().back() !=
          static_cast<int64_t>(gainValues->size()))
        return head.emitOpError("weight shape does not match the gain");
      untied = createWeight(table.getType(), kLMHeadWeightName,
                            scaleColumns(*weight, *gainValues));
    }
    OpBuilder builder(head);
    auto constant =
        arith::ConstantOp::create(builder, head.getLoc(), cast<TypedAttr>(untied));
    head.getWeightMutable().assign(constant);
  }
  return success();
}

/// Rebuilds #mamba.config with tie_embeddings = false.
void FuseNormGainsPass::markUntied(ModuleOp module) {
  auto config = module->getAttrOfType<mamba::ModelConfigAttr>(
      mamba::MambaDialect::getConfigAttrName());
  if (!config || !config.getTieEmbeddings())
    return;
  module->setAttr(
      mamba::MambaDialect::getConfigAttrName(),
      mamba::ModelConfigAttr::get(
          config.getContext(), config.getArch(), config.getDModel(),
          config.getNLayer(), config.getVocabSize(), config.getDState(),
          config.getDConv(), config.getExpand(), config.getDInner(),
          config.getDtRank(), config.getHeaddim(), config.getNheads(),
          config.getNgroups(), config.getChunkSize(),
          /*tie_embeddings=*/false));
}

void FuseNormGainsPass::runOnOperation() {
  ModuleOp module = getOperation();
  folds.clear();
  tiedHeads.clear();
  gains.clear();
  if (failed(collectFolds(module)) || failed(untieLMHeads(module)) ||
      failed(rewriteWeights(module)))
    return signalPassFailure();
  // A module whose lm_head no longer reads the embedding is untied, whether
  // this run untied it or it was never tied.
  markUntied(module);
}

} // namespace
