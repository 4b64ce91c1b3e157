//===- HadamardRow.h - ref::hadamard of a row, inside a kernel --*- C++ -*-===//
//
// The body of the hadamard kernel (Hadamard.cpp), for any kernel whose block
// holds a whole row: the hadamard launch itself, and the gated norm with a
// Hadamard epilogue (Norms.cpp), which writes its normalised row to shared
// memory and hands it on without a launch or a global round trip.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/KernelBuilder.h"

#include "mlir/Support/LogicalResult.h"

namespace mlir::quamba::codegen {

/// ref::hadamard's factorisation of a row of n = m * p values (p = 2^k,
/// m in {1, 12, 40}).
struct HadamardRow {
  /// Largest row (floats) whose work copy lives in shared memory (48 KiB of
  /// static shared memory a block).
  static constexpr int64_t kMaxSharedRow = 12288;

  int64_t n = 0, m = 0, p = 0;
  /// H_m's +-1 entries, row-major (ref::hadamardFactor).
  const float *factor = nullptr;
  /// float(1 / sqrt(double(n))).
  float scale = 0.0f;

  /// The factorisation of n; an error at `loc` for a size ref::hadamard
  /// does not take.
  static FailureOr<HadamardRow> get(int64_t n, Location loc);

  /// Emits steps 2 and 3 of ref::hadamard (Hadamard.cpp) for the block's
  /// row: `work` holds the row (a barrier after it was written is the
  /// caller's); `workAt(i)` is element i's index in `work`; `shared` says
  /// whether work is a shared array (else a global row also used as the
  /// output, read before written). Each output goes to `store(indices,
  /// values)` once, a thread's outputs of one column together (so a caller
  /// can issue its loads for all of them before the first store);
  /// bit-identical to ref::hadamard. Every thread of the block must reach it
  /// (it has barriers).
  using StoreFn = function_ref<void(ArrayRef<Value> indices, ArrayRef<Value> values)>;
  void emit(KernelBuilder &k, Value work, function_ref<Value(Value)> workAt, bool shared,
            StoreFn store) const;

  /// Step 2 alone, on the first `count` values of `work` (whole blocks of
  /// p: a block's share of a row split over a cluster), ending with a
  /// barrier; the same adds and subtracts as in emit.
  void emitButterflies(KernelBuilder &k, Value work, function_ref<Value(Value)> workAt,
                       int64_t count) const;
  /// H_m's signs as bit masks, one a row: bit j of row c is set where
  /// H_m[c][j] = -1 (m <= 40 < 64).
  SmallVector<int64_t> signMasks() const;
};

/// Stores a thread's `values` of one row as elements rowStart + indices[i]
/// of `out`: f32, or, with `quantScales` (f32, one per element of a row),
/// their int8 codes (quantizeInt8: the quantize launch's function), all
/// scales loaded before the first store.
void storeRowOutputs(KernelBuilder &k, ArrayRef<Value> indices, ArrayRef<Value> values,
                     Value out, Value rowStart, Value quantScales);

} // namespace mlir::quamba::codegen
