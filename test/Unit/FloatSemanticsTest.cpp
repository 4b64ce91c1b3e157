//===- FloatSemanticsTest.cpp - quamba's exp, log1p and warp-order sums ----===//
//
// Oracles: libm in double precision (the functions' accuracy) and sums
// worked out by hand (the reduction order).
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/FloatSemantics.h"
#include "runtime/reference/Kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace {

using quamba::ref::blockOrderSum;
using quamba::ref::floatBits;
using quamba::ref::normThreads;
using quamba::ref::warpOrderSum;

constexpr float kInf = std::numeric_limits<float>::infinity();

/// |got - want| in units of the last place of the float nearest `want`.
double ulpError(float got, double want) {
  float nearest = static_cast<float>(want);
  double ulp = std::nextafter(std::fabs(nearest), kInf) - std::fabs(nearest);
  return std::fabs(static_cast<double>(got) - want) / ulp;
}

/// Every 4099th fp32 bit pattern in [lo, hi]: about a million values.
template <typename F> void forSampledFloats(float lo, float hi, F &&check) {
  for (uint64_t bits = 0; bits <= 0xffffffffu; bits += 4099) {
    uint32_t b32 = static_cast<uint32_t>(bits);
    float x;
    std::memcpy(&x, &b32, sizeof(x));
    if (x >= lo && x <= hi)
      check(x);
  }
}

TEST(FloatSemantics, ExpIsWithinOneUlpWhereTheResultIsNormal) {
  double worst = 0.0;
  forSampledFloats(-87.3f, 88.7f, [&](float x) {
    worst = std::max(worst, ulpError(quamba::ref::exp(x), std::exp(double(x))));
  });
  EXPECT_LE(worst, 1.0);
}

TEST(FloatSemantics, ExpIsWithinOneDenormalUnitBelowTheNormalRange) {
  const double denormalUnit = std::ldexp(1.0, -149);
  for (float x = -104.0f; x < -87.3f; x += 0.001f)
    EXPECT_LE(std::fabs(quamba::ref::exp(x) - std::exp(double(x))),
              denormalUnit)
        << "x = " << x;
}

TEST(FloatSemantics, ExpSpecialValues) {
  EXPECT_EQ(quamba::ref::exp(0.0f), 1.0f);
  EXPECT_EQ(quamba::ref::exp(-0.0f), 1.0f);
  EXPECT_EQ(quamba::ref::exp(-kInf), 0.0f);
  EXPECT_EQ(quamba::ref::exp(-200.0f), 0.0f);
  EXPECT_EQ(quamba::ref::exp(kInf), kInf);
  EXPECT_EQ(quamba::ref::exp(89.0f), kInf);
  EXPECT_TRUE(std::isnan(quamba::ref::exp(std::nanf(""))));
}

TEST(FloatSemantics, Log1pIsWithinTwoAndAHalfUlpOnTheSoftplusDomain) {
  double worst = 0.0;
  forSampledFloats(0.0f, std::numeric_limits<float>::max(), [&](float u) {
    worst = std::max(worst,
                     ulpError(quamba::ref::log1p(u), std::log1p(double(u))));
  });
  EXPECT_LE(worst, 2.5);
}

TEST(FloatSemantics, Log1pSpecialValues) {
  EXPECT_EQ(quamba::ref::log1p(0.0f), 0.0f);
  EXPECT_EQ(quamba::ref::log1p(1e-30f), 1e-30f); // below half an ulp of 1
  EXPECT_EQ(quamba::ref::log1p(kInf), kInf);
  EXPECT_TRUE(std::isnan(quamba::ref::log1p(std::nanf(""))));
}

TEST(FloatSemantics, SoftplusAndSiluFollowTheirDefinitions) {
  for (float v = -30.0f; v <= 30.0f; v += 0.01f) {
    double d = v;
    double softplus = v > 20.0f ? d : std::log1p(std::exp(d));
    EXPECT_LE(ulpError(quamba::ref::softplus(v), softplus), 4.0) << v;
    EXPECT_LE(ulpError(quamba::ref::silu(v), d / (1.0 + std::exp(-d))), 4.0)
        << v;
  }
  EXPECT_EQ(quamba::ref::silu(-1000.0f), 0.0f); // exp overflows: -0
}

TEST(FloatSemantics, WarpOrderSumIsExactOnSmallIntegersWithRaggedTails) {
  for (int64_t chunk : {1, 4, 32})
    for (int64_t n : {0, 1, 31, 33, 1000, 4096, 5000}) {
      std::vector<float> v(n);
      double exact = 0.0;
      for (int64_t i = 0; i < n; ++i)
        exact += v[i] = static_cast<float>((i * 7919) % 13) - 6.0f;
      EXPECT_EQ(warpOrderSum(n, chunk, [&](int64_t i) { return v[i]; }),
                exact)
          << "n = " << n << ", chunk = " << chunk;
    }
}

TEST(FloatSemantics, WarpOrderSumPairsLanesByButterflyNotAscending) {
  // v[0] = 1 and v[32..63] = 2^-24: lane 0 holds 1 + 2^-24 = 1 (a tie,
  // rounded to even), lanes 1..31 hold 2^-24 each. The butterfly adds lane
  // pairs at distance 16, 8, 4, 2, 1: lane 0's tree absorbs the other
  // lanes' sums 2^-24 (lost, a tie again), 2^-23, 2^-22, 2^-21, 2^-20 exactly:
  // 1 + 15 * 2^-23. An ascending sum would lose every 2^-24 and give 1.
  std::vector<float> v(64, 0.0f);
  v[0] = 1.0f;
  for (int i = 32; i < 64; ++i)
    v[i] = std::ldexp(1.0f, -24);
  EXPECT_EQ(warpOrderSum(64, 1, [&](int64_t i) { return v[i]; }),
            1.0f + 15.0f * std::ldexp(1.0f, -23));
}

TEST(FloatSemantics, BlockOrderSumIsExactOnSmallIntegersWithRaggedTails) {
  for (int64_t threads : {32, 64, 320, 1024})
    for (int64_t n : {0, 1, 31, 33, 1000, 2560, 5000}) {
      std::vector<float> v(n);
      double exact = 0.0;
      for (int64_t i = 0; i < n; ++i)
        exact += v[i] = static_cast<float>((i * 7919) % 13) - 6.0f;
      EXPECT_EQ(blockOrderSum(n, threads, [&](int64_t i) { return v[i]; }),
                exact)
          << "n = " << n << ", threads = " << threads;
    }
}

TEST(FloatSemantics, BlockOrderSumOfOneWarpIsTheWarpOrder) {
  std::vector<float> v(3001);
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = std::sin(static_cast<float>(i)) * std::ldexp(1.0f, (i * 37) % 40 - 20);
  auto term = [&](int64_t i) { return v[i]; };
  for (int64_t n : {1, 100, 3001})
    EXPECT_EQ(floatBits(blockOrderSum(n, 32, term)),
              floatBits(warpOrderSum(n, 1, term)))
        << "n = " << n;
}

TEST(FloatSemantics, BlockOrderSumAddsWarpTotalsInWarpOrder) {
  // Three warps whose totals are 1, 2^-24 and 2^-24: in warp order
  // (1 + 2^-24) + 2^-24 loses both halves (ties to even) and gives 1; a
  // tree 1 + (2^-24 + 2^-24) would give 1 + 2^-23.
  std::vector<float> v(96, 0.0f);
  v[0] = 1.0f;
  v[32] = v[64] = std::ldexp(1.0f, -24);
  EXPECT_EQ(blockOrderSum(96, 96, [&](int64_t i) { return v[i]; }), 1.0f);
}

TEST(FloatSemantics, NormThreadsGiveAboutEightValuesEachInWholeWarps) {
  EXPECT_EQ(normThreads(1), 32);
  EXPECT_EQ(normThreads(256), 32);
  EXPECT_EQ(normThreads(257), 64);
  EXPECT_EQ(normThreads(2560), 320);  // mamba2-2.7b d_model
  EXPECT_EQ(normThreads(5120), 640);  // its d_inner (one group)
  EXPECT_EQ(normThreads(8192), 1024); // mamba2-8b d_inner
  EXPECT_EQ(normThreads(100000), 1024);
}

} // namespace
