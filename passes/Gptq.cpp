//===- Gptq.cpp - quamba-gptq ---------------------------------------------===//
//
// GPTQ for the linear layers Quamba2 applies it to (reference/quamba2.md
// §7.1: every in_proj and out_proj, and lm_head): layer-input Hessians are
// collected by running @prefill on calibration windows through the CPU
// interpreter, then ref::gptqQuantizeInt4 (runtime/reference/Gptq.h) picks
// 4-bit values and group scales. The weight becomes the fake-quantized f32
// matrix `v * s` and the op records the scales in `mamba.gptq_scales`, so
// the IR still runs in float (to measure GPTQ alone) and quamba-quantize
// recovers the codes exactly.
//
//===----------------------------------------------------------------------===//
#include "passes/CalibrationText.h"
#include "passes/Interpreter/Interpreter.h"
#include "passes/Passes.h"
#include "passes/QuantizeWeights.h"
#include "passes/WeightRewrite.h"

#include "dialect/Mamba/IR/MambaOps.h"
#include "runtime/Progress.h"
#include "runtime/reference/Gptq.h"
#include "runtime/reference/QuantizedKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

#include <map>

namespace mlir::quamba {
#define GEN_PASS_DEF_QUAMBAGPTQ
#include "passes/Passes.h.inc"
} // namespace mlir::quamba

using namespace mlir;
using namespace mlir::quamba;
namespace ref = ::quamba::ref;

namespace {

/// The linears GPTQ quantizes: in_proj (input from a block norm), Mamba2's
/// out_proj and Mamba1's out_proj (input from the gated norm, the online
/// Hadamard or the scan), lm_head. Mamba1's x_proj and dt_proj are left to
/// round-to-nearest, as in Quamba2.
bool isGptqTarget(Operation *op) {
  if (isa<mamba::LMHeadOp>(op))
    return true;
  auto linear = dyn_cast<mamba::LinearOp>(op);
  if (!linear)
    return false;
  Operation *producer = linear.getInput().getDefiningOp();
  return isa_and_nonnull<mamba::RMSNormOp, mamba::HadamardOp,
                         mamba::GatedRMSNormOp, mamba::SelectiveScanOp,
                         mamba::SelectiveStepOp>(producer);
}

Value weightOf(Operation *op) {
  if (auto head = dyn_cast<mamba::LMHeadOp>(op))
    return head.getWeight();
  return cast<mamba::LinearOp>(op).getWeight();
}

struct GptqPass : mlir::quamba::impl::QuambaGptqBase<GptqPass> {
  using QuambaGptqBase::QuambaGptqBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](const Twine &message) {
      mlir::emitError(module.getLoc(), "quamba-gptq: ") << message;
      signalPassFailure();
    };
    auto prefill = module.lookupSymbol<func::FuncOp>("prefill");
    if (!prefill || prefill.isExternal())
      return fail("the module has no @prefill");
    if (data.empty())
      return fail("pass data=<calibration text>");
    if (samples < 1 || seqlen < 1 || groupSize <= 0 || groupSize % 2 != 0 ||
        !(damping >= 0.0))
      return fail("need samples >= 1, seqlen >= 1, an even group-size > 0 "
                  "and damping >= 0");

    SmallVector<Operation *> targets;
    prefill.walk([&](Operation *op) {
      if (isGptqTarget(op))
        targets.push_back(op);
    });
    // Each target's weight must be its own: GPTQ of a tied lm_head would
    // change the embedding too.
    for (Operation *op : targets) {
      DenseResourceElementsAttr weight = getResourceWeight(weightOf(op));
      if (!weight) {
        op->emitOpError("weights must be arith.constant dense_resource "
                        "values");
        return signalPassFailure();
      }
      // Fail before the (long) Hessian collection on a bad group size.
      if (failed(int4Group(cast<ShapedType>(weight.getType()).getDimSize(1),
                           groupSize, op)))
        return signalPassFailure();
      if (isa<mamba::LMHeadOp>(op)) {
        bool tied = false;
        prefill.walk([&](mamba::EmbeddingOp embedding) {
          tied |= getResourceWeight(embedding.getTable()) == weight;
        });
        if (tied) {
          op->emitOpError("is tied to the embedding: run "
                          "quamba-fuse-norm-gains first");
          return signalPassFailure();
        }
      }
    }

    // Hessians of every target's input, from the float model (all layers
    // at once; see Passes.td).
    FailureOr<std::vector<std::vector<int32_t>>> windows = calibrationWindows(
        module, prefill, "quamba-gptq", {data, tokenizer, samples, seqlen});
    if (failed(windows))
      return signalPassFailure();
    std::map<Operation *, std::vector<double>> hessians;
    llvm::DenseMap<Operation *, int64_t> inFeatures;
    for (Operation *op : targets) {
      int64_t k = cast<ShapedType>(weightOf(op).getType()).getDimSize(1);
      inFeatures[op] = k;
      hessians[op].assign(k * k, 0.0);
    }
    Interpreter interpreter(module);
    interpreter.setObserver([&](Operation *op,
                                ArrayRef<const HostTensor *> operands,
                                ArrayRef<const HostTensor *>) {
      auto it = hessians.find(op);
      if (it == hessians.end() || !operands[0])
        return;
      int64_t k = inFeatures[op];
      ref::accumulateHessian(operands[0]->values.data(),
                             operands[0]->numel() / k, k, it->second.data());
    });
    {
      ::quamba::ProgressBar progress("gptq: hessians", samples, "sample");
      for (int64_t i = 0; i < samples; ++i) {
        auto out = interpreter.run(
            "prefill",
            {HostTensor::tokens({1, seqlen}, std::move((*windows)[i]))});
        if (!out)
          return fail("sample " + Twine(i) + ": " +
                      llvm::toString(out.takeError()));
        progress.update(i + 1);
      }
      progress.finish();
    }

    // Quantize each weight once; @decode's constants of the same resource
    // follow.
    struct Result {
      DenseResourceElementsAttr weight, scales;
    };
    llvm::StringMap<Result> results;
    ::quamba::ProgressBar progress("gptq: weights",
                                   static_cast<int64_t>(targets.size()),
                                   "matrix");
    for (auto [index, op] : llvm::enumerate(targets)) {
      DenseResourceElementsAttr weight = getResourceWeight(weightOf(op));
      std::string key = weight.getRawHandle().getKey().str();
      FailureOr<std::vector<double>> values = readWeight(weight, op);
      if (failed(values))
        return signalPassFailure();
      auto type = cast<ShapedType>(weight.getType());
      int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
      FailureOr<int64_t> group = int4Group(cols, groupSize, op);
      if (failed(group))
        return signalPassFailure();
      ref::GptqOptions options;
      options.groupSize = *group;
      options.blockSize = std::max<int64_t>(*group, 128 / *group * *group);
      options.damping = damping;
      std::vector<float> w(values->begin(), values->end());
      std::vector<uint8_t> packed(rows * cols / 2);
      std::vector<float> scales(rows * cols / *group);
      ::quamba::Status status = ref::gptqQuantizeInt4(
          w.data(), rows, cols, hessians[op].data(), options, packed.data(),
          scales.data());
      if (!status) {
        op->emitOpError(status.error());
        return signalPassFailure();
      }
      std::vector<float> dequantized(rows * cols);
      status = ref::dequantizeWeightInt4(packed.data(), scales.data(), rows,
                                         cols, *group, dequantized.data());
      if (!status) {
        op->emitOpError(status.error());
        return signalPassFailure();
      }
      auto f32 = Float32Type::get(module.getContext());
      auto asBytes = [](const std::vector<float> &v) {
        return ArrayRef<char>(reinterpret_cast<const char *>(v.data()),
                              v.size() * sizeof(float));
      };
      results[key] = {
          createBlobWeight(RankedTensorType::get({rows, cols}, f32),
                           (resourceBaseName(key) + ".gptq").str(), asBytes(dequantized),
                           alignof(float)),
          createBlobWeight(RankedTensorType::get({rows, cols / *group}, f32),
                           (resourceBaseName(key) + ".gptq_scales").str(), asBytes(scales),
                           alignof(float))};
      progress.update(static_cast<int64_t>(index) + 1);
    }
    progress.finish();

    // Point every reader of a quantized weight (in @prefill and @decode) at
    // the fake-quantized f32 weight and record the scales on its op.
    OpBuilder builder(module.getContext());
    module.walk([&](Operation *op) {
      if (!isa<mamba::LinearOp, mamba::LMHeadOp>(op))
        return;
      Value weight = weightOf(op);
      DenseResourceElementsAttr resource = getResourceWeight(weight);
      auto it = resource ? results.find(resource.getRawHandle().getKey())
                         : results.end();
      if (it == results.end())
        return;
      builder.setInsertionPointAfterValue(weight);
      Value replacement = arith::ConstantOp::create(
          builder, weight.getLoc(), it->second.weight);
      op->setOperand(1, replacement);
      op->setAttr(kGptqScalesAttrName, it->second.scales);
    });
    module.walk([](arith::ConstantOp op) {
      if (op.use_empty())
        op.erase();
    });
  }
};

} // namespace
