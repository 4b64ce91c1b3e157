//===- ConvertMambaToGpu.cpp - the quamba-convert-mamba-to-gpu pass -------===//
#include "codegen/LaunchPlan.h"
#include "codegen/Passes.h"

namespace mlir::quamba::codegen {

#define GEN_PASS_DEF_QUAMBACONVERTMAMBATOGPU
#include "codegen/Passes.h.inc"

namespace {

struct ConvertMambaToGpu
    : impl::QuambaConvertMambaToGpuBase<ConvertMambaToGpu> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<LaunchPlanResult> result =
        buildLaunchPlan(module, module, target);
    if (failed(result))
      return signalPassFailure();
    module->setAttr("mamba.launch_plan",
                    StringAttr::get(&getContext(), result->plan.toJson()));
  }
};

} // namespace
} // namespace mlir::quamba::codegen
