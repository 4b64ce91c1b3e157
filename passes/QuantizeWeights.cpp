//===- QuantizeWeights.cpp - weight formats of quamba-quantize ------------===//
#include "passes/QuantizeWeights.h"

#include "passes/WeightRewrite.h"
#include "runtime/reference/QuantizedKernels.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include <cmath>

using namespace mlir;
using namespace mlir::quamba;
namespace ref = ::quamba::ref;

StringRef mlir::quamba::formatName(Format format) {
  switch (format) {
  case Format::W8A8:
    return "w8a8";
  case Format::W4A8:
    return "w4a8";
  case Format::W4A16:
    return "w4a16";
  }
  llvm_unreachable("unknown format");
}

FailureOr<int64_t> mlir::quamba::int4Group(int64_t cols, int64_t groupSize,
                                           Operation *diagOp) {
  if (cols % 2 != 0)
    return diagOp->emitOpError("has ")
           << cols << " input features; 4-bit packing needs an even number";
  if (cols <= groupSize)
    return cols;
  if (cols % groupSize != 0)
    return diagOp->emitOpError("has ")
           << cols << " input features, not a multiple of group-size "
           << groupSize << "; pass a group-size that divides " << cols;
  return groupSize;
}

/// 4-bit values on the grid of given scales: v = clamp(RNE(w / s), -8, 7)
/// (s = 0: 0), packed.
static LogicalResult packOnGrid(ArrayRef<float> w, int64_t rows, int64_t cols,
                                int64_t group, ArrayRef<float> scales,
                                std::vector<int8_t> &packed,
                                Operation *diagOp) {
  std::vector<int8_t> values(w.size());
  int64_t groups = cols / group;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) {
      float s = scales[r * groups + k / group];
      float t = s > 0.0f ? std::nearbyint(w[r * cols + k] / s) : 0.0f;
      values[r * cols + k] =
          static_cast<int8_t>(std::min(7.0f, std::max(-8.0f, t)));
      // quamba-gptq leaves the weight exactly on its grid; a weight off the
      // grid was rewritten after it (rotate, sort-cluster) and the scales
      // are stale.
      if (values[r * cols + k] * s != w[r * cols + k])
        return diagOp->emitOpError("weight [")
               << r << ", " << k << "] = " << w[r * cols + k]
               << " is not on the grid of '" << kGptqScalesAttrName
               << "': the weight changed after quamba-gptq (run quamba-gptq "
                  "after quamba-rotate and quamba-sort-cluster)";
    }
  packed.assign(rows * cols / 2, 0);
  ::quamba::Status status =
      ref::packInt4(values.data(), rows * cols,
                    reinterpret_cast<uint8_t *>(packed.data()));
  if (!status)
    return diagOp->emitOpError(status.error());
  return success();
}

FailureOr<QuantizedLinearWeight> mlir::quamba::quantizeLinearWeight(
    ArrayRef<float> w, int64_t rows, int64_t cols, Format format,
    int64_t groupSize, ArrayRef<int64_t> rowBlocks, Attribute gptqScales,
    Operation *diagOp) {
  QuantizedLinearWeight out;
  if (format == Format::W8A8) {
    if (cols > ref::kMaxInt8DotLength)
      return diagOp->emitOpError("has ")
             << cols << " input features; int8 accumulation in int32 "
             << "allows at most " << ref::kMaxInt8DotLength;
    out.codesShape = {rows, cols};
    out.codes.resize(rows * cols);
    out.channelScales.resize(rows);
    SmallVector<int64_t> blocks(rowBlocks);
    if (blocks.empty())
      blocks.push_back(rows);
    int64_t row = 0;
    for (int64_t size : blocks) {
      float s = ref::quantizeWeightInt8PerTensor(
          w.data() + row * cols, size * cols, out.codes.data() + row * cols);
      std::fill(out.channelScales.begin() + row,
                out.channelScales.begin() + row + size, s);
      row += size;
    }
    if (row != rows)
      return diagOp->emitOpError("row blocks cover ")
             << row << " of " << rows << " rows";
    return out;
  }

  FailureOr<int64_t> group = int4Group(cols, groupSize, diagOp);
  if (failed(group))
    return failure();
  int64_t groups = cols / *group;
  std::vector<float> scales(rows * groups);
  std::vector<int8_t> packed;
  if (gptqScales) {
    auto typed = dyn_cast<TypedAttr>(gptqScales);
    auto type = typed ? dyn_cast<ShapedType>(typed.getType()) : ShapedType();
    if (!type)
      return diagOp->emitOpError("'")
             << kGptqScalesAttrName << "' must be a tensor of f32 scales";
    if (type.getRank() != 2 || type.getDimSize(0) != rows ||
        type.getDimSize(1) * *group != cols)
      return diagOp->emitOpError("'")
             << kGptqScalesAttrName << "' has type " << type
             << ", expected [" << rows << ", " << groups
             << "] for group size " << *group
             << " (run quamba-gptq with the same group size)";
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(gptqScales)) {
      FailureOr<std::vector<double>> values = readWeight(resource, diagOp);
      if (failed(values))
        return failure();
      std::copy(values->begin(), values->end(), scales.begin());
    } else if (auto dense = dyn_cast<DenseFPElementsAttr>(gptqScales);
               dense && dense.getElementType().isF32()) {
      llvm::copy(dense.getValues<float>(), scales.begin());
    } else {
      return diagOp->emitOpError("'")
             << kGptqScalesAttrName
             << "' must be dense or dense_resource f32 elements";
    }
    if (failed(packOnGrid(w, rows, cols, *group, scales, packed, diagOp)))
      return failure();
  } else {
    packed.resize(rows * cols / 2);
    ::quamba::Status status = ref::quantizeWeightInt4(
        w.data(), rows, cols, *group,
        reinterpret_cast<uint8_t *>(packed.data()), scales.data(),
        /*fp16Scales=*/true);
    if (!status)
      return diagOp->emitOpError(status.error());
  }
  out.codesShape = {rows, cols / 2};
  out.codes = std::move(packed);
  out.groupScalesShape = {rows, groups};
  out.groupSize = *group;
  if (format == Format::W4A16) {
    out.groupScales = std::move(scales);
    return out;
  }
  out.channelScales.resize(rows);
  out.groupScales.resize(rows * groups);
  ::quamba::Status status = ref::makeW4A8Weights(
      reinterpret_cast<const uint8_t *>(out.codes.data()), scales.data(),
      rows, cols, *group, out.channelScales.data(), out.groupScales.data());
  if (!status)
    return diagOp->emitOpError(status.error());
  return out;
}

FailureOr<QuantizedTable>
mlir::quamba::quantizeEmbeddingTable(ArrayRef<float> table, int64_t vocab,
                                     int64_t dim, int64_t bits,
                                     Operation *diagOp) {
  QuantizedTable out;
  out.scales.resize(vocab);
  if (bits == 8) {
    out.rowBytes = dim;
    out.codes.resize(vocab * dim);
    ref::quantizeWeightInt8PerChannel(table.data(), vocab, dim,
                                      out.codes.data(), out.scales.data());
    return out;
  }
  if (dim % 2 != 0)
    return diagOp->emitOpError("has d_model ")
           << dim << "; a 4-bit table needs an even row length";
  out.rowBytes = dim / 2;
  out.codes.resize(vocab * dim / 2);
  ::quamba::Status status = ref::quantizeWeightInt4(
      table.data(), vocab, dim, dim,
      reinterpret_cast<uint8_t *>(out.codes.data()), out.scales.data(),
      /*fp16Scales=*/true);
  if (!status)
    return diagOp->emitOpError(status.error());
  return out;
}
