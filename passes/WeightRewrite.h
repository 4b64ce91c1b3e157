//===- WeightRewrite.h - read and rewrite dense_resource weights -*- C++ -*-===//
//
// Helpers shared by the exact weight rewrites (quamba-fuse-norm-gains,
// quamba-rotate). Weights are `arith.constant dense_resource<key>` values
// whose blobs live in the context, so a rewrite never edits a blob in place
// (another module of the same context, e.g. the original a test compares
// against, may read it): it creates a new resource and redirects constants.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringMap.h"

#include <vector>

namespace mlir::quamba {

/// The dense_resource attribute of the arith.constant defining `value`, or
/// null when `value` is not such a constant.
DenseResourceElementsAttr getResourceWeight(Value value);

/// The weight's elements widened to double (f16, bf16, f32, f64). Fails, with
/// a diagnostic on `diagOp`, for other element types or a missing blob.
FailureOr<std::vector<double>> readWeight(DenseResourceElementsAttr weight,
                                          Operation *diagOp);

/// `key` without the `_N` suffixes MLIR appends when a resource key is taken
/// (each rewriting pass re-creates a weight under its original name).
StringRef resourceBaseName(StringRef key);

/// A new resource of `type` holding `values` rounded to nearest-even into the
/// element type. The key is resourceBaseName(`name`), uniquified by MLIR
/// when taken, so repeated rewrites give `w_1`, `w_2`, not `w_1_1`.
DenseResourceElementsAttr createWeight(ShapedType type, StringRef name,
                                       ArrayRef<double> values);

/// A new resource of `type` holding `data` (the raw little-endian elements,
/// e.g. int8 codes or fp32 scales), aligned to `alignment` bytes. Like
/// createWeight, names it after resourceBaseName(`name`).
DenseResourceElementsAttr createBlobWeight(ShapedType type, StringRef name,
                                           ArrayRef<char> data,
                                           size_t alignment);

/// Points every arith.constant of `module` whose resource key is a key of
/// `replacements` at the replacement resource (and its type): both entry
/// functions (and any other reader) see the rewritten weight.
void redirectConstants(ModuleOp module,
                       const llvm::StringMap<DenseResourceElementsAttr> &replacements);

/// Frees the blob of every dense_resource in `module`'s context that no
/// attribute of `module` references (the weights a rewrite superseded), and
/// returns the bytes freed. Only for a context that holds `module` alone:
/// a resource another module reads would lose its data. quamba-compile calls
/// it after every pass, so that a rewrite of a multi-GB model holds at most
/// two copies of a weight set (old and new) instead of one per pass.
size_t releaseUnreferencedWeights(ModuleOp module);

} // namespace mlir::quamba
