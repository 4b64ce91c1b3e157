//===- PrintModelSummary.cpp - quamba-print-model-summary -----------------===//
//
// A human-readable inventory of an imported or rewritten model: what the
// demo prints, and a quick check that an import found every weight.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "dialect/Mamba/IR/MambaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::quamba {
#define GEN_PASS_DEF_QUAMBAPRINTMODELSUMMARY
#include "passes/Passes.h.inc"
} // namespace mlir::quamba

using namespace mlir;

namespace {

struct WeightTally {
  uint64_t tensors = 0;
  uint64_t elements = 0;
  uint64_t bytes = 0;
};

struct PrintModelSummaryPass
    : quamba::impl::QuambaPrintModelSummaryBase<PrintModelSummaryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    raw_ostream &os = llvm::errs();

    if (Attribute config = module->getAttr(mamba::MambaDialect::getConfigAttrName()))
      os << "model: " << config << "\n";
    else
      os << "model: (no " << mamba::MambaDialect::getConfigAttrName() << ")\n";

    module.walk([&](func::FuncOp func) {
      os << "entry @" << func.getSymName() << ": "
         << func.getFunctionType() << "\n";
    });

    // Weights: one entry per distinct resource, so a tied lm_head (which
    // reuses the embedding's resource) is counted once.
    llvm::StringSet<> seen;
    std::map<std::string, WeightTally> byType;
    WeightTally total;
    module.walk([&](arith::ConstantOp constant) {
      auto attr = dyn_cast<DenseResourceElementsAttr>(constant.getValue());
      if (!attr || !seen.insert(attr.getRawHandle().getKey()).second)
        return;
      ShapedType type = attr.getType();
      uint64_t elements = type.getNumElements();
      uint64_t bytes =
          elements * type.getElementType().getIntOrFloatBitWidth() / 8;
      std::string name;
      llvm::raw_string_ostream(name) << type.getElementType();
      for (WeightTally *tally : {&byType[name], &total}) {
        tally->tensors += 1;
        tally->elements += elements;
        tally->bytes += bytes;
      }
    });
    os << "weights: " << total.tensors << " tensors, " << total.elements
       << " parameters, " << total.bytes << " bytes\n";
    for (const auto &[type, tally] : byType)
      os << "  " << type << ": " << tally.tensors << " tensors, "
         << tally.elements << " parameters, " << tally.bytes << " bytes\n";

    llvm::MapVector<StringRef, unsigned> opCounts;
    module.walk([&](Operation *op) {
      if (isa<mamba::MambaDialect>(op->getDialect()))
        ++opCounts[op->getName().getStringRef()];
    });
    os << "ops:";
    for (auto [name, count] : opCounts)
      os << " " << name << " x" << count;
    os << "\n";
    markAllAnalysesPreserved();
  }
};

} // namespace
