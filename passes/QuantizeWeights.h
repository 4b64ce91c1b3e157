//===- QuantizeWeights.h - weight formats of quamba-quantize ---*- C++ -*-===//
//
// The weight side of quamba-quantize, separate from the IR rewriting: from
// float weights to the codes and scales the quantized mamba ops take
// (reference/quamba2.md §5.5, §7). The arithmetic is the reference kernels'
// (runtime/reference/QuantizedKernels.h); this file picks groups and blocks.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/Operation.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <vector>

namespace mlir::quamba {

/// quamba-gptq's per-(row, group) 4-bit scales on a linear op; the op's
/// weight then holds exactly `v * scale` for 4-bit values v.
inline constexpr llvm::StringLiteral kGptqScalesAttrName = "mamba.gptq_scales";

enum class Format { W8A8, W4A8, W4A16 };
llvm::StringRef formatName(Format format);

/// A linear weight in one of the mamba dialect's quantized formats.
struct QuantizedLinearWeight {
  /// W8A8: [N, K] int8; W4*: [N, K / 2] bytes of packed 4-bit values.
  SmallVector<int64_t> codesShape;
  std::vector<int8_t> codes;
  /// W8A8: the weight scale of each row (per tensor or per row block,
  /// repeated); W4A8: s_c per row. Empty for W4A16.
  std::vector<float> channelScales;
  /// W4A8: s~_g, W4A16: s_g; [N, K / groupSize]. Empty for W8A8.
  SmallVector<int64_t> groupScalesShape;
  std::vector<float> groupScales;
  int64_t groupSize = 0;
};

/// Quantizes `w` [rows, cols]. W8A8: absmax / 127 per row block
/// (`rowBlocks` sizes; empty: the whole tensor). W4*: 4-bit values with
/// groups of `groupSize` along K (K itself when K <= groupSize), from
/// `gptqScales` ([rows, K / g], the weight then being on that grid) or by
/// round-to-nearest; W4A8 adds the two-level int8 scales. Errors (on
/// `diagOp`) for K not a multiple of the group or odd.
FailureOr<QuantizedLinearWeight>
quantizeLinearWeight(ArrayRef<float> w, int64_t rows, int64_t cols,
                     Format format, int64_t groupSize,
                     ArrayRef<int64_t> rowBlocks, Attribute gptqScales,
                     Operation *diagOp);

/// The 4-bit group a K-long row uses: K itself when K <= groupSize, else
/// groupSize when it divides K (failure, with a diagnostic, otherwise).
FailureOr<int64_t> int4Group(int64_t cols, int64_t groupSize,
                             Operation *diagOp);

/// An embedding table with one scale per row: 8-bit [V, D] or 4-bit
/// [V, D / 2] bytes (§5.5; the 4-bit scale is absmax * 2 / 15, the GPTQ
/// grid, instead of the reference's signed max / 8, which breaks for rows
/// whose maximum is not positive).
struct QuantizedTable {
  std::vector<int8_t> codes;
  std::vector<float> scales;
  int64_t rowBytes = 0;
};
FailureOr<QuantizedTable> quantizeEmbeddingTable(ArrayRef<float> table,
                                                 int64_t vocab, int64_t dim,
                                                 int64_t bits,
                                                 Operation *diagOp);

} // namespace mlir::quamba
