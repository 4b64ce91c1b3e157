//===- ScalarMath.cpp - scalar functions kernels share --------------------===//
#include "codegen/kernels/ScalarMath.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cstdio>
#include <cstring>

namespace mlir::quamba::codegen {

Value silu(KernelBuilder &k, Value v) {
  auto &b = k.b();
  Value e = math::ExpOp::create(b, arith::NegFOp::create(b, v));
  return arith::DivFOp::create(b, v, arith::AddFOp::create(b, k.f32(1.0f), e));
}

Value softplus(KernelBuilder &k, Value v) {
  auto &b = k.b();
  Value soft = math::Log1pOp::create(b, math::ExpOp::create(b, v));
  Value big = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, v, k.f32(20.0f));
  return arith::SelectOp::create(b, big, v, soft);
}

Value roundToInt8Saturating(KernelBuilder &k, Value v, Type intType) {
  auto &b = k.b();
  Value r = math::RoundEvenOp::create(b, v);
  Value lo = k.f32(-128.0f), hi = k.f32(127.0f);
  r = arith::SelectOp::create(b, arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, r, lo), lo, r);
  r = arith::SelectOp::create(b, arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, r, hi), hi, r);
  Value isNan = arith::CmpFOp::create(b, arith::CmpFPredicate::UNO, v, v);
  r = arith::SelectOp::create(b, isNan, k.f32(0.0f), r);
  return arith::FPToSIOp::create(b, intType, r);
}

std::string floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  char text[16];
  std::snprintf(text, sizeof(text), "%08x", bits);
  return text;
}

} // namespace mlir::quamba::codegen
