//===- SSDScan.cpp - Mamba2 SSD scan and one-token step --------------------===//
//
// The recurrence of formats.md §4.3, token by token, per (batch, head):
//   h_t = exp(dt_t A) h_{t-1} + dt_t B_t x_t,   y_t = C_t . h_t + D x_t,
// the dot product C_t . h_t over the state in the warp order of
// FloatSemantics.h.
// mamba_ssm computes the scan in chunks (ssd_minimal / ssd_combined); that
// is the same recurrence reassociated, equal up to fp32 rounding. The
// reference fixes the sequential order instead, in the float semantics of
// FloatSemantics.h, because the GPU scan kernels reproduce it bit for bit:
// a prefill is then exactly a sequence of steps, on every backend. Each
// (batch, head) is one parallel item, so the result does not depend on the
// thread count.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/FloatSemantics.h"
#include "runtime/reference/Kernels.h"
#include "runtime/reference/Parallel.h"

#include <algorithm>
#include <cmath>

namespace quamba::ref {
namespace {

/// Strides and per-head constants of one (batch, head) item.
struct HeadView {
  const SSDShape &shape;
  int64_t b, h, g; // batch, head and the head's group h / (H / G)
  float A;         // -exp(A_log[h])

  HeadView(const SSDShape &s, int64_t item, const float *A_log)
      : shape(s), b(item / s.nheads), h(item % s.nheads),
        g(h / (s.nheads / s.ngroups)), A(-ref::exp(A_log[h])) {}

  int64_t xIndex(int64_t t, int64_t p) const {
    return (b * shape.seqlen + t) * shape.nheads * shape.headdim +
           h * shape.headdim + p;
  }
  int64_t bcIndex(int64_t t, int64_t n) const {
    return (b * shape.seqlen + t) * shape.ngroups * shape.dstate +
           g * shape.dstate + n;
  }
  float d(const float *D, int64_t p) const {
    return shape.dHasHdim ? D[h * shape.headdim + p] : D[h];
  }
};

/// One token of head v at sequence position t: updates the head's state
/// [P, N] in place and writes y for every p. The operation order is the GPU
/// kernels' (codegen/kernels/Scan.cpp).
void updateHead(const HeadView &v, int64_t t, float dtv, const float *x,
                const float *Bm, const float *Cm, const float *D,
                float *state, float *y) {
  int64_t P = v.shape.headdim, N = v.shape.dstate;
  float decay = ref::exp(dtv * v.A);
  for (int64_t p = 0; p < P; ++p) {
    float xv = x[v.xIndex(t, p)];
    float *row = state + p * N;
    for (int64_t n = 0; n < N; ++n)
      row[n] = row[n] * decay + Bm[v.bcIndex(t, n)] * dtv * xv;
    // C . h in the warp order: the GPU kernels spread a state row over a
    // warp's lanes.
    float acc = warpOrderSum(N, 1, [&](int64_t n) { return Cm[v.bcIndex(t, n)] * row[n]; });
    y[v.xIndex(t, p)] = acc + v.d(D, p) * xv;
  }
}

} // namespace

void ssdScan(const SSDShape &shape, int64_t /*chunkSize*/, float dtMin,
             float dtMax, const float *x, const float *dt, const float *Bm,
             const float *Cm, const float *A_log, const float *D,
             const float *dtBias, float *y, float *stateOut) {
  const int64_t P = shape.headdim, N = shape.dstate;
  parallelFor(shape.batch * shape.nheads, 3 * shape.seqlen * P * N,
              [&](int64_t item) {
    HeadView v(shape, item, A_log);
    float *state = stateOut + item * P * N; // item = b * H + h
    std::fill(state, state + P * N, 0.0f);
    for (int64_t t = 0; t < shape.seqlen; ++t) {
      float dtv = softplus(dt[(v.b * shape.seqlen + t) * shape.nheads + v.h] +
                           dtBias[v.h]);
      dtv = std::min(std::max(dtv, dtMin), dtMax);
      updateHead(v, t, dtv, x, Bm, Cm, D, state, y);
    }
  });
}

void ssdStep(const SSDShape &shape, const float *x, const float *dt,
             const float *Bm, const float *Cm, const float *A_log,
             const float *D, const float *dtBias, float *state, float *y) {
  // A one-token view of the scan's layouts: seqlen 1.
  SSDShape one = shape;
  one.seqlen = 1;
  int64_t P = one.headdim, N = one.dstate;
  parallelFor(one.batch * one.nheads, 3 * P * N, [&](int64_t item) {
    HeadView v(one, item, A_log);
    // No dt limit here: selective_state_update does not apply one.
    float dtv = softplus(dt[item] + dtBias[v.h]);
    updateHead(v, 0, dtv, x, Bm, Cm, D, state + item * P * N, y);
  });
}

} // namespace quamba::ref
