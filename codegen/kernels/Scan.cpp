//===- Scan.cpp - placeholder ---------------------------------------------===//
#include "codegen/kernels/Kernels.h"

namespace mlir::quamba::codegen {

LogicalResult emitScan(KernelContext &ctx, Location loc) {
  return emitError(loc) << "no GPU kernel yet for '" << ctx.getLaunch().op << "'";
}

} // namespace mlir::quamba::codegen
