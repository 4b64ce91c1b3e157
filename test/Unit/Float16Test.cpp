//===- Float16Test.cpp - halfToFloat against the binary16 definition -------===//

#include "runtime/Float16.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

/// The value of binary16 bits by the format's definition, in double.
double definedValue(uint16_t bits) {
  int sign = bits >> 15 ? -1 : 1;
  int exponent = (bits >> 10) & 0x1f;
  int mantissa = bits & 0x3ff;
  if (exponent == 0)
    return sign * std::ldexp(mantissa, -24);
  return sign * std::ldexp(1024 + mantissa, exponent - 25);
}

TEST(Float16, EveryFiniteValueWidensExactly) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    if (((bits >> 10) & 0x1f) == 0x1f)
      continue;
    float value = quamba::halfToFloat(static_cast<uint16_t>(bits));
    ASSERT_EQ(static_cast<double>(value), definedValue(bits)) << std::hex << bits;
    ASSERT_EQ(std::signbit(value), (bits >> 15) != 0) << std::hex << bits;
  }
}

TEST(Float16, NarrowingRoundsToTheNearestEvenHalf) {
  // Oracle: the nearest binary16 by exhaustive search over the finite halves
  // (ties to the even code), for a sweep of fp32 values across the range.
  std::vector<std::pair<double, uint16_t>> halves;
  for (uint32_t bits = 0; bits < 0x7c00; ++bits)
    halves.push_back({definedValue(bits), static_cast<uint16_t>(bits)});
  for (float v = 1e-9f; v < 70000.0f; v *= 1.0009f) {
    uint16_t got = quamba::floatToHalf(v);
    // Nearest by binary search over the ascending positive halves.
    auto it = std::lower_bound(halves.begin(), halves.end(), std::pair<double, uint16_t>{v, 0});
    uint16_t want;
    if (it == halves.end()) {
      // Beyond the largest half: rounds to it below 65520, else to infinity.
      want = v < 65520.0f ? 0x7bff : 0x7c00;
    } else if (it == halves.begin()) {
      want = it->second;
    } else {
      auto below = std::prev(it);
      double up = it->first - v, down = v - below->first;
      want = up < down ? it->second : down < up ? below->second
                                                : ((it->second & 1) ? below->second : it->second);
    }
    ASSERT_EQ(got, want) << v;
    ASSERT_EQ(quamba::floatToHalf(-v), want | 0x8000) << v;
  }
  EXPECT_EQ(quamba::floatToHalf(INFINITY), 0x7c00);
  EXPECT_TRUE(std::isnan(quamba::halfToFloat(quamba::floatToHalf(NAN))));
}

TEST(Float16, InfinitiesAndNaNs) {
  EXPECT_EQ(quamba::halfToFloat(0x7c00), INFINITY);
  EXPECT_EQ(quamba::halfToFloat(0xfc00), -INFINITY);
  EXPECT_TRUE(std::isnan(quamba::halfToFloat(0x7e00)));
  EXPECT_TRUE(std::isnan(quamba::halfToFloat(0xfc01)));
}

} // namespace
