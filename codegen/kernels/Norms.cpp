//===- Norms.cpp - RMSNorm, fused add + RMSNorm, grouped gated RMSNorm ----===//
//
// One warp per row (ref::rmsNorm, ref::addRmsNorm, ref::gatedRmsNorm): a
// block of 4 warps handles 4 consecutive rows, grid = cdiv(rows, 4). Each
// lane strides over the row (i = lane, lane + 32, ...) accumulating the sum
// of squares in f32, a butterfly of shfl.bfly gives every lane the same
// total, and the lanes then write their elements:
//   scale = 1 / sqrt(sum / dim + eps)   (div.rn, sqrt.rn: correctly rounded)
//   out[i] = x[i] * scale * weight[i]
// add_rms_norm first writes residual_out = x + residual and normalises that;
// gated_rms_norm first writes out = y * silu(z) (silu(v) = v / (1 + exp(-v)))
// and normalises each group of group_size channels of it in place. This is
// the reference's warp-order sum (runtime/reference/FloatSemantics.h): the
// results are bit-identical.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/Kernels.h"
#include "codegen/kernels/ScalarMath.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include <cstdio>
#include <cstring>

namespace mlir::quamba::codegen {
namespace {

constexpr int kNumWarps = 4;
constexpr int kWarp = 32;


/// The sum of `value` over the warp, in every lane (xor butterfly).
Value warpSum(KernelBuilder &k, Value value) {
  auto &b = k.b();
  for (int offset = kWarp / 2; offset >= 1; offset /= 2) {
    auto shuffle = gpu::ShuffleOp::create(b, value, offset, kWarp,
                                          gpu::ShuffleMode::XOR);
    value = arith::AddFOp::create(b, value, shuffle.getShuffleResult());
  }
  return value;
}

/// 1 / sqrt(sumSquares / n + eps).
Value inverseRms(KernelBuilder &k, Value sumSquares, int64_t n, float eps) {
  auto &b = k.b();
  Value mean = arith::DivFOp::create(b, sumSquares, k.f32(static_cast<float>(n)));
  // sqrt.rn itself: math.sqrt and llvm.sqrt both become libdevice's
  // __nv_sqrtf on the NVVM path, whose precision follows __CUDA_PREC_SQRT
  // (approximate unless set), and 1 / sqrt.approx becomes rsqrt.approx.
  Value radicand = arith::AddFOp::create(b, mean, k.f32(eps));
  Value root = LLVM::InlineAsmOp::create(
                   b, b.getF32Type(), ValueRange{radicand}, "sqrt.rn.f32 $0, $1;",
                   "=f,f", /*has_side_effects=*/false, /*is_align_stack=*/false,
                   LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr(),
                   ArrayAttr())
                   .getResult(0);
  return arith::DivFOp::create(b, k.f32(1.0f), root);
}

} // namespace

LogicalResult emitNorm(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  const std::string op = launch.op;
  const bool add = op == "add_rms_norm";
  const bool gated = op == "gated_rms_norm";
  const int64_t dim = ctx.dim(0, -1);
  const float eps = static_cast<float>(launch.attr("eps"));
  int64_t groupSize = dim;
  if (gated) {
    groupSize = static_cast<int64_t>(launch.attr("group_size"));
    if (groupSize <= 0 || dim % groupSize != 0)
      return emitError(loc) << op << ": group_size " << groupSize
                            << " does not divide " << dim;
  }
  if (dim <= 0)
    return emitError(loc) << op << ": empty rows";
  // Operands: rms_norm x, weight, out; add_rms_norm x, residual, weight,
  // out, residual_out; gated_rms_norm y, z, weight, out.
  const unsigned weightArg = (add || gated) ? 2 : 1;
  const unsigned outArg = weightArg + 1;
  const unsigned rowsArg = add ? 5 : outArg + 1;
  if (ctx.dim(weightArg, -1) != dim)
    return emitError(loc) << op << ": weight size " << ctx.dim(weightArg, -1)
                          << " differs from the row size " << dim;

  plan::ShapeExpr rows = ctx.rows(0);
  launch.scalars = {rows};
  // One warp per row: cdiv(rows * 32, 32 * numWarps) blocks.
  ctx.gridFor(mulExpr(rows, plan::ShapeExpr(kWarp)), kNumWarps);

  std::string name = op + "_d" + std::to_string(dim);
  if (gated)
    name += "_g" + std::to_string(groupSize);
  name += "_eps" + floatBits(eps);

  ctx.useKernel(name, ctx.operandArgs(1), kNumWarps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Type f32 = b.getF32Type();
    Value gid = k.globalIdx();
    Value row = arith::DivUIOp::create(b, gid, k.idx(kWarp));
    Value lane = arith::RemUIOp::create(b, gid, k.idx(kWarp));
    // The whole warp shares `row`, so the branch is warp-uniform and the
    // shuffles inside run with every lane active.
    Value inBounds = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row,
                                           k.argIndex(rowsArg));
    k.ifThen(inBounds, [&] {
      Value base = arith::MulIOp::create(b, row, k.idx(dim));
      Value step = k.idx(kWarp);
      Value weight = k.arg(weightArg), out = k.arg(outArg);
      auto at = [&](Value i) { return arith::AddIOp::create(b, base, i); };
      auto mulf = [&](Value x, Value y) {
        return arith::MulFOp::create(b, x, y).getResult();
      };

      if (!gated) {
        // The values normalised: x, or residual_out = x + residual.
        Value src = add ? k.arg(4) : k.arg(0);
        SmallVector<Value> sum = k.forLoop(
            lane, k.idx(dim), step, ValueRange{k.f32(0.0f)},
            [&](Value i, ValueRange acc) -> SmallVector<Value> {
              Value v = k.load(f32, k.arg(0), at(i));
              if (add) {
                v = arith::AddFOp::create(b, v, k.load(f32, k.arg(1), at(i)));
                k.store(v, src, at(i));
              }
              return {arith::AddFOp::create(b, acc[0], mulf(v, v))};
            });
        Value scale = inverseRms(k, warpSum(k, sum[0]), dim, eps);
        // Each lane rereads only the elements it wrote itself.
        k.forLoop(lane, k.idx(dim), step, [&](Value i) {
          Value v = k.load(f32, src, at(i));
          Value w = k.load(f32, weight, i);
          k.store(mulf(mulf(v, scale), w), out, at(i));
        });
        return;
      }

      // gated_rms_norm, group by group: out = y * silu(z), then normalise.
      k.forLoop(k.idx(0), k.idx(dim), k.idx(groupSize), [&](Value g) {
        Value groupEnd = arith::AddIOp::create(b, g, k.idx(groupSize));
        Value first = arith::AddIOp::create(b, g, lane);
        SmallVector<Value> sum = k.forLoop(
            first, groupEnd, step, ValueRange{k.f32(0.0f)},
            [&](Value i, ValueRange acc) -> SmallVector<Value> {
              Value y = k.load(f32, k.arg(0), at(i));
              Value z = k.load(f32, k.arg(1), at(i));
              Value v = mulf(y, silu(k, z));
              k.store(v, out, at(i));
              return {arith::AddFOp::create(b, acc[0], mulf(v, v))};
            });
        Value scale = inverseRms(k, warpSum(k, sum[0]), groupSize, eps);
        k.forLoop(first, groupEnd, step, [&](Value i) {
          Value v = k.load(f32, out, at(i));
          Value w = k.load(f32, weight, i);
          k.store(mulf(mulf(v, scale), w), out, at(i));
        });
      });
    });
  });
  return success();
}

} // namespace mlir::quamba::codegen
