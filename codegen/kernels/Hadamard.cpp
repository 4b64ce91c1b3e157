//===- Hadamard.cpp - orthonormal Hadamard transform of each row ----------===//
//
// ref::hadamard for n = m * 2^k (m in {1, 12, 40}), one block of 4 warps
// per row (grid = rows), out of place. With the row viewed as [m][p],
// p = 2^k, H_n = H_m kron H_p = (H_m kron I_p)(I_m kron H_p), and the two
// factors commute, so the kernel applies them in the order that needs no
// scratch space:
//   1. out[c*p + r] = sum_j factor[c][j] * x[j*p + r]   (a copy when m = 1)
//   2. log2(p) butterfly passes (Sylvester, natural order) on each of the m
//      blocks of out, in place in global memory, a barrier after each pass
//      (bar.sync orders the block's global memory accesses);
//   3. out *= float(1 / sqrt(double(n))).
// The reference applies the two factors the other way round; the results
// differ only by rounding.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/Kernels.h"

#include <cmath>

namespace mlir::quamba::codegen {

LogicalResult emitHadamard(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  const int64_t n = ctx.dim(0, -1);
  int64_t m = 0;
  for (int64_t candidate : {1, 12, 40}) {
    if (n <= 0 || n % candidate != 0)
      continue;
    int64_t q = n / candidate;
    if ((q & (q - 1)) == 0) {
      m = candidate;
      break;
    }
  }
  if (m == 0)
    return emitError(loc) << "hadamard size " << n
                          << " is not 2^k, 12 * 2^k or 40 * 2^k";
  if (ctx.dim(1, 0) != m || ctx.dim(1, -1) != m)
    return emitError(loc) << "hadamard factor is not " << m << "x" << m;
  if (ctx.dim(2, -1) != n)
    return emitError(loc) << "hadamard output row is not " << n << " wide";
  const int64_t p = n / m;
  const float scale =
      static_cast<float>(1.0 / std::sqrt(static_cast<double>(n)));

  const int numWarps = 4;
  plan::ShapeExpr rows = ctx.rows(0);
  launch.scalars = {rows};
  launch.grid[0] = rows;
  launch.grid[1] = plan::ShapeExpr(1);
  launch.grid[2] = plan::ShapeExpr(1);
  std::string name = "hadamard_n" + std::to_string(n);
  ctx.useKernel(name, ctx.operandArgs(1), numWarps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Type f32 = b.getF32Type();
    Value x = k.arg(0), factor = k.arg(1), out = k.arg(2);
    Value row = k.blockIdx();
    Value tid = k.threadIdx();
    Value threads = k.idx(k.blockSize());
    // Block-uniform: every barrier below is reached by the whole block.
    Value inBounds =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, k.argIndex(3));
    k.ifThen(inBounds, [&] {
      Value base = arith::MulIOp::create(b, row, k.idx(n));
      auto at = [&](Value i) { return arith::AddIOp::create(b, base, i); };

      // 1. The m-point factor across the blocks (or a copy).
      k.forLoop(tid, k.idx(n), threads, [&](Value i) {
        if (m == 1) {
          k.store(k.load(f32, x, at(i)), out, at(i));
          return;
        }
        Value c = arith::DivUIOp::create(b, i, k.idx(p));
        Value r = arith::RemUIOp::create(b, i, k.idx(p));
        Value hRow = arith::MulIOp::create(b, c, k.idx(m));
        SmallVector<Value> acc = k.forLoop(
            k.idx(0), k.idx(m), k.idx(1), ValueRange{k.f32(0.0f)},
            [&](Value j, ValueRange sum) -> SmallVector<Value> {
              Value h = k.load(f32, factor, arith::AddIOp::create(b, hRow, j));
              Value src = arith::AddIOp::create(
                  b, arith::MulIOp::create(b, j, k.idx(p)), r);
              Value v = k.load(f32, x, at(src));
              return {arith::AddFOp::create(
                  b, sum[0], arith::MulFOp::create(b, h, v))};
            });
        k.store(acc[0], out, at(i));
      });
      gpu::BarrierOp::create(b);

      // 2. Walsh-Hadamard butterflies on each block of p values; pair t
      //    (of n / 2) is block t / (p/2), pair q = t % (p/2) within it.
      for (int64_t half = 1; half < p; half *= 2) {
        k.forLoop(tid, k.idx(n / 2), threads, [&](Value t) {
          Value c = arith::DivUIOp::create(b, t, k.idx(p / 2));
          Value q = arith::RemUIOp::create(b, t, k.idx(p / 2));
          Value pairBase = arith::MulIOp::create(
              b, arith::DivUIOp::create(b, q, k.idx(half)), k.idx(2 * half));
          Value lo = arith::AddIOp::create(
              b, arith::MulIOp::create(b, c, k.idx(p)),
              arith::AddIOp::create(
                  b, pairBase, arith::RemUIOp::create(b, q, k.idx(half))));
          Value hi = arith::AddIOp::create(b, lo, k.idx(half));
          Value va = k.load(f32, out, at(lo));
          Value vb = k.load(f32, out, at(hi));
          k.store(arith::AddFOp::create(b, va, vb), out, at(lo));
          k.store(arith::SubFOp::create(b, va, vb), out, at(hi));
        });
        gpu::BarrierOp::create(b);
      }

      // 3. Normalise.
      k.forLoop(tid, k.idx(n), threads, [&](Value i) {
        Value v = k.load(f32, out, at(i));
        k.store(arith::MulFOp::create(b, v, k.f32(scale)), out, at(i));
      });
    });
  });
  return success();
}

} // namespace mlir::quamba::codegen
