//===- SSDScan.cpp - Mamba2 chunked SSD scan and one-token step ------------===//
//
// The scan follows mamba_ssm's ssd_minimal.py in fp32, per (batch, head):
// within a chunk the quadratic "diagonal block" form with the segment sums of
// dt*A, the chunk's contribution to the state, then the state passed from
// chunk to chunk sequentially (as ssd_combined's state passing does). The
// result is the recurrence of formats.md §4.3:
//   h_t = exp(dt_t A) h_{t-1} + dt_t B_t x_t,   y_t = C_t . h_t + D x_t.
// Each (batch, head) is one parallel item computed in a fixed order, so the
// result does not depend on the thread count.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/Kernels.h"
#include "runtime/reference/Parallel.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace quamba::ref {
namespace {

/// Strides and per-head constants of one (batch, head) item.
struct HeadView {
  const SSDShape &shape;
  int64_t b, h, g; // batch, head and the head's group h / (H / G)
  float A;         // -exp(A_log[h])

  HeadView(const SSDShape &s, int64_t item, const float *A_log)
      : shape(s), b(item / s.nheads), h(item % s.nheads),
        g(h / (s.nheads / s.ngroups)), A(-std::exp(A_log[h])) {}

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

/// Scratch for one chunk of one head; sized once per item.
struct ChunkBuffers {
  std::vector<float> X;     // [T, P]: x * dt
  std::vector<float> Bt;    // [N, T]: B transposed, for contiguous inner loops
  std::vector<float> C;     // [T, N]
  std::vector<float> cum;   // [T]: cumulative sum of dt*A within the chunk
  std::vector<float> CB;    // [T, T]: (C_l . B_s) * exp(segsum), s <= l
  std::vector<float> Y;     // [T, P]
  std::vector<float> proj;  // [P]: C_l . state, one row at a time
  std::vector<float> delta; // [N, P]: the chunk's own contribution to state

  ChunkBuffers(int64_t T, int64_t P, int64_t N)
      : X(T * P), Bt(N * T), C(T * N), cum(T), CB(T * T), Y(T * P), proj(P),
        delta(N * P) {}
};

/// dt' for every token of the head: softplus(dt + dt_bias), clamped.
std::vector<float> headDt(const HeadView &v, const float *dt,
                          const float *dtBias, float dtMin, float dtMax) {
  const SSDShape &s = v.shape;
  std::vector<float> out(s.seqlen);
  for (int64_t t = 0; t < s.seqlen; ++t) {
    float value =
        softplus(dt[(v.b * s.seqlen + t) * s.nheads + v.h] + dtBias[v.h]);
    out[t] = std::min(std::max(value, dtMin), dtMax);
  }
  return out;
}

void loadChunk(const HeadView &v, int64_t t0, int64_t len, const float *x,
               const float *Bm, const float *Cm, const float *dtv,
               ChunkBuffers &buf) {
  int64_t P = v.shape.headdim, N = v.shape.dstate;
  for (int64_t s = 0; s < len; ++s) {
    for (int64_t p = 0; p < P; ++p)
      buf.X[s * P + p] = x[v.xIndex(t0 + s, p)] * dtv[t0 + s];
    for (int64_t n = 0; n < N; ++n) {
      buf.Bt[n * len + s] = Bm[v.bcIndex(t0 + s, n)];
      buf.C[s * N + n] = Cm[v.bcIndex(t0 + s, n)];
    }
    float a = dtv[t0 + s] * v.A;
    buf.cum[s] = s == 0 ? a : buf.cum[s - 1] + a;
  }
}

/// CB[l, s] = (C_l . B_s) * exp(sum_{u=s+1..l} dt_u A) for s <= l: the
/// masked, decayed "attention" matrix of the diagonal block. The segment sum
/// is accumulated directly (as ssd_minimal's segsum), not as a difference of
/// cumulative sums, which would cancel catastrophically for long chunks.
void diagonalWeights(const float *a, int64_t len, int64_t N,
                     ChunkBuffers &buf) {
  std::fill(buf.CB.begin(), buf.CB.begin() + len * len, 0.0f);
  for (int64_t l = 0; l < len; ++l) {
    float *row = &buf.CB[l * len];
    for (int64_t n = 0; n < N; ++n) {
      float c = buf.C[l * N + n];
      const float *bRow = &buf.Bt[n * len];
      for (int64_t s = 0; s <= l; ++s)
        row[s] += c * bRow[s];
    }
  }
  for (int64_t s = 0; s < len; ++s) {
    float segsum = 0.0f;
    for (int64_t l = s; l < len; ++l) {
      if (l > s)
        segsum += a[l];
      buf.CB[l * len + s] *= std::exp(segsum);
    }
  }
}

/// Y[l] = sum_{s<=l} CB[l, s] X[s]  (Y_diag)  +  exp(cum[l]) C_l . state
/// (Y_off, the state entering the chunk decayed to token l).
void chunkOutputs(int64_t len, int64_t P, int64_t N, const float *state,
                  ChunkBuffers &buf) {
  for (int64_t l = 0; l < len; ++l) {
    float *y = &buf.Y[l * P];
    std::fill(y, y + P, 0.0f);
    for (int64_t s = 0; s <= l; ++s) {
      float w = buf.CB[l * len + s];
      const float *xs = &buf.X[s * P];
      for (int64_t p = 0; p < P; ++p)
        y[p] += w * xs[p];
    }
    std::fill(buf.proj.begin(), buf.proj.end(), 0.0f);
    for (int64_t n = 0; n < N; ++n) {
      float c = buf.C[l * N + n];
      const float *stateRow = state + n * P;
      for (int64_t p = 0; p < P; ++p)
        buf.proj[p] += c * stateRow[p];
    }
    float decay = std::exp(buf.cum[l]);
    for (int64_t p = 0; p < P; ++p)
      y[p] += decay * buf.proj[p];
  }
}

/// state <- exp(cum[last]) state + sum_s B_s exp(sum_{u=s+1..last} dt_u A) X_s.
/// ssd_minimal writes the decay as exp(cum[last] - cum[s]); the suffix sum
/// is the same number without the cancellation of two large cumulative sums.
/// state is [N, P] (transposed from the [P, N] of the interface).
void passState(const float *a, int64_t len, int64_t P, int64_t N,
               float *state, ChunkBuffers &buf) {
  std::fill(buf.delta.begin(), buf.delta.end(), 0.0f);
  float suffix = 0.0f; // sum of dt*A over (s, last]
  for (int64_t s = len - 1; s >= 0; --s) {
    if (s + 1 < len)
      suffix += a[s + 1];
    float decay = std::exp(suffix);
    const float *xs = &buf.X[s * P];
    for (int64_t n = 0; n < N; ++n) {
      float w = buf.Bt[n * len + s] * decay;
      float *row = &buf.delta[n * P];
      for (int64_t p = 0; p < P; ++p)
        row[p] += w * xs[p];
    }
  }
  float chunkDecay = std::exp(buf.cum[len - 1]);
  for (int64_t i = 0; i < N * P; ++i)
    state[i] = chunkDecay * state[i] + buf.delta[i];
}

void scanHead(const HeadView &v, int64_t chunkSize, float dtMin, float dtMax,
              const float *x, const float *dt, const float *Bm,
              const float *Cm, const float *D, const float *dtBias, float *y,
              float *stateOut) {
  const SSDShape &s = v.shape;
  int64_t P = s.headdim, N = s.dstate;
  int64_t T = std::min(chunkSize, s.seqlen);
  std::vector<float> dtv = headDt(v, dt, dtBias, dtMin, dtMax);
  std::vector<float> a(s.seqlen);
  for (int64_t t = 0; t < s.seqlen; ++t)
    a[t] = dtv[t] * v.A;
  std::vector<float> state(N * P, 0.0f); // [N, P]
  ChunkBuffers buf(T, P, N);
  for (int64_t t0 = 0; t0 < s.seqlen; t0 += T) {
    int64_t len = std::min(T, s.seqlen - t0);
    loadChunk(v, t0, len, x, Bm, Cm, dtv.data(), buf);
    diagonalWeights(a.data() + t0, len, N, buf);
    chunkOutputs(len, P, N, state.data(), buf);
    passState(a.data() + t0, len, P, N, state.data(), buf);
    for (int64_t l = 0; l < len; ++l)
      for (int64_t p = 0; p < P; ++p) {
        int64_t i = v.xIndex(t0 + l, p);
        y[i] = buf.Y[l * P + p] + v.d(D, p) * x[i];
      }
  }
  float *out = stateOut + (v.b * s.nheads + v.h) * P * N;
  for (int64_t p = 0; p < P; ++p)
    for (int64_t n = 0; n < N; ++n)
      out[p * N + n] = state[n * P + p];
}

} // namespace

void ssdScan(const SSDShape &shape, int64_t chunkSize, float dtMin,
             float dtMax, const float *x, const float *dt, const float *Bm,
             const float *Cm, const float *A_log, const float *D,
             const float *dtBias, float *y, float *stateOut) {
  if (chunkSize <= 0)
    chunkSize = shape.seqlen; // one chunk: the purely quadratic form
  if (shape.seqlen <= 0) {
    std::fill(stateOut,
              stateOut + shape.batch * shape.nheads * shape.headdim *
                             shape.dstate,
              0.0f);
    return;
  }
  int64_t T = std::min(chunkSize, shape.seqlen);
  int64_t work = shape.seqlen * (T * (shape.dstate + shape.headdim) +
                                 2 * shape.headdim * shape.dstate);
  parallelFor(shape.batch * shape.nheads, work, [&](int64_t item) {
    HeadView v(shape, item, A_log);
    scanHead(v, chunkSize, dtMin, dtMax, x, dt, Bm, Cm, D, dtBias, y,
             stateOut);
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
    float decay = std::exp(dtv * v.A);
    float *h = state + item * P * N;
    for (int64_t p = 0; p < P; ++p) {
      float xv = x[v.xIndex(0, p)];
      float *row = h + p * N;
      float acc = 0.0f;
      for (int64_t n = 0; n < N; ++n) {
        row[n] = row[n] * decay + Bm[v.bcIndex(0, n)] * dtv * xv;
        acc += Cm[v.bcIndex(0, n)] * row[n];
      }
      y[v.xIndex(0, p)] = acc + v.d(D, p) * xv;
    }
  });
}

} // namespace quamba::ref
