//===- QuantizedKernelsTest.cpp - quantized reference kernels -------------===//
//
// Oracles are written independently of the kernels: hand-picked rounding
// cases, naive int64 / double loops, and _Float16 where the compiler has it.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/QuantizedKernels.h"
#include "runtime/reference/Parallel.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace quamba::ref;

namespace {

std::vector<int8_t> randomInt8(size_t n, std::mt19937 &rng) {
  std::uniform_int_distribution<int> d(-128, 127);
  std::vector<int8_t> v(n);
  for (auto &x : v)
    x = static_cast<int8_t>(d(rng));
  return v;
}

std::vector<float> randomFloat(size_t n, std::mt19937 &rng, float lo = -1.0f,
                               float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto &x : v)
    x = d(rng);
  return v;
}

// Nibble value i of a packed row, decoded by hand (low nibble = even index).
int nibbleValue(const uint8_t *packed, int64_t i) {
  int byte = packed[i / 2];
  int code = (i % 2 == 0) ? (byte & 15) : (byte >> 4);
  return code - 8;
}

struct ThreadGuard {
  ~ThreadGuard() { setMaxThreads(0); }
};

} // namespace

TEST(QuantizeInt8, RoundHalfEven) {
  EXPECT_EQ(quantizeInt8Value(0.5f, 1.0f), 0);
  EXPECT_EQ(quantizeInt8Value(1.5f, 1.0f), 2);
  EXPECT_EQ(quantizeInt8Value(2.5f, 1.0f), 2);
  EXPECT_EQ(quantizeInt8Value(-0.5f, 1.0f), 0);
  EXPECT_EQ(quantizeInt8Value(-1.5f, 1.0f), -2);
  EXPECT_EQ(quantizeInt8Value(-2.5f, 1.0f), -2);
  EXPECT_EQ(quantizeInt8Value(0.49999997f, 1.0f), 0);
  EXPECT_EQ(quantizeInt8Value(3.0f, 2.0f), 2);  // 1.5 -> 2
  EXPECT_EQ(quantizeInt8Value(-5.0f, 2.0f), -2); // -2.5 -> -2
}

TEST(QuantizeInt8, RoundHalfAwayFromZero) {
  auto away = Rounding::HalfAwayFromZero;
  EXPECT_EQ(quantizeInt8Value(0.5f, 1.0f, away), 1);
  EXPECT_EQ(quantizeInt8Value(2.5f, 1.0f, away), 3);
  EXPECT_EQ(quantizeInt8Value(-2.5f, 1.0f, away), -3);
  EXPECT_EQ(quantizeInt8Value(127.5f, 1.0f, away), 127);
  EXPECT_EQ(quantizeInt8Value(-128.5f, 1.0f, away), -128);
}

TEST(QuantizeInt8, Saturation) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(quantizeInt8Value(127.4f, 1.0f), 127);
  EXPECT_EQ(quantizeInt8Value(127.5f, 1.0f), 127);
  EXPECT_EQ(quantizeInt8Value(-127.5f, 1.0f), -128);
  EXPECT_EQ(quantizeInt8Value(-128.5f, 1.0f), -128);
  EXPECT_EQ(quantizeInt8Value(-128.6f, 1.0f), -128);
  EXPECT_EQ(quantizeInt8Value(1e30f, 1.0f), 127);
  EXPECT_EQ(quantizeInt8Value(-1e30f, 1.0f), -128);
  EXPECT_EQ(quantizeInt8Value(inf, 1.0f), 127);
  EXPECT_EQ(quantizeInt8Value(-inf, 1.0f), -128);
  EXPECT_EQ(quantizeInt8Value(std::nanf(""), 1.0f), 0);
  EXPECT_EQ(quantizeInt8Value(63.75f, 0.5f), 127); // 127.5
  EXPECT_EQ(quantizeInt8Value(FLT_MAX, 1e-6f), 127); // x / s overflows to inf
}

TEST(QuantizeInt8, ArrayMatchesFp32DivisionOracle) {
  std::mt19937 rng(1);
  const float scale = 0.0123f;
  // Random values plus exact ties (k + 0.5) * scale where representable.
  std::vector<float> x = randomFloat(20000, rng, -2.0f, 2.0f);
  for (int k = -140; k < 140; ++k)
    x.push_back((k + 0.5f) * scale);
  std::vector<int8_t> q(x.size());
  quantizeInt8(x.data(), scale, q.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    // fp32 division == double division rounded once to float.
    double t = static_cast<float>(static_cast<double>(x[i]) / scale);
    double r = std::floor(t);
    double frac = t - r;
    if (frac > 0.5 || (frac == 0.5 && std::fmod(r, 2.0) != 0.0))
      r += 1.0;
    r = std::min(127.0, std::max(-128.0, r));
    ASSERT_EQ(q[i], static_cast<int8_t>(r)) << "x = " << x[i];
  }
  std::vector<float> back(x.size());
  dequantizeInt8(q.data(), scale, back.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_EQ(back[i], static_cast<float>(q[i]) * scale);
}

TEST(QuantizeInt8, GroupedAndPerChannel) {
  std::mt19937 rng(2);
  const int64_t rows = 3, dim = 12, group = 4;
  std::vector<float> x = randomFloat(rows * dim, rng, -3.0f, 3.0f);
  std::vector<float> gs = {0.01f, 0.02f, 0.05f};
  std::vector<int8_t> q(rows * dim), qc(rows * dim);
  ASSERT_TRUE(quantizeInt8Grouped(x.data(), gs.data(), group, q.data(), rows,
                                  dim));
  std::vector<float> cs(dim);
  for (int64_t c = 0; c < dim; ++c)
    cs[c] = gs[c / group];
  quantizeInt8PerChannel(x.data(), cs.data(), qc.data(), rows, dim);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < dim; ++c) {
      int8_t expect = quantizeInt8Value(x[r * dim + c], gs[c / group]);
      EXPECT_EQ(q[r * dim + c], expect);
      EXPECT_EQ(qc[r * dim + c], expect);
    }
  std::vector<float> d(rows * dim);
  ASSERT_TRUE(dequantizeInt8Grouped(q.data(), gs.data(), group, d.data(), rows,
                                    dim));
  for (int64_t i = 0; i < rows * dim; ++i)
    EXPECT_EQ(d[i], static_cast<float>(q[i]) * gs[(i % dim) / group]);
  EXPECT_FALSE(quantizeInt8Grouped(x.data(), gs.data(), 5, q.data(), rows, dim));
}

TEST(RoundToFp16, HandPickedCases) {
  EXPECT_EQ(roundToFp16(1.0f), 1.0f);
  EXPECT_EQ(roundToFp16(1.0f + std::ldexp(1.0f, -11)), 1.0f); // tie -> even
  EXPECT_EQ(roundToFp16(1.0f + 3 * std::ldexp(1.0f, -11)),
            1.0f + std::ldexp(1.0f, -9)); // tie -> even (up)
  EXPECT_EQ(roundToFp16(65504.0f), 65504.0f);
  EXPECT_EQ(roundToFp16(65519.0f), 65504.0f);
  EXPECT_TRUE(std::isinf(roundToFp16(65520.0f)));
  EXPECT_EQ(roundToFp16(std::ldexp(1.0f, -24)), std::ldexp(1.0f, -24));
  EXPECT_EQ(roundToFp16(std::ldexp(1.0f, -25)), 0.0f);
  EXPECT_EQ(roundToFp16(3 * std::ldexp(1.0f, -25)), std::ldexp(1.0f, -23));
  EXPECT_EQ(roundToFp16(-0.1f), -0.0999755859375f);
  EXPECT_TRUE(std::isnan(roundToFp16(std::nanf(""))));
}

#if defined(__FLT16_MAX__)
TEST(RoundToFp16, MatchesFloat16) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 200000; ++i) {
    uint32_t b = bits(rng);
    // Bias towards the fp16 range: exponent in [-30, 17].
    b = (b & 0x807FFFFFu) | ((97u + (b >> 23) % 48u) << 23);
    float v;
    std::memcpy(&v, &b, 4);
    float expect = static_cast<float>(static_cast<_Float16>(v));
    ASSERT_EQ(roundToFp16(v), expect) << v;
  }
}
#endif

TEST(Int4, PackUnpackAllCodes) {
  // Every (low, high) pair of the 16 values.
  std::vector<int8_t> values;
  for (int lo = -8; lo <= 7; ++lo)
    for (int hi = -8; hi <= 7; ++hi) {
      values.push_back(static_cast<int8_t>(lo));
      values.push_back(static_cast<int8_t>(hi));
    }
  std::vector<uint8_t> packed(values.size() / 2);
  ASSERT_TRUE(packInt4(values.data(), static_cast<int64_t>(values.size()),
                       packed.data()));
  for (size_t i = 0; i < packed.size(); ++i)
    EXPECT_EQ(packed[i], static_cast<uint8_t>((values[2 * i] + 8) |
                                              ((values[2 * i + 1] + 8) << 4)));
  std::vector<int8_t> back(values.size());
  unpackInt4(packed.data(), static_cast<int64_t>(values.size()), back.data());
  EXPECT_EQ(back, values);

  int8_t pair[2] = {-8, 7};
  uint8_t byte = 0;
  ASSERT_TRUE(packInt4(pair, 2, &byte));
  EXPECT_EQ(byte, 0xF0); // low nibble = element 0 (code 0)
  int8_t odd[3] = {1, 2, 3};
  uint8_t two[2];
  ASSERT_TRUE(packInt4(odd, 3, two));
  EXPECT_EQ(two[1], 0x8B); // 3 + 8 = 0xB low, padding value 0 (code 8) high
  int8_t bad[2] = {8, 0};
  EXPECT_FALSE(packInt4(bad, 2, &byte));
}

TEST(Int4, RtnWeightErrorWithinHalfScale) {
  std::mt19937 rng(4);
  const int64_t rows = 5, cols = 256, group = 128;
  std::vector<float> w = randomFloat(rows * cols, rng, -0.2f, 0.2f);
  // One all-zero group and one row with an outlier.
  for (int64_t k = 0; k < group; ++k)
    w[2 * cols + k] = 0.0f;
  w[3 * cols + 5] = 3.0f;
  std::vector<uint8_t> packed(rows * cols / 2);
  std::vector<float> scales(rows * cols / group);
  ASSERT_TRUE(quantizeWeightInt4(w.data(), rows, cols, group, packed.data(),
                                 scales.data()));
  std::vector<float> deq(rows * cols);
  ASSERT_TRUE(dequantizeWeightInt4(packed.data(), scales.data(), rows, cols,
                                   group, deq.data()));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < cols / group; ++g) {
      float amax = 0.0f;
      for (int64_t k = g * group; k < (g + 1) * group; ++k)
        amax = std::max(amax, std::fabs(w[r * cols + k]));
      float s = scales[r * (cols / group) + g];
#if defined(__FLT16_MAX__)
      EXPECT_EQ(s, static_cast<float>(static_cast<_Float16>(amax * 2.0f / 15.0f)));
#endif
      for (int64_t k = g * group; k < (g + 1) * group; ++k) {
        int v = nibbleValue(packed.data() + r * cols / 2, k);
        EXPECT_EQ(deq[r * cols + k], static_cast<float>(v) * s);
        double err = std::fabs(static_cast<double>(w[r * cols + k]) -
                               static_cast<double>(v) * s);
        // s/2, plus what fp16-rounding the scale moved the top of the grid.
        double bound = 0.5 * s + std::fabs(amax - 7.5 * s) + 1e-7 * s;
        EXPECT_LE(err, bound) << r << "," << k;
      }
    }
  // The all-zero group: scale 0, value 0.
  EXPECT_EQ(scales[2 * 2], 0.0f);
  EXPECT_EQ(nibbleValue(packed.data() + 2 * cols / 2, 7), 0);
  EXPECT_FALSE(quantizeWeightInt4(w.data(), rows, cols, 100, packed.data(),
                                  scales.data()));
}

TEST(Int4, RtnErrorWithinHalfScaleFp32Scales) {
  std::mt19937 rng(5);
  const int64_t rows = 4, cols = 128;
  std::vector<float> w = randomFloat(rows * cols, rng);
  std::vector<uint8_t> packed(rows * cols / 2);
  std::vector<float> scales(rows);
  ASSERT_TRUE(quantizeWeightInt4(w.data(), rows, cols, cols, packed.data(),
                                 scales.data(), /*fp16Scales=*/false));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) {
      int v = nibbleValue(packed.data() + r * cols / 2, k);
      EXPECT_GE(v, -8);
      EXPECT_LE(v, 7);
      EXPECT_LE(std::fabs(w[r * cols + k] - static_cast<double>(v) * scales[r]),
                0.5 * scales[r] * (1 + 1e-6));
    }
}

TEST(Int8Weights, PerChannelAndPerTensor) {
  std::mt19937 rng(6);
  const int64_t rows = 4, cols = 33;
  std::vector<float> w = randomFloat(rows * cols, rng);
  for (int64_t c = 0; c < cols; ++c)
    w[1 * cols + c] = 0.0f;
  std::vector<int8_t> q(rows * cols);
  std::vector<float> s(rows);
  quantizeWeightInt8PerChannel(w.data(), rows, cols, q.data(), s.data());
  for (int64_t r = 0; r < rows; ++r) {
    float amax = 0.0f;
    for (int64_t c = 0; c < cols; ++c)
      amax = std::max(amax, std::fabs(w[r * cols + c]));
    EXPECT_EQ(s[r], amax / 127.0f);
    int maxAbsQ = 0;
    for (int64_t c = 0; c < cols; ++c) {
      maxAbsQ = std::max(maxAbsQ, std::abs(int(q[r * cols + c])));
      EXPECT_LE(std::fabs(w[r * cols + c] - double(q[r * cols + c]) * s[r]),
                0.5 * s[r] * (1 + 1e-6));
    }
    EXPECT_EQ(maxAbsQ, r == 1 ? 0 : 127);
  }
  std::vector<int8_t> qt(rows * cols);
  float st = quantizeWeightInt8PerTensor(w.data(), rows * cols, qt.data());
  for (int64_t i = 0; i < rows * cols; ++i)
    EXPECT_EQ(qt[i], quantizeInt8Value(w[i], st));
}

TEST(LinearW8A8, MatchesNaiveInt64) {
  std::mt19937 rng(7);
  const int64_t rows = 7, in = 300, out = 70;
  auto x = randomInt8(rows * in, rng);
  auto w = randomInt8(out * in, rng);
  x[0] = -128;
  w[0] = -128;
  std::vector<float> ws = randomFloat(out, rng, 1e-3f, 2e-2f);
  std::vector<float> bias = randomFloat(out, rng);
  const float xs = 0.037f;
  std::vector<int32_t> acc(rows * out);
  std::vector<float> y(rows * out), yNoBias(rows * out);
  ASSERT_TRUE(matmulInt8(x.data(), w.data(), acc.data(), rows, in, out));
  ASSERT_TRUE(linearW8A8(x.data(), xs, w.data(), ws.data(), bias.data(),
                         y.data(), rows, in, out));
  ASSERT_TRUE(linearW8A8(x.data(), xs, w.data(), ws.data(), nullptr,
                         yNoBias.data(), rows, in, out));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < out; ++n) {
      int64_t ref = 0;
      for (int64_t k = 0; k < in; ++k)
        ref += int64_t(x[r * in + k]) * int64_t(w[n * in + k]);
      ASSERT_EQ(acc[r * out + n], ref);
      volatile float t = xs * ws[n];
      volatile float p = static_cast<float>(ref) * t;
      volatile float withBias = p + bias[n];
      EXPECT_EQ(yNoBias[r * out + n], p);
      EXPECT_EQ(y[r * out + n], withBias);
    }
}

TEST(LinearW8A8, OverflowGuard) {
  const int64_t in = kMaxInt8DotLength;
  std::vector<int8_t> x(in + 1, -128), w(in + 1, -128);
  int32_t acc = 0;
  ASSERT_TRUE(matmulInt8(x.data(), w.data(), &acc, 1, in, 1));
  EXPECT_EQ(int64_t(acc), in * 16384); // 2^31 - 2^14, the worst case
  float ws = 1.0f, y = 0.0f;
  quamba::Status s = linearW8A8(x.data(), 1.0f, w.data(), &ws, nullptr, &y, 1, in + 1, 1);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("overflow"), std::string::npos);
  EXPECT_FALSE(matmulInt8(x.data(), w.data(), &acc, 1, in + 1, 1));
  std::vector<uint8_t> packed((in + 1) / 2, 0);
  std::vector<float> gs(2, 1.0f);
  EXPECT_FALSE(linearW4A8(x.data(), 1.0f, packed.data(), gs.data(), &ws,
                          nullptr, &y, 1, in + 1, 1, (in + 1) / 2));
}

namespace {
struct W4Fixture {
  int64_t rows, in, out, group = 128;
  std::vector<float> wf, gs, sc, tilde, bias;
  std::vector<uint8_t> packed;
  W4Fixture(int64_t rows, int64_t in, int64_t out, unsigned seed,
            int64_t group = 128)
      : rows(rows), in(in), out(out), group(group) {
    std::mt19937 rng(seed);
    wf = randomFloat(out * in, rng, -0.1f, 0.1f);
    packed.resize(out * in / 2);
    gs.resize(out * in / group);
    EXPECT_TRUE(quantizeWeightInt4(wf.data(), out, in, group, packed.data(),
                                   gs.data()));
    sc.resize(out);
    tilde.resize(gs.size());
    EXPECT_TRUE(makeW4A8Weights(packed.data(), gs.data(), out, in, group,
                                sc.data(), tilde.data()));
    bias = randomFloat(out, rng);
  }
};
} // namespace

TEST(LinearW4A8, TwoLevelWeights) {
  W4Fixture f(1, 256, 40, 8);
  const int64_t groups = f.in / f.group;
  std::vector<int8_t> w8(f.out * f.in);
  ASSERT_TRUE(dequantizeW4ToInt8(f.packed.data(), f.tilde.data(), f.out, f.in,
                                 f.group, w8.data()));
  for (int64_t n = 0; n < f.out; ++n) {
    // Independent oracle of §7.2 in double, fp16 rounding via roundToFp16
    // (itself checked against _Float16 above).
    double amax = 0.0;
    for (int64_t k = 0; k < f.in; ++k) {
      int v = nibbleValue(f.packed.data() + n * f.in / 2, k);
      amax = std::max(amax, std::fabs(double(roundToFp16(
                                float(v) * f.gs[n * groups + k / f.group]))));
    }
    ASSERT_EQ(f.sc[n], static_cast<float>(amax / 127.0));
    for (int64_t g = 0; g < groups; ++g)
      ASSERT_EQ(f.tilde[n * groups + g],
                roundToFp16(static_cast<float>(double(f.gs[n * groups + g]) /
                                               double(f.sc[n]))));
    for (int64_t k = 0; k < f.in; ++k) {
      int v = nibbleValue(f.packed.data() + n * f.in / 2, k);
      double p = double(v) * double(f.tilde[n * groups + k / f.group]);
      double r = std::nearbyint(p); // exact p, default rounding: half-even
      ASSERT_EQ(w8[n * f.in + k], static_cast<int8_t>(r));
      // The second rounding moves the weight by at most s_c/2 (+ fp16 error).
      double eff = double(w8[n * f.in + k]) * f.sc[n];
      double orig = double(v) * f.gs[n * groups + k / f.group];
      EXPECT_LE(std::fabs(eff - orig), 0.5 * f.sc[n] + std::fabs(orig) * 1e-3);
    }
  }
  // Tie case of the int4 -> int8 step: v * s~ = 2.5 -> 2, 3.5 -> 4.
  uint8_t pk = static_cast<uint8_t>((5 + 8) | ((7 + 8) << 4));
  float t = 0.5f;
  int8_t two[2];
  ASSERT_TRUE(dequantizeW4ToInt8(&pk, &t, 1, 2, 2, two));
  EXPECT_EQ(two[0], 2);
  EXPECT_EQ(two[1], 4);
}

TEST(LinearW4A8, MatchesDequantizeThenMultiply) {
  W4Fixture f(9, 384, 70, 9);
  std::mt19937 rng(10);
  auto x = randomInt8(f.rows * f.in, rng);
  const float xs = 0.021f;
  const int64_t groups = f.in / f.group;
  std::vector<float> y(f.rows * f.out);
  ASSERT_TRUE(linearW4A8(x.data(), xs, f.packed.data(), f.tilde.data(),
                         f.sc.data(), f.bias.data(), y.data(), f.rows, f.in,
                         f.out, f.group));
  std::vector<int8_t> w8(f.out * f.in);
  ASSERT_TRUE(dequantizeW4ToInt8(f.packed.data(), f.tilde.data(), f.out, f.in,
                                 f.group, w8.data()));
  for (int64_t r = 0; r < f.rows; ++r)
    for (int64_t n = 0; n < f.out; ++n) {
      double ref = f.bias[n], mag = std::fabs(f.bias[n]), ref4 = f.bias[n],
             bound4 = 0.0;
      int64_t acc = 0;
      for (int64_t k = 0; k < f.in; ++k) {
        double xv = double(x[r * f.in + k]) * xs;
        double term = xv * double(w8[n * f.in + k]) * f.sc[n];
        ref += term;
        mag += std::fabs(term);
        acc += int64_t(x[r * f.in + k]) * w8[n * f.in + k];
        int v = nibbleValue(f.packed.data() + n * f.in / 2, k);
        double orig = double(v) * f.gs[n * groups + k / f.group];
        ref4 += xv * orig;
        bound4 += std::fabs(xv) * (0.5 * f.sc[n] + std::fabs(orig) * 1e-3);
      }
      // Same int8 weights in double: only the 3 - 4 fp32 roundings differ.
      EXPECT_NEAR(y[r * f.out + n], ref, 1e-6 * mag);
      // Bit-exact against the documented fp32 epilogue.
      volatile float tt = xs * f.sc[n];
      volatile float p = float(acc) * tt;
      volatile float yy = p + f.bias[n];
      EXPECT_EQ(y[r * f.out + n], yy);
      // Against the 4-bit weights (q - 8) * s_g: the double rounding bound.
      EXPECT_NEAR(y[r * f.out + n], ref4, bound4 + 1e-6 * mag);
    }
}

/// y = linearW4A16 of a random fixture against double precision (within the
/// fp32 accumulation bound) and, bit for bit, against the documented order:
/// `warpOrder` (inFeatures and the group size multiples of 32): 32 lanes,
/// lane l summing the 32-weight chunks l, l + 32, ..., then the xor
/// butterfly; otherwise k ascending.
void checkLinearW4A16(const W4Fixture &f, bool warpOrder) {
  std::mt19937 rng(12);
  std::vector<float> x = randomFloat(f.rows * f.in, rng, -4.0f, 4.0f);
  for (auto &v : x)
    v = roundToFp16(v);
  const int64_t groups = f.in / f.group;
  std::vector<float> y(f.rows * f.out);
  ASSERT_TRUE(linearW4A16(x.data(), f.packed.data(), f.gs.data(),
                          f.bias.data(), y.data(), f.rows, f.in, f.out,
                          f.group));
  for (int64_t r = 0; r < f.rows; ++r)
    for (int64_t n = 0; n < f.out; ++n) {
      double ref = f.bias[n], mag = std::fabs(f.bias[n]);
      float lanes[32] = {};
      volatile float seq = 0.0f;
      for (int64_t k = 0; k < f.in; ++k) {
        int v = nibbleValue(f.packed.data() + n * f.in / 2, k);
        double wv = double(v) * f.gs[n * groups + k / f.group];
        ref += double(x[r * f.in + k]) * wv;
        mag += std::fabs(double(x[r * f.in + k]) * wv);
        volatile float wf = float(v) * f.gs[n * groups + k / f.group];
        volatile float p = x[r * f.in + k] * wf;
        seq = seq + p;
        volatile float lane = lanes[(k / 32) % 32] + p;
        lanes[(k / 32) % 32] = lane;
      }
      for (int offset = 16; offset >= 1; offset /= 2) {
        float next[32];
        for (int l = 0; l < 32; ++l) {
          volatile float sum = lanes[l] + lanes[l ^ offset];
          next[l] = sum;
        }
        std::copy(next, next + 32, lanes);
      }
      volatile float documented = (warpOrder ? lanes[0] : seq) + f.bias[n];
      // fp32 accumulation: |error| <= (in + 2) * 2^-24 * sum|terms|.
      EXPECT_NEAR(y[r * f.out + n], ref, (f.in + 2) * std::ldexp(1.0, -24) * mag);
      EXPECT_EQ(y[r * f.out + n], documented); // bit for bit
    }
}

TEST(LinearW4A16, SumsInTheWarpOrderWhenChunksAreWhole) {
  checkLinearW4A16(W4Fixture(5, 2048, 67, 11), /*warpOrder=*/true);
}

TEST(LinearW4A16, SumsAscendingWhenTheGroupSplitsAChunk) {
  checkLinearW4A16(W4Fixture(5, 96, 67, 11, /*group=*/48), /*warpOrder=*/false);
}

TEST(LinearW4A16, RejectsAGroupSizeThatDoesNotDivideK) {
  W4Fixture f(5, 256, 67, 11);
  std::vector<float> x(f.rows * f.in, 0.5f), y(f.rows * f.out);
  EXPECT_FALSE(linearW4A16(x.data(), f.packed.data(), f.gs.data(), nullptr,
                           y.data(), f.rows, f.in, f.out, 100));
  EXPECT_FALSE(linearW4A16(x.data(), f.packed.data(), f.gs.data(), nullptr,
                           y.data(), f.rows, 255, f.out, 255 * 1));
}

TEST(QuantizedLinear, ThreadCountIndependent) {
  ThreadGuard guard;
  W4Fixture f(70, 512, 200, 13);
  std::mt19937 rng(14);
  auto x8 = randomInt8(f.rows * f.in, rng);
  auto w8 = randomInt8(f.out * f.in, rng);
  std::vector<float> x16 = randomFloat(f.rows * f.in, rng);
  for (auto &v : x16)
    v = roundToFp16(v);
  std::vector<float> ws = randomFloat(f.out, rng, 1e-3f, 1e-2f);
  std::vector<float> a[2][3];
  for (int threads = 1; threads <= 2; ++threads) {
    setMaxThreads(threads);
    auto &res = a[threads - 1];
    for (auto &v : res)
      v.assign(f.rows * f.out, 0.0f);
    ASSERT_TRUE(linearW8A8(x8.data(), 0.01f, w8.data(), ws.data(),
                           f.bias.data(), res[0].data(), f.rows, f.in, f.out));
    ASSERT_TRUE(linearW4A8(x8.data(), 0.01f, f.packed.data(), f.tilde.data(),
                           f.sc.data(), f.bias.data(), res[1].data(), f.rows,
                           f.in, f.out, f.group));
    ASSERT_TRUE(linearW4A16(x16.data(), f.packed.data(), f.gs.data(),
                            f.bias.data(), res[2].data(), f.rows, f.in, f.out,
                            f.group));
  }
  for (int k = 0; k < 3; ++k)
    EXPECT_EQ(std::memcmp(a[0][k].data(), a[1][k].data(),
                          a[0][k].size() * sizeof(float)),
              0)
        << "kernel " << k;
}
