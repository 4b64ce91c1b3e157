//===- CastWeights.cpp - quamba-cast-weights --------------------------------===//
//
// The 16-bit float model: projection and embedding matrices rounded once into
// f16 (or bf16), everything else unchanged (Passes.td states the guarantee).
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"
#include "passes/WeightRewrite.h"

#include "dialect/Mamba/IR/MambaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/MapVector.h"

#include <cmath>

namespace mlir::quamba {
#define GEN_PASS_DEF_QUAMBACASTWEIGHTS
#include "passes/Passes.h.inc"
} // namespace mlir::quamba

using namespace mlir;
using namespace mlir::quamba;

namespace {

/// Largest finite f16.
constexpr double kF16Max = 65504.0;

struct CastWeightsPass
    : quamba::impl::QuambaCastWeightsBase<CastWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Builder builder(module.getContext());
    Type target;
    if (type == "f16")
      target = builder.getF16Type();
    else if (type == "bf16")
      target = builder.getBF16Type();
    else {
      module.emitError("quamba-cast-weights: type must be f16 or bf16, got '")
          << type << "'";
      return signalPassFailure();
    }

    // Resource key -> (weight, first reader), in program order so that the
    // new resource names are deterministic.
    llvm::MapVector<StringRef, std::pair<DenseResourceElementsAttr, Operation *>>
        weights;
    auto collect = [&](Operation *op, Value weight) -> WalkResult {
      auto resource = getResourceWeight(weight);
      if (!resource)
        return op->emitOpError("weight is not a dense_resource constant");
      if (resource.getType().getElementType() != target)
        weights.insert({resource.getRawHandle().getKey(), {resource, op}});
      return WalkResult::advance();
    };
    WalkResult walked = module.walk([&](Operation *op) -> WalkResult {
      if (auto linear = dyn_cast<mamba::LinearOp>(op))
        return collect(op, linear.getWeight());
      if (auto head = dyn_cast<mamba::LMHeadOp>(op))
        return collect(op, head.getWeight());
      if (auto embedding = dyn_cast<mamba::EmbeddingOp>(op))
        return collect(op, embedding.getTable());
      return WalkResult::advance();
    });
    if (walked.wasInterrupted())
      return signalPassFailure();

    // Convert everything first: on an error no weight has changed.
    llvm::StringMap<DenseResourceElementsAttr> replacements;
    for (auto &[key, entry] : weights) {
      auto [resource, reader] = entry;
      FailureOr<std::vector<double>> values = readWeight(resource, reader);
      if (failed(values))
        return signalPassFailure();
      if (target.isF16())
        for (double v : *values)
          if (std::isfinite(v) && std::fabs(v) > kF16Max) {
            reader->emitOpError("weight '")
                << key << "' holds " << v
                << ", beyond the f16 range (65504); cast to bf16 instead";
            return signalPassFailure();
          }
      replacements[key] =
          createWeight(resource.getType().clone(target), key, *values);
    }
    redirectConstants(module, replacements);
  }
};

} // namespace
