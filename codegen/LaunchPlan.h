//===- LaunchPlan.h - mamba IR to kernels and a launch plan ----*- C++ -*-===//
//
// Lowers a model's @prefill and @decode (quantized or not) to the launch
// plan the runtime executes and the gpu.modules its launches name
// (DESIGN.md §5): one launch per mamba op, in program order, each with a
// Triton-ABI kernel specialised on the op's static shapes (kernels/).
// Weights become plan buffers whose bytes the artifact stores; scales are
// expanded at compile time to the form the kernels index (quantize), and
// helper constants (Hadamard factors, zero biases) are materialised here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/plan/Plan.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace mlir::quamba::codegen {

namespace plan = ::quamba::plan;

/// The bytes of one weight buffer of the plan (same index order as the
/// plan's buffers; activation buffers have none).
struct WeightData {
  int buffer = -1;
  std::vector<char> bytes;
  /// The bytes are bf16 (an f32 buffer whose values are a bf16 checkpoint's,
  /// stored at half the size and widened exactly when loaded).
  bool bf16 = false;
};

struct LaunchPlanResult {
  plan::Plan plan;
  std::vector<WeightData> weights;
};

/// Builds the plan of `model` and appends its kernels, one gpu.module each,
/// to `kernels` (which may be `model` itself). Emits a diagnostic naming
/// the op and fails for IR it cannot lower.
FailureOr<LaunchPlanResult> buildLaunchPlan(ModuleOp model, ModuleOp kernels,
                                            StringRef target);

} // namespace mlir::quamba::codegen
