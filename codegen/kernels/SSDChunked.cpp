//===- SSDChunked.cpp - the chunked Mamba2 SSD scan's three kernels -------===//
//
// The prefill scan as ref::ssdScan computes it (runtime/reference/
// SSDScan.cpp): chunks of Q = ref::kSSDChunk tokens, in four launches.
//
// ssd_chunk_state: a block per (head, chunk, batch). dt' and a = dt' A of the
//   chunk's tokens, their running sum cum (one thread, in order: the sum's
//   association is the reference's), then the chunk's state from zero,
//   state[p, n] = sum_i B[i, n] * (w_i x[i, p]): a [P, N] product over the
//   chunk's tokens, the tokens staged in shared memory in slices, each thread
//   a register tile of 8 p x 8 n (mamba2-2.7b: 128 threads).
// ssd_state_passing: a thread per (batch, head, 4 state elements), a loop over
//   the chunks (s = s * exp(cum_last) + chunk state).
// ssd_chunk_cb: a block per (16 x 16 outputs, chunk, batch and group):
//   cb[i, j] = C_i . B_j over N, the block's 16 rows of C and of B staged in
//   shared memory; blocks above the diagonal write zeros. Once per group,
//   not per head (the 2.7B's 80 heads share one group).
// ssd_chunk_scan: a block per (head and block of up to 64 p, chunk, batch).
//   cb masked and scaled into m_ij in shared memory; then y = m x (the
//   causal part: a thread's j stop after its last row) continued by (exp(cum)
//   C) init over N in slices of NS state elements; + D x. Each thread a
//   register tile of 8 i x 4 p (mamba2-2.7b: 128 threads).
//
// The register tiles make each shared-memory load feed 32 to 64 fmas; a
// warp's lanes read one contiguous span along their side of the tile (no
// bank conflicts) and one or two addresses along the other (broadcasts).
// Staging issues a thread's global loads together (forEachStaged).
//
// Every output is one thread's sum over its k in ascending order (acc =
// fma(a, b, acc), as the reference's std::fma): the reference's order and
// rounding, so the kernels equal the CPU backend bit for bit. Shared-memory
// rows written as columns are padded (stageTransposed). Rows past the
// sequence's end are zero in shared memory: their terms add +0 to sums that
// are never -0 (they start at +0), which changes nothing.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/Kernels.h"
#include "codegen/kernels/ScalarMath.h"
#include "runtime/reference/Kernels.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <limits>

namespace mlir::quamba::codegen {

namespace {

constexpr int64_t Q = ::quamba::ref::kSSDChunk;
constexpr int kWarps = 8;
constexpr int64_t kThreads = 32 * kWarps;
/// Tokens of a ssd_chunk_state slice; state elements of a ssd_chunk_scan slice.
constexpr int64_t kTokenSlice = 32;
constexpr int64_t kStateSlice = 32;
/// Chunks whose loads a ssd_state_passing thread issues together.
constexpr int64_t kPassingGroup = 4;
/// The p columns of one ssd_chunk_scan block.
constexpr int64_t kMaxPBlock = 64;

/// Index arithmetic on `index` values.
struct Ix {
  KernelBuilder &k;
  Value add(Value a, Value c) { return arith::AddIOp::create(k.b(), a, c); }
  Value add(Value a, int64_t c) { return add(a, k.idx(c)); }
  Value sub(Value a, Value c) { return arith::SubIOp::create(k.b(), a, c); }
  Value mul(Value a, Value c) { return arith::MulIOp::create(k.b(), a, c); }
  Value mul(Value a, int64_t c) { return mul(a, k.idx(c)); }
  Value div(Value a, int64_t c) { return arith::DivUIOp::create(k.b(), a, k.idx(c)); }
  Value rem(Value a, int64_t c) { return arith::RemUIOp::create(k.b(), a, k.idx(c)); }
  Value min(Value a, Value c) { return arith::MinUIOp::create(k.b(), a, c); }
  Value lt(Value a, Value c) {
    return arith::CmpIOp::create(k.b(), arith::CmpIPredicate::ult, a, c);
  }
  Value lt(Value a, int64_t c) { return lt(a, k.idx(c)); }
  Value le(Value a, Value c) {
    return arith::CmpIOp::create(k.b(), arith::CmpIPredicate::ule, a, c);
  }
  Value both(Value a, Value c) { return arith::AndIOp::create(k.b(), a, c); }
  Value fadd(Value a, Value c) { return arith::AddFOp::create(k.b(), a, c); }
  Value fsub(Value a, Value c) { return arith::SubFOp::create(k.b(), a, c); }
  Value fmul(Value a, Value c) { return arith::MulFOp::create(k.b(), a, c); }
  /// a * c + acc, rounded once (std::fma in the reference).
  Value fma(Value a, Value c, Value acc) { return math::FmaOp::create(k.b(), a, c, acc); }
  /// cond ? ptr[index .. index + width) : zeros, one (vector) load (index
  /// a multiple of width), without a branch: a false cond loads ptr[0 ..]
  /// (the buffers are never empty when a kernel runs) and drops it.
  SmallVector<Value> loadRunOrZero(Value cond, Value ptr, Value index, int64_t width) {
    auto &b = k.b();
    Type f32 = b.getF32Type();
    Value safe = arith::SelectOp::create(b, cond, index, k.idx(0));
    SmallVector<Value> v = width == 1 ? SmallVector<Value>{k.load(f32, ptr, safe)}
                                      : k.loadVector(f32, width, ptr, safe);
    for (Value &e : v)
      e = arith::SelectOp::create(b, cond, e, k.f32(0.0f));
    return v;
  }
  /// cond ? ptr[index] : 0.0f.
  Value loadOrZero(Value cond, Value ptr, Value index) {
    return loadRunOrZero(cond, ptr, index, 1)[0];
  }
};

/// A matrix in shared memory seen as (k, x) -> ptr[k * kStride + x].
struct SharedMatrix {
  Value ptr;
  int64_t kStride;
};

/// `count` consecutive elements (kk, x0 ..) of `m`: 16-byte vector loads
/// where the row stride and count allow (x0 is then a multiple of 4 and the
/// array 16-byte aligned: the callers' spans and KernelBuilder::sharedArray).
SmallVector<Value> loadRun(KernelBuilder &k, SharedMatrix m, Value at, int64_t count) {
  Ix ix{k};
  Type f32 = k.b().getF32Type();
  SmallVector<Value> out;
  if (count % 4 == 0 && m.kStride % 4 == 0) {
    for (int64_t i = 0; i < count; i += 4) {
      SmallVector<Value> part = k.loadVector(f32, 4, m.ptr, ix.add(at, i));
      out.append(part.begin(), part.end());
    }
    return out;
  }
  for (int64_t i = 0; i < count; ++i)
    out.push_back(k.load(f32, m.ptr, ix.add(at, i)));
  return out;
}

/// A thread's outputs along one side of a product: `runs` runs of `width`
/// consecutive elements, run r starting at first + r * stride. Runs spread
/// over a warp's lanes (stride = width x lanes) make the lanes' loads one
/// contiguous span: no bank conflicts.
struct Span {
  Value first;
  int64_t runs, width, stride;
  int64_t count() const { return runs * width; }
};

/// acc[a * B.count() + b] = fma(A(kk, a-th of as), B(kk, b-th of bs), acc)
/// for kk in [kBegin, kEnd), ascending: each output's sum in the reference's
/// order. The loop body holds `unroll` consecutive kk (kEnd - kBegin must be
/// a multiple).
SmallVector<Value> tileProduct(KernelBuilder &k, SharedMatrix A, const Span &as, SharedMatrix B,
                               const Span &bs, Value kBegin, Value kEnd, ValueRange acc,
                               int64_t unroll) {
  Ix ix{k};
  auto loadSpan = [&](SharedMatrix m, const Span &s, Value kk) {
    SmallVector<Value> out;
    Value row = ix.mul(kk, m.kStride);
    for (int64_t r = 0; r < s.runs; ++r) {
      SmallVector<Value> run = loadRun(k, m, ix.add(row, ix.add(s.first, r * s.stride)), s.width);
      out.append(run.begin(), run.end());
    }
    return out;
  };
  return k.forLoop(kBegin, kEnd, k.idx(unroll), acc, [&](Value k0, ValueRange iter) {
    SmallVector<Value> sums(iter.begin(), iter.end());
    for (int64_t u = 0; u < unroll; ++u) {
      Value kk = ix.add(k0, u);
      SmallVector<Value> a = loadSpan(A, as, kk), bv = loadSpan(B, bs, kk);
      for (size_t mi = 0; mi < a.size(); ++mi)
        for (size_t ni = 0; ni < bv.size(); ++ni)
          sums[mi * bv.size() + ni] = ix.fma(a[mi], bv[ni], sums[mi * bv.size() + ni]);
    }
    return sums;
  });
}

/// How a staging helper computes an element: `load` issues its global
/// loads, `finish` (identity when empty) turns what they returned into the
/// stored value. Where each thread stages the same number of elements, a
/// thread's loads are issued before their finishes: their latencies overlap
/// instead of adding up.
template <typename Loaded>
struct Stage {
  std::function<Loaded(Value, Value)> load;
  std::function<Loaded(Value, Value, Loaded)> finish;
};

/// Elements a thread loads before it stores any (their registers are live
/// together).
constexpr int64_t kStagedInFlight = 8;

/// Stages every e in [0, count), spread over `lanes` workers (worker `me`),
/// at coords(e): unrolled, kStagedInFlight loads before their stores, where
/// count % lanes == 0.
template <typename Loaded>
void forEachStaged(KernelBuilder &k, Value me, int64_t count, int64_t lanes,
                   const std::function<std::pair<Value, Value>(Value)> &coords,
                   const Stage<Loaded> &stage, const std::function<void(Value, Value, Loaded)> &put) {
  Ix ix{k};
  auto finish = [&](Value r, Value c, Loaded v) { return stage.finish ? stage.finish(r, c, v) : v; };
  if (count % lanes == 0) {
    const int64_t iters = count / lanes;
    for (int64_t it0 = 0; it0 < iters; it0 += kStagedInFlight) {
      SmallVector<std::pair<Value, Value>> at;
      SmallVector<Loaded> loaded;
      for (int64_t it = it0; it < std::min(iters, it0 + kStagedInFlight); ++it) {
        at.push_back(coords(ix.add(me, it * lanes)));
        loaded.push_back(stage.load(at.back().first, at.back().second));
      }
      for (size_t i = 0; i < at.size(); ++i)
        put(at[i].first, at[i].second, finish(at[i].first, at[i].second, loaded[i]));
    }
    return;
  }
  k.forLoop(me, k.idx(count), k.idx(lanes), [&](Value e) {
    auto [r, c] = coords(e);
    put(r, c, finish(r, c, stage.load(r, c)));
  });
}

/// dst[c * stride + r] = value(r, c) for r < rows, c < cols, by all the
/// block's threads: a transpose into shared memory. Where rows % 4 == 0 and
/// cols % 8 == 0 a warp stores 8 c by 4 r: with stride % 32 == 4 (a padded
/// row of a multiple of 32) its 32 stores fall in 32 distinct banks, and its
/// reads of a row-major source are 4 runs of 8.
void stageTransposed(KernelBuilder &k, int64_t rows, int64_t cols, Value dst, int64_t stride,
                     const Stage<Value> &stage) {
  Ix ix{k};
  Value tid = k.threadIdx();
  auto put = [&](Value r, Value c, Value v) { k.store(v, dst, ix.add(ix.mul(c, stride), r)); };
  if (rows % 4 == 0 && cols % 8 == 0) {
    // Warp-sized pieces of 4 r x 8 c, the lane's place in one fixed.
    const int64_t pieceCols = cols / 8, warps = k.blockSize() / 32;
    Value lane = ix.rem(tid, 32);
    Value laneR = ix.div(lane, 8), laneC = ix.rem(lane, 8);
    forEachStaged<Value>(
        k, ix.div(tid, 32), rows * cols / 32, warps,
        [&](Value piece) {
          return std::make_pair(ix.add(ix.mul(ix.div(piece, pieceCols), 4), laneR),
                                ix.add(ix.mul(ix.rem(piece, pieceCols), 8), laneC));
        },
        stage, put);
    return;
  }
  forEachStaged<Value>(
      k, tid, rows * cols, k.blockSize(),
      [&](Value e) { return std::make_pair(ix.div(e, cols), ix.rem(e, cols)); }, stage, put);
}

/// dst[r * cols + c ..] = value(r, c ..) for r < rows, c < cols, `width`
/// consecutive c a thread (cols % width == 0), by all the block's threads.
void stageRows(KernelBuilder &k, int64_t rows, int64_t cols, int64_t width, Value dst,
               const Stage<SmallVector<Value>> &stage) {
  Ix ix{k};
  forEachStaged<SmallVector<Value>>(
      k, k.threadIdx(), rows * cols / width, k.blockSize(),
      [&](Value e) {
        return std::make_pair(ix.div(e, cols / width), ix.mul(ix.rem(e, cols / width), width));
      },
      stage, [&](Value r, Value c, SmallVector<Value> v) {
        Value at = ix.add(ix.mul(r, cols), c);
        if (width == 1)
          k.store(v[0], dst, at);
        else
          k.storeVector(v, dst, at);
      });
}

/// The largest power of two <= want (a power of two) dividing n.
int64_t largestDivisor(int64_t n, int64_t want) {
  while (want > 1 && n % want != 0)
    want /= 2;
  return want;
}

/// std::min(std::max(v, lo), hi) as ref::ssdChunkState: the unordered
/// compares keep a NaN v, as std::max/min do.
Value clampDt(KernelBuilder &k, Value v, float lo, float hi) {
  auto &b = k.b();
  Value loV = k.f32(lo);
  Value atLeast = arith::CmpFOp::create(b, arith::CmpFPredicate::UGE, v, loV);
  v = arith::SelectOp::create(b, atLeast, v, loV);
  if (std::isfinite(hi)) {
    Value hiV = k.f32(hi);
    Value atMost = arith::CmpFOp::create(b, arith::CmpFPredicate::ULE, v, hiV);
    v = arith::SelectOp::create(b, atMost, v, hiV);
  }
  return v;
}

/// Shapes the three launches share: x [B, L, H*P], B/C [B, L, G*N].
struct SSDDims {
  int64_t H, P, G, N;
};

FailureOr<SSDDims> ssdDims(KernelContext &ctx, Location loc, unsigned xArg, unsigned bArg) {
  plan::Launch &launch = ctx.getLaunch();
  const int64_t P = static_cast<int64_t>(launch.attr("headdim"));
  const int64_t G = static_cast<int64_t>(launch.attr("ngroups"));
  if (ctx.operand(xArg).shape.size() != 3 || ctx.operand(bArg).shape.size() != 3)
    return emitError(loc) << launch.op << ": expected x [B, L, H*P] and B [B, L, G*N]";
  const int64_t E = ctx.dim(xArg, -1), GN = ctx.dim(bArg, -1);
  if (P <= 0 || G <= 0 || E % P != 0 || GN % G != 0 || (E / P) % G != 0)
    return emitError(loc) << launch.op << ": headdim " << P << " and ngroups " << G
                          << " do not divide x's " << E << " and B's " << GN << " columns";
  return SSDDims{E / P, P, G, GN / G};
}

void chunkGrid(plan::Launch &launch, int64_t blocksX) {
  launch.grid[0] = plan::ShapeExpr(blocksX);
  launch.grid[1] = *plan::ShapeExpr::parse("cdiv(L," + std::to_string(Q) + ")");
  launch.grid[2] = *plan::ShapeExpr::parse("B");
}

std::string dimsName(const SSDDims &d) {
  return "_h" + std::to_string(d.H) + "_p" + std::to_string(d.P) + "_g" + std::to_string(d.G) +
         "_n" + std::to_string(d.N) + "_q" + std::to_string(Q);
}

//===----------------------------------------------------------------------===//
// ssd_chunk_state: x, dt, B, A_log, dt_bias, dt_out, cum, chunk_states; B, L.
//===----------------------------------------------------------------------===//

LogicalResult emitChunkState(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  FailureOr<SSDDims> dims = ssdDims(ctx, loc, 0, 2);
  if (failed(dims))
    return failure();
  const auto [H, P, G, N] = *dims;
  const float dtMin = static_cast<float>(launch.attr("dt_min"));
  const float dtMax = launch.attrs.count("dt_max") ? static_cast<float>(launch.attr("dt_max"))
                                                   : std::numeric_limits<float>::infinity();
  // The [P, N] state a block, a thread a TP x (runsN x width) tile: TX
  // threads along n, each `runsN` runs of `width` n at stride width * TX
  // (a warp's lanes read one contiguous span of B's row), TY along p, each
  // TP consecutive p (a warp reads one or two rows of w x: broadcasts).
  const int64_t width = N % 4 == 0 ? 4 : 1;
  const int64_t TX = largestDivisor(N / width, 16), runsN = N / (width * TX);
  int64_t TP = largestDivisor(P, 8);
  while (TP > 1 && TP * runsN * width > 64)
    TP = largestDivisor(P, TP / 2);
  const int64_t TY = P / TP, threads = TX * TY;
  if (TP * runsN * width > 128 || threads > 1024)
    return emitError(loc) << "ssd_chunk_state: a state of " << P << " x " << N
                          << " is too large for one block";
  const int warps = static_cast<int>((threads + 31) / 32);
  std::string name = "ssd_chunk_state" + dimsName(*dims) + "_dtmin" + floatBits(dtMin) +
                     "_dtmax" + floatBits(dtMax);
  launch.scalars = {*plan::ShapeExpr::parse("B"), *plan::ShapeExpr::parse("L")};
  chunkGrid(launch, H);
  ctx.useKernel(name, ctx.operandArgs(2), warps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Ix ix{k};
    Type f32 = b.getF32Type();
    Value h = k.blockIdx(gpu::Dimension::x), c = k.blockIdx(gpu::Dimension::y),
          bIdx = k.blockIdx(gpu::Dimension::z), tid = k.threadIdx();
    Value step = k.idx(k.blockSize());
    Value L = k.argIndex(9), chunks = ix.div(ix.add(L, Q - 1), Q);
    Value first = ix.mul(c, Q), count = ix.min(k.idx(Q), ix.sub(L, first));
    Value g = ix.div(h, H / G);
    Value dtS = k.sharedArray("dt", f32, Q), cumS = k.sharedArray("cum", f32, Q);
    Value wS = k.sharedArray("w", f32, Q);
    Value wxS = k.sharedArray("wx", f32, kTokenSlice * P);
    Value bS = k.sharedArray("b", f32, kTokenSlice * N);
    Value rowBase = ix.add(ix.mul(bIdx, L), first); // token row b * L + first
    Value headRow = ix.add(ix.mul(ix.add(ix.mul(bIdx, H), h), L), first);

    // dt' and a = dt' A of the chunk's tokens (0 past the end).
    Value A = arith::NegFOp::create(b, exp(k, k.load(f32, k.arg(3), h)));
    Value bias = k.load(f32, k.arg(4), h);
    k.forLoop(tid, k.idx(Q), step, [&](Value i) {
      Value dtv = k.select(ix.lt(i, count), f32, [&] {
        Value raw = k.load(f32, k.arg(1), ix.add(ix.mul(ix.add(rowBase, i), H), h));
        return clampDt(k, softplus(k, ix.fadd(raw, bias)), dtMin, dtMax);
      }, [&] { return k.f32(0.0f); });
      k.store(dtv, dtS, i);
      k.store(ix.fmul(dtv, A), cumS, i);
    });
    k.barrier();
    // The running sum in token order, by one thread, the Q terms in
    // registers (past the end a = 0 * A: the sum is unchanged and unused).
    k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, k.idx(0)), [&] {
      SmallVector<Value> a = loadRun(k, {cumS, Q}, k.idx(0), Q);
      for (int64_t i = 1; i < Q; ++i)
        a[i] = ix.fadd(a[i - 1], a[i]);
      for (int64_t i = 0; i < Q; i += 4)
        k.storeVector(ArrayRef<Value>(a).slice(i, 4), cumS, k.idx(i));
    });
    k.barrier();
    k.forLoop(tid, k.idx(Q), step, [&](Value i) {
      Value valid = ix.lt(i, count);
      Value cumI = k.load(f32, cumS, i), dtv = k.load(f32, dtS, i);
      k.ifThen(valid, [&] {
        k.store(dtv, k.arg(5), ix.add(headRow, i));
        k.store(cumI, k.arg(6), ix.add(headRow, i));
      });
      Value last = k.load(f32, cumS, ix.sub(count, k.idx(1)));
      Value w = k.select(valid, f32, [&] { return ix.fmul(exp(k, ix.fsub(last, cumI)), dtv); },
                         [&] { return k.f32(0.0f); });
      k.store(w, wS, i);
    });

    // The state: slices of kTokenSlice tokens staged (w x and B), then each
    // thread's tile accumulates over the slice.
    Value gn = ix.mul(g, N);
    const int64_t xWidth = P % 4 == 0 ? 4 : 1;
    Value inTile = ix.lt(tid, threads);
    Value tx = ix.rem(tid, TX), ty = ix.div(tid, TX);
    Span ps{ix.mul(ty, TP), 1, TP, 0}, ns{ix.mul(tx, width), runsN, width, width * TX};
    SmallVector<Value> zeros(TP * runsN * width, k.f32(0.0f));
    SmallVector<Value> acc = k.forLoop(
        k.idx(0), k.idx(Q), k.idx(kTokenSlice), zeros,
        [&](Value k0, ValueRange iter) -> SmallVector<Value> {
          k.barrier();
          // Past the end: w = 0 and x = 0 (w * x = +0, not NaN).
          stageRows(k, kTokenSlice, P, xWidth, wxS,
                    {[&](Value r, Value p) {
                       Value i = ix.add(k0, r);
                       return ix.loadRunOrZero(
                           ix.lt(i, count), k.arg(0),
                           ix.add(ix.mul(ix.add(rowBase, i), H * P), ix.add(ix.mul(h, P), p)),
                           xWidth);
                     },
                     [&](Value r, Value, SmallVector<Value> xv) {
                       Value w = k.load(f32, wS, ix.add(k0, r));
                       for (Value &v : xv)
                         v = ix.fmul(w, v);
                       return xv;
                     }});
          stageRows(k, kTokenSlice, N, width, bS,
                    {[&](Value r, Value n) {
                       Value i = ix.add(k0, r);
                       return ix.loadRunOrZero(
                           ix.lt(i, count), k.arg(2),
                           ix.add(ix.mul(ix.add(rowBase, i), G * N), ix.add(gn, n)), width);
                     },
                     {}});
          k.barrier();
          // Threads past the last tile (if any) run no products.
          return k.ifOr(inTile, iter, [&] {
            return tileProduct(k, {wxS, P}, ps, {bS, N}, ns, k.idx(0), k.idx(kTokenSlice), iter,
                               kTokenSlice);
          });
        });

    // chunk_states[b, c, h, p, n]
    Value stateBase = ix.mul(ix.add(ix.mul(ix.add(ix.mul(bIdx, chunks), c), H), h), P * N);
    k.ifThen(inTile, [&] {
      for (int64_t pi = 0; pi < TP; ++pi) {
        Value row = ix.add(stateBase, ix.mul(ix.add(ps.first, pi), N));
        for (int64_t r = 0; r < runsN; ++r) {
          ArrayRef<Value> run = ArrayRef<Value>(acc).slice((pi * runsN + r) * width, width);
          Value at = ix.add(row, ix.add(ns.first, r * ns.stride));
          if (width == 4)
            k.storeVector(run, k.arg(7), at);
          else
            k.store(run[0], k.arg(7), at);
        }
      }
    });
  });
  return success();
}

//===----------------------------------------------------------------------===//
// ssd_state_passing: cum, chunk_states, init_states, state; B, L.
//===----------------------------------------------------------------------===//

LogicalResult emitStatePassing(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  const plan::Buffer &states = ctx.operand(1);
  if (states.shape.size() != 5 || ctx.operand(0).shape.size() != 3)
    return emitError(loc) << "ssd_state_passing: expected cum [B, H, L] and chunk states "
                             "[B, chunks, H, P, N]";
  const int64_t H = ctx.dim(1, 2), PN = ctx.dim(1, 3) * ctx.dim(1, 4);
  // V consecutive state elements a thread: one exp(cum_last) a chunk for V
  // elements, 16-byte loads and stores.
  const int64_t V = PN % 4 == 0 ? 4 : 1;
  launch.scalars = {*plan::ShapeExpr::parse("B"), *plan::ShapeExpr::parse("L")};
  ctx.gridFor(mulExpr(*plan::ShapeExpr::parse("B"), plan::ShapeExpr(H * PN / V)), 4);
  std::string name = "ssd_state_passing_h" + std::to_string(H) + "_pn" + std::to_string(PN) +
                     "_q" + std::to_string(Q) + "_v" + std::to_string(V);
  ctx.useKernel(name, ctx.operandArgs(2), 4, [&](KernelBuilder &k) {
    Ix ix{k};
    Value gid = k.globalIdx();
    Value L = k.argIndex(5), chunks = ix.div(ix.add(L, Q - 1), Q);
    auto store = [&](ArrayRef<Value> v, Value ptr, Value at) {
      if (V == 1)
        k.store(v[0], ptr, at);
      else
        k.storeVector(v, ptr, at);
    };
    k.ifThen(ix.lt(gid, ix.mul(k.argIndex(4), H * PN / V)), [&] {
      Value bh = ix.div(gid, PN / V), e = ix.mul(ix.rem(gid, PN / V), V);
      Value bIdx = ix.div(bh, H), h = ix.rem(bh, H);
      // Chunks in groups of U: the group's loads first (the stores to
      // init_states might alias them as far as the compiler knows), then
      // its updates in chunk order.
      SmallVector<Value> s = k.forLoop(
          k.idx(0), chunks, k.idx(kPassingGroup), SmallVector<Value>(V, k.f32(0.0f)),
          [&](Value c0, ValueRange iter) -> SmallVector<Value> {
            SmallVector<Value> valid, at, cumLast;
            SmallVector<SmallVector<Value>> local;
            for (int64_t u = 0; u < kPassingGroup; ++u) {
              Value c = ix.add(c0, u);
              valid.push_back(ix.lt(c, chunks));
              at.push_back(
                  ix.add(ix.mul(ix.add(ix.mul(ix.add(ix.mul(bIdx, chunks), c), H), h), PN), e));
              local.push_back(ix.loadRunOrZero(valid[u], k.arg(1), at[u], V));
              Value last = ix.sub(ix.min(ix.mul(ix.add(c, 1), Q), L), k.idx(1));
              cumLast.push_back(ix.loadOrZero(valid[u], k.arg(0), ix.add(ix.mul(bh, L), last)));
            }
            SmallVector<Value> state(iter.begin(), iter.end());
            for (int64_t u = 0; u < kPassingGroup; ++u) {
              k.ifThen(valid[u], [&] { store(state, k.arg(2), at[u]); });
              Value decay = exp(k, cumLast[u]);
              for (int64_t v = 0; v < V; ++v) {
                Value next = ix.fadd(ix.fmul(state[v], decay), local[u][v]);
                state[v] = arith::SelectOp::create(k.b(), valid[u], next, state[v]);
              }
            }
            return state;
          });
      store(s, k.arg(3), ix.mul(gid, V));
    });
  });
  return success();
}

//===----------------------------------------------------------------------===//
// ssd_chunk_cb: B, C, cb; B, L.
//===----------------------------------------------------------------------===//

LogicalResult emitChunkCB(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  const int64_t G = static_cast<int64_t>(launch.attr("ngroups"));
  if (ctx.operand(0).shape.size() != 3 || G <= 0 || ctx.dim(0, -1) % G != 0 ||
      ctx.dim(1, -1) != ctx.dim(0, -1))
    return emitError(loc) << "ssd_chunk_cb: expected B and C [B, L, G*N] with ngroups " << G
                          << " dividing G*N";
  const int64_t N = ctx.dim(0, -1) / G;
  // 16 x 16 outputs a block (a thread each), 4 x 4 blocks a chunk.
  constexpr int64_t R = 16, blocksPerSide = Q / R;
  static_assert(R * R == kThreads && Q % R == 0, "a thread per output");
  // Rows staged with a padded stride; 16-byte loads along n where N allows.
  const int64_t width = N % 4 == 0 ? 4 : 1, NP = N % 4 == 0 ? N + 4 : N + 1;
  std::string name = "ssd_chunk_cb_g" + std::to_string(G) + "_n" + std::to_string(N) + "_q" +
                     std::to_string(Q);
  launch.scalars = {*plan::ShapeExpr::parse("B"), *plan::ShapeExpr::parse("L")};
  launch.grid[0] = plan::ShapeExpr(blocksPerSide * blocksPerSide);
  launch.grid[1] = *plan::ShapeExpr::parse("cdiv(L," + std::to_string(Q) + ")");
  launch.grid[2] = mulExpr(*plan::ShapeExpr::parse("B"), plan::ShapeExpr(G));
  ctx.useKernel(name, ctx.operandArgs(2), kWarps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Ix ix{k};
    Type f32 = b.getF32Type();
    Value tile = k.blockIdx(gpu::Dimension::x), c = k.blockIdx(gpu::Dimension::y),
          bg = k.blockIdx(gpu::Dimension::z), tid = k.threadIdx();
    Value bIdx = ix.div(bg, G), g = ix.rem(bg, G);
    Value L = k.argIndex(4), chunks = ix.div(ix.add(L, Q - 1), Q);
    Value first = ix.mul(c, Q), count = ix.min(k.idx(Q), ix.sub(L, first));
    Value rowI = ix.mul(ix.div(tile, blocksPerSide), R), rowJ = ix.mul(ix.rem(tile, blocksPerSide), R);
    Value il = ix.div(tid, R), jl = ix.rem(tid, R);
    Value i = ix.add(rowI, il), j = ix.add(rowJ, jl);
    Value out = ix.add(ix.mul(ix.add(ix.mul(ix.add(ix.mul(bIdx, chunks), c), G), g), Q * Q),
                       ix.add(ix.mul(i, Q), j));
    Value cS = k.sharedArray("c", f32, R * NP), bS = k.sharedArray("b", f32, R * NP);
    // Blocks wholly above the diagonal hold zeros only.
    Value lower = ix.le(rowJ, rowI);
    k.ifThen(arith::XOrIOp::create(b, lower, arith::ConstantIntOp::create(b, 1, 1)),
             [&] { k.store(k.f32(0.0f), k.arg(2), out); });
    k.ifThen(lower, [&] {
      // Row r of the block's C rows (i) and B rows (j), zero past the end.
      k.forLoop(tid, k.idx(R * N), k.idx(kThreads), [&](Value e) {
        Value r = ix.div(e, N), n = ix.rem(e, N), at = ix.add(ix.mul(r, NP), n);
        auto row = [&](Value t) { // [b, first + t, g, n]
          return ix.add(ix.mul(ix.add(ix.add(ix.mul(bIdx, L), first), t), G * N),
                        ix.add(ix.mul(g, N), n));
        };
        Value ti = ix.add(rowI, r), tj = ix.add(rowJ, r);
        k.store(ix.loadOrZero(ix.lt(ti, count), k.arg(1), row(ti)), cS, at);
        k.store(ix.loadOrZero(ix.lt(tj, count), k.arg(0), row(tj)), bS, at);
      });
      k.barrier();
      Value cRow = ix.mul(il, NP), bRow = ix.mul(jl, NP);
      SmallVector<Value> acc = k.forLoop(
          k.idx(0), k.idx(N), k.idx(width), ValueRange{k.f32(0.0f)},
          [&](Value n, ValueRange iter) -> SmallVector<Value> {
            SmallVector<Value> cv = loadRun(k, {cS, NP}, ix.add(cRow, n), width);
            SmallVector<Value> bv = loadRun(k, {bS, NP}, ix.add(bRow, n), width);
            Value sum = iter[0];
            for (int64_t u = 0; u < width; ++u)
              sum = ix.fma(cv[u], bv[u], sum);
            return {sum};
          });
      k.store(arith::SelectOp::create(b, ix.le(j, i), acc[0], k.f32(0.0f)), k.arg(2), out);
    });
  });
  return success();
}

//===----------------------------------------------------------------------===//
// ssd_chunk_scan: x, dt_out, cum, C, cb, D, init_states, y; B, L.
//===----------------------------------------------------------------------===//

LogicalResult emitChunkScan(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  FailureOr<SSDDims> dims = ssdDims(ctx, loc, 0, 3);
  if (failed(dims))
    return failure();
  const auto [H, P, G, N] = *dims;
  const bool dHasHdim = launch.flag("d_has_hdim");
  const int64_t PB = std::min(P, kMaxPBlock), pBlocks = (P + PB - 1) / PB;
  // y [Q, PB] a block, a thread a TI x width tile: LX threads along p, each
  // `width` consecutive p (a warp's lanes read one contiguous span of a
  // row), Q / TI along i, each TI consecutive i (broadcasts).
  constexpr int64_t TI = 8;
  static_assert(Q % TI == 0, "row groups of TI");
  const int64_t width = PB % 4 == 0 ? 4 : 1, LX = PB / width;
  const int64_t threads = LX * (Q / TI);
  const int warps = static_cast<int>((threads + 31) / 32);
  // Padded row strides, multiples of 4 where the rows are (vector loads); a
  // padded multiple of 32 makes stageTransposed's stores conflict-free.
  auto padded = [](int64_t n) { return n % 4 == 0 ? n + 4 : n + 1; };
  const int64_t QS = padded(Q), PS = padded(PB);
  static_assert(2 * kStateSlice * (Q + 4) <= Q * (Q + 4), "the N slices fit in m's array");
  // The slice of N staged at a time: kStateSlice, or N (rounded up to 4)
  // when smaller.
  const int64_t NS = std::min(kStateSlice, (N + 3) / 4 * 4);
  std::string name = "ssd_chunk_scan" + dimsName(*dims) + "_dh" + (dHasHdim ? "1" : "0") +
                     "_ns" + std::to_string(NS);
  launch.scalars = {*plan::ShapeExpr::parse("B"), *plan::ShapeExpr::parse("L")};
  chunkGrid(launch, H * pBlocks);
  ctx.useKernel(name, ctx.operandArgs(2), warps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Ix ix{k};
    Type f32 = b.getF32Type();
    // Five blocks an SM: 96 registers without spills (unbounded, ptxas took
    // 127 for the staged loads in flight: four blocks, 86 instead of 76 us
    // for the 2.7B's scan).
    k.setMinBlocksPerSM(5);
    Value hb = k.blockIdx(gpu::Dimension::x), c = k.blockIdx(gpu::Dimension::y),
          bIdx = k.blockIdx(gpu::Dimension::z), tid = k.threadIdx();
    Value h = ix.div(hb, pBlocks), p0 = ix.mul(ix.rem(hb, pBlocks), PB);
    Value L = k.argIndex(9), chunks = ix.div(ix.add(L, Q - 1), Q);
    Value first = ix.mul(c, Q), count = ix.min(k.idx(Q), ix.sub(L, first));
    Value gn = ix.mul(ix.div(h, H / G), N);
    Value rowBase = ix.add(ix.mul(bIdx, L), first);
    Value headRow = ix.add(ix.mul(ix.add(ix.mul(bIdx, H), h), L), first);
    Value cumS = k.sharedArray("cum", f32, Q), dtS = k.sharedArray("dt", f32, Q);
    Value eS = k.sharedArray("e", f32, Q);
    Value xS = k.sharedArray("x", f32, Q * PB);      // (j, p)
    // m (j, i) is read before y's second part: the slices of N (cS (n, i)
    // and oS (n, p)) share its array, with a barrier between the uses.
    Value mS = k.sharedArray("m", f32, Q * QS);
    Value cS = mS, oS = k.offsetPointer(f32, mS, NS * QS);
    auto xIndex = [&](Value i, Value p) { // x[b, first + i, h * P + p]
      return ix.add(ix.mul(ix.add(rowBase, i), H * P), ix.add(ix.mul(h, P), p));
    };
    auto bcIndex = [&](Value i, Value n) {
      return ix.add(ix.mul(ix.add(rowBase, i), G * N), ix.add(gn, n));
    };
    // cb[b, c, g] (ssd_chunk_cb's [Q, Q] of this chunk and group)
    Value cbBase = ix.mul(ix.add(ix.mul(ix.add(ix.mul(bIdx, chunks), c), G), ix.div(h, H / G)),
                          Q * Q);

    k.forLoop(tid, k.idx(Q), k.idx(k.blockSize()), [&](Value i) {
      Value valid = ix.lt(i, count);
      Value cumI = ix.loadOrZero(valid, k.arg(2), ix.add(headRow, i));
      k.store(cumI, cumS, i);
      k.store(ix.loadOrZero(valid, k.arg(1), ix.add(headRow, i)), dtS, i);
      k.store(exp(k, cumI), eS, i);
    });
    // x (j, p), zero past the sequence's end and past P.
    stageRows(k, Q, PB, width, xS,
              {[&](Value j, Value pl) {
                 Value p = ix.add(p0, pl);
                 return ix.loadRunOrZero(ix.both(ix.lt(j, count), ix.lt(p, P)), k.arg(0),
                                      xIndex(j, p), width);
               },
               {}});
    k.barrier();

    // m_ij = (cb_ij * exp(cum_i - cum_j)) * dt_j (0 for j > i) into m (j, i).
    // (cb holds the whole [Q, Q] of every chunk: its loads need no bound.)
    stageTransposed(
        k, Q, Q, mS, QS,
        {[&](Value i, Value j) {
           return k.load(f32, k.arg(4), ix.add(cbBase, ix.add(ix.mul(i, Q), j)));
         },
         [&](Value i, Value j, Value cb) {
           return k.select(ix.le(j, i), f32, [&] {
             Value decay = exp(k, ix.fsub(k.load(f32, cumS, i), k.load(f32, cumS, j)));
             return ix.fmul(ix.fmul(cb, decay), k.load(f32, dtS, j));
           }, [&] { return k.f32(0.0f); });
         }});
    k.barrier();

    // y = m x over j below the thread's last row, then (exp(cum) C) init
    // over N.
    Value inTile = ix.lt(tid, threads);
    Value i0 = ix.mul(ix.div(tid, LX), TI);
    Span is{i0, 1, TI, 0}, ps{ix.mul(ix.rem(tid, LX), width), 1, width, 0};
    Value end = arith::SelectOp::create(b, inTile, ix.add(i0, TI), k.idx(0));
    SmallVector<Value> acc = tileProduct(k, {mS, QS}, is, {xS, PB}, ps, k.idx(0), end,
                                         SmallVector<Value>(TI * width, k.f32(0.0f)), TI);
    Value pInit = ix.mul(ix.add(ix.mul(ix.add(ix.mul(bIdx, chunks), c), H), h), P * N);
    // Bounds that hold by construction where the blocks tile P and N exactly.
    Value always = arith::ConstantIntOp::create(b, 1, 1);
    auto nInside = [&](Value n) { return N % NS == 0 ? always : ix.lt(n, N); };
    auto pInside = [&](Value p) { return P % PB == 0 ? always : ix.lt(p, P); };
    auto both = [&](Value x, Value y) { return x == always ? y : y == always ? x : ix.both(x, y); };
    acc = k.forLoop(
        k.idx(0), k.idx(N), k.idx(NS), acc,
        [&](Value n0, ValueRange iter) -> SmallVector<Value> {
          k.barrier();
          // cS(n, i) = exp(cum_i) * C[i, n0 + n]; oS(n, p) = init[p, n0 + n].
          stageTransposed(k, Q, NS, cS, QS,
                          {[&](Value i, Value nl) {
                             Value n = ix.add(n0, nl);
                             return ix.loadOrZero(both(ix.lt(i, count), nInside(n)), k.arg(3),
                                                  bcIndex(i, n));
                           },
                           [&](Value i, Value, Value cv) {
                             return ix.fmul(k.load(f32, eS, i), cv);
                           }});
          stageTransposed(k, PB, NS, oS, PS,
                          {[&](Value pl, Value nl) {
                             Value p = ix.add(p0, pl), n = ix.add(n0, nl);
                             return ix.loadOrZero(both(pInside(p), nInside(n)), k.arg(6),
                                                  ix.add(pInit, ix.add(ix.mul(p, N), n)));
                           },
                           {}});
          k.barrier();
          return k.ifOr(inTile, iter, [&] {
            return tileProduct(k, {cS, QS}, is, {oS, PS}, ps, k.idx(0), k.idx(NS), iter, NS);
          });
        });

    // y = acc + D x, `width` p at a time.
    k.ifThen(inTile, [&] {
      for (int64_t ii = 0; ii < TI; ++ii) {
        Value i = ix.add(i0, ii), p = ix.add(p0, ps.first);
        k.ifThen(ix.both(ix.lt(i, count), ix.lt(p, P)), [&] {
          SmallVector<Value> xv = loadRun(k, {xS, PB}, ix.add(ix.mul(i, PB), ps.first), width);
          SmallVector<Value> out;
          for (int64_t u = 0; u < width; ++u) {
            Value d = k.load(f32, k.arg(5), dHasHdim ? ix.add(ix.mul(h, P), ix.add(p, u)) : h);
            out.push_back(ix.fadd(acc[ii * width + u], ix.fmul(d, xv[u])));
          }
          if (width == 4)
            k.storeVector(out, k.arg(7), xIndex(i, p));
          else
            k.store(out[0], k.arg(7), xIndex(i, p));
        });
      }
    });
  });
  return success();
}

} // namespace

LogicalResult emitSSDChunked(KernelContext &ctx, Location loc) {
  const std::string &op = ctx.getLaunch().op;
  if (op == "ssd_chunk_state")
    return emitChunkState(ctx, loc);
  if (op == "ssd_state_passing")
    return emitStatePassing(ctx, loc);
  if (op == "ssd_chunk_cb")
    return emitChunkCB(ctx, loc);
  if (op == "ssd_chunk_scan")
    return emitChunkScan(ctx, loc);
  return emitError(loc) << "no chunked SSD kernel for '" << op << "'";
}

} // namespace mlir::quamba::codegen
