//===- ReferenceKernelsTest.cpp - the reference kernels vs naive formulas --===//
//
// Every kernel is checked against an independent, naive transcription of
// shared/reference/formats.md §4 (straight loops, double precision) on random
// inputs with fixed seeds, over several shapes (batch > 1, ngroups > 1, odd
// sizes), plus the properties the runtime relies on: prefill + decode steps
// reproduce a longer prefill, the SSD scan's chunk stages compose to the
// recurrence (chunk states, states passed on), and
// results do not depend on the thread count.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/Kernels.h"
#include "runtime/reference/Parallel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

namespace ref = quamba::ref;

using Floats = std::vector<float>;
using Doubles = std::vector<double>;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

Floats normal(size_t n, std::mt19937 &rng, float stddev = 1.0f,
              float mean = 0.0f) {
  std::normal_distribution<float> dist(mean, stddev);
  Floats out(n);
  for (float &v : out)
    v = dist(rng);
  return out;
}

Floats uniform(size_t n, std::mt19937 &rng, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Floats out(n);
  for (float &v : out)
    v = dist(rng);
  return out;
}

/// max |got - want| / max |want|: the error relative to the tensor's scale.
template <typename Want>
double relativeError(const Floats &got, const std::vector<Want> &want) {
  EXPECT_EQ(got.size(), want.size());
  double maxDiff = 0.0, maxRef = 0.0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    double diff = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (std::isnan(diff))
      return INFINITY;
    maxDiff = std::max(maxDiff, diff);
    maxRef = std::max(maxRef, std::fabs(static_cast<double>(want[i])));
  }
  return maxRef > 0.0 ? maxDiff / maxRef : maxDiff;
}

double softplusD(double v) { return v > 20.0 ? v : std::log1p(std::exp(v)); }
double siluD(double v) { return v / (1.0 + std::exp(-v)); }

/// RAII thread cap, so a failing test cannot leak its setting.
struct ThreadCap {
  explicit ThreadCap(int threads) { ref::setMaxThreads(threads); }
  ~ThreadCap() { ref::setMaxThreads(0); }
};

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

TEST(ReferenceActivations, SoftplusThresholdAndValues) {
  EXPECT_EQ(ref::softplus(25.0f), 25.0f);
  EXPECT_EQ(ref::softplus(20.5f), 20.5f);
  // Above 20 fp32 cannot tell v from log1p(exp(v)); where it can, exp
  // overflows, and the identity must keep the result finite.
  EXPECT_EQ(ref::softplus(100.0f), 100.0f);
  EXPECT_EQ(ref::softplus(1e30f), 1e30f);
  EXPECT_NEAR(ref::softplus(0.0f), std::log(2.0), 1e-7);
  // At exactly 20 the formula still applies (the identity is for v > 20).
  EXPECT_NEAR(ref::softplus(20.0f), softplusD(20.0), 2e-6);
  for (float v : {-30.0f, -5.0f, -0.5f, 0.25f, 3.0f, 19.0f})
    EXPECT_NEAR(ref::softplus(v), softplusD(v), 1e-6 * std::max(1.0, std::fabs(softplusD(v))))
        << "v = " << v;
  EXPECT_GT(ref::softplus(-30.0f), 0.0f);
}

TEST(ReferenceActivations, Silu) {
  EXPECT_EQ(ref::silu(0.0f), 0.0f);
  for (float v : {-20.0f, -3.0f, -1.0f, -0.1f, 0.1f, 1.0f, 2.5f, 30.0f})
    EXPECT_NEAR(ref::silu(v), siluD(v), 1e-6 * std::max(1.0, std::fabs(double(v))))
        << "v = " << v;
  float farNegative = ref::silu(-200.0f);
  EXPECT_FALSE(std::isnan(farNegative));
  EXPECT_NEAR(farNegative, 0.0f, 1e-30);
}

//===----------------------------------------------------------------------===//
// Embedding
//===----------------------------------------------------------------------===//

TEST(ReferenceEmbedding, GathersRows) {
  std::mt19937 rng(1);
  const int64_t vocab = 11, dim = 5;
  Floats table = normal(vocab * dim, rng);
  std::vector<int32_t> tokens = {3, 0, 10, 3, 7, 1};
  Floats out(tokens.size() * dim, -1.0f);
  quamba::Status status = ref::embedding(table.data(), vocab, dim,
                                         tokens.data(), tokens.size(),
                                         out.data());
  ASSERT_TRUE(status.ok()) << status.error();
  for (size_t i = 0; i < tokens.size(); ++i)
    for (int64_t j = 0; j < dim; ++j)
      EXPECT_EQ(out[i * dim + j], table[tokens[i] * dim + j]);
}

TEST(ReferenceEmbedding, OutOfRangeTokenIsAnError) {
  const int64_t vocab = 4, dim = 2;
  Floats table(vocab * dim, 1.0f);
  for (int32_t bad : {4, -1, 1000}) {
    std::vector<int32_t> tokens = {0, 1, bad, 2};
    Floats out(tokens.size() * dim, -7.0f);
    quamba::Status status = ref::embedding(
        table.data(), vocab, dim, tokens.data(), tokens.size(), out.data());
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().find("token " + std::to_string(bad)),
              std::string::npos)
        << status.error();
    EXPECT_NE(status.error().find("position 2"), std::string::npos)
        << status.error();
    EXPECT_NE(status.error().find("4"), std::string::npos) << status.error();
    // Nothing is written on failure.
    for (float v : out)
      EXPECT_EQ(v, -7.0f);
  }
}

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

Doubles naiveRmsNorm(const Floats &x, const Floats &w, int64_t rows,
                     int64_t dim, double eps) {
  Doubles out(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0.0;
    for (int64_t i = 0; i < dim; ++i)
      sum += double(x[r * dim + i]) * x[r * dim + i];
    double scale = 1.0 / std::sqrt(sum / dim + eps);
    for (int64_t i = 0; i < dim; ++i)
      out[r * dim + i] = x[r * dim + i] * scale * w[i];
  }
  return out;
}

struct RowsDim {
  int64_t rows, dim;
};
const RowsDim kNormShapes[] = {{1, 1}, {3, 7}, {5, 64}, {2, 513}, {40, 384}};

TEST(ReferenceNorms, RmsNorm) {
  std::mt19937 rng(2);
  for (RowsDim s : kNormShapes) {
    Floats x = normal(s.rows * s.dim, rng, 2.0f);
    Floats w = normal(s.dim, rng, 0.5f, 1.0f);
    Floats out(x.size());
    ref::rmsNorm(x.data(), w.data(), out.data(), s.rows, s.dim, 1e-5f);
    EXPECT_LE(relativeError(out, naiveRmsNorm(x, w, s.rows, s.dim, 1e-5)),
              1e-6)
        << s.rows << "x" << s.dim;
  }
}

TEST(ReferenceNorms, AddRmsNormSeparateAndAliased) {
  std::mt19937 rng(3);
  for (RowsDim s : kNormShapes) {
    Floats x = normal(s.rows * s.dim, rng);
    Floats residual = normal(s.rows * s.dim, rng, 3.0f);
    Floats w = normal(s.dim, rng, 0.5f, 1.0f);
    Floats sum(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      sum[i] = x[i] + residual[i];
    Doubles want = naiveRmsNorm(sum, w, s.rows, s.dim, 1e-5);

    Floats out(x.size()), residualOut(x.size());
    ref::addRmsNorm(x.data(), residual.data(), w.data(), out.data(),
                    residualOut.data(), s.rows, s.dim, 1e-5f);
    EXPECT_EQ(residualOut, sum);
    EXPECT_LE(relativeError(out, want), 1e-6);

    Floats inPlace = residual, outAliased(x.size());
    ref::addRmsNorm(x.data(), inPlace.data(), w.data(), outAliased.data(),
                    inPlace.data(), s.rows, s.dim, 1e-5f);
    EXPECT_EQ(inPlace, sum);
    EXPECT_EQ(outAliased, out);
  }
}

Doubles naiveGatedRmsNorm(const Floats &y, const Floats &z, const Floats &w,
                          int64_t rows, int64_t dim, int64_t groupSize,
                          double eps) {
  Doubles out(y.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g0 = 0; g0 < dim; g0 += groupSize) {
      double sum = 0.0;
      for (int64_t i = g0; i < g0 + groupSize; ++i) {
        double v = y[r * dim + i] * siluD(z[r * dim + i]);
        sum += v * v;
      }
      double scale = 1.0 / std::sqrt(sum / groupSize + eps);
      for (int64_t i = g0; i < g0 + groupSize; ++i)
        out[r * dim + i] = y[r * dim + i] * siluD(z[r * dim + i]) * scale * w[i];
    }
  return out;
}

TEST(ReferenceNorms, GatedRmsNormWithGroups) {
  std::mt19937 rng(4);
  struct Shape {
    int64_t rows, dim, groupSize;
  };
  for (Shape s : {Shape{1, 8, 8}, Shape{3, 24, 8}, Shape{2, 64, 16},
                  Shape{5, 30, 10}, Shape{2, 7, 1}, Shape{33, 256, 64}}) {
    Floats y = normal(s.rows * s.dim, rng);
    Floats z = normal(s.rows * s.dim, rng, 2.0f);
    Floats w = normal(s.dim, rng, 0.5f, 1.0f);
    Floats out(y.size());
    ref::gatedRmsNorm(y.data(), z.data(), w.data(), out.data(), s.rows, s.dim,
                      s.groupSize, 1e-5f);
    EXPECT_LE(relativeError(out, naiveGatedRmsNorm(y, z, w, s.rows, s.dim,
                                                   s.groupSize, 1e-5)),
              2e-6)
        << s.rows << "x" << s.dim << " / " << s.groupSize;
  }
  // Grouping matters: with 2 groups the result differs from one group.
  Floats y = normal(16, rng), z = normal(16, rng), w(16, 1.0f);
  for (int i = 0; i < 8; ++i)
    y[i] *= 10.0f; // very different group norms
  Floats grouped(16), whole(16);
  ref::gatedRmsNorm(y.data(), z.data(), w.data(), grouped.data(), 1, 16, 8,
                    1e-5f);
  ref::gatedRmsNorm(y.data(), z.data(), w.data(), whole.data(), 1, 16, 16,
                    1e-5f);
  EXPECT_GT(relativeError(grouped, Doubles(whole.begin(), whole.end())), 0.1);
}

//===----------------------------------------------------------------------===//
// Linear
//===----------------------------------------------------------------------===//

TEST(ReferenceLinear, MatchesTripleLoop) {
  std::mt19937 rng(5);
  struct Shape {
    int64_t rows, in, out;
  };
  for (Shape s : {Shape{1, 1, 1}, Shape{3, 5, 7}, Shape{17, 33, 9},
                  Shape{4, 64, 130}, Shape{1, 384, 1676}, Shape{65, 200, 3}}) {
    Floats x = normal(s.rows * s.in, rng);
    Floats w = normal(s.out * s.in, rng, 0.1f);
    Floats bias = normal(s.out, rng);
    for (bool withBias : {false, true}) {
      Doubles want(s.rows * s.out);
      for (int64_t r = 0; r < s.rows; ++r)
        for (int64_t n = 0; n < s.out; ++n) {
          double acc = withBias ? bias[n] : 0.0;
          for (int64_t k = 0; k < s.in; ++k)
            acc += double(x[r * s.in + k]) * w[n * s.in + k];
          want[r * s.out + n] = acc;
        }
      Floats out(s.rows * s.out, NAN);
      ref::linear(x.data(), w.data(), withBias ? bias.data() : nullptr,
                  out.data(), s.rows, s.in, s.out);
      EXPECT_LE(relativeError(out, want), 2e-5)
          << s.rows << "x" << s.in << "->" << s.out << " bias " << withBias;
    }
  }
}

//===----------------------------------------------------------------------===//
// Causal conv1d
//===----------------------------------------------------------------------===//

struct ConvShape {
  int64_t batch, seqlen, channels, kernel;
};

/// y[b,t,c] = act(bias[c] + sum_k w[c,k] x[b, t-K+1+k, c]), x[<0] = 0.
Doubles naiveConv(const Floats &x, const Floats &w, const Floats *bias,
                  ConvShape s, bool silu) {
  Doubles y(x.size());
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t t = 0; t < s.seqlen; ++t)
      for (int64_t c = 0; c < s.channels; ++c) {
        double acc = bias ? (*bias)[c] : 0.0;
        for (int64_t k = 0; k < s.kernel; ++k) {
          int64_t src = t - s.kernel + 1 + k;
          if (src >= 0)
            acc += double(w[c * s.kernel + k]) *
                   x[(b * s.seqlen + src) * s.channels + c];
        }
        y[(b * s.seqlen + t) * s.channels + c] = silu ? siluD(acc) : acc;
      }
  return y;
}

const ConvShape kConvShapes[] = {{1, 1, 1, 4},  {1, 5, 6, 4},  {3, 17, 13, 4},
                                 {2, 2, 7, 4},  {2, 9, 5, 1},  {2, 40, 96, 3},
                                 {1, 300, 384, 4}};

TEST(ReferenceConv, PrefillMatchesNaiveAndKeepsLastInputs) {
  std::mt19937 rng(6);
  for (ConvShape s : kConvShapes)
    for (bool silu : {false, true})
      for (bool withBias : {false, true}) {
        Floats x = normal(s.batch * s.seqlen * s.channels, rng);
        Floats w = normal(s.channels * s.kernel, rng, 0.5f);
        Floats bias = normal(s.channels, rng);
        Floats y(x.size()), state(s.batch * s.channels * s.kernel, NAN);
        ref::causalConv1d(x.data(), w.data(), withBias ? bias.data() : nullptr,
                          y.data(), state.data(), s.batch, s.seqlen,
                          s.channels, s.kernel, silu);
        EXPECT_LE(relativeError(y, naiveConv(x, w, withBias ? &bias : nullptr,
                                             s, silu)),
                  1e-6)
            << s.batch << "x" << s.seqlen << "x" << s.channels;
        for (int64_t b = 0; b < s.batch; ++b)
          for (int64_t c = 0; c < s.channels; ++c)
            for (int64_t k = 0; k < s.kernel; ++k) {
              int64_t t = s.seqlen - s.kernel + k;
              float want = t >= 0 ? x[(b * s.seqlen + t) * s.channels + c] : 0;
              EXPECT_EQ(state[(b * s.channels + c) * s.kernel + k], want);
            }
      }
}

TEST(ReferenceConv, PrefillThenStepsEqualsLongerPrefill) {
  std::mt19937 rng(7);
  struct Split {
    ConvShape whole;
    int64_t prefix;
  };
  for (Split sp : {Split{{1, 6, 3, 4}, 1}, Split{{2, 11, 13, 4}, 2},
                   Split{{3, 20, 8, 4}, 9}, Split{{2, 7, 5, 2}, 6},
                   Split{{1, 5, 4, 1}, 3}}) {
    ConvShape s = sp.whole;
    int64_t C = s.channels;
    Floats x = normal(s.batch * s.seqlen * C, rng);
    Floats w = normal(C * s.kernel, rng, 0.5f);
    Floats bias = normal(C, rng);
    Floats yFull(x.size()), stateFull(s.batch * C * s.kernel);
    ref::causalConv1d(x.data(), w.data(), bias.data(), yFull.data(),
                      stateFull.data(), s.batch, s.seqlen, C, s.kernel, true);

    // Prefill the first `prefix` tokens, then step through the rest.
    Floats xPrefix(s.batch * sp.prefix * C);
    for (int64_t b = 0; b < s.batch; ++b)
      std::copy_n(&x[b * s.seqlen * C], sp.prefix * C,
                  &xPrefix[b * sp.prefix * C]);
    Floats yPrefix(xPrefix.size()), state(s.batch * C * s.kernel);
    ref::causalConv1d(xPrefix.data(), w.data(), bias.data(), yPrefix.data(),
                      state.data(), s.batch, sp.prefix, C, s.kernel, true);
    Floats got(x.size());
    for (int64_t b = 0; b < s.batch; ++b)
      std::copy_n(&yPrefix[b * sp.prefix * C], sp.prefix * C,
                  &got[b * s.seqlen * C]);
    for (int64_t t = sp.prefix; t < s.seqlen; ++t) {
      Floats xt(s.batch * C), yt(s.batch * C);
      for (int64_t b = 0; b < s.batch; ++b)
        std::copy_n(&x[(b * s.seqlen + t) * C], C, &xt[b * C]);
      ref::causalConv1dStep(xt.data(), state.data(), w.data(), bias.data(),
                            yt.data(), s.batch, C, s.kernel, true);
      for (int64_t b = 0; b < s.batch; ++b)
        std::copy_n(&yt[b * C], C, &got[(b * s.seqlen + t) * C]);
    }
    EXPECT_LE(relativeError(got, yFull), 1e-6);
    EXPECT_EQ(state, stateFull);
  }
}

//===----------------------------------------------------------------------===//
// Mamba2 SSD scan
//===----------------------------------------------------------------------===//

struct SSDInputs {
  ref::SSDShape shape;
  Floats x, dt, B, C, A_log, D, dtBias;
};

/// Mamba2-like random inputs: A in [1, 16], dt' around 0.001-0.1 (as
/// mamba_ssm's initialisation), so the state carries across many chunks.
SSDInputs makeSSDInputs(const ref::SSDShape &s, uint32_t seed) {
  std::mt19937 rng(seed);
  int64_t tokens = s.batch * s.seqlen, E = s.nheads * s.headdim;
  SSDInputs in{s, {}, {}, {}, {}, {}, {}, {}};
  in.x = normal(tokens * E, rng);
  in.dt = normal(tokens * s.nheads, rng, 0.5f);
  in.B = normal(tokens * s.ngroups * s.dstate, rng);
  in.C = normal(tokens * s.ngroups * s.dstate, rng);
  in.A_log = uniform(s.nheads, rng, 0.0f, std::log(16.0f));
  in.D = normal(s.dHasHdim ? E : s.nheads, rng);
  for (float dt0 : uniform(s.nheads, rng, 0.001f, 0.1f))
    in.dtBias.push_back(std::log(std::expm1(dt0))); // softplus^-1(dt0)
  return in;
}

/// The recurrence of formats.md §4.3 from `state0` (zero if empty), in
/// double. limits: {dtMin, dtMax} or empty for none. Returns y; state out.
Doubles naiveSSD(const SSDInputs &in, const std::vector<double> &limits,
                 Doubles &state) {
  const ref::SSDShape &s = in.shape;
  int64_t H = s.nheads, P = s.headdim, N = s.dstate, G = s.ngroups;
  int64_t E = H * P;
  if (state.empty())
    state.assign(s.batch * H * P * N, 0.0);
  Doubles y(s.batch * s.seqlen * E);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < H; ++h) {
      int64_t g = h / (H / G);
      double A = -std::exp(double(in.A_log[h]));
      for (int64_t t = 0; t < s.seqlen; ++t) {
        int64_t tok = b * s.seqlen + t;
        double dt = softplusD(double(in.dt[tok * H + h]) + in.dtBias[h]);
        if (!limits.empty())
          dt = std::min(std::max(dt, limits[0]), limits[1]);
        double decay = std::exp(dt * A);
        for (int64_t p = 0; p < P; ++p) {
          double x = in.x[tok * E + h * P + p];
          double acc = 0.0;
          for (int64_t n = 0; n < N; ++n) {
            double &st = state[((b * H + h) * P + p) * N + n];
            st = decay * st + dt * in.B[(tok * G + g) * N + n] * x;
            acc += in.C[(tok * G + g) * N + n] * st;
          }
          double d = s.dHasHdim ? in.D[h * P + p] : in.D[h];
          y[tok * E + h * P + p] = acc + d * x;
        }
      }
    }
  return y;
}

struct SSDResult {
  Floats y, state;
};

SSDResult runSSDScan(const SSDInputs &in, float dtMin = 0.0f, float dtMax = INFINITY) {
  const ref::SSDShape &s = in.shape;
  SSDResult r{Floats(in.x.size(), NAN),
              Floats(s.batch * s.nheads * s.headdim * s.dstate, NAN)};
  ref::ssdScan(s, dtMin, dtMax, in.x.data(), in.dt.data(), in.B.data(),
               in.C.data(), in.A_log.data(), in.D.data(), in.dtBias.data(),
               r.y.data(), r.state.data());
  return r;
}

ref::SSDShape ssdShape(int64_t B, int64_t L, int64_t H, int64_t P, int64_t G,
                       int64_t N, bool dHasHdim = false) {
  ref::SSDShape s;
  s.batch = B, s.seqlen = L, s.nheads = H, s.headdim = P, s.ngroups = G,
  s.dstate = N, s.dHasHdim = dHasHdim;
  return s;
}

std::string describe(const ref::SSDShape &s) {
  return "B" + std::to_string(s.batch) + " L" + std::to_string(s.seqlen) +
         " H" + std::to_string(s.nheads) + " P" + std::to_string(s.headdim) +
         " G" + std::to_string(s.ngroups) + " N" + std::to_string(s.dstate) +
         (s.dHasHdim ? " D[H*P]" : " D[H]");
}

const ref::SSDShape kSSDShapes[] = {
    ssdShape(1, 1, 1, 1, 1, 1),       ssdShape(2, 37, 4, 5, 2, 7),
    ssdShape(1, 100, 8, 16, 4, 16, true), ssdShape(3, 65, 6, 3, 1, 9),
    ssdShape(2, 70, 4, 8, 4, 5),      ssdShape(1, 300, 2, 64, 1, 32, true),
    ssdShape(2, 129, 8, 4, 2, 8, true)};

/// The chunked scan of `s` on random inputs against the recurrence in
/// double: y and the final state within `tolerance` (relative L2).
void expectScanMatchesRecurrence(const ref::SSDShape &s, uint32_t seed, double tolerance) {
  SSDInputs in = makeSSDInputs(s, seed);
  Doubles state;
  Doubles y = naiveSSD(in, {}, state);
  SSDResult got = runSSDScan(in);
  EXPECT_LE(relativeError(got.y, y), tolerance) << describe(s);
  EXPECT_LE(relativeError(got.state, state), tolerance) << describe(s);
}

TEST(ReferenceSSD, ScanMatchesSequentialRecurrence) {
  uint32_t seed = 100;
  for (const ref::SSDShape &s : kSSDShapes)
    expectScanMatchesRecurrence(s, seed++, 1e-4);
}

TEST(ReferenceSSD, NGroupsOneTwoFourAndDLayouts) {
  uint32_t seed = 200;
  for (int64_t G : {1, 2, 4})
    for (bool dHasHdim : {false, true})
      expectScanMatchesRecurrence(ssdShape(2, 50, 8, 6, G, 10, dHasHdim), seed++, 1e-4);
  // The head -> group map matters: swapping the two groups' B changes y.
  ref::SSDShape s = ssdShape(1, 20, 4, 2, 2, 3);
  SSDInputs in = makeSSDInputs(s, 250);
  SSDResult base = runSSDScan(in);
  for (int64_t t = 0; t < s.seqlen; ++t)
    std::swap_ranges(&in.B[t * 6], &in.B[t * 6 + 3], &in.B[t * 6 + 3]);
  SSDResult swapped = runSSDScan(in);
  EXPECT_GT(relativeError(swapped.y, Doubles(base.y.begin(), base.y.end())),
            1e-2);
}

TEST(ReferenceSSD, ChunkBoundariesChangeOnlyRounding) {
  // Lengths around multiples of the chunk: one token, a partial chunk, whole
  // chunks, one token into the next.
  const int64_t Q = ref::kSSDChunk;
  uint32_t seed = 300;
  for (int64_t L : {int64_t(1), Q - 1, Q, Q + 1, 2 * Q, 2 * Q + 1, 3 * Q + Q / 2})
    expectScanMatchesRecurrence(ssdShape(2, L, 4, 5, 2, 7, L % 2 == 1), seed++, 1e-5);
}

/// Copies token t of every batch row out of a [B, L, W] tensor.
Floats tokenSlice(const Floats &v, int64_t batch, int64_t seqlen, int64_t width,
                  int64_t t) {
  Floats out(batch * width);
  for (int64_t b = 0; b < batch; ++b)
    std::copy_n(&v[(b * seqlen + t) * width], width, &out[b * width]);
  return out;
}

/// The first `len` tokens of every batch row of a [B, L, W] tensor.
Floats prefixOf(const Floats &v, int64_t batch, int64_t seqlen, int64_t width,
                int64_t len) {
  Floats out(batch * len * width);
  for (int64_t b = 0; b < batch; ++b)
    std::copy_n(&v[b * seqlen * width], len * width, &out[b * len * width]);
  return out;
}

SSDInputs prefixInputs(const SSDInputs &in, int64_t len) {
  const ref::SSDShape &s = in.shape;
  int64_t GN = s.ngroups * s.dstate, E = s.nheads * s.headdim;
  SSDInputs out = in;
  out.shape.seqlen = len;
  out.x = prefixOf(in.x, s.batch, s.seqlen, E, len);
  out.dt = prefixOf(in.dt, s.batch, s.seqlen, s.nheads, len);
  out.B = prefixOf(in.B, s.batch, s.seqlen, GN, len);
  out.C = prefixOf(in.C, s.batch, s.seqlen, GN, len);
  return out;
}

/// ssdStep over tokens [from, L) of `in`, continuing `state`; returns y of
/// those tokens as [B, L - from, E].
Floats stepThrough(const SSDInputs &in, int64_t from, Floats &state) {
  const ref::SSDShape &s = in.shape;
  int64_t GN = s.ngroups * s.dstate, E = s.nheads * s.headdim;
  int64_t steps = s.seqlen - from;
  Floats y(s.batch * steps * E);
  for (int64_t t = from; t < s.seqlen; ++t) {
    Floats x = tokenSlice(in.x, s.batch, s.seqlen, E, t);
    Floats dt = tokenSlice(in.dt, s.batch, s.seqlen, s.nheads, t);
    Floats B = tokenSlice(in.B, s.batch, s.seqlen, GN, t);
    Floats C = tokenSlice(in.C, s.batch, s.seqlen, GN, t);
    Floats yt(s.batch * E);
    ref::ssdStep(s, x.data(), dt.data(), B.data(), C.data(), in.A_log.data(),
                 in.D.data(), in.dtBias.data(), state.data(), yt.data());
    for (int64_t b = 0; b < s.batch; ++b)
      std::copy_n(&yt[b * E], E, &y[(b * steps + t - from) * E]);
  }
  return y;
}

TEST(ReferenceSSD, ChunkStatesAreTheRecurrenceFromZeroAndInitStatesCarryIt) {
  // Stage 1's state of chunk c is the recurrence over that chunk's tokens
  // alone; stage 2's state for chunk c is the recurrence over all tokens
  // before it (naiveSSD on the prefix).
  const int64_t Q = ref::kSSDChunk;
  ref::SSDShape s = ssdShape(2, 2 * Q + 9, 4, 3, 2, 6);
  SSDInputs in = makeSSDInputs(s, 350);
  const int64_t chunks = ref::ssdChunks(s.seqlen), H = s.nheads, PN = s.headdim * s.dstate;
  ASSERT_EQ(chunks, 3);
  Floats dtOut(s.batch * H * s.seqlen), cum(dtOut.size());
  Floats local(s.batch * chunks * H * PN), init(local.size()), final(s.batch * H * PN);
  ref::ssdChunkState(s, 0.0f, INFINITY, in.x.data(), in.dt.data(), in.B.data(),
                     in.A_log.data(), in.dtBias.data(), dtOut.data(), cum.data(), local.data());
  ref::ssdStatePassing(s, cum.data(), local.data(), init.data(), final.data());
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t first = c * Q, count = std::min(Q, s.seqlen - first);
    // The chunk's tokens alone, from zero: drop the tokens before it.
    SSDInputs alone = in;
    alone.shape.seqlen = count;
    SSDInputs prefix = prefixInputs(in, first);
    int64_t GN = s.ngroups * s.dstate, E = H * s.headdim;
    auto window = [&](const Floats &v, int64_t width) {
      Floats out(s.batch * count * width);
      for (int64_t b = 0; b < s.batch; ++b)
        std::copy_n(&v[(b * s.seqlen + first) * width], count * width,
                    &out[b * count * width]);
      return out;
    };
    alone.x = window(in.x, E), alone.dt = window(in.dt, H);
    alone.B = window(in.B, GN), alone.C = window(in.C, GN);
    Doubles wantLocal, wantInit;
    naiveSSD(alone, {}, wantLocal);
    naiveSSD(prefix, {}, wantInit); // zero for c = 0 (no tokens)
    Floats gotLocal, gotInit;
    for (int64_t b = 0; b < s.batch; ++b)
      for (int64_t h = 0; h < H; ++h) {
        const float *l = &local[((b * chunks + c) * H + h) * PN];
        const float *i = &init[((b * chunks + c) * H + h) * PN];
        gotLocal.insert(gotLocal.end(), l, l + PN);
        gotInit.insert(gotInit.end(), i, i + PN);
      }
    EXPECT_LE(relativeError(gotLocal, wantLocal), 1e-5) << "chunk " << c;
    if (c == 0)
      EXPECT_EQ(*std::max_element(gotInit.begin(), gotInit.end()), 0.0f);
    else
      EXPECT_LE(relativeError(gotInit, wantInit), 1e-5) << "chunk " << c;
  }
  Doubles wantFinal;
  naiveSSD(in, {}, wantFinal);
  EXPECT_LE(relativeError(final, wantFinal), 1e-5);
}

TEST(ReferenceSSD, ScanStateThenStepsEqualsFullScan) {
  uint32_t seed = 400;
  for (const ref::SSDShape &s :
       {ssdShape(1, 10, 2, 3, 1, 4), ssdShape(2, 45, 4, 5, 2, 7, true),
        ssdShape(3, 33, 8, 4, 4, 6), ssdShape(1, 70, 6, 8, 2, 16)})
    for (int64_t prefix : {int64_t(1), s.seqlen / 2, s.seqlen - 1}) {
      SSDInputs in = makeSSDInputs(s, seed++);
      SSDResult full = runSSDScan(in);
      SSDResult head = runSSDScan(prefixInputs(in, prefix));
      Floats state = head.state;
      Floats yTail = stepThrough(in, prefix, state);
      int64_t E = s.nheads * s.headdim;
      Floats wantTail(s.batch * (s.seqlen - prefix) * E);
      for (int64_t b = 0; b < s.batch; ++b)
        std::copy_n(&full.y[(b * s.seqlen + prefix) * E],
                    (s.seqlen - prefix) * E,
                    &wantTail[b * (s.seqlen - prefix) * E]);
      EXPECT_LE(relativeError(yTail, wantTail), 1e-4)
          << describe(s) << " prefix " << prefix;
      EXPECT_LE(relativeError(state, full.state), 1e-4)
          << describe(s) << " prefix " << prefix;
    }
}

TEST(ReferenceSSD, DtLimitClampsPrefillButNotStep) {
  ref::SSDShape s = ssdShape(2, 40, 4, 4, 2, 8);
  SSDInputs in = makeSSDInputs(s, 500);
  // dt' is spread around 0.001-0.1 (times noise); clamp hard into the middle.
  const float dtMin = 0.02f, dtMax = 0.04f;
  Doubles clampedState, freeState;
  Doubles yClamped = naiveSSD(in, {dtMin, dtMax}, clampedState);
  Doubles yFree = naiveSSD(in, {}, freeState);
  SSDResult got = runSSDScan(in, dtMin, dtMax);
  EXPECT_LE(relativeError(got.y, yClamped), 1e-4);
  EXPECT_LE(relativeError(got.state, clampedState), 1e-4);
  EXPECT_GT(relativeError(got.y, yFree), 1e-2) << "the clamp had no effect";

  // One step from the clamped state with dt far outside the limits: the step
  // applies none.
  ref::SSDShape one = s;
  one.seqlen = 1;
  SSDInputs step = makeSSDInputs(one, 501);
  step.A_log = in.A_log, step.D = in.D, step.dtBias = in.dtBias;
  for (float &v : step.dt)
    v = 3.0f; // dt' ~ 3, far above dtMax
  Doubles stateFree(got.state.begin(), got.state.end());
  Doubles stateClamped = stateFree;
  Doubles wantFree = naiveSSD(step, {}, stateFree);
  Doubles wantClamped = naiveSSD(step, {dtMin, dtMax}, stateClamped);
  Floats state = got.state;
  Floats y = stepThrough(step, 0, state);
  EXPECT_LE(relativeError(y, wantFree), 1e-5);
  EXPECT_LE(relativeError(state, stateFree), 1e-5);
  EXPECT_GT(relativeError(y, wantClamped), 1e-2);
}

//===----------------------------------------------------------------------===//
// Mamba1 selective scan
//===----------------------------------------------------------------------===//

struct SelectiveInputs {
  ref::SelectiveShape shape;
  Floats x, dt, B, C, z, A_log, D, dtBias;
};

SelectiveInputs makeSelectiveInputs(const ref::SelectiveShape &s,
                                    uint32_t seed) {
  std::mt19937 rng(seed);
  int64_t tokens = s.batch * s.seqlen;
  SelectiveInputs in{s, {}, {}, {}, {}, {}, {}, {}, {}};
  in.x = normal(tokens * s.dinner, rng);
  in.dt = normal(tokens * s.dinner, rng, 0.5f);
  in.B = normal(tokens * s.dstate, rng);
  in.C = normal(tokens * s.dstate, rng);
  in.z = normal(tokens * s.dinner, rng, 2.0f);
  // mamba_simple's S4D-real initialisation: A[c, n] = -(n + 1), jittered.
  for (int64_t c = 0; c < s.dinner; ++c)
    for (int64_t n = 0; n < s.dstate; ++n)
      in.A_log.push_back(std::log(float(n + 1)) + 0.1f * normal(1, rng)[0]);
  in.D = normal(s.dinner, rng, 0.5f, 1.0f);
  for (float dt0 : uniform(s.dinner, rng, 0.001f, 0.1f))
    in.dtBias.push_back(std::log(std::expm1(dt0)));
  return in;
}

/// formats.md §4.2 steps 4-7, sequential, in double; state [B, E, N] in/out.
Doubles naiveSelective(const SelectiveInputs &in, Doubles &state) {
  const ref::SelectiveShape &s = in.shape;
  int64_t E = s.dinner, N = s.dstate;
  if (state.empty())
    state.assign(s.batch * E * N, 0.0);
  Doubles y(s.batch * s.seqlen * E);
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t t = 0; t < s.seqlen; ++t)
      for (int64_t c = 0; c < E; ++c) {
        int64_t i = (b * s.seqlen + t) * E + c;
        double dt = softplusD(double(in.dt[i]) + in.dtBias[c]);
        double acc = 0.0;
        for (int64_t n = 0; n < N; ++n) {
          double A = -std::exp(double(in.A_log[c * N + n]));
          double &h = state[(b * E + c) * N + n];
          h = std::exp(dt * A) * h +
              dt * in.B[(b * s.seqlen + t) * N + n] * in.x[i];
          acc += h * in.C[(b * s.seqlen + t) * N + n];
        }
        y[i] = (acc + in.D[c] * in.x[i]) * siluD(in.z[i]);
      }
  return y;
}

ref::SelectiveShape selectiveShape(int64_t B, int64_t L, int64_t E,
                                   int64_t N) {
  ref::SelectiveShape s;
  s.batch = B, s.seqlen = L, s.dinner = E, s.dstate = N;
  return s;
}

TEST(ReferenceSelective, ScanMatchesNaive) {
  uint32_t seed = 600;
  for (const ref::SelectiveShape &s :
       {selectiveShape(1, 1, 1, 1), selectiveShape(2, 33, 12, 5),
        selectiveShape(3, 50, 7, 16), selectiveShape(1, 200, 64, 16)}) {
    SelectiveInputs in = makeSelectiveInputs(s, seed++);
    Doubles state;
    Doubles y = naiveSelective(in, state);
    Floats got(in.x.size(), NAN), gotState(s.batch * s.dinner * s.dstate, NAN);
    ref::selectiveScan(s, in.x.data(), in.dt.data(), in.B.data(), in.C.data(),
                       in.z.data(), in.A_log.data(), in.D.data(),
                       in.dtBias.data(), got.data(), gotState.data());
    EXPECT_LE(relativeError(got, y), 1e-5);
    EXPECT_LE(relativeError(gotState, state), 1e-5);
  }
}

TEST(ReferenceSelective, ScanThenStepsEqualsScan) {
  uint32_t seed = 700;
  for (const ref::SelectiveShape &s :
       {selectiveShape(1, 6, 3, 2), selectiveShape(2, 30, 10, 16),
        selectiveShape(3, 17, 5, 4)}) {
    SelectiveInputs in = makeSelectiveInputs(s, seed++);
    int64_t E = s.dinner, N = s.dstate, prefix = s.seqlen / 3 + 1;
    Floats yFull(in.x.size()), stateFull(s.batch * E * N);
    ref::selectiveScan(s, in.x.data(), in.dt.data(), in.B.data(), in.C.data(),
                       in.z.data(), in.A_log.data(), in.D.data(),
                       in.dtBias.data(), yFull.data(), stateFull.data());

    ref::SelectiveShape head = s;
    head.seqlen = prefix;
    auto cut = [&](const Floats &v, int64_t w) {
      return prefixOf(v, s.batch, s.seqlen, w, prefix);
    };
    Floats x = cut(in.x, E), dt = cut(in.dt, E), z = cut(in.z, E);
    Floats B = cut(in.B, N), C = cut(in.C, N);
    Floats yHead(x.size()), state(s.batch * E * N);
    ref::selectiveScan(head, x.data(), dt.data(), B.data(), C.data(), z.data(),
                       in.A_log.data(), in.D.data(), in.dtBias.data(),
                       yHead.data(), state.data());
    Floats got(in.x.size());
    for (int64_t b = 0; b < s.batch; ++b)
      std::copy_n(&yHead[b * prefix * E], prefix * E, &got[b * s.seqlen * E]);
    for (int64_t t = prefix; t < s.seqlen; ++t) {
      auto at = [&](const Floats &v, int64_t w) {
        return tokenSlice(v, s.batch, s.seqlen, w, t);
      };
      Floats xt = at(in.x, E), dtt = at(in.dt, E), zt = at(in.z, E);
      Floats Bt = at(in.B, N), Ct = at(in.C, N), yt(s.batch * E);
      ref::selectiveStep(s, xt.data(), dtt.data(), Bt.data(), Ct.data(),
                         zt.data(), in.A_log.data(), in.D.data(),
                         in.dtBias.data(), state.data(), yt.data());
      for (int64_t b = 0; b < s.batch; ++b)
        std::copy_n(&yt[b * E], E, &got[(b * s.seqlen + t) * E]);
    }
    EXPECT_LE(relativeError(got, yFull), 1e-6);
    EXPECT_LE(relativeError(state, stateFull), 1e-6);
  }
}

//===----------------------------------------------------------------------===//
// Hadamard
//===----------------------------------------------------------------------===//

// Row c of H_12 and H_40 as bit masks (bit j set: entry (c, j) is +1). These
// are the had_12_paley and had_40_tpal matrices of Dao-AILab's
// fast-hadamard-transform, which Quamba's rotated checkpoints were made with.
const uint64_t kH12Rows[12] = {0xffd, 0x554, 0xc37, 0x691, 0x0df, 0xa45,
                               0x373, 0x919, 0xdc3, 0x469, 0x70f, 0x1a5};
const uint64_t kH40Rows[40] = {
    0x100001,     0x9ea1b9ea1b, 0x3d4373d437, 0x7a86d7a86d, 0xf50d9f50d9,
    0xea1b3ea1b3, 0xd4367d4367, 0xa86cfa86cf, 0x50d9f50d9f, 0xa1b3da1b3d,
    0x4367b4367b, 0x86cf586cf5, 0x0d9eb0d9eb, 0x1b3d51b3d5, 0x367a9367a9,
    0x6cf516cf51, 0xd9ea1d9ea1, 0xb3d43b3d43, 0x67a8767a87, 0xcf50dcf50d,
    0xffffe00001, 0x615e49ea1b, 0xc2bc83d437, 0x857927a86d, 0x0af26f50d9,
    0x15e4cea1b3, 0x2bc98d4367, 0x57930a86cf, 0xaf26050d9f, 0x5e4c2a1b3d,
    0xbc9844367b, 0x7930a86cf5, 0xf26140d9eb, 0xe4c2a1b3d5, 0xc9856367a9,
    0x930ae6cf51, 0x2615ed9ea1, 0x4c2bcb3d43, 0x9857867a87, 0x30af2cf50d};

int smallEntry(int64_t m, int64_t c, int64_t j) {
  if (m == 1)
    return 1;
  uint64_t row = m == 12 ? kH12Rows[c] : kH40Rows[c];
  return (row >> j) & 1 ? 1 : -1;
}

/// The documented convention, entry by entry:
/// out[c*p + r] = sum H_m[c][c'] W[r][r'] x[c'*p + r'] / sqrt(n).
double matrixEntry(int64_t n, int64_t row, int64_t col) {
  int64_t m = n % 40 == 0 && n / 40 > 0 && ((n / 40) & (n / 40 - 1)) == 0 ? 40
              : n % 12 == 0 ? 12
                            : 1;
  int64_t p = n / m;
  int sylvester = __builtin_popcountll((row % p) & (col % p)) % 2 ? -1 : 1;
  return smallEntry(m, row / p, col / p) * sylvester / std::sqrt(double(n));
}

/// Transforms the identity rows listed in `which`: row k of the result is the
/// transform of e_{which[k]}, i.e. column which[k] of the matrix.
Floats transformUnitRows(int64_t n, const std::vector<int64_t> &which) {
  Floats rows(which.size() * n, 0.0f);
  for (size_t k = 0; k < which.size(); ++k)
    rows[k * n + which[k]] = 1.0f;
  quamba::Status status = ref::hadamard(rows.data(), which.size(), n);
  EXPECT_TRUE(status.ok()) << status.error();
  return rows;
}

std::vector<int64_t> allIndices(int64_t n) {
  std::vector<int64_t> out(n);
  for (int64_t i = 0; i < n; ++i)
    out[i] = i;
  return out;
}

const int64_t kHadamardSizes[] = {1, 2, 64, 12, 24, 40, 80, 160, 768, 5120};

TEST(ReferenceHadamard, SupportedSizes) {
  for (int64_t n : {1, 2, 4, 64, 1024, 12, 24, 48, 768, 1536, 3072, 40, 80,
                    160, 2560, 5120})
    EXPECT_TRUE(ref::isHadamardSize(n)) << n;
  for (int64_t n : {0, -4, 3, 6, 20, 28, 36, 60, 100, 120, 5000})
    EXPECT_FALSE(ref::isHadamardSize(n)) << n;
  for (int64_t n : {3, 20}) {
    Floats x(n, 1.0f);
    quamba::Status status = ref::hadamard(x.data(), 1, n);
    ASSERT_FALSE(status.ok()) << n;
    EXPECT_NE(status.error().find("size " + std::to_string(n)),
              std::string::npos)
        << status.error();
  }
}

TEST(ReferenceHadamard, SmallFactorsAreFastHadamardTransformMatrices) {
  // The transform of e_j is column j of H_n / sqrt(n).
  for (int64_t m : {12, 40}) {
    Floats cols = transformUnitRows(m, allIndices(m));
    for (int64_t j = 0; j < m; ++j)
      for (int64_t c = 0; c < m; ++c)
        EXPECT_NEAR(cols[j * m + c] * std::sqrt(float(m)), smallEntry(m, c, j),
                    1e-6)
            << "H_" << m << "[" << c << "][" << j << "]";
  }
}

TEST(ReferenceHadamard, MatchesDocumentedKroneckerConvention) {
  std::mt19937 rng(800);
  for (int64_t n : kHadamardSizes) {
    const int64_t rows = n > 1000 ? 1 : 3; // the naive product is n^2
    Floats x = normal(rows * n, rng);
    Floats got = x;
    ASSERT_TRUE(ref::hadamard(got.data(), rows, n).ok());
    Doubles want(rows * n, 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < n; ++i) {
        double acc = 0.0;
        for (int64_t j = 0; j < n; ++j)
          acc += matrixEntry(n, i, j) * x[r * n + j];
        want[r * n + i] = acc;
      }
    EXPECT_LE(relativeError(got, want), 1e-5) << "n = " << n;
  }
}

TEST(ReferenceHadamard, Orthonormal) {
  for (int64_t n : kHadamardSizes) {
    // All columns up to 768; for 5120 a spread-out subset (the full Gram
    // matrix would be 5120^3).
    std::vector<int64_t> which = allIndices(n);
    if (n > 768)
      which = {0, 1, 2, 127, 128, 129, 1000, 2559, 2560, 2561, 4095, 5119};
    Floats cols = transformUnitRows(n, which);
    double worst = 0.0;
    for (size_t a = 0; a < which.size(); ++a)
      for (size_t b = a; b < which.size(); ++b) {
        double dot = 0.0;
        for (int64_t i = 0; i < n; ++i)
          dot += double(cols[a * n + i]) * cols[b * n + i];
        worst = std::max(worst, std::fabs(dot - (a == b ? 1.0 : 0.0)));
      }
    EXPECT_LE(worst, 1e-5) << "n = " << n;
  }
}

TEST(ReferenceHadamard, InvolutionExceptForty) {
  std::mt19937 rng(801);
  for (int64_t n : kHadamardSizes) {
    const int64_t rows = 4;
    Floats x = normal(rows * n, rng);
    Floats twice = x;
    ASSERT_TRUE(ref::hadamard(twice.data(), rows, n).ok());
    ASSERT_TRUE(ref::hadamard(twice.data(), rows, n).ok());
    double error = relativeError(twice, Doubles(x.begin(), x.end()));
    if (n % 40 == 0) {
      // H_40 = [[P, P], [P, -P]] with P = I + S, S skew: not symmetric, so
      // applying it twice is not the identity; its inverse is its
      // transpose (checked by Orthonormal).
      EXPECT_GT(error, 1e-2) << "n = " << n;
    } else {
      // Sylvester and Paley II matrices are symmetric: the normalised
      // transform is its own inverse.
      EXPECT_LE(error, 1e-5) << "n = " << n;
    }
  }
}

TEST(ReferenceHadamard, PreservesNorms) {
  std::mt19937 rng(802);
  for (int64_t n : kHadamardSizes) {
    const int64_t rows = 5;
    Floats x = normal(rows * n, rng, 3.0f);
    Floats y = x;
    ASSERT_TRUE(ref::hadamard(y.data(), rows, n).ok());
    for (int64_t r = 0; r < rows; ++r) {
      double before = 0.0, after = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        before += double(x[r * n + i]) * x[r * n + i];
        after += double(y[r * n + i]) * y[r * n + i];
      }
      EXPECT_NEAR(std::sqrt(after), std::sqrt(before),
                  1e-5 * std::sqrt(before))
          << "n = " << n;
    }
  }
}

//===----------------------------------------------------------------------===//
// Threads
//===----------------------------------------------------------------------===//

TEST(ReferenceParallel, EveryIndexOnceIncludingNested) {
  for (int threads : {1, 2, 3, 8})
    for (int64_t n : {0, 1, 2, 5, 1000}) {
      ThreadCap cap(threads);
      std::vector<std::atomic<int>> hits(n * 3);
      ref::parallelFor(n, [&](int64_t i) {
        ref::parallelFor(3, [&](int64_t j) { hits[i * 3 + j]++; });
      });
      for (int64_t i = 0; i < n * 3; ++i)
        EXPECT_EQ(hits[i].load(), 1) << "n " << n << " threads " << threads;
    }
}

TEST(ReferenceParallel, ResultsIndependentOfThreadCount) {
  ref::SSDShape s = ssdShape(2, 96, 6, 16, 2, 16, true);
  SSDInputs ssd = makeSSDInputs(s, 900);
  ref::SelectiveShape ms = selectiveShape(2, 64, 48, 16);
  SelectiveInputs sel = makeSelectiveInputs(ms, 901);
  std::mt19937 rng(902);
  Floats rows = normal(64 * 768, rng), w = normal(768, rng);
  Floats convW = normal(768 * 4, rng);

  auto runAll = [&]() {
    std::vector<Floats> out;
    SSDResult r = runSSDScan(ssd);
    out.push_back(r.y);
    out.push_back(r.state);
    Floats y(sel.x.size()), st(ms.batch * ms.dinner * ms.dstate);
    ref::selectiveScan(ms, sel.x.data(), sel.dt.data(), sel.B.data(),
                       sel.C.data(), sel.z.data(), sel.A_log.data(),
                       sel.D.data(), sel.dtBias.data(), y.data(), st.data());
    out.push_back(y);
    out.push_back(st);
    Floats norm(rows.size()), gated(rows.size()), conv(rows.size());
    ref::rmsNorm(rows.data(), w.data(), norm.data(), 64, 768, 1e-5f);
    ref::gatedRmsNorm(rows.data(), rows.data(), w.data(), gated.data(), 64,
                      768, 96, 1e-5f);
    ref::causalConv1d(rows.data(), convW.data(), w.data(), conv.data(),
                      nullptr, 2, 32, 768, 4, true);
    out.push_back(norm);
    out.push_back(gated);
    out.push_back(conv);
    Floats had = rows;
    EXPECT_TRUE(ref::hadamard(had.data(), 64, 768).ok());
    out.push_back(had);
    return out;
  };
  std::vector<Floats> serial;
  {
    ThreadCap cap(1);
    serial = runAll();
  }
  for (int threads : {2, 3, 7}) {
    ThreadCap cap(threads);
    std::vector<Floats> parallel = runAll();
    for (size_t i = 0; i < serial.size(); ++i)
      EXPECT_EQ(parallel[i], serial[i]) << "output " << i << ", " << threads
                                        << " threads";
  }
}

} // namespace
