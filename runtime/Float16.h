//===- Float16.h - IEEE binary16 <-> fp32 -------------------------*- C++ -*-===//
//
// Widening is exact (every f16 value, subnormals included, is an fp32
// value), so a backend that computes in fp32 may widen f16 weights on load
// without changing the model.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/reference/FloatSemantics.h"

#include <cstdint>

namespace quamba {

inline float halfToFloat(uint16_t half) {
  uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1fu;
  uint32_t mantissa = half & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1fu) {
    bits = sign | 0x7f800000u | (mantissa << 13); // inf, NaN (payload kept)
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign; // +-0
  } else {
    // Subnormal: m * 2^-24; normalise the mantissa.
    int shift = 0;
    while (!(mantissa & 0x400u)) {
      mantissa <<= 1;
      ++shift;
    }
    bits = sign | (static_cast<uint32_t>(113 - shift) << 23) |
           ((mantissa & 0x3ffu) << 13);
  }
  return ref::bitsFloat(bits);
}

/// fp32 -> binary16, rounded to nearest even (overflow to infinity, NaN
/// kept a quiet NaN).
inline uint16_t floatToHalf(float value) {
  uint32_t bits = ref::floatBits(value);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  uint32_t exponent = (bits >> 23) & 0xffu;
  uint32_t mantissa = bits & 0x7fffffu;
  if (exponent == 0xffu)
    return sign | 0x7c00u | (mantissa ? 0x200u : 0u);
  int e = static_cast<int>(exponent) - 127 + 15;
  if (e >= 0x1f)
    return sign | 0x7c00u;
  if (e <= 0) {
    // Subnormal (or zero): shift the full significand into place, rounding.
    if (e < -10)
      return sign;
    uint32_t significand = mantissa | 0x800000u;
    int shift = 14 - e; // 24-bit significand -> units of 2^-24
    uint32_t half = significand >> shift;
    uint32_t rest = significand & ((1u << shift) - 1);
    uint32_t tie = 1u << (shift - 1);
    if (rest > tie || (rest == tie && (half & 1u)))
      ++half;
    return sign | static_cast<uint16_t>(half);
  }
  uint32_t half = (static_cast<uint32_t>(e) << 10) | (mantissa >> 13);
  uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
    ++half; // a carry into the exponent is the right rounding (up to inf)
  return sign | static_cast<uint16_t>(half);
}

} // namespace quamba
