//===- SSDScan.cpp - Mamba2 SSD scan and one-token step --------------------===//
//
// The recurrence of formats.md §4.3, per (batch, head):
//   h_t = exp(dt_t A) h_{t-1} + dt_t B_t x_t,   y_t = C_t . h_t + D x_t.
// The step applies it to one token, the dot product C_t . h_t over the state
// in the warp order of FloatSemantics.h. The scan computes it in chunks of
// kSSDChunk tokens, as mamba_ssm's ssd_combined does (the same sums
// reassociated: within a chunk, decays are exp of differences of a running
// sum of dt A; across chunks, states are passed on), in three stages that are
// the plan's launches: the GPU kernels compute every sum in the order
// written here, bit for bit, and the stages are matrix products there. The
// products' sums are fused multiply-adds (std::fma, one rounding a term):
// correctly rounded, so every backend reproduces them, and half the
// instructions of a multiply and an add on the GPU.
// C B^T of a chunk is a stage of its own: one per group, not one per head.
// Every item (a head of a chunk, or a head) is computed by one thread, so
// the result does not depend on the thread count.
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

/// Strides and per-head constants of one (batch, head) item.
struct HeadView {
  const SSDShape &shape;
  int64_t b, h, g; // batch, head and the head's group h / (H / G)

  /// item = b * H + h.
  HeadView(const SSDShape &s, int64_t item)
      : shape(s), b(item / s.nheads), h(item % s.nheads), g(h / (s.nheads / s.ngroups)) {}

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
void updateHead(const HeadView &v, float A, int64_t t, float dtv, const float *x,
                const float *Bm, const float *Cm, const float *D,
                float *state, float *y) {
  int64_t P = v.shape.headdim, N = v.shape.dstate;
  float decay = ref::exp(dtv * A);
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

/// dt' of token t of head v: softplus(dt + bias), clamped to [dtMin, dtMax]
/// (std::max/min keep a NaN).
float clampedDt(const HeadView &v, float dtMin, float dtMax, const float *dt,
                const float *dtBias, int64_t t) {
  float dtv = softplus(dt[(v.b * v.shape.seqlen + t) * v.shape.nheads + v.h] + dtBias[v.h]);
  return std::min(std::max(dtv, dtMin), dtMax);
}

/// The tokens [first, first + count) of chunk c.
struct ChunkSpan {
  int64_t first, count;
  ChunkSpan(const SSDShape &s, int64_t c)
      : first(c * kSSDChunk), count(std::min(kSSDChunk, s.seqlen - c * kSSDChunk)) {}
};

/// Index of element (p, n) of head h's state of chunk c in [B, nchunks, H, P, N].
int64_t chunkStateIndex(const SSDShape &s, int64_t b, int64_t c, int64_t h) {
  return ((b * ssdChunks(s.seqlen) + c) * s.nheads + h) * s.headdim * s.dstate;
}

} // namespace

void ssdChunkState(const SSDShape &shape, float dtMin, float dtMax, const float *x,
                   const float *dt, const float *Bm, const float *A_log,
                   const float *dtBias, float *dtOut, float *cumOut, float *chunkStates) {
  const int64_t P = shape.headdim, N = shape.dstate, H = shape.nheads, L = shape.seqlen;
  const int64_t chunks = ssdChunks(L);
  parallelFor(shape.batch * chunks * H, 2 * kSSDChunk * P * N, [&](int64_t item) {
    // item = (b * chunks + c) * H + h
    int64_t h = item % H, c = item / H % chunks, b = item / H / chunks;
    HeadView v(shape, b * H + h);
    const float A = -ref::exp(A_log[h]);
    ChunkSpan span(shape, c);
    float *dtRow = dtOut + (b * H + h) * L + span.first;
    float *cum = cumOut + (b * H + h) * L + span.first;
    for (int64_t i = 0; i < span.count; ++i) {
      dtRow[i] = clampedDt(v, dtMin, dtMax, dt, dtBias, span.first + i);
      float a = dtRow[i] * A;
      cum[i] = i == 0 ? a : cum[i - 1] + a;
    }
    float last = cum[span.count - 1];
    float *state = chunkStates + chunkStateIndex(shape, b, c, h);
    std::fill(state, state + P * N, 0.0f);
    std::vector<float> wx(P);
    for (int64_t i = 0; i < span.count; ++i) {
      int64_t t = span.first + i;
      float w = ref::exp(last - cum[i]) * dtRow[i];
      for (int64_t p = 0; p < P; ++p)
        wx[p] = w * x[v.xIndex(t, p)];
      const float *Brow = Bm + v.bcIndex(t, 0);
      for (int64_t p = 0; p < P; ++p)
        for (int64_t n = 0; n < N; ++n)
          state[p * N + n] = std::fma(Brow[n], wx[p], state[p * N + n]);
    }
  });
}

void ssdStatePassing(const SSDShape &shape, const float *cum, const float *chunkStates,
                     float *initStates, float *stateOut) {
  const int64_t PN = shape.headdim * shape.dstate, H = shape.nheads, L = shape.seqlen;
  const int64_t chunks = ssdChunks(L);
  parallelFor(shape.batch * H, chunks * PN, [&](int64_t item) {
    int64_t b = item / H, h = item % H;
    float *s = stateOut + item * PN;
    std::fill(s, s + PN, 0.0f);
    for (int64_t c = 0; c < chunks; ++c) {
      ChunkSpan span(shape, c);
      float decay = ref::exp(cum[item * L + span.first + span.count - 1]);
      const float *local = chunkStates + chunkStateIndex(shape, b, c, h);
      float *init = initStates + chunkStateIndex(shape, b, c, h);
      for (int64_t e = 0; e < PN; ++e) {
        init[e] = s[e];
        s[e] = s[e] * decay + local[e];
      }
    }
  });
}

void ssdChunkCB(const SSDShape &shape, const float *Bm, const float *Cm, float *cb) {
  const int64_t N = shape.dstate, G = shape.ngroups, Q = kSSDChunk;
  const int64_t chunks = ssdChunks(shape.seqlen);
  parallelFor(shape.batch * chunks * G, Q * Q * N / 2, [&](int64_t item) {
    // item = (b * chunks + c) * G + g
    int64_t g = item % G, c = item / G % chunks, b = item / G / chunks;
    ChunkSpan span(shape, c);
    float *out = cb + item * Q * Q;
    std::fill(out, out + Q * Q, 0.0f);
    auto row = [&](const float *m, int64_t i) {
      return m + ((b * shape.seqlen + span.first + i) * G + g) * N;
    };
    for (int64_t i = 0; i < span.count; ++i)
      for (int64_t j = 0; j <= i; ++j) {
        const float *Ci = row(Cm, i), *Bj = row(Bm, j);
        float acc = 0.0f;
        for (int64_t n = 0; n < N; ++n)
          acc = std::fma(Ci[n], Bj[n], acc);
        out[i * Q + j] = acc;
      }
  });
}

void ssdChunkScan(const SSDShape &shape, const float *x, const float *dtOut,
                  const float *cum, const float *Cm, const float *cb, const float *D,
                  const float *initStates, float *y) {
  const int64_t P = shape.headdim, N = shape.dstate, H = shape.nheads, L = shape.seqlen;
  const int64_t chunks = ssdChunks(L);
  parallelFor(shape.batch * chunks * H, kSSDChunk * (kSSDChunk / 2 + N) * P, [&](int64_t item) {
    int64_t h = item % H, c = item / H % chunks, b = item / H / chunks;
    HeadView v(shape, b * H + h);
    ChunkSpan span(shape, c);
    const float *dtRow = dtOut + (b * H + h) * L + span.first;
    const float *cumRow = cum + (b * H + h) * L + span.first;
    const float *init = initStates + chunkStateIndex(shape, b, c, h);
    const float *cbChunk = cb + ((b * chunks + c) * shape.ngroups + v.g) * kSSDChunk * kSSDChunk;
    // init transposed to [N, P]: the n loop below then runs over contiguous p.
    std::vector<float> initT(N * P), acc(P);
    for (int64_t p = 0; p < P; ++p)
      for (int64_t n = 0; n < N; ++n)
        initT[n * P + p] = init[p * N + n];
    for (int64_t i = 0; i < span.count; ++i) {
      int64_t ti = span.first + i;
      const float *Ci = Cm + v.bcIndex(ti, 0);
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t j = 0; j <= i; ++j) {
        int64_t tj = span.first + j;
        float m = cbChunk[i * kSSDChunk + j] * ref::exp(cumRow[i] - cumRow[j]) * dtRow[j];
        for (int64_t p = 0; p < P; ++p)
          acc[p] = std::fma(m, x[v.xIndex(tj, p)], acc[p]);
      }
      float e = ref::exp(cumRow[i]);
      for (int64_t n = 0; n < N; ++n) {
        float cn = e * Ci[n];
        for (int64_t p = 0; p < P; ++p)
          acc[p] = std::fma(cn, initT[n * P + p], acc[p]);
      }
      for (int64_t p = 0; p < P; ++p)
        y[v.xIndex(ti, p)] = acc[p] + v.d(D, p) * x[v.xIndex(ti, p)];
    }
  });
}

void ssdScan(const SSDShape &shape, float dtMin, float dtMax, const float *x,
             const float *dt, const float *Bm, const float *Cm, const float *A_log,
             const float *D, const float *dtBias, float *y, float *stateOut) {
  const int64_t rows = shape.batch * shape.nheads * shape.seqlen;
  const int64_t states =
      shape.batch * ssdChunks(shape.seqlen) * shape.nheads * shape.headdim * shape.dstate;
  std::vector<float> dtOut(rows), cum(rows), chunkStates(states), initStates(states);
  std::vector<float> cb(shape.batch * ssdChunks(shape.seqlen) * shape.ngroups * kSSDChunk *
                        kSSDChunk);
  ssdChunkState(shape, dtMin, dtMax, x, dt, Bm, A_log, dtBias, dtOut.data(), cum.data(),
                chunkStates.data());
  ssdStatePassing(shape, cum.data(), chunkStates.data(), initStates.data(), stateOut);
  ssdChunkCB(shape, Bm, Cm, cb.data());
  ssdChunkScan(shape, x, dtOut.data(), cum.data(), Cm, cb.data(), D, initStates.data(), y);
}

void ssdStep(const SSDShape &shape, const float *x, const float *dt,
             const float *Bm, const float *Cm, const float *A_log,
             const float *D, const float *dtBias, float *state, float *y) {
  // A one-token view of the scan's layouts: seqlen 1.
  SSDShape one = shape;
  one.seqlen = 1;
  int64_t P = one.headdim, N = one.dstate;
  parallelFor(one.batch * one.nheads, 3 * P * N, [&](int64_t item) {
    HeadView v(one, item);
    // No dt limit here: selective_state_update does not apply one.
    float dtv = softplus(dt[item] + dtBias[v.h]);
    updateHead(v, -ref::exp(A_log[v.h]), 0, dtv, x, Bm, Cm, D, state + item * P * N, y);
  });
}

} // namespace quamba::ref
