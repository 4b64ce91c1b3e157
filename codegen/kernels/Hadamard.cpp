//===- Hadamard.cpp - orthonormal Hadamard transform of each row ----------===//
//
// ref::hadamard for n = m * 2^k (m in {1, 12, 40}), one block per row
// (grid = rows) of a thread per butterfly pair (4 to 32 warps), out of place, in the reference's operation order,
// so the result is bit-identical. With the row viewed as [m][p], p = 2^k:
//   1. out = x;
//   2. log2(p) butterfly passes (Sylvester, natural order) on each of the m
//      blocks of out, in place in global memory, a barrier after each pass
//      (bar.sync orders the block's global memory accesses);
//   3. the m-point factor across the blocks: the thread of column r loads
//      out[j*p + r] for every j and writes
//      out[c*p + r] = (sum_j H_m[c][j] * out[j*p + r]) * scale, j ascending
//      from 0.0, H_m's +-1 entries compiled in as adds and subtracts
//      (ref::hadamardFactor; x + (-v) and x - v are the same IEEE result);
//      for m = 1 just out *= scale; scale = float(1 / sqrt(double(n))).
// The factor operand (LaunchOps.h) is checked for its shape only.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/Kernels.h"

#include "runtime/reference/Kernels.h"

#include <algorithm>
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
  int64_t factorSize = 0;
  const float *factor = ::quamba::ref::hadamardFactor(n, &factorSize);
  if (!factor || factorSize != m)
    return emitError(loc) << "no " << m << "-point Hadamard factor for " << n;
  const float scale =
      static_cast<float>(1.0 / std::sqrt(static_cast<double>(n)));

  // A thread per butterfly pair, up to 1024: a batch-1 decode has one row,
  // so one block does all the work (4 warps took 24 us for n = 5120).
  const int numWarps = static_cast<int>(std::clamp<int64_t>((n / 2 + 31) / 32, 4, 32));
  plan::ShapeExpr rows = ctx.rows(0);
  launch.scalars = {rows};
  launch.grid[0] = rows;
  launch.grid[1] = plan::ShapeExpr(1);
  launch.grid[2] = plan::ShapeExpr(1);
  std::string name = "hadamard_n" + std::to_string(n);
  ctx.useKernel(name, ctx.operandArgs(1), numWarps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Type f32 = b.getF32Type();
    Value x = k.arg(0), out = k.arg(2);
    Value row = k.blockIdx();
    Value tid = k.threadIdx();
    Value threads = k.idx(k.blockSize());
    // Block-uniform: every barrier below is reached by the whole block.
    Value inBounds =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, k.argIndex(3));
    k.ifThen(inBounds, [&] {
      Value base = arith::MulIOp::create(b, row, k.idx(n));
      auto at = [&](Value i) { return arith::AddIOp::create(b, base, i); };

      // 1. Copy.
      k.forLoop(tid, k.idx(n), threads, [&](Value i) {
        k.store(k.load(f32, x, at(i)), out, at(i));
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

      // 3. The m-point factor (column r is read and written by one thread
      //    only) and the normalisation.
      if (m == 1) {
        k.forLoop(tid, k.idx(n), threads, [&](Value i) {
          Value v = k.load(f32, out, at(i));
          k.store(arith::MulFOp::create(b, v, k.f32(scale)), out, at(i));
        });
        return;
      }
      k.forLoop(tid, k.idx(p), threads, [&](Value r) {
        SmallVector<Value> column;
        for (int64_t j = 0; j < m; ++j)
          column.push_back(k.load(
              f32, out, at(arith::AddIOp::create(b, k.idx(j * p), r))));
        for (int64_t c = 0; c < m; ++c) {
          Value acc = k.f32(0.0f);
          for (int64_t j = 0; j < m; ++j)
            acc = factor[c * m + j] > 0
                      ? arith::AddFOp::create(b, acc, column[j]).getResult()
                      : arith::SubFOp::create(b, acc, column[j]).getResult();
          k.store(arith::MulFOp::create(b, acc, k.f32(scale)), out,
                  at(arith::AddIOp::create(b, k.idx(c * p), r)));
        }
      });
    });
  });
  return success();
}

} // namespace mlir::quamba::codegen
