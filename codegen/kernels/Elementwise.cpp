//===- Elementwise.cpp - quantize, dequantize and requantize kernels ------===//
//
// One thread per element, or per 4 consecutive elements (one channel run:
// 16-byte float and 4-byte int8 accesses) when the channel count allows.
// quantize follows ref::quantizeInt8Value exactly:
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
  // Four elements a thread when they share a row of `inner` channels.
  const int64_t width = inner % 4 == 0 ? 4 : 1;
  plan::ShapeExpr count = ctx.numel(0);
  launch.scalars = {count};
  ctx.gridFor(width == 1 ? count : *plan::ShapeExpr::parse("(" + count.text() + ")/4"), numWarps);
  std::string name = launch.op + "_inner" + std::to_string(inner) + (width == 4 ? "_v4" : "");
  ctx.useKernel(name, ctx.operandArgs(1), numWarps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Type f32 = b.getF32Type(), i8 = b.getI8Type();
    Value i = arith::MulIOp::create(b, k.globalIdx(), k.idx(width));
    Value inBounds =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, k.argIndex(3));
    k.ifThen(inBounds, [&] {
      Value channel = arith::RemUIOp::create(b, i, k.idx(inner));
      auto loadRun = [&](Type type, Value ptr, Value at) -> SmallVector<Value> {
        if (width == 4)
          return k.loadVector(type, 4, ptr, at);
        return {k.load(type, ptr, at)};
      };
      SmallVector<Value> scales = loadRun(f32, k.arg(1), channel), out;
      SmallVector<Value> in = loadRun(quantize || requantize ? f32 : i8, k.arg(0), i);
      for (int64_t u = 0; u < width; ++u) {
        if (!quantize && !requantize) {
          out.push_back(dequantizeInt8(k, in[u], scales[u]));
          continue;
        }
        Value q = quantizeInt8(k, in[u], scales[u]);
        out.push_back(requantize ? dequantizeInt8(k, q, scales[u]) : q);
      }
      if (width == 4)
        k.storeVector(out, k.arg(2), i);
      else
        k.store(out[0], k.arg(2), i);
    });
  });
  return success();
}

} // namespace mlir::quamba::codegen
