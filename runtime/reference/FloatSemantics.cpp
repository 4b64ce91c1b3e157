//===- FloatSemantics.cpp - ref::exp, log and log1p on plain floats --------===//
//
// Built with -ffp-contract=off (as the whole reference library): every
// operation below is one correctly rounded fp32 operation.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/FloatSemantics.h"

#include <cmath>
#include <cstring>

namespace quamba::ref {
namespace {

/// The arithmetic policy of FloatSemantics.h over plain values.
struct ScalarOps {
  using F = float;
  using I = int32_t;
  using B = bool;

  F c(float v) { return v; }
  I ci(int32_t v) { return v; }
  F add(F a, F b) { return a + b; }
  F sub(F a, F b) { return a - b; }
  F mul(F a, F b) { return a * b; }
  F div(F a, F b) { return a / b; }
  // The default rounding mode is round-to-nearest-even.
  F roundEven(F v) { return std::nearbyint(v); }
  I toInt(F v) { return static_cast<I>(v); }
  F toFloat(I v) { return static_cast<F>(v); }
  I addI(I a, I b) { return a + b; }
  I subI(I a, I b) { return a - b; }
  I andI(I a, I b) { return a & b; }
  I orI(I a, I b) { return a | b; }
  I shl(I a, int s) { return static_cast<I>(static_cast<uint32_t>(a) << s); }
  I ashr(I a, int s) { return a >> s; }
  F bitsToFloat(I bits) { return bitsFloat(static_cast<uint32_t>(bits)); }
  I floatToBits(F v) { return static_cast<I>(floatBits(v)); }
  B lt(F a, F b) { return a < b; }
  B gt(F a, F b) { return a > b; }
  B eq(F a, F b) { return a == b; }
  B isNan(F v) { return v != v; }
  B or_(B a, B b) { return a || b; }
  F select(B c, F a, F b) { return c ? a : b; }
  I selectI(B c, I a, I b) { return c ? a : b; }
};

} // namespace

float exp(float x) {
  ScalarOps ops;
  return semantics::exp(ops, x);
}

float log(float x) {
  ScalarOps ops;
  return semantics::logNormal(ops, x);
}

float log1p(float u) {
  ScalarOps ops;
  return semantics::log1p(ops, u);
}

} // namespace quamba::ref
