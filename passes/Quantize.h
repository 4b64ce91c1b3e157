//===- Quantize.h - quamba-quantize as a function ---------------*- C++ -*-===//
//
// The rewrite of quamba-quantize, callable on any module: the pass runs it
// on its module, and quamba-select-w4ax runs it on trial copies to measure
// each layer's sensitivity.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/Passes.h"

namespace mlir::quamba {

/// Module attribute quamba-select-w4ax sets (array<i64>: the layers W4AX
/// keeps at 16-bit activations); quamba-quantize{mode=w4ax} reads it when
/// given neither a16-layers nor layers-config, and removes it.
inline constexpr llvm::StringLiteral kA16LayersAttrName = "mamba.a16_layers";

/// Applies the precision map of `options` to `module` (see QuambaQuantize in
/// Passes.td). Errors are emitted on the module or the offending op.
LogicalResult applyQuantization(ModuleOp module,
                                const QuambaQuantizeOptions &options);

} // namespace mlir::quamba
