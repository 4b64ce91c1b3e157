//===- Norms.cpp - RMSNorm, fused add + RMSNorm, grouped gated RMSNorm ------===//
//
// Sums of squares are accumulated in double: the reference should be the
// best fp32 answer, not one particular reduction order's rounding.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/Kernels.h"
#include "runtime/reference/Parallel.h"

#include <cassert>
#include <cmath>

namespace quamba::ref {
namespace {

/// 1 / sqrt(mean(v^2) + eps) over n values.
float inverseRms(const float *v, int64_t n, float eps) {
  double sumSquares = 0.0;
  for (int64_t i = 0; i < n; ++i)
    sumSquares += static_cast<double>(v[i]) * v[i];
  return static_cast<float>(
      1.0 / std::sqrt(sumSquares / static_cast<double>(n) + eps));
}

void normalizeRow(const float *x, const float *weight, float *out,
                  int64_t dim, float eps) {
  float scale = inverseRms(x, dim, eps);
  for (int64_t i = 0; i < dim; ++i)
    out[i] = x[i] * scale * weight[i];
}

} // namespace

void rmsNorm(const float *x, const float *weight, float *out, int64_t rows,
             int64_t dim, float eps) {
  parallelFor(rows, 3 * dim, [&](int64_t r) {
    normalizeRow(x + r * dim, weight, out + r * dim, dim, eps);
  });
}

void addRmsNorm(const float *x, const float *residualIn, const float *weight,
                float *out, float *residualOut, int64_t rows, int64_t dim,
                float eps) {
  parallelFor(rows, 4 * dim, [&](int64_t r) {
    const float *xRow = x + r * dim;
    const float *inRow = residualIn + r * dim;
    float *sumRow = residualOut + r * dim;
    // Element i is read before it is written, so sumRow may be inRow.
    for (int64_t i = 0; i < dim; ++i)
      sumRow[i] = xRow[i] + inRow[i];
    normalizeRow(sumRow, weight, out + r * dim, dim, eps);
  });
}

void gatedRmsNorm(const float *y, const float *z, const float *weight,
                  float *out, int64_t rows, int64_t dim, int64_t groupSize,
                  float eps) {
  assert(groupSize > 0 && dim % groupSize == 0 &&
         "gatedRmsNorm: groupSize must divide dim");
  parallelFor(rows, 6 * dim, [&](int64_t r) {
    const float *yRow = y + r * dim;
    const float *zRow = z + r * dim;
    float *outRow = out + r * dim;
    // norm_before_gate = false: gate first, into out, then normalise there.
    for (int64_t i = 0; i < dim; ++i)
      outRow[i] = yRow[i] * silu(zRow[i]);
    for (int64_t g = 0; g < dim; g += groupSize) {
      float scale = inverseRms(outRow + g, groupSize, eps);
      for (int64_t i = g; i < g + groupSize; ++i)
        outRow[i] = outRow[i] * scale * weight[i];
    }
  });
}

} // namespace quamba::ref
