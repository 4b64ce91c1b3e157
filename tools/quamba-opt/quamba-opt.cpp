//===- quamba-opt.cpp - the quamba pass driver ----------------------------===//
//
// mlir-opt with the mamba dialect and quamba's passes, plus the upstream
// dialects, passes and LLVM/NVVM translations the GPU path needs, so that one
// tool runs everything from imported IR to PTX:
//   quamba-opt k.mlir --gpu-lower-to-nvvm-pipeline="cubin-chip=sm_90
//       cubin-features=+ptx80 cubin-format=isa"
//
//===----------------------------------------------------------------------===//
#include "codegen/NvptxTarget.h"
#include "codegen/Passes.h"
#include "dialect/Mamba/IR/MambaDialect.h"
#include "passes/Passes.h"
#include "passes/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::quamba::registerQuambaPasses();
  mlir::quamba::registerQuambaPipelines();
  mlir::quamba::codegen::registerQuambaCodegenPasses();
  mlir::quamba::codegen::registerQuambaCodegenPipelines();

  mlir::DialectRegistry registry;
  registry.insert<mlir::mamba::MambaDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "quamba optimizer: Mamba models to fused GPU kernels\n",
      registry));
}
