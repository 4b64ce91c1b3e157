//===- Float16Test.cpp - halfToFloat against the binary16 definition -------===//

#include "runtime/Float16.h"

#include <gtest/gtest.h>

#include <cmath>

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

TEST(Float16, InfinitiesAndNaNs) {
  EXPECT_EQ(quamba::halfToFloat(0x7c00), INFINITY);
  EXPECT_EQ(quamba::halfToFloat(0xfc00), -INFINITY);
  EXPECT_TRUE(std::isnan(quamba::halfToFloat(0x7e00)));
  EXPECT_TRUE(std::isnan(quamba::halfToFloat(0xfc01)));
}

} // namespace
