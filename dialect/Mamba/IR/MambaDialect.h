//===- MambaDialect.h - the mamba dialect ----------------------*- C++ -*-===//
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"

#include "dialect/Mamba/IR/MambaOpsDialect.h.inc"
#include "dialect/Mamba/IR/MambaOpsEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/Mamba/IR/MambaOpsAttributes.h.inc"
