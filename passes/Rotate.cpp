//===- Rotate.cpp - quamba-rotate -------------------------------------------===//
//
// Quamba2's offline Hadamard rotation of the residual stream plus the online
// Hadamard before out_proj (reference/quamba2.md §3).
//
// Conventions. `mamba.hadamard` and ref::hadamard compute x ← H x for a
// column x, with H = H_n / sqrt(n) orthonormal; for a row vector that is
// x ← x · Hᵀ. Quamba writes the transform as F(v) = v · M, so M = Hᵀ and
// Mᵀ = H (for 40·2^k, H is not symmetric, so the distinction matters). All
// activations below are row vectors; a linear computes x · Wᵀ.
//
//   residual stream   r' = r · M_D                       (embedding: E' = E · M_D)
//   unit-gain norm    n(r') = n(r) · M_D                 (M_D orthogonal)
//   in_proj           n(r) · W_inᵀ = n(r') · (W_in · M_D)ᵀ      → W_in' = W_in · M_D
//   online hadamard   y_H = y · M_E                      (mamba.hadamard on y)
//   out_proj          (y · W_outᵀ + b) · M_D = y_H · (M_Dᵀ · W_out · M_E)ᵀ + b · M_D
//                                           → W_out' = M_Dᵀ · W_out · M_E,  b' = M_Dᵀ b
//   lm_head           n(r) · W_lmᵀ = n(r') · (W_lm · M_D)ᵀ      → W_lm' = W_lm · M_D
//
// Every factor is the forward transform applied to a vector: a row w of W
// becomes w · M = H w (rows of E, W_in, W_lm, W_out; size D or E) and a
// column c of W_out becomes M_Dᵀ c = H c (size D), as does b. So the offline
// rewrite applies exactly the matrices the online op applies, with the same
// index convention, computed in double and rounded once.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/WeightRewrite.h"

#include "dialect/Mamba/IR/MambaOps.h"
#include "runtime/reference/Kernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"

#include <cmath>
#include <map>
#include <memory>

namespace mlir::quamba {
#define GEN_PASS_DEF_QUAMBAROTATE
#include "passes/Passes.h.inc"
} // namespace mlir::quamba

using namespace mlir;
using namespace mlir::quamba;

namespace {

//===----------------------------------------------------------------------===//
// The orthonormal Hadamard transform in double
//===----------------------------------------------------------------------===//

/// x ← H_n x in double, without the 1 / sqrt(n) (callers apply it once per
/// element): ref::hadamardUnnormalized, the double-precision form of the
/// transform that defines mamba.hadamard (runtime/reference/Hadamard.cpp), so
/// the two cannot disagree on H_12 / H_40 or the index convention; this class
/// only gathers strided values (columns) for it.
class HadamardTransform {
public:
  static std::unique_ptr<HadamardTransform> create(int64_t n) {
    if (!::quamba::ref::isHadamardSize(n))
      return nullptr;
    return std::unique_ptr<HadamardTransform>(new HadamardTransform(n));
  }

  /// Applies H_n (unnormalised) to n values spaced `stride` apart.
  void applyUnnormalized(double *x, int64_t stride,
                         std::vector<double> &scratch) const {
    scratch.resize(n);
    for (int64_t i = 0; i < n; ++i)
      scratch[i] = x[i * stride];
    (void)::quamba::ref::hadamardUnnormalized(scratch.data(), n);
    for (int64_t i = 0; i < n; ++i)
      x[i * stride] = scratch[i];
  }

  int64_t size() const { return n; }

private:
  explicit HadamardTransform(int64_t n) : n(n) {}
  int64_t n;
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// How a weight is rotated (see the derivation at the top of the file).
enum class Rotation {
  Rows,       // W · M: every row (embedding, in_proj, lm_head)
  OutProj,    // M_Dᵀ · W · M_E: every row, then every column
  Vector,     // M_Dᵀ b: the out_proj bias
};

struct PlannedRotation {
  DenseResourceElementsAttr weight;
  Rotation rotation;
  Operation *anchor; // where diagnostics go
};

struct RotatePass : mlir::quamba::impl::QuambaRotateBase<RotatePass> {
  void runOnOperation() override;

private:
  LogicalResult checkGainsAreOnes(ModuleOp module);
  LogicalResult collect(ModuleOp module);
  LogicalResult plan(Operation *op, Value weightValue, Rotation rotation);
  const HadamardTransform *getTransform(int64_t n, Operation *anchor,
                                        StringRef what);
  LogicalResult rotateWeights(ModuleOp module);
  void insertOnlineHadamards();

  llvm::MapVector<StringRef, PlannedRotation> rotations;
  SmallVector<mamba::LinearOp> outProjs;
  std::map<int64_t, std::shared_ptr<const HadamardTransform>> transforms;
};

/// RMSNorm commutes with the rotation only when its gain is 1 (§3).
LogicalResult RotatePass::checkGainsAreOnes(ModuleOp module) {
  WalkResult result = module.walk([&](mamba::RMSNormOp norm) -> WalkResult {
    auto gain = getResourceWeight(norm.getWeight());
    if (!gain)
      return norm.emitOpError("gain is not a dense_resource constant");
    FailureOr<std::vector<double>> values = readWeight(gain, norm);
    if (failed(values))
      return WalkResult::interrupt();
    if (!llvm::all_of(*values, [](double v) { return v == 1.0; }))
      return norm.emitOpError("gain '")
             << gain.getRawHandle().getKey()
             << "' is not all ones: run quamba-fuse-norm-gains first";
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

/// Records `rotation` for the weight behind `weightValue`. A resource read
/// by several ops (one per entry function, or a tied lm_head) is rotated
/// once; it must be asked for the same rotation each time.
LogicalResult RotatePass::plan(Operation *op, Value weightValue,
                               Rotation rotation) {
  auto weight = getResourceWeight(weightValue);
  if (!weight)
    return op->emitOpError("weight is not a dense_resource constant");
  auto [it, inserted] = rotations.insert(
      {weight.getRawHandle().getKey(), {weight, rotation, op}});
  if (!inserted && it->second.rotation != rotation)
    return op->emitOpError("weight '")
           << weight.getRawHandle().getKey()
           << "' is read in two places that need different rotations";
  return success();
}

/// Finds the rotated weights from the dataflow: the residual stream is what
/// mamba.embedding and the out_proj linears (those writing an rms_norm's
/// input) produce; in_proj linears and lm_head read rms_norm outputs. Any
/// other reader of the stream would see rotated values, so it is an error.
LogicalResult RotatePass::collect(ModuleOp module) {
  auto checkStreamUsers = [](Operation *producer, Value stream) -> LogicalResult {
    for (Operation *user : stream.getUsers())
      if (!isa<mamba::RMSNormOp>(user))
        return producer->emitOpError("residual stream feeds '")
               << user->getName()
               << "', which does not commute with the rotation";
    return success();
  };

  WalkResult result = module.walk([&](Operation *op) -> WalkResult {
    if (auto embedding = dyn_cast<mamba::EmbeddingOp>(op)) {
      if (failed(checkStreamUsers(op, embedding.getResult())) ||
          failed(plan(op, embedding.getTable(), Rotation::Rows)))
        return WalkResult::interrupt();
    } else if (auto head = dyn_cast<mamba::LMHeadOp>(op)) {
      if (failed(plan(op, head.getWeight(), Rotation::Rows)))
        return WalkResult::interrupt();
    } else if (auto norm = dyn_cast<mamba::RMSNormOp>(op)) {
      if (Value residual = norm.getResidualOut())
        if (failed(checkStreamUsers(op, residual)))
          return WalkResult::interrupt();
    } else if (auto linear = dyn_cast<mamba::LinearOp>(op)) {
      bool readsNorm = linear.getInput().getDefiningOp<mamba::RMSNormOp>();
      bool writesStream =
          llvm::any_of(linear.getResult().getUses(), [](OpOperand &use) {
            return isa<mamba::RMSNormOp>(use.getOwner()) &&
                   use.getOperandNumber() == 0;
          });
      if (readsNorm && writesStream)
        return linear.emitOpError("reads and writes the residual stream");
      if (readsNorm && failed(plan(op, linear.getWeight(), Rotation::Rows)))
        return WalkResult::interrupt();
      if (writesStream) {
        if (failed(checkStreamUsers(op, linear.getResult())) ||
            failed(plan(op, linear.getWeight(), Rotation::OutProj)) ||
            (linear.getBias() &&
             failed(plan(op, linear.getBias(), Rotation::Vector))))
          return WalkResult::interrupt();
        outProjs.push_back(linear);
      }
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

const HadamardTransform *RotatePass::getTransform(int64_t n, Operation *anchor,
                                                  StringRef what) {
  std::shared_ptr<const HadamardTransform> &transform = transforms[n];
  if (!transform)
    transform = HadamardTransform::create(n);
  if (!transform)
    anchor->emitOpError() << what << " " << n
                          << " is not a supported Hadamard size (2^k, 12*2^k "
                             "or 40*2^k)";
  return transform.get();
}

/// Rotates every planned weight once, into a new resource of the same name
/// (uniquified), and redirects the constants of both entry functions.
LogicalResult RotatePass::rotateWeights(ModuleOp module) {
  llvm::StringMap<DenseResourceElementsAttr> replacements;
  std::vector<double> scratch;
  for (auto &[key, planned] : rotations) {
    ShapedType type = planned.weight.getType();
    ArrayRef<int64_t> shape = type.getShape();
    bool isVector = planned.rotation == Rotation::Vector;
    if (shape.size() != (isVector ? 1u : 2u))
      return planned.anchor->emitOpError("weight '")
             << key << "' has rank " << shape.size() << ", expected "
             << (isVector ? 1 : 2);
    FailureOr<std::vector<double>> values =
        readWeight(planned.weight, planned.anchor);
    if (failed(values))
      return failure();
    int64_t rows = isVector ? 1 : shape[0];
    int64_t cols = shape.back();
    StringRef rowSize = planned.rotation == Rotation::OutProj ? "d_inner"
                                                              : "d_model";
    const HadamardTransform *rowTransform =
        getTransform(cols, planned.anchor, rowSize);
    if (!rowTransform)
      return failure();
    // Sign-matrix products first (exact for small integer weights), then
    // one multiplication by the combined 1 / sqrt(n) factors per element.
    int64_t normalizer = cols;
    for (int64_t r = 0; r < rows; ++r)
      rowTransform->applyUnnormalized(values->data() + r * cols, 1, scratch);
    if (planned.rotation == Rotation::OutProj) {
      const HadamardTransform *columnTransform =
          getTransform(rows, planned.anchor, "d_model");
      if (!columnTransform)
        return failure();
      for (int64_t c = 0; c < cols; ++c)
        columnTransform->applyUnnormalized(values->data() + c, cols, scratch);
      normalizer *= rows;
    }
    double scale = 1.0 / std::sqrt(static_cast<double>(normalizer));
    for (double &value : *values)
      value *= scale;
    replacements[key] = createWeight(type, key, *values);
  }
  redirectConstants(module, replacements);
  return success();
}

/// y_H = y · M_E in front of every out_proj, in both entry functions.
void RotatePass::insertOnlineHadamards() {
  for (mamba::LinearOp linear : outProjs) {
    OpBuilder builder(linear);
    Value input = linear.getInput();
    auto hadamard = mamba::HadamardOp::create(builder, linear.getLoc(),
                                              input.getType(), input);
    linear.getInputMutable().assign(hadamard);
  }
}

void RotatePass::runOnOperation() {
  ModuleOp module = getOperation();
  rotations.clear();
  outProjs.clear();
  if (failed(checkGainsAreOnes(module)) || failed(collect(module)))
    return signalPassFailure();
  // Check the online transform's size before touching any weight, so a
  // failure leaves the module as it was.
  for (mamba::LinearOp linear : outProjs) {
    int64_t n = cast<ShapedType>(linear.getInput().getType()).getShape().back();
    if (!getTransform(n, linear, "d_inner"))
      return signalPassFailure();
  }
  if (failed(rotateWeights(module)))
    return signalPassFailure();
  insertOnlineHadamards();
}

} // namespace
