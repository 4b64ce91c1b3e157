//===- ScalarMath.cpp - scalar functions kernels share --------------------===//
//
// exp and log1p are runtime/reference/FloatSemantics.h's algorithms,
// instantiated with MlirOps: the same fp32 operations in the same order as
// ref::exp and ref::log1p, as arith ops without fastmath flags (LLVM neither
// reassociates nor contracts them; NVPTX emits add.rn/mul.rn/div.rn, which
// ptxas does not fuse), so kernels and reference agree bit for bit.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/ScalarMath.h"

#include "runtime/reference/FloatSemantics.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cstdio>
#include <cstring>

namespace mlir::quamba::codegen {
namespace {

/// The arithmetic policy of FloatSemantics.h over MLIR values (f32, i32, i1).
struct MlirOps {
  using F = Value;
  using I = Value;
  using B = Value;

  KernelBuilder &k;
  ImplicitLocOpBuilder &b;
  explicit MlirOps(KernelBuilder &k) : k(k), b(k.b()) {}

  F c(float v) { return k.f32(v); }
  I ci(int32_t v) { return k.i32(v); }
  F add(F x, F y) { return arith::AddFOp::create(b, x, y); }
  F sub(F x, F y) { return arith::SubFOp::create(b, x, y); }
  F mul(F x, F y) { return arith::MulFOp::create(b, x, y); }
  F div(F x, F y) { return arith::DivFOp::create(b, x, y); }
  F roundEven(F v) { return math::RoundEvenOp::create(b, v); }
  I toInt(F v) { return arith::FPToSIOp::create(b, b.getI32Type(), v); }
  F toFloat(I v) { return arith::SIToFPOp::create(b, b.getF32Type(), v); }
  I addI(I x, I y) { return arith::AddIOp::create(b, x, y); }
  I subI(I x, I y) { return arith::SubIOp::create(b, x, y); }
  I andI(I x, I y) { return arith::AndIOp::create(b, x, y); }
  I orI(I x, I y) { return arith::OrIOp::create(b, x, y); }
  I shl(I x, int s) { return arith::ShLIOp::create(b, x, k.i32(s)); }
  I ashr(I x, int s) { return arith::ShRSIOp::create(b, x, k.i32(s)); }
  F bitsToFloat(I v) { return arith::BitcastOp::create(b, b.getF32Type(), v); }
  I floatToBits(F v) { return arith::BitcastOp::create(b, b.getI32Type(), v); }
  B cmp(arith::CmpFPredicate p, F x, F y) {
    return arith::CmpFOp::create(b, p, x, y);
  }
  B lt(F x, F y) { return cmp(arith::CmpFPredicate::OLT, x, y); }
  B gt(F x, F y) { return cmp(arith::CmpFPredicate::OGT, x, y); }
  B eq(F x, F y) { return cmp(arith::CmpFPredicate::OEQ, x, y); }
  B isNan(F v) { return cmp(arith::CmpFPredicate::UNO, v, v); }
  B or_(B x, B y) { return arith::OrIOp::create(b, x, y); }
  F select(B c, F x, F y) { return arith::SelectOp::create(b, c, x, y); }
  I selectI(B c, I x, I y) { return arith::SelectOp::create(b, c, x, y); }
};

} // namespace

Value exp(KernelBuilder &k, Value v) {
  MlirOps ops(k);
  return ::quamba::ref::semantics::exp(ops, v);
}

Value log(KernelBuilder &k, Value v) {
  MlirOps ops(k);
  return ::quamba::ref::semantics::logNormal(ops, v);
}

Value log1p(KernelBuilder &k, Value v) {
  MlirOps ops(k);
  return ::quamba::ref::semantics::log1p(ops, v);
}

Value silu(KernelBuilder &k, Value v) {
  auto &b = k.b();
  Value e = exp(k, arith::NegFOp::create(b, v));
  return arith::DivFOp::create(b, v, arith::AddFOp::create(b, k.f32(1.0f), e));
}

Value softplus(KernelBuilder &k, Value v) {
  auto &b = k.b();
  Value soft = log1p(k, exp(k, v));
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

Value quantizeInt8(KernelBuilder &k, Value v, Value scale) {
  auto &b = k.b();
  return roundToInt8Saturating(k, arith::DivFOp::create(b, v, scale), b.getI8Type());
}

Value dequantizeInt8(KernelBuilder &k, Value q, Value scale) {
  auto &b = k.b();
  return arith::MulFOp::create(b, arith::SIToFPOp::create(b, b.getF32Type(), q), scale);
}

} // namespace mlir::quamba::codegen
