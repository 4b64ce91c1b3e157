//===- SelectiveScan.cpp - Mamba1 selective scan and one-token step --------===//
//
// formats.md §4.2, steps 4-7 (mamba_ssm's selective_scan_ref):
//   dt' = softplus(dt + dt_bias),  A = -exp(A_log)
//   h_t[c, n] = exp(dt'_t[c] A[c, n]) h_{t-1}[c, n] + dt'_t[c] B_t[n] x_t[c]
//   y_t[c] = (sum_n h_t[c, n] C_t[n] + D[c] x_t[c]) * silu(z_t[c])
// Sequential in t, in the float semantics of FloatSemantics.h (the GPU
// kernels reproduce it bit for bit); each (batch, channel) is one parallel
// item, so the result does not depend on the thread count. Prefill and step
// share one update function and therefore agree exactly.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/FloatSemantics.h"
#include "runtime/reference/Kernels.h"
#include "runtime/reference/Parallel.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace quamba::ref {
namespace {

/// A[c, :] = -exp(A_log[c, :]), computed once per channel, not per token.
std::vector<float> channelA(const float *A_log, int64_t c, int64_t N) {
  std::vector<float> A(N);
  for (int64_t n = 0; n < N; ++n)
    A[n] = -ref::exp(A_log[c * N + n]);
  return A;
}

/// One token of one channel: updates h[0..N) in place and returns y.
float updateChannel(float x, float dtRaw, const float *B, const float *C,
                    float z, const float *A, float d, float dtBias, float *h,
                    int64_t N) {
  float dtv = softplus(dtRaw + dtBias);
  float acc = 0.0f;
  for (int64_t n = 0; n < N; ++n) {
    float decay = ref::exp(dtv * A[n]);
    h[n] = decay * h[n] + dtv * B[n] * x;
    acc = acc + h[n] * C[n];
  }
  return (acc + d * x) * silu(z);
}

} // namespace

void selectiveScan(const SelectiveShape &shape, const float *x,
                   const float *dt, const float *Bm, const float *Cm,
                   const float *z, const float *A_log, const float *D,
                   const float *dtBias, float *y, float *stateOut) {
  int64_t L = shape.seqlen, E = shape.dinner, N = shape.dstate;
  parallelFor(shape.batch * E, L * N * 6, [&](int64_t item) {
    int64_t b = item / E, c = item % E;
    std::vector<float> A = channelA(A_log, c, N);
    float *h = stateOut + item * N;
    std::fill(h, h + N, 0.0f);
    for (int64_t t = 0; t < L; ++t) {
      int64_t i = (b * L + t) * E + c;
      int64_t bc = (b * L + t) * N;
      y[i] = updateChannel(x[i], dt[i], Bm + bc, Cm + bc, z[i],
                           A.data(), D[c], dtBias[c], h, N);
    }
  });
}

void selectiveStep(const SelectiveShape &shape, const float *x,
                   const float *dt, const float *Bm, const float *Cm,
                   const float *z, const float *A_log, const float *D,
                   const float *dtBias, float *state, float *y) {
  int64_t E = shape.dinner, N = shape.dstate;
  parallelFor(shape.batch * E, N * 6, [&](int64_t item) {
    int64_t b = item / E, c = item % E;
    std::vector<float> A = channelA(A_log, c, N);
    y[item] = updateChannel(x[item], dt[item], Bm + b * N, Cm + b * N,
                            z[item], A.data(), D[c], dtBias[c],
                            state + item * N, N);
  });
}

} // namespace quamba::ref
