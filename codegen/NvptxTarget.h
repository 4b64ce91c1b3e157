//===- NvptxTarget.h - gpu.modules to PTX and cubin, Triton's way -*- C++ -*-===//
//
// Compiles each kernel gpu.module with Triton's NVIDIA code-generation
// settings (reference/mlir-gpu.md B.3): triple nvptx64-nvidia-cuda, chip
// sm_<cc> with the `a` suffix from cc 9.0 (sm_90a), PTX feature capped at
// +ptx86 as Triton caps it, LLVM O3; the `.version` line is then raised to
// the PTX version of the toolkit's ptxas (CUDA 12.x -> 8.x, 13.x -> 9.x), and
// ptxas is run with Triton's flags (`-lineinfo -v --gpu-name=<chip>`) when it
// is on PATH, giving a cubin and its resource report.
//
// Deliberate difference: no nvvm-reflect ftz. Denormals are kept so that the
// integer-semantics kernels (quantize, the W8A8 epilogue) match the
// reference kernels bit for bit on every input.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::quamba::codegen {

struct NvptxOptions {
  /// "sm_90a" (Hopper, default) or "sm_80" (Ampere).
  std::string chip = "sm_90a";
  /// Run ptxas (when found) to make a cubin; false gives PTX only.
  bool cubin = true;
};

struct CompiledKernel {
  std::string name;
  std::string ptx;
  std::string cubin;        ///< empty when ptxas was not run
  std::string ptxasReport;  ///< ptxas -v output (registers, spills)
  std::string metadataJson; ///< the Triton-style sidecar
};

/// Adds to `pm` (on a module of gpu.modules) the lowering of every kernel to
/// PTX: attach #nvvm.target with Triton's settings for `chip`, then per
/// gpu.module scf->cf and gpu->nvvm (bare pointers), then
/// gpu-module-to-binary{format=isa}.
void buildKernelsToPtxPipeline(OpPassManager &pm, StringRef chip);

/// Registers `quamba-kernels-to-ptx{chip=sm_90a}`, that pipeline.
void registerQuambaCodegenPipelines();

/// Everything codegen and the PTX pipeline need in a context: the kernel
/// dialects, their LLVM IR translations, the NVVM target's serializer.
void registerCodegenDialects(DialectRegistry &registry);

/// Whether `chip` is a target quamba compiles for ("sm_80", "sm_90a").
bool isSupportedChip(StringRef chip);

/// Whether kernels for `chip` can use programmatic dependent launch
/// (`griddepcontrol`, PTX 7.8, sm_90 and later).
bool supportsProgrammaticLaunch(StringRef chip);

/// Whether kernels for `chip` can run in thread block clusters, sharing
/// their blocks' shared memory (sm_90 and later).
bool supportsThreadBlockClusters(StringRef chip);

/// The CUDA toolkit's libdevice.10.bc ($CUDA_HOME, $CUDA_PATH, beside the
/// ptxas on PATH, /usr/local/cuda), if any.
std::optional<std::string> findLibdevice();

/// The PTX ISA version (e.g. 90 for "9.0") of the ptxas on PATH, if any.
std::optional<int> toolkitPtxVersion();

/// Lowers every gpu.module of `kernels` (consumed: rewritten to
/// gpu.binary ops) to PTX, and to cubin when options.cubin and ptxas is
/// present. Fails with a diagnostic naming the kernel (a ptxas error
/// includes its message).
FailureOr<std::vector<CompiledKernel>>
compileKernels(ModuleOp kernels, const NvptxOptions &options);

} // namespace mlir::quamba::codegen
