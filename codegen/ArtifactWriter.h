//===- ArtifactWriter.h - write model.qmb ----------------------*- C++ -*-===//
//
// model.qmb (DESIGN.md §6) is one safetensors file:
//   weights/<buffer>          every weight buffer of the plan (F32 or I8; an F32
//                             buffer may be stored BF16, widened on load)
//   kernels/<name>.ptx        U8, the PTX of each kernel
//   kernels/<name>.cubin      U8, when ptxas ran
//   kernels/<name>.json       U8, the Triton-style metadata sidecar
//   __metadata__              format = "quamba-qmb", qmb_version, target,
//                             plan (JSON), vocab_size, model_config (JSON),
//                             tokenizer (tokenizer.json text, or "" for the
//                             byte-level tokenizer), compile_options (JSON)
// Written atomically (temporary file, then rename); runtime/plan/Artifact.h
// reads it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/LaunchPlan.h"
#include "codegen/NvptxTarget.h"
#include "runtime/Status.h"

#include <string>
#include <vector>

namespace mlir::quamba::codegen {

struct ArtifactInfo {
  int64_t vocabSize = 0;
  std::string modelConfigJson = "{}";
  std::string tokenizerJson; ///< empty: byte-level
  std::string compileOptionsJson = "{}";
  /// Write no weight tensors (metadata weights = "random"): a model.qmb of
  /// the plan and kernels alone, which the runtime runs on random weights,
  /// for speed measurements of models too big to move (quamba-compile
  /// --no-weights).
  bool omitWeights = false;
};

::quamba::Status writeArtifact(const std::string &path,
                               const LaunchPlanResult &plan,
                               const std::vector<CompiledKernel> &kernels,
                               const ArtifactInfo &info);

} // namespace mlir::quamba::codegen
