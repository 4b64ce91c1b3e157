//===- Hadamard.cpp - orthonormal Hadamard transform of each row ----------===//
//
// ref::hadamard for n = m * 2^k (m in {1, 12, 40}), one block per row
// (grid = rows) of 4 to 32 warps, out of place, in the reference's
// operation order, so the result is bit-identical. With the row viewed as [m][p], p = 2^k,
// and a work row in shared memory (global memory, `out` itself, for rows
// past kMaxSharedRow floats):
//   1. work = x;
//   2. log2(p) butterfly stages (Sylvester, natural order) on each of the m
//      blocks of the work row, in place: where a warp holds whole blocks
//      (p / E <= 32 lanes of E values each), the low stages by xor shuffles
//      and the high ones in registers between two barriers; else a pass
//      over the row a stage, a barrier after each (bar.sync also orders the
//      block's global memory accesses);
//   3. the m-point factor across the blocks,
//      out[c*p + r] = (sum_j H_m[c][j] * work[j*p + r]) * scale, j ascending
//      from 0.0, H_m's +-1 entries compiled in as adds and subtracts
//      (ref::hadamardFactor; x + (-v) and x - v are the same IEEE result):
//      from shared memory, the m outputs of column r split into groups
//      (factorGroups) each a thread's; when work is out, the thread of
//      column r does all m (it reads them all before it writes);
//      for m = 1 just out = work * scale; scale = float(1 / sqrt(double(n))).
// mamba2-2.7b's n = 5120 at batch 1 (one block): 11.5 us under ncu with the
// work row in global memory and a thread per column in step 3 (128 threads
// of 1,600 adds each); 16.6 us with a thread per output reading H_m's signs
// from the factor operand (a dependent global load per add).
// The factor operand (LaunchOps.h) is checked for its shape only. With
// quantize_output the outputs are stored as int8 codes (ScalarMath's
// quantizeInt8, the quantize launch's function) from the factor step.
// HadamardRow (HadamardRow.h) is steps 2 and 3 for other kernels too.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/HadamardRow.h"
#include "codegen/kernels/Kernels.h"
#include "codegen/kernels/ScalarMath.h"

#include "runtime/reference/Kernels.h"

#include <algorithm>
#include <cmath>

namespace mlir::quamba::codegen {

namespace {
/// Most row values a thread keeps in registers for the butterflies.
constexpr int64_t kMaxRegisterValues = 32;

/// Groups the m outputs of a column are split into for step 3: the largest
/// divisor G of m with G * p work items within the block's threads.
int64_t factorGroups(int64_t m, int64_t p, int64_t threads) {
  int64_t groups = 1;
  for (int64_t g = 1; g <= m; ++g)
    if (m % g == 0 && g * p <= threads)
      groups = g;
  return groups;
}
} // namespace

void storeRowOutputs(KernelBuilder &k, ArrayRef<Value> indices, ArrayRef<Value> values,
                     Value out, Value rowStart, Value quantScales) {
  auto &b = k.b();
  SmallVector<Value> stored(values.begin(), values.end());
  if (quantScales) {
    // Every scale load before the first store (LLVM keeps loads behind
    // stores that may alias them; these are invariant anyway).
    SmallVector<Value> scales;
    for (Value i : indices)
      scales.push_back(k.loadInvariant(b.getF32Type(), quantScales, i));
    for (auto [v, s] : llvm::zip_equal(stored, scales))
      v = quantizeInt8(k, v, s);
  }
  for (auto [i, v] : llvm::zip_equal(indices, stored))
    k.store(v, out, arith::AddIOp::create(b, rowStart, i));
}

FailureOr<HadamardRow> HadamardRow::get(int64_t n, Location loc) {
  HadamardRow h;
  h.n = n;
  for (int64_t candidate : {1, 12, 40}) {
    if (n <= 0 || n % candidate != 0)
      continue;
    int64_t q = n / candidate;
    if ((q & (q - 1)) == 0) {
      h.m = candidate;
      break;
    }
  }
  if (h.m == 0)
    return emitError(loc) << "hadamard size " << n << " is not 2^k, 12 * 2^k or 40 * 2^k";
  h.p = n / h.m;
  int64_t factorSize = 0;
  h.factor = ::quamba::ref::hadamardFactor(n, &factorSize);
  if (!h.factor || factorSize != h.m)
    return emitError(loc) << "no " << h.m << "-point Hadamard factor for " << n;
  h.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(n)));
  return h;
}

SmallVector<int64_t> HadamardRow::signMasks() const {
  SmallVector<int64_t> masks(m, 0);
  for (int64_t c = 0; c < m; ++c)
    for (int64_t j = 0; j < m; ++j)
      if (factor[c * m + j] < 0)
        masks[c] |= int64_t{1} << j;
  return masks;
}

void HadamardRow::emitButterflies(KernelBuilder &k, Value work,
                                  function_ref<Value(Value)> workAt, int64_t count) const {
  assert(count % p == 0 && "butterflies run on whole blocks of p values");
  auto &b = k.b();
  Type f32 = b.getF32Type();
  Value tid = k.threadIdx();
  Value threads = k.idx(k.blockSize());
  const int64_t n = count;
  // 2. Walsh-Hadamard butterflies on each block of p values, stage half =
  //    1, 2, ..., p/2 in order (the reference's: the stages commute in
  //    exact arithmetic, not in floating point). Each stage's adds and
  //    subtracts are the reference's whoever runs them, so:
  //    in registers and shuffles where a warp holds whole blocks: work item
  //    t (block c = t / S, s = t % S, S = p / E) owns the E values
  //    c * p + s + S * i; stages half < S pair lanes (xor shuffles), stages
  //    half >= S pair its own registers. Two barriers instead of log2(p)
  //    (mamba2-2.7b's n = 5120: 7).
  int64_t E = 1;
  while (E < p && (n / E > k.blockSize() || p / E > 32))
    E *= 2;
  const int64_t S = p / E;
  if (S <= 32 && E <= kMaxRegisterValues && (n / E) % 32 == 0 && n / E <= k.blockSize()) {
    Value item = tid;
    Value active = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, item, k.idx(n / E));
    // Warp-uniform (n / E is a multiple of 32): the shuffles see every lane.
    k.ifThen(active, [&] {
      Value c = arith::DivUIOp::create(b, item, k.idx(S));
      Value sIdx = arith::RemUIOp::create(b, item, k.idx(S));
      Value first = arith::AddIOp::create(b, arith::MulIOp::create(b, c, k.idx(p)), sIdx);
      SmallVector<Value> at, v;
      for (int64_t i = 0; i < E; ++i) {
        at.push_back(workAt(arith::AddIOp::create(b, first, k.idx(S * i))));
        v.push_back(k.load(f32, work, at.back()));
      }
      Value lane = arith::RemUIOp::create(b, tid, k.idx(32));
      for (int64_t half = 1; half < S; half *= 2) {
        Value isHi = arith::CmpIOp::create(
            b, arith::CmpIPredicate::ne,
            arith::AndIOp::create(b, lane, k.idx(half)), k.idx(0));
        for (Value &x : v) {
          Value partner = gpu::ShuffleOp::create(b, x, k.i32(half), k.i32(32),
                                                 gpu::ShuffleMode::XOR)
                              .getShuffleResult();
          // lo: lo + hi; hi: lo - hi (partner is the other one).
          Value sum = arith::AddFOp::create(b, x, partner);
          Value diff = arith::SubFOp::create(b, partner, x);
          x = arith::SelectOp::create(b, isHi, diff, sum);
        }
      }
      for (int64_t hh = 1; hh < E; hh *= 2) // half = S * hh
        for (int64_t i = 0; i < E; ++i)
          if ((i / hh) % 2 == 0) {
            Value lo = v[i], hi = v[i + hh];
            v[i] = arith::AddFOp::create(b, lo, hi);
            v[i + hh] = arith::SubFOp::create(b, lo, hi);
          }
      for (int64_t i = 0; i < E; ++i)
        k.store(v[i], work, at[i]);
    });
    gpu::BarrierOp::create(b);
  } else {
    // Pair t (of n / 2) is block t / (p/2), pair q = t % (p/2) within it;
    // a barrier after each stage.
    for (int64_t half = 1; half < p; half *= 2) {
      k.forLoop(tid, k.idx(n / 2), threads, [&](Value t) {
        Value c = arith::DivUIOp::create(b, t, k.idx(p / 2));
        Value q = arith::RemUIOp::create(b, t, k.idx(p / 2));
        Value pairBase = arith::MulIOp::create(
            b, arith::DivUIOp::create(b, q, k.idx(half)), k.idx(2 * half));
        Value lo = arith::AddIOp::create(
            b, arith::MulIOp::create(b, c, k.idx(p)),
            arith::AddIOp::create(b, pairBase, arith::RemUIOp::create(b, q, k.idx(half))));
        Value hi = arith::AddIOp::create(b, lo, k.idx(half));
        Value va = k.load(f32, work, workAt(lo));
        Value vb = k.load(f32, work, workAt(hi));
        k.store(arith::AddFOp::create(b, va, vb), work, workAt(lo));
        k.store(arith::SubFOp::create(b, va, vb), work, workAt(hi));
      });
      gpu::BarrierOp::create(b);
    }
  }
}

void HadamardRow::emit(KernelBuilder &k, Value work, function_ref<Value(Value)> workAt,
                       bool shared, StoreFn store) const {
  auto &b = k.b();
  Type f32 = b.getF32Type();
  Value tid = k.threadIdx();
  Value threads = k.idx(k.blockSize());
  emitButterflies(k, work, workAt, n);

  // 3. The m-point factor (column r is read and written by one thread
  //    only) and the normalisation.
  if (m == 1) {
    k.forLoop(tid, k.idx(n), threads, [&](Value i) {
      Value v = arith::MulFOp::create(b, k.load(f32, work, workAt(i)), k.f32(scale));
      store({i}, {v});
    });
    return;
  }
  // Output c of column r from the column's m values, in j order.
  auto factorRow = [&](int64_t c, ArrayRef<Value> column) {
    Value acc = k.f32(0.0f);
    for (int64_t j = 0; j < m; ++j)
      acc = factor[c * m + j] > 0 ? arith::AddFOp::create(b, acc, column[j]).getResult()
                                  : arith::SubFOp::create(b, acc, column[j]).getResult();
    return arith::MulFOp::create(b, acc, k.f32(scale));
  };
  auto loadColumn = [&](Value r) {
    SmallVector<Value> column;
    for (int64_t j = 0; j < m; ++j)
      column.push_back(k.load(f32, work, workAt(arith::AddIOp::create(b, k.idx(j * p), r))));
    return column;
  };
  // Outputs [from, to) of column r.
  auto storeColumn = [&](int64_t from, int64_t to, Value r, ArrayRef<Value> column) {
    SmallVector<Value> indices, values;
    for (int64_t c = from; c < to; ++c) {
      indices.push_back(arith::AddIOp::create(b, k.idx(c * p), r));
      values.push_back(factorRow(c, column));
    }
    store(indices, values);
  };
  if (shared) {
    // G groups of m / G outputs of each column: work item w = g * p + r
    // loads column r and writes its outputs of group g, H_m's signs
    // compiled in per group (a branch per group, warp-uniform when
    // 32 | p), so G * p threads share the m * m adds.
    const int64_t G = factorGroups(m, p, k.blockSize());
    const int64_t rowsPerGroup = m / G;
    k.forLoop(tid, k.idx(G * p), threads, [&](Value w) {
      Value g = arith::DivUIOp::create(b, w, k.idx(p));
      Value r = arith::RemUIOp::create(b, w, k.idx(p));
      for (int64_t group = 0; group < G; ++group)
        k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, g, k.idx(group)), [&] {
          storeColumn(group * rowsPerGroup, (group + 1) * rowsPerGroup, r, loadColumn(r));
        });
    });
    return;
  }
  k.forLoop(tid, k.idx(p), threads, [&](Value r) {
    storeColumn(0, m, r, loadColumn(r));
  });
}

LogicalResult emitHadamard(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  const int64_t n = ctx.dim(0, -1);
  FailureOr<HadamardRow> h = HadamardRow::get(n, loc);
  if (failed(h))
    return failure();
  if (ctx.dim(1, 0) != h->m || ctx.dim(1, -1) != h->m)
    return emitError(loc) << "hadamard factor is not " << h->m << "x" << h->m;
  std::optional<plan::QuantizedOutputOperands> quantized = plan::quantizedOutputOperands(launch);
  const unsigned outArg = quantized ? quantized->out : 2;
  if (ctx.dim(outArg, -1) != n || (quantized && ctx.dim(quantized->scales, -1) != n))
    return emitError(loc) << "hadamard output row (and its quantize scales) is not " << n
                          << " wide";
  const bool shared = n <= HadamardRow::kMaxSharedRow;
  if (quantized && !shared)
    return emitError(loc) << "hadamard with a quantized output needs its row (" << n
                          << ") in shared memory (at most " << HadamardRow::kMaxSharedRow << ")";

  // A thread per butterfly pair, up to 1024: a batch-1 decode has one row,
  // so one block does all the work (4 warps took 24 us for n = 5120).
  const int numWarps = static_cast<int>(std::clamp<int64_t>((n / 2 + 31) / 32, 4, 32));
  plan::ShapeExpr rows = ctx.rows(0);
  launch.scalars = {rows};
  launch.grid[0] = rows;
  launch.grid[1] = plan::ShapeExpr(1);
  launch.grid[2] = plan::ShapeExpr(1);
  std::string name = "hadamard_n" + std::to_string(n) + (shared ? "" : "_global") +
                     (quantized ? "_q8" : "");
  ctx.useKernel(name, ctx.operandArgs(1), numWarps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Type f32 = b.getF32Type();
    Value x = k.arg(0), out = k.arg(outArg);
    Value row = k.blockIdx();
    Value tid = k.threadIdx();
    // Block-uniform: every barrier below is reached by the whole block.
    Value inBounds = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row,
                                           k.argIndex(outArg + 1));
    k.ifThen(inBounds, [&] {
      Value base = arith::MulIOp::create(b, row, k.idx(n));
      auto at = [&](Value i) { return arith::AddIOp::create(b, base, i); };
      Value work = shared ? k.sharedArray("hadamard_row", f32, n) : out;
      auto workAt = [&](Value i) -> Value { return shared ? i : at(i); };
      // 1. Copy.
      k.forLoop(tid, k.idx(n), k.idx(k.blockSize()), [&](Value i) {
        k.store(k.load(f32, x, at(i)), work, workAt(i));
      });
      gpu::BarrierOp::create(b);
      h->emit(k, work, workAt, shared, [&](ArrayRef<Value> indices, ArrayRef<Value> values) {
        storeRowOutputs(k, indices, values, out, base,
                        quantized ? k.arg(quantized->scales) : Value());
      });
    });
  });
  return success();
}

} // namespace mlir::quamba::codegen
