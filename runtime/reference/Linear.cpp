//===- Linear.cpp - dense layer through OpenBLAS ----------------------------===//

#include "runtime/reference/Kernels.h"

#if QUAMBA_HAVE_BLAS
#include <cblas.h>
#endif

#include <cstring>

namespace quamba::ref {

void linear(const float *x, const float *weight, const float *bias, float *out,
            int64_t rows, int64_t inFeatures, int64_t outFeatures) {
  if (rows <= 0 || outFeatures <= 0)
    return;
  // The bias is added by GEMM itself (beta = 1 over rows pre-filled with it),
  // which saves a second pass over the output.
  float beta = 0.0f;
  if (bias) {
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(out + r * outFeatures, bias,
                  static_cast<size_t>(outFeatures) * sizeof(float));
    beta = 1.0f;
  }
  if (inFeatures <= 0) {
    // sgemm with K = 0 still scales C by beta; make that explicit.
    if (!bias)
      std::memset(out, 0,
                  static_cast<size_t>(rows * outFeatures) * sizeof(float));
    return;
  }
  // out[rows, out] = x[rows, in] * weight[out, in]^T (PyTorch layout).
#if QUAMBA_HAVE_BLAS
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
              static_cast<blasint>(rows), static_cast<blasint>(outFeatures),
              static_cast<blasint>(inFeatures), 1.0f, x,
              static_cast<blasint>(inFeatures), weight,
              static_cast<blasint>(inFeatures), beta, out,
              static_cast<blasint>(outFeatures));
#else
  // The portable runtime (no BLAS): the same sums, k ascending.
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < outFeatures; ++n) {
      const float *a = x + r * inFeatures, *w = weight + n * inFeatures;
      float acc = 0.0f;
      for (int64_t k = 0; k < inFeatures; ++k)
        acc += a[k] * w[k];
      // beta is 0 (out uninitialised: never read it) or 1 (out holds bias).
      out[r * outFeatures + n] = beta == 0.0f ? acc : out[r * outFeatures + n] + acc;
    }
#endif
}

} // namespace quamba::ref
