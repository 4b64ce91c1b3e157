//===- CheckpointImporter.h - checkpoint -> mamba IR -----------*- C++ -*-===//
//
// Imports a Hugging Face (MambaForCausalLM, Mamba2ForCausalLM) or
// state-spaces (mamba_ssm MambaLMHeadModel) checkpoint directory into a
// module with `@prefill` and `@decode` (DESIGN.md §2-3). Weights become
// `dense_resource` blobs over the memory-mapped safetensors files (copied only
// when they must be converted: A_log, D and dt_bias are upcast to f32, and
// misaligned data is copied to an aligned buffer).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

namespace mlir::mamba {

/// Reads `dir`/config.json and the checkpoint's safetensors (single file or
/// sharded), checks every tensor against the config, and builds the module.
/// Errors name the file, tensor or key and what was expected.
llvm::Expected<OwningOpRef<ModuleOp>> importCheckpoint(MLIRContext &context,
                                                       llvm::StringRef dir);

} // namespace mlir::mamba
