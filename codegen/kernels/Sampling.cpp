//===- Sampling.cpp - the greedy and the random sampler kernels -----------===//
//
// argmax (LaunchOps.h): one block per sequence of argmaxThreads(V) threads
// scans the last position's logits, each thread a strided share with 8
// loads in flight, keeping its first maximum; five xor shuffles per warp,
// then the warps' candidates through shared memory, keep the larger value
// and, among equal values, the lower index: exactly the first maximum
// std::max_element (the host sampler) returns, whatever the partition.
// NaN never wins (it compares false). Grid = B blocks.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/Kernels.h"
#include "codegen/kernels/ScalarMath.h"
#include "runtime/reference/Kernels.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace mlir::quamba::codegen {

namespace {

/// The first maximum of two (value, index) candidates, index `none` meaning
/// no candidate: theirs if it exists and is larger, or equal with a lower
/// index, or if mine does not exist.
std::pair<Value, Value> firstMaxOf(KernelBuilder &k, Value value, Value index,
                                   Value otherValue, Value otherIndex, int64_t none) {
  auto &b = k.b();
  Value greater = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, otherValue, value);
  Value equal = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, otherValue, value);
  Value lower = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, otherIndex, index);
  Value mineNone = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, index, k.i32(none));
  Value theirsValid = arith::CmpIOp::create(b, arith::CmpIPredicate::ne, otherIndex, k.i32(none));
  Value take = arith::AndIOp::create(
      b, theirsValid,
      arith::OrIOp::create(
          b, arith::OrIOp::create(b, greater, arith::AndIOp::create(b, equal, lower)),
          mineNone));
  return {arith::SelectOp::create(b, take, otherValue, value),
          arith::SelectOp::create(b, take, otherIndex, index)};
}

/// The first maximum of per-thread (value, index) candidates over the
/// `threads` threads of a sequence (`thread` = 0 .. threads - 1; index
/// `none`: no candidate), each the first maximum of its thread's ids: an
/// xor butterfly per warp, then (several warps) the warp winners through
/// shared memory, combined by thread 0. The first thread stores the index
/// (0 when there is none) to out[seq].
void storeFirstMax(KernelBuilder &k, Value value, Value index, int64_t none, Value thread,
                   int64_t threads, Value out, Value seq) {
  auto &b = k.b();
  for (int offset = 16; offset >= 1; offset /= 2) {
    Value width = k.i32(32), off = k.i32(offset);
    Value otherValue =
        gpu::ShuffleOp::create(b, value, off, width, gpu::ShuffleMode::XOR).getShuffleResult();
    Value otherIndex =
        gpu::ShuffleOp::create(b, index, off, width, gpu::ShuffleMode::XOR).getShuffleResult();
    std::tie(value, index) = firstMaxOf(k, value, index, otherValue, otherIndex, none);
  }
  auto isZero = [&](Value v) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::eq, v, k.idx(0));
  };
  if (threads > 32) {
    const int64_t warps = threads / 32;
    Value values = k.sharedArray("warp_values", b.getF32Type(), warps);
    Value indices = k.sharedArray("warp_indices", b.getI32Type(), warps);
    Value warp = arith::DivUIOp::create(b, thread, k.idx(32));
    k.ifThen(isZero(arith::RemUIOp::create(b, thread, k.idx(32))), [&] {
      k.store(value, values, warp);
      k.store(index, indices, warp);
    });
    k.barrier();
    value = k.load(b.getF32Type(), values, k.idx(0));
    index = k.load(b.getI32Type(), indices, k.idx(0));
    for (int64_t w = 1; w < warps; ++w)
      std::tie(value, index) =
          firstMaxOf(k, value, index, k.load(b.getF32Type(), values, k.idx(w)),
                     k.load(b.getI32Type(), indices, k.idx(w)), none);
  }
  k.ifThen(isZero(thread), [&] {
    // No candidate (all logits NaN): token 0, as the host's max_element.
    Value noneLeft = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, index, k.i32(none));
    k.store(arith::SelectOp::create(b, noneLeft, k.i32(0), index), out, seq);
  });
}

/// A sampler launch over logits [B, L, V] (operand 0) with `operands`
/// buffers: scalars B and L, `threads` threads per sequence (32: four
/// sequences per block of 4 warps; more: one sequence per block).
/// `body(k, thread, seq, base)` runs for each sequence in range, `thread`
/// being the thread's index within its sequence and base the offset of the
/// sequence's last-position logits; the branch is uniform over the
/// sequence's threads, so shuffles and barriers inside see all of them.
using PerSequenceBody =
    std::function<void(KernelBuilder &k, Value thread, Value seq, Value base)>;
LogicalResult emitPerSequence(KernelContext &ctx, Location loc, const std::string &prefix,
                              unsigned operands, int64_t threads,
                              const PerSequenceBody &body) {
  plan::Launch &launch = ctx.getLaunch();
  const plan::Buffer &logits = ctx.operand(0);
  if (logits.shape.size() != 3 || !logits.shape[2].isConstant())
    return emitError(loc) << launch.op << " needs logits [B, L, V] with a static V";
  const int64_t vocab = ctx.dim(0, 2);
  const int numWarps = threads == 32 ? 4 : static_cast<int>(threads / 32);
  const int64_t sequencesPerBlock = numWarps * 32 / threads;
  launch.scalars = {logits.shape[0], logits.shape[1]};
  if (sequencesPerBlock == 1) {
    launch.grid = {logits.shape[0], plan::ShapeExpr(1), plan::ShapeExpr(1)};
  } else {
    ctx.gridFor(mulExpr(logits.shape[0], plan::ShapeExpr(threads)), numWarps);
  }
  ctx.useKernel(prefix + "_v" + std::to_string(vocab), ctx.operandArgs(2), numWarps,
                [&](KernelBuilder &k) {
    auto &b = k.b();
    Value tid = k.threadIdx();
    Value thread = arith::RemUIOp::create(b, tid, k.idx(threads));
    Value seq = arith::AddIOp::create(
        b, arith::MulIOp::create(b, k.blockIdx(), k.idx(sequencesPerBlock)),
        arith::DivUIOp::create(b, tid, k.idx(threads)));
    Value batch = k.argIndex(operands), seqlen = k.argIndex(operands + 1);
    Value active = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, seq, batch);
    k.ifThen(active, [&] {
      Value lastRow = arith::SubIOp::create(
          b, arith::MulIOp::create(b, arith::AddIOp::create(b, seq, k.idx(1)), seqlen),
          k.idx(1));
      body(k, thread, seq, arith::MulIOp::create(b, lastRow, k.idx(vocab)));
    });
  });
  return success();
}

/// Threads of the argmax over V logits: about 32 logits each, 32 to 1024.
int64_t argmaxThreads(int64_t vocab) {
  int64_t threads = (vocab / 32 + 31) / 32 * 32;
  return std::clamp<int64_t>(threads, 32, 1024);
}

/// Logits each argmax thread loads before it compares them.
constexpr int64_t kArgmaxLoadsInFlight = 8;

} // namespace

LogicalResult emitArgmax(KernelContext &ctx, Location loc) {
  const int64_t vocab = ctx.dim(0, -1);
  const int64_t threads = argmaxThreads(vocab);
  return emitPerSequence(ctx, loc, "argmax", 2, threads, [&](KernelBuilder &k, Value thread,
                                                             Value seq, Value base) {
      auto &b = k.b();
      Type f32 = b.getF32Type(), i32 = b.getI32Type();
      Value minusInf = k.f32(-std::numeric_limits<float>::infinity());
      const int64_t stride = threads * kArgmaxLoadsInFlight;
      // (best value, best index); index `vocab` means none yet.
      SmallVector<Value> best = k.forLoop(
          thread, k.idx(vocab), k.idx(stride), ValueRange{minusInf, k.i32(vocab)},
          [&](Value start, ValueRange it) -> SmallVector<Value> {
            SmallVector<Value> ids, valid, xs;
            for (int64_t u = 0; u < kArgmaxLoadsInFlight; ++u) {
              ids.push_back(arith::AddIOp::create(b, start, k.idx(u * threads)));
              valid.push_back(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, ids.back(),
                                                    k.idx(vocab)));
              xs.push_back(k.select(
                  valid.back(), f32,
                  [&] { return k.load(f32, k.arg(0), arith::AddIOp::create(b, base, ids.back())); },
                  [&] { return minusInf; }));
            }
            Value bestValue = it[0], bestIndex = it[1];
            for (int64_t u = 0; u < kArgmaxLoadsInFlight; ++u) {
              // Ascending ids per thread: strictly greater keeps the first.
              Value x = xs[u];
              Value better = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, x, bestValue);
              Value none = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, bestIndex,
                                                 k.i32(vocab));
              Value notNan = arith::CmpFOp::create(b, arith::CmpFPredicate::ORD, x, x);
              Value take = arith::AndIOp::create(
                  b, valid[u],
                  arith::OrIOp::create(b, better, arith::AndIOp::create(b, none, notNan)));
              bestValue = arith::SelectOp::create(b, take, x, bestValue);
              bestIndex = arith::SelectOp::create(
                  b, take, arith::IndexCastOp::create(b, i32, ids[u]), bestIndex);
            }
            return {bestValue, bestIndex};
          });
      storeFirstMax(k, best[0], best[1], vocab, thread, threads, k.arg(1), seq);
  });
}

namespace {

/// Integer helpers of the random sampler (i32 keys and counts, i64 hash and
/// masses).
class SampleEmitter {
public:
  explicit SampleEmitter(KernelBuilder &k)
      : k(k), b(k.b()), i32(b.getI32Type()), i64(b.getI64Type()) {}

  Value c64(uint64_t v) {
    return arith::ConstantOp::create(b, b.getIntegerAttr(i64, static_cast<int64_t>(v)));
  }

  /// The unsigned order key of an f32 (ref orderKey), as i32.
  Value orderKey(Value x) {
    Value bits = arith::BitcastOp::create(b, i32, x);
    Value negative = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, bits, k.i32(0));
    Value flipped = arith::XOrIOp::create(b, bits, k.i32(-1));
    Value marked = arith::OrIOp::create(b, bits, k.i32(INT32_MIN));
    return arith::SelectOp::create(b, negative, flipped, marked);
  }

  /// x + the same value of the other lanes, over the warp (xor butterfly;
  /// integer sums, so every order gives the same total).
  Value warpSum(Value v) {
    for (int offset = 16; offset >= 1; offset /= 2)
      v = arith::AddIOp::create(b, v, shuffle(v, offset));
    return v;
  }

  /// The xor-shuffle of an i32 or i64 (two 32-bit halves).
  Value shuffle(Value v, int offset) {
    auto one = [&](Value x) {
      return gpu::ShuffleOp::create(b, x, k.i32(offset), k.i32(32), gpu::ShuffleMode::XOR)
          .getShuffleResult();
    };
    if (v.getType() == i32)
      return one(v);
    Value lo = one(arith::TruncIOp::create(b, i32, v));
    Value hi = one(arith::TruncIOp::create(b, i32, arith::ShRUIOp::create(b, v, c64(32))));
    return arith::OrIOp::create(b, arith::ExtUIOp::create(b, i64, lo),
                                arith::ShLIOp::create(b, arith::ExtUIOp::create(b, i64, hi), c64(32)));
  }

  /// ref::sampleHash.
  Value hash(Value seed, Value step, Value sequence, Value id) {
    using namespace ::quamba::ref::sample_hash;
    auto mul = [&](Value x, uint64_t c) { return arith::MulIOp::create(b, x, c64(c)); };
    auto xorShift = [&](Value x, int s) {
      return arith::XOrIOp::create(b, x, arith::ShRUIOp::create(b, x, c64(s)));
    };
    Value x = arith::XOrIOp::create(
        b, arith::XOrIOp::create(b, seed, mul(step, kStep)),
        arith::XOrIOp::create(b, mul(sequence, kSequence), mul(id, kId)));
    x = mul(xorShift(x, 30), kMix1);
    x = mul(xorShift(x, 27), kMix2);
    return xorShift(x, 31);
  }

  /// The largest i32 key t (unsigned order) with holds(t), bit by bit from
  /// the top, as ref's largestKey.
  Value largestKey(const std::function<Value(Value)> &holds) {
    return k.forLoop(k.idx(0), k.idx(32), k.idx(1), ValueRange{k.i32(0)},
                     [&](Value j, ValueRange it) -> SmallVector<Value> {
                       Value bit = arith::SubIOp::create(
                           b, k.i32(31), arith::IndexCastOp::create(b, i32, j));
                       Value candidate = arith::OrIOp::create(
                           b, it[0], arith::ShLIOp::create(b, k.i32(1), bit));
                       return {arith::SelectOp::create(b, holds(candidate), candidate, it[0])};
                     })[0];
  }

  KernelBuilder &k;
  ImplicitLocOpBuilder &b;
  Type i32, i64;
};

} // namespace

// sample (LaunchOps.h): ref::sampleToken per sequence, one warp each (grid
// cdiv(B, 4) blocks of 4 warps), lanes striding over the ids [0, allowed):
// the max by butterfly; the top-k and top-p thresholds by 32-step bit
// searches whose counts (i32) and masses (i64, exp(z) in 2^-32 units) are
// warp sums, exact in any order; then each lane's first best Gumbel score and
// the argmax butterfly (ties: the lower id). Every float operation is
// FloatSemantics.h's, so the token equals the CPU's bit for bit. The params
// are read from their buffer, not baked in: a captured decode graph samples
// with the values of each step.
LogicalResult emitSample(KernelContext &ctx, Location loc) {
  if (ctx.operand(1).shape.size() != 1 || ctx.dim(1, 0) != ::quamba::ref::kSampleParamWords)
    return emitError(loc) << "sample: the params buffer must hold "
                          << ::quamba::ref::kSampleParamWords << " words";
  const int64_t vocab = ctx.dim(0, -1);
  return emitPerSequence(ctx, loc, "sample", 3, 32, [&](KernelBuilder &k, Value lane, Value seq,
                                                        Value base) {
      auto &b = k.b();
      SampleEmitter e(k);
      Type f32 = b.getF32Type(), f64 = b.getF64Type(), i32 = e.i32, i64 = e.i64;
      auto word = [&](int64_t i) { return k.load(i32, k.arg(1), k.idx(i)); };
      auto wide = [&](int64_t lo) {
        return arith::OrIOp::create(
            b, arith::ExtUIOp::create(b, i64, word(lo)),
            arith::ShLIOp::create(b, arith::ExtUIOp::create(b, i64, word(lo + 1)), e.c64(32)));
      };
      Value temperature = arith::BitcastOp::create(b, f32, word(0));
      Value topK = word(1);
      Value topP = arith::BitcastOp::create(b, f32, word(2));
      Value allowed32 = word(3);
      allowed32 = arith::SelectOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::slt, allowed32, k.i32(1)), k.i32(1),
          allowed32);
      allowed32 = arith::SelectOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::sgt, allowed32, k.i32(vocab)),
          k.i32(vocab), allowed32);
      Value allowed = arith::IndexCastOp::create(b, b.getIndexType(), allowed32);
      Value seed = wide(4), step = wide(6);
      Value sequence = arith::IndexCastOp::create(b, i64, seq);
      Value step32 = k.idx(32);
      Value minusInf = k.f32(-std::numeric_limits<float>::infinity());
      auto logit = [&](Value v) { return k.load(f32, k.arg(0), arith::AddIOp::create(b, base, v)); };
      auto valid = [&](Value x) { return arith::CmpFOp::create(b, arith::CmpFPredicate::ORD, x, x); };
      auto atLeast = [&](Value key, Value t) {
        return arith::CmpIOp::create(b, arith::CmpIPredicate::uge, key, t);
      };

      // 1. m = max l_i (NaN never wins).
      Value m = k.forLoop(lane, allowed, step32, ValueRange{minusInf},
                          [&](Value v, ValueRange it) -> SmallVector<Value> {
                            Value x = logit(v);
                            Value more = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, x, it[0]);
                            return {arith::SelectOp::create(b, more, x, it[0])};
                          })[0];
      for (int offset = 16; offset >= 1; offset /= 2) {
        Value other = gpu::ShuffleOp::create(b, m, k.i32(offset), k.i32(32), gpu::ShuffleMode::XOR)
                          .getShuffleResult();
        Value more = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, other, m);
        m = arith::SelectOp::create(b, more, other, m);
      }
      auto z = [&](Value x) {
        return arith::DivFOp::create(b, arith::SubFOp::create(b, x, m), temperature);
      };

      // 2. top-k threshold.
      Value useTopK = arith::AndIOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::sgt, topK, k.i32(0)),
          arith::CmpIOp::create(b, arith::CmpIPredicate::slt, topK, allowed32));
      Value threshold = k.select(useTopK, i32, [&] {
        return e.largestKey([&](Value t) {
          Value count = k.forLoop(lane, allowed, step32, ValueRange{k.i32(0)},
                                  [&](Value v, ValueRange it) -> SmallVector<Value> {
                                    Value x = logit(v);
                                    Value in = arith::AndIOp::create(b, valid(x), atLeast(e.orderKey(x), t));
                                    return {arith::AddIOp::create(
                                        b, it[0], arith::ExtUIOp::create(b, i32, in))};
                                  })[0];
          return arith::CmpIOp::create(b, arith::CmpIPredicate::sge, e.warpSum(count), topK);
        });
      }, [&] { return k.i32(0); });

      // 3. top-p threshold: masses in units of 2^-32.
      Value useTopP = arith::CmpFOp::create(b, arith::CmpFPredicate::OLT, topP, k.f32(1.0f));
      threshold = k.select(useTopP, i32, [&] {
        auto mass = [&](Value t) {
          Value sum = k.forLoop(lane, allowed, step32, ValueRange{e.c64(0)},
                                [&](Value v, ValueRange it) -> SmallVector<Value> {
                                  Value x = logit(v);
                                  Value key = e.orderKey(x);
                                  Value in = arith::AndIOp::create(
                                      b, valid(x),
                                      arith::AndIOp::create(b, atLeast(key, t), atLeast(key, threshold)));
                                  Value w = arith::MulFOp::create(b, exp(k, z(x)), k.f32(4294967296.0f));
                                  Value q = arith::FPToUIOp::create(b, i64, w);
                                  q = arith::SelectOp::create(b, in, q, e.c64(0));
                                  return {arith::AddIOp::create(b, it[0], q)};
                                })[0];
          return e.warpSum(sum);
        };
        Value total = arith::UIToFPOp::create(b, f64, mass(k.i32(0)));
        Value scaled = arith::MulFOp::create(b, arith::ExtFOp::create(b, f64, topP), total);
        Value target = arith::FPToUIOp::create(b, i64, math::CeilOp::create(b, scaled));
        target = arith::SelectOp::create(
            b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, target, e.c64(1)), e.c64(1), target);
        return e.largestKey([&](Value t) {
          return arith::CmpIOp::create(b, arith::CmpIPredicate::uge, mass(t), target);
        });
      }, [&] { return threshold; });

      // 4. Gumbel-max over the kept ids; (best score, best id), id `vocab`
      //    meaning none yet.
      SmallVector<Value> best = k.forLoop(
          lane, allowed, step32, ValueRange{minusInf, k.i32(vocab)},
          [&](Value v, ValueRange it) -> SmallVector<Value> {
            Value x = logit(v);
            Value keep = arith::AndIOp::create(b, valid(x), atLeast(e.orderKey(x), threshold));
            Value id = arith::IndexCastOp::create(b, i64, v);
            Value r = arith::TruncIOp::create(
                b, i32, arith::ShRUIOp::create(b, e.hash(seed, step, sequence, id), e.c64(40)));
            Value u = arith::MulFOp::create(
                b, arith::AddFOp::create(b, arith::UIToFPOp::create(b, f32, r), k.f32(0.5f)),
                k.f32(0x1p-24f));
            Value gumbelLog = log(k, arith::NegFOp::create(b, log(k, u)));
            Value score = arith::SubFOp::create(b, z(x), gumbelLog);
            Value better = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, score, it[0]);
            Value none = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, it[1], k.i32(vocab));
            Value take = arith::AndIOp::create(b, keep, arith::OrIOp::create(b, better, none));
            Value vi = arith::IndexCastOp::create(b, i32, v);
            return {arith::SelectOp::create(b, take, score, it[0]),
                    arith::SelectOp::create(b, take, vi, it[1])};
          });
      storeFirstMax(k, best[0], best[1], vocab, lane, 32, k.arg(2), seq);
  });
}

} // namespace mlir::quamba::codegen
