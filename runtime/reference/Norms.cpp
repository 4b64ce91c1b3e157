//===- Norms.cpp - RMSNorm, fused add + RMSNorm, grouped gated RMSNorm ------===//
//
// Sums of squares run in the block order of FloatSemantics.h
// (blockOrderSum over normThreads(n) threads: interleaved thread sums,
// warp butterflies, warp totals in order) in fp32, which the GPU kernels
// (one block per row or group) reproduce bit for bit; the pairwise-like
// order is also no less accurate than a sequential fp32 sum.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/FloatSemantics.h"
#include "runtime/reference/Kernels.h"
#include "runtime/reference/Parallel.h"

#include <cassert>
#include <cmath>

namespace quamba::ref {
namespace {

/// 1 / sqrt(sum(v^2) / n + eps) over n values, each operation rounded to
/// fp32.
float inverseRms(const float *v, int64_t n, float eps) {
  float sumSquares =
      blockOrderSum(n, normThreads(n), [&](int64_t i) { return v[i] * v[i]; });
  float mean = sumSquares / static_cast<float>(n);
  return 1.0f / std::sqrt(mean + eps);
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
