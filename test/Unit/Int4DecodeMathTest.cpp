//===- Int4DecodeMathTest.cpp - the GPU's fp16 int4 decode vs the reference ===//
//
// The W4A8 kernels (codegen/kernels/LinearEmitter.h, decodeInt4Words) decode
// w8 = sat8(RNE(float(code - 8) * s)) in fp16, two codes a half2:
//   s16 = f16(clamp(isnan(s) ? 0 : s, -65504, 65504))
//   h   = (1024 + code) - 1032                  (exact)
//   r   = fma.rn.f16(h, s16, 1536)              (one rounding)
//   w8  = low byte of the f16 bits of max(min(r, 1663), 1408).
// This checks that claim against ref::dequantizeW4ToInt8 for every code and
// every fp16 scale (the operation's contract) plus non-finite scales, with
// the fp16 fma modelled by its definition: the exact value (in double),
// rounded once to binary16 half-even (APFloat).
//
//===----------------------------------------------------------------------===//

#include "runtime/Float16.h"
#include "runtime/reference/QuantizedKernels.h"

#include "llvm/ADT/APFloat.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

namespace {

using llvm::APFloat;

/// Rounds a double to binary16, half-even (overflow to infinity).
APFloat toHalf(double v) {
  APFloat h(v);
  bool losesInfo = false;
  h.convert(APFloat::IEEEhalf(), APFloat::rmNearestTiesToEven, &losesInfo);
  return h;
}

/// The kernel's decode of one code with scale s, as modelled above.
int8_t kernelDecode(int code, float s) {
  if (std::isnan(s))
    s = 0.0f;
  s = std::fmin(std::fmax(s, -65504.0f), 65504.0f);
  double s16 = toHalf(s).convertToDouble();
  double h = (1024.0 + code) - 1032.0; // exact in fp16: -8 .. 7
  APFloat r = toHalf(h * s16 + 1536.0); // h * s16 + 1536 is exact in double
  // min.f16x2 / max.f16x2: r is never NaN here (h and s16 are finite).
  if (r.convertToDouble() > 1663.0)
    r = toHalf(1663.0);
  if (r.convertToDouble() < 1408.0)
    r = toHalf(1408.0);
  uint16_t bits = static_cast<uint16_t>(r.bitcastToAPInt().getZExtValue());
  return static_cast<int8_t>(bits & 0xff);
}

/// The reference's int8 weight of `code` under scale s.
int8_t referenceDecode(int code, float s) {
  // Two codes per byte: element 0 (low nibble) carries `code`.
  uint8_t packed[1] = {static_cast<uint8_t>(code | (8 << 4))};
  float scales[1] = {s};
  int8_t w8[2];
  EXPECT_TRUE(static_cast<bool>(
      quamba::ref::dequantizeW4ToInt8(packed, scales, 1, 2, 2, w8)));
  return w8[0];
}

TEST(Int4DecodeMath, EveryFp16ScaleAndCodeMatchesTheReference) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    float s = quamba::halfToFloat(static_cast<uint16_t>(bits));
    for (int code = 0; code < 16; ++code)
      ASSERT_EQ(kernelDecode(code, s), referenceDecode(code, s))
          << "scale bits 0x" << std::hex << bits << " (" << s << "), code " << std::dec
          << code;
  }
}

TEST(Int4DecodeMath, NonFiniteAndOutOfRangeScalesMatchTheReference) {
  const float inf = std::numeric_limits<float>::infinity();
  for (float s : {std::numeric_limits<float>::quiet_NaN(), inf, -inf, 1e6f, -1e6f, 65520.0f,
                  3.0e38f})
    for (int code = 0; code < 16; ++code)
      ASSERT_EQ(kernelDecode(code, s), referenceDecode(code, s))
          << "scale " << s << ", code " << code;
}

TEST(Int4DecodeMath, HalfwayProductsRoundToEven) {
  // s = 0.5: odd codes - 8 give exact halves; RNE picks the even integer.
  EXPECT_EQ(kernelDecode(9, 0.5f), 0);   // 0.5 -> 0
  EXPECT_EQ(kernelDecode(11, 0.5f), 2);  // 1.5 -> 2
  EXPECT_EQ(kernelDecode(7, 0.5f), 0);   // -0.5 -> 0
  EXPECT_EQ(kernelDecode(5, 0.5f), -2);  // -1.5 -> -2
  EXPECT_EQ(kernelDecode(0, 16.0f), -128);
  EXPECT_EQ(kernelDecode(15, 18.25f), 127); // 127.75 saturates
}

} // namespace
