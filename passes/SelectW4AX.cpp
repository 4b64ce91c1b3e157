//===- SelectW4AX.cpp - quamba-select-w4ax --------------------------------===//
//
// The W4AX layer search (Passes.td): quantize trial copies with one layer at
// 16-bit activations, measure the NLL each copy loses on the calibration
// windows, keep the `budget` most sensitive layers at W4A16.
//
//===----------------------------------------------------------------------===//
#include "passes/CalibrationText.h"
#include "passes/Interpreter/Interpreter.h"
#include "passes/Passes.h"
#include "passes/Quantize.h"

#include "dialect/Mamba/IR/MambaOps.h"
#include "runtime/Logits.h"
#include "runtime/Progress.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <numeric>

namespace mlir::quamba {
#define GEN_PASS_DEF_QUAMBASELECTW4AX
#include "passes/Passes.h.inc"
} // namespace mlir::quamba

using namespace mlir;
using namespace mlir::quamba;

namespace {

/// "[1, 3]"
std::string formatLayers(ArrayRef<int64_t> layers) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "[";
  llvm::interleaveComma(layers, os);
  os << "]";
  return text;
}

/// Mean next-token NLL of @prefill over the windows (positions 1..L-1).
FailureOr<double> meanNll(ModuleOp module,
                          const std::vector<std::vector<int32_t>> &windows,
                          int64_t vocab) {
  Interpreter interpreter(module);
  double nll = 0.0;
  int64_t count = 0;
  for (const std::vector<int32_t> &window : windows) {
    int64_t length = window.size();
    auto out = interpreter.run(
        "prefill", {HostTensor::tokens({1, length}, std::vector<int32_t>(window))});
    if (!out) {
      mlir::emitError(module.getLoc(), "quamba-select-w4ax: ")
          << llvm::toString(out.takeError());
      return failure();
    }
    const std::vector<float> &logits = (*out)[0].values;
    for (int64_t t = 1; t < length; ++t, ++count)
      nll += ::quamba::negativeLogLikelihood(&logits[(t - 1) * vocab], vocab,
                                             window[t]);
  }
  return nll / std::max<int64_t>(count, 1);
}

struct SelectW4AXPass
    : mlir::quamba::impl::QuambaSelectW4AXBase<SelectW4AXPass> {
  using QuambaSelectW4AXBase::QuambaSelectW4AXBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](const Twine &message) {
      mlir::emitError(module.getLoc(), "quamba-select-w4ax: ") << message;
      signalPassFailure();
    };
    auto config = module->getAttrOfType<mamba::ModelConfigAttr>(
        mamba::MambaDialect::getConfigAttrName());
    if (!config)
      return fail("the module has no #mamba.config");
    auto prefill = module.lookupSymbol<func::FuncOp>("prefill");
    if (!prefill || prefill.isExternal())
      return fail("the module has no @prefill");
    if (data.empty())
      return fail("pass data=<calibration text>");
    int64_t nLayer = config.getNLayer();
    int64_t picks = budget < 0 ? (nLayer + 3) / 4 : budget.getValue();
    if (budget < -1)
      return fail("budget must be >= 0 (or -1 for a quarter of the layers)");
    picks = std::min(picks, nLayer);

    FailureOr<std::vector<std::vector<int32_t>>> windows = calibrationWindows(
        module, prefill, "quamba-select-w4ax",
        {data, tokenizer, samples, seqlen});
    if (failed(windows))
      return signalPassFailure();

    // Trials run on copies in their own contexts: their quantized resources
    // die with them and never take names in this module's context.
    std::string bytecode;
    {
      llvm::raw_string_ostream os(bytecode);
      if (failed(writeBytecodeToFile(module, os)))
        return fail("cannot serialize the module for the trials");
    }
    const DialectRegistry &registry = module.getContext()->getDialectRegistry();
    auto trial = [&](ArrayRef<int64_t> a16) -> FailureOr<double> {
      MLIRContext context(registry, MLIRContext::Threading::DISABLED);
      OwningOpRef<ModuleOp> copy = parseSourceString<ModuleOp>(
          bytecode, ParserConfig(&context));
      if (!copy) {
        mlir::emitError(module.getLoc(), "quamba-select-w4ax: ")
            << "cannot re-read the module for a trial";
        return failure();
      }
      QuambaQuantizeOptions options;
      options.mode = "w4ax";
      options.groupSize = groupSize;
      // Through the attribute, which (unlike the option) may be empty.
      (*copy)->setAttr(kA16LayersAttrName,
                       DenseI64ArrayAttr::get(&context, a16));
      // The trial's diagnostics belong to the user: forward them here.
      ScopedDiagnosticHandler forward(&context, [&](Diagnostic &diag) {
        mlir::emitError(module.getLoc(), "quamba-select-w4ax: trial with "
                                         "16-bit layers ")
            << formatLayers(a16) << ": " << diag.str();
        return success();
      });
      if (failed(applyQuantization(*copy, options)))
        return failure();
      return meanNll(*copy, *windows, config.getVocabSize());
    };

    ::quamba::ProgressBar progress("select-w4ax", nLayer + 1, "trial");
    FailureOr<double> base = trial({});
    if (failed(base))
      return signalPassFailure();
    progress.update(1);
    SmallVector<double> gains;
    for (int64_t i = 0; i < nLayer; ++i) {
      FailureOr<double> nll = trial({i});
      if (failed(nll))
        return signalPassFailure();
      gains.push_back(*base - *nll);
      progress.update(i + 2);
    }
    progress.finish();

    SmallVector<int64_t> order(nLayer);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return gains[a] > gains[b]; });
    SmallVector<int64_t> a16;
    for (int64_t i : ArrayRef<int64_t>(order).take_front(picks))
      if (gains[i] > 0.0)
        a16.push_back(i);
    llvm::sort(a16);
    module->setAttr(kA16LayersAttrName,
                    DenseI64ArrayAttr::get(module.getContext(), a16));

    InFlightDiagnostic remark = mlir::emitRemark(module.getLoc())
                                << "quamba-select-w4ax: W4A8 NLL/token "
                                << llvm::formatv("{0:F5}", *base)
                                << "; gain of W4A16 per layer:";
    for (auto [i, gain] : llvm::enumerate(gains))
      remark << " " << i << ":" << llvm::formatv("{0:E2}", gain);
    remark << "; W4A16 layers: " << formatLayers(a16);
  }
};

} // namespace
