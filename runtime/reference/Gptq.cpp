//===- Gptq.cpp - GPTQ 4-bit weight quantization --------------------------===//
//
// Semantics and choices in Gptq.h. Matrices are row-major here; LAPACK is
// column-major, see factorInverseUpper for how the two views are reconciled.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/Gptq.h"

#include "runtime/reference/QuantizedKernels.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

// LAPACK from OpenBLAS (Debian ships no lapacke headers). The trailing size_t
// is the hidden length of the Fortran CHARACTER argument: LAPACK routines
// compiled from Fortran expect it, OpenBLAS's C ones ignore it, and omitting
// it is undefined behaviour with recent gfortran.
extern "C" {
void dpotrf_(const char *uplo, const blasint *n, double *a, const blasint *lda,
             blasint *info, size_t uploLength);
void dpotri_(const char *uplo, const blasint *n, double *a, const blasint *lda,
             blasint *info, size_t uploLength);
}

namespace quamba::ref {

namespace {

constexpr const char *kName = "gptqQuantizeInt4";

Error gptqError(const std::string &message) {
  return makeError(std::string(kName) + ": " + message);
}

/// %g, not std::to_string's fixed 6 decimals: lambda and weights can be tiny.
std::string formatDouble(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", v);
  return buffer;
}

Status checkShape(int64_t rows, int64_t cols, const GptqOptions &options) {
  if (rows < 0 || cols < 0)
    return gptqError("negative shape");
  if (options.groupSize <= 0 || options.blockSize <= 0)
    return gptqError("groupSize " + std::to_string(options.groupSize) +
                     " and blockSize " + std::to_string(options.blockSize) +
                     " must be positive");
  if (!std::isfinite(options.damping) || options.damping < 0.0)
    return gptqError("damping " + formatDouble(options.damping) +
                     " must be finite and non-negative");
  if (cols % 2 != 0)
    return gptqError("cols " + std::to_string(cols) +
                     " must be even (two int4 codes per byte)");
  if (cols % options.groupSize != 0)
    return gptqError("groupSize " + std::to_string(options.groupSize) +
                     " must divide cols " + std::to_string(cols));
  if (options.blockSize % options.groupSize != 0)
    return gptqError("blockSize " + std::to_string(options.blockSize) +
                     " must be a multiple of groupSize " +
                     std::to_string(options.groupSize) +
                     " (a group's scale needs all its columns compensated)");
  // BLAS/LAPACK dimensions and leading dimensions are blasint.
  constexpr int64_t kMaxDim =
      static_cast<int64_t>(std::numeric_limits<blasint>::max());
  if (rows > kMaxDim || cols > kMaxDim)
    return gptqError("shape [" + std::to_string(rows) + ", " +
                     std::to_string(cols) + "] exceeds the BLAS integer range");
  return Status::success();
}

Status checkFinite(const float *w, int64_t rows, int64_t cols,
                   const double *hessian) {
  for (int64_t i = 0; i < rows * cols; ++i)
    if (!std::isfinite(w[i]))
      return gptqError("non-finite weight " + formatDouble(w[i]) + " at [" +
                       std::to_string(i / cols) + ", " +
                       std::to_string(i % cols) + "]");
  for (int64_t i = 0; i < cols * cols; ++i)
    if (!std::isfinite(hessian[i]))
      return gptqError("non-finite Hessian entry " + formatDouble(hessian[i]) +
                       " at [" + std::to_string(i / cols) + ", " +
                       std::to_string(i % cols) + "]");
  return Status::success();
}

/// Replaces h [n, n] (symmetric, positive definite) by U, the upper Cholesky
/// factor of h^-1 (h^-1 = U^T U), in the upper triangle of the row-major
/// array; the strict lower triangle is left holding garbage.
///
/// A row-major symmetric matrix is also its column-major self, but triangles
/// swap: the column-major lower triangle is the row-major upper one. So all
/// three LAPACK calls use 'L': dpotrf('L') gives h = L L^T, dpotri('L')
/// writes the lower triangle of h^-1, and dpotrf('L') on that gives
/// h^-1 = L' L'^T whose column-major L' read row-major is L'^T = U.
Status factorInverseUpper(std::vector<double> &h, int64_t n, double lambda) {
  const char lower = 'L';
  blasint dim = static_cast<blasint>(n), info = 0;
  const std::string damped = "(lambda = " + formatDouble(lambda) + ")";

  dpotrf_(&lower, &dim, h.data(), &dim, &info, 1);
  if (info > 0)
    return gptqError(
        "the Hessian is not positive definite even after damping " + damped +
        ": the Cholesky factorization failed at column " +
        std::to_string(info - 1));
  if (info == 0)
    dpotri_(&lower, &dim, h.data(), &dim, &info, 1);
  if (info > 0)
    return gptqError("the damped Hessian " + damped +
                     " is singular at column " + std::to_string(info - 1));
  if (info == 0)
    dpotrf_(&lower, &dim, h.data(), &dim, &info, 1);
  if (info > 0)
    return gptqError("the inverse of the damped Hessian " + damped +
                     " is not numerically positive definite: its Cholesky "
                     "factorization failed at column " +
                     std::to_string(info - 1) +
                     " (H is too ill-conditioned; increase damping)");
  if (info < 0)
    return gptqError("LAPACK rejected argument " + std::to_string(-info));
  return Status::success();
}

/// quantizeWeightInt4's scale for the group w[0, groupSize): the absmax is
/// taken in double and rounded to fp32 once, which equals the fp32 absmax of
/// the fp32-rounded weights (rounding is monotonic).
float groupScale(const double *w, int64_t groupSize, bool fp16Scales) {
  double amax = 0.0;
  for (int64_t k = 0; k < groupSize; ++k)
    amax = std::max(amax, std::fabs(w[k]));
  float s = (static_cast<float>(amax) * 2.0f) / 15.0f;
  return fp16Scales ? roundToFp16(s) : s;
}

/// quantizeWeightInt4's code for weight w (rounded to fp32) and scale s.
int quantizeValue(double w, float s) {
  if (s == 0.0f)
    return 0;
  float t = std::nearbyint(static_cast<float>(w) / s);
  return std::isnan(t) ? 0 : static_cast<int>(std::clamp(t, -8.0f, 7.0f));
}

} // namespace

void accumulateHessian(const float *x, int64_t tokens, int64_t cols,
                       double *hessian) {
  if (cols <= 0)
    return;
  // SYRK on chunks of rows converted to double: the products and sums are
  // then double (exact products of fp32 values), at BLAS speed.
  constexpr int64_t kChunk = 256;
  std::vector<double> chunk(static_cast<size_t>(
      std::min(std::max<int64_t>(tokens, 0), kChunk) * cols));
  for (int64_t t0 = 0; t0 < tokens; t0 += kChunk) {
    int64_t n = std::min(kChunk, tokens - t0);
    for (int64_t i = 0; i < n * cols; ++i)
      chunk[i] = static_cast<double>(x[t0 * cols + i]);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans,
                static_cast<blasint>(cols), static_cast<blasint>(n), 1.0,
                chunk.data(), static_cast<blasint>(cols), 1.0, hessian,
                static_cast<blasint>(cols));
  }
  // SYRK updates one triangle; callers get the full matrix.
  for (int64_t i = 1; i < cols; ++i)
    for (int64_t j = 0; j < i; ++j)
      hessian[i * cols + j] = hessian[j * cols + i];
}

Status gptqQuantizeInt4(const float *w, int64_t rows, int64_t cols,
                        const double *hessian, const GptqOptions &options,
                        uint8_t *packed, float *scales, double *loss) {
  if (Status s = checkShape(rows, cols, options); !s)
    return s;
  if (Status s = checkFinite(w, rows, cols, hessian); !s)
    return s;
  if (loss)
    *loss = 0.0;
  if (cols == 0)
    return Status::success();

  const int64_t groupSize = options.groupSize;
  const int64_t groups = cols / groupSize;
  std::vector<double> h(hessian, hessian + cols * cols);
  std::vector<double> wd(w, w + rows * cols);

  // Dead input channels: nothing to compensate with, nothing to keep.
  for (int64_t i = 0; i < cols; ++i) {
    if (h[i * cols + i] != 0.0)
      continue;
    h[i * cols + i] = 1.0;
    for (int64_t r = 0; r < rows; ++r)
      wd[r * cols + i] = 0.0;
  }
  double diagSum = 0.0;
  for (int64_t i = 0; i < cols; ++i)
    diagSum += h[i * cols + i];
  const double lambda = options.damping * (diagSum / static_cast<double>(cols));
  for (int64_t i = 0; i < cols; ++i)
    h[i * cols + i] += lambda;

  if (Status s = factorInverseUpper(h, cols, lambda); !s)
    return s;
  const double *u = h.data(); // U[i, j] = u[i * cols + j] for j >= i

  std::vector<int8_t> values(static_cast<size_t>(rows * cols));
  // Err1 of GPTQ: the scaled errors of the current block, [rows, count].
  std::vector<double> err(
      static_cast<size_t>(rows * std::min(options.blockSize, cols)));
  double totalLoss = 0.0;
  for (int64_t i1 = 0; i1 < cols; i1 += options.blockSize) {
    const int64_t i2 = std::min(cols, i1 + options.blockSize);
    const int64_t count = i2 - i1;
    // Within a block the rows are independent: row by row keeps one row
    // segment and the block's part of U in cache.
    for (int64_t r = 0; r < rows; ++r) {
      double *row = wd.data() + r * cols;
      double *errRow = err.data() + r * count;
      float s = 0.0f;
      for (int64_t j = i1; j < i2; ++j) {
        // Groups start inside the block (blockSize % groupSize == 0), so the
        // group's columns [j, j + groupSize) are all compensated by now.
        if (j % groupSize == 0) {
          s = groupScale(row + j, groupSize, options.fp16Scales);
          scales[r * groups + j / groupSize] = s;
        }
        int v = quantizeValue(row[j], s);
        values[r * cols + j] = static_cast<int8_t>(v);
        // Exact: a 4-bit integer times an fp32 value.
        double q = static_cast<double>(v) * static_cast<double>(s);
        double e = (row[j] - q) / u[j * cols + j];
        totalLoss += 0.5 * (e * e);
        errRow[j - i1] = e;
        const double *uRow = u + j * cols;
        for (int64_t k = j + 1; k < i2; ++k)
          row[k] -= e * uRow[k];
      }
    }
    // The lazy batch: W[:, i2:] -= Err1 * U[i1:i2, i2:].
    if (i2 < cols && rows > 0)
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                  static_cast<blasint>(rows), static_cast<blasint>(cols - i2),
                  static_cast<blasint>(count), -1.0, err.data(),
                  static_cast<blasint>(count), u + i1 * cols + i2,
                  static_cast<blasint>(cols), 1.0, wd.data() + i2,
                  static_cast<blasint>(cols));
  }

  for (int64_t r = 0; r < rows; ++r)
    if (Status s =
            packInt4(values.data() + r * cols, cols, packed + r * (cols / 2));
        !s)
      return s;
  if (loss)
    *loss = totalLoss;
  return Status::success();
}

} // namespace quamba::ref
