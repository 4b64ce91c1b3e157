//===- Passes.h - quamba passes --------------------------------*- C++ -*-===//
#pragma once

#include "dialect/Mamba/IR/MambaDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::quamba {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace mlir::quamba
