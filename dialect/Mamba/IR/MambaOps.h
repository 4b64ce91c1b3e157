//===- MambaOps.h - mamba dialect operations -------------------*- C++ -*-===//
#pragma once

#include "dialect/Mamba/IR/MambaDialect.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialect/Mamba/IR/MambaOps.h.inc"
