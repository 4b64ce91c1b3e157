//===- Elementwise.cpp - quantize, dequantize and requantize kernels ------===//
//
// One thread per element. quantize follows ref::quantizeInt8Value exactly:
// one IEEE division (div.rn.f32), round half to even (cvt.rni), NaN -> 0,
// saturation to [-128, 127]; dequantize is one multiply; requantize is the
// two, the int8 code kept in a register. Bit-exact.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/Kernels.h"
#include "codegen/kernels/ScalarMath.h"

#include "mlir/Dialect/Math/IR/Math.h"

namespace mlir::quamba::codegen {

LogicalResult emitElementwise(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  const bool quantize = launch.op == "quantize";
  const bool requantize = launch.op == "requantize";
  const int64_t inner = static_cast<int64_t>(launch.attr("inner"));
  if (inner <= 0)
    return emitError(loc) << launch.op << " launch without a positive 'inner'";
  const int numWarps = 4;
  plan::ShapeExpr count = ctx.numel(0);
  launch.scalars = {count};
  ctx.gridFor(count, numWarps);
  std::string name = launch.op + "_inner" + std::to_string(inner);
  ctx.useKernel(name, ctx.operandArgs(1), numWarps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Type f32 = b.getF32Type(), i8 = b.getI8Type();
    Value i = k.globalIdx();
    Value inBounds =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, k.argIndex(3));
    k.ifThen(inBounds, [&] {
      Value channel = arith::RemUIOp::create(b, i, k.idx(inner));
      Value scale = k.load(f32, k.arg(1), channel);
      if (!quantize && !requantize) {
        k.store(dequantizeInt8(k, k.load(i8, k.arg(0), i), scale), k.arg(2), i);
        return;
      }
      Value q = quantizeInt8(k, k.load(f32, k.arg(0), i), scale);
      k.store(requantize ? dequantizeInt8(k, q, scale) : q, k.arg(2), i);
    });
  });
  return success();
}

} // namespace mlir::quamba::codegen
