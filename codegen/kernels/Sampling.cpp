//===- Sampling.cpp - the greedy sampler kernel ---------------------------===//
//
// argmax (LaunchOps.h): one warp per sequence scans the last position's
// logits, each lane a strided share, then five xor shuffles keep the larger
// value and, among equal values, the lower index: exactly the first maximum
// std::max_element (the host sampler) returns. NaN never wins (it compares
// false). Grid = cdiv(B, 4) blocks of 4 warps.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/Kernels.h"

#include <limits>

namespace mlir::quamba::codegen {

LogicalResult emitArgmax(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  const plan::Buffer &logits = ctx.operand(0);
  if (logits.shape.size() != 3 || !logits.shape[2].isConstant())
    return emitError(loc) << "argmax needs logits [B, L, V] with a static V";
  const int64_t vocab = ctx.dim(0, 2);
  const int numWarps = 4;
  launch.scalars = {logits.shape[0], logits.shape[1]};
  ctx.gridFor(mulExpr(logits.shape[0], plan::ShapeExpr(32)), numWarps);
  ctx.useKernel("argmax_v" + std::to_string(vocab), ctx.operandArgs(2), numWarps,
                [&](KernelBuilder &k) {
    auto &b = k.b();
    Type f32 = b.getF32Type(), i32 = b.getI32Type();
    Value tid = k.threadIdx();
    Value lane = arith::RemUIOp::create(b, tid, k.idx(32));
    Value seq = arith::AddIOp::create(
        b, arith::MulIOp::create(b, k.blockIdx(), k.idx(numWarps)),
        arith::DivUIOp::create(b, tid, k.idx(32)));
    Value batch = k.argIndex(2), seqlen = k.argIndex(3);
    Value active = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, seq, batch);
    // Warp-uniform (one warp, one sequence): the shuffles see all lanes.
    k.ifThen(active, [&] {
      Value lastRow = arith::SubIOp::create(
          b, arith::MulIOp::create(b, arith::AddIOp::create(b, seq, k.idx(1)), seqlen),
          k.idx(1));
      Value base = arith::MulIOp::create(b, lastRow, k.idx(vocab));
      Value minusInf = k.f32(-std::numeric_limits<float>::infinity());
      // (best value, best index); index `vocab` means none yet.
      SmallVector<Value> best = k.forLoop(
          lane, k.idx(vocab), k.idx(32), ValueRange{minusInf, k.i32(vocab)},
          [&](Value v, ValueRange it) -> SmallVector<Value> {
            Value x = k.load(f32, k.arg(0), arith::AddIOp::create(b, base, v));
            Value vi = arith::IndexCastOp::create(b, i32, v);
            // Ascending v per lane: strictly greater keeps the first.
            Value better = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, x, it[0]);
            Value none = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, it[1], k.i32(vocab));
            Value notNan = arith::CmpFOp::create(b, arith::CmpFPredicate::ORD, x, x);
            Value take = arith::OrIOp::create(b, better, arith::AndIOp::create(b, none, notNan));
            return {arith::SelectOp::create(b, take, x, it[0]),
                    arith::SelectOp::create(b, take, vi, it[1])};
          });
      Value value = best[0], index = best[1];
      for (int offset = 16; offset >= 1; offset /= 2) {
        Value width = k.i32(32), off = k.i32(offset);
        Value otherValue =
            gpu::ShuffleOp::create(b, value, off, width, gpu::ShuffleMode::XOR).getShuffleResult();
        Value otherIndex =
            gpu::ShuffleOp::create(b, index, off, width, gpu::ShuffleMode::XOR).getShuffleResult();
        Value greater = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, otherValue, value);
        Value equal = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, otherValue, value);
        Value lower = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, otherIndex, index);
        Value mine = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, index, k.i32(vocab));
        Value theirsValid = arith::CmpIOp::create(b, arith::CmpIPredicate::ne, otherIndex, k.i32(vocab));
        // Take theirs if larger, or equal with a lower index, or mine is empty.
        Value take = arith::OrIOp::create(
            b, arith::OrIOp::create(b, greater, arith::AndIOp::create(b, equal, lower)),
            arith::AndIOp::create(b, mine, theirsValid));
        value = arith::SelectOp::create(b, take, otherValue, value);
        index = arith::SelectOp::create(b, take, otherIndex, index);
      }
      Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, k.idx(0));
      k.ifThen(first, [&] {
        // All-NaN logits: token 0, as the host sampler's max_element.
        Value none = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, index, k.i32(vocab));
        k.store(arith::SelectOp::create(b, none, k.i32(0), index), k.arg(1), seq);
      });
    });
  });
  return success();
}

} // namespace mlir::quamba::codegen
