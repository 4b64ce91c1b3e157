//===- Pipelines.h - the named Quamba2 pipelines ----------------*- C++ -*-===//
//
// quamba-w8a8, quamba-w4a8, quamba-w4a16 and quamba-w4ax: the pass order of
// DESIGN.md §4 with the options they share, for quamba-opt
// (`--quamba-w4a8='data=calib.txt'`) and quamba-compile.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::quamba {

struct QuambaPipelineOptions
    : public PassPipelineOptions<QuambaPipelineOptions> {
  Option<std::string> data{*this, "data",
                           llvm::cl::desc("calibration text file (required "
                                          "except for w4a16 without gptq)")};
  Option<std::string> tokenizer{
      *this, "tokenizer",
      llvm::cl::desc("tokenizer.json; default: bytes (256-row embedding)")};
  Option<int64_t> samples{*this, "samples",
                          llvm::cl::desc("calibration windows"),
                          llvm::cl::init(32)};
  Option<int64_t> seqlen{*this, "seqlen",
                         llvm::cl::desc("tokens per calibration window"),
                         llvm::cl::init(512)};
  Option<int64_t> groupSize{*this, "group-size",
                            llvm::cl::desc("4-bit weight group along K"),
                            llvm::cl::init(128)};
  Option<bool> gptq{*this, "gptq",
                    llvm::cl::desc("4-bit modes: GPTQ weights (false: "
                                   "round-to-nearest)"),
                    llvm::cl::init(true)};
  ListOption<int64_t> a16Layers{
      *this, "a16-layers",
      llvm::cl::desc("w4ax: the layers kept at 16-bit activations")};
  Option<std::string> layersConfig{
      *this, "layers-config",
      llvm::cl::desc("w4ax: JSON array of per-layer modes")};
  Option<int64_t> budget{
      *this, "budget",
      llvm::cl::desc("w4ax without a16-layers / layers-config: number of "
                     "W4A16 layers quamba-select-w4ax keeps (-1: a quarter)"),
      llvm::cl::init(-1)};
};

/// What a pipeline produces.
enum class QuantMode { W8A8, W4A8, W4A16, W4AX };

/// Appends the Quamba2 pipeline of `mode` to `pm` (anchored on the module):
///   quamba-fuse-norm-gains
///   quamba-calibrate, quamba-sort-cluster   (activation modes: the
///                                             channel statistics it needs)
///   quamba-rotate
///   quamba-calibrate                        (activation modes: the scales)
///   quamba-gptq                             (4-bit modes, unless gptq=false)
///   quamba-select-w4ax                      (w4ax without a layer list)
///   quamba-quantize{mode=...}
void buildQuambaPipeline(OpPassManager &pm, QuantMode mode,
                         const QuambaPipelineOptions &options);

/// Registers the four pipelines with the MLIR pass registry.
void registerQuambaPipelines();

} // namespace mlir::quamba
