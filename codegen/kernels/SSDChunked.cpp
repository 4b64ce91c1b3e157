//===- SSDChunked.cpp - the chunked Mamba2 SSD scan's three kernels -------===//
//
// The prefill scan as ref::ssdScan computes it (runtime/reference/
// SSDScan.cpp): chunks of Q = ref::kSSDChunk tokens, in three launches.
//
// ssd_chunk_state: a block per (head, chunk, batch). dt' and a = dt' A of the
//   chunk's tokens, their running sum cum (one thread, in order: the sum's
//   association is the reference's), then the chunk's state from zero,
//   state[p, n] = sum_i B[i, n] * (w_i x[i, p]): a [P, N] product over the
//   chunk's tokens, the tokens staged in shared memory in slices, each thread
//   a TP x TN tile of outputs in registers.
// ssd_state_passing: a thread per (batch, head, state element), a loop over
//   the chunks (s = s * exp(cum_last) + chunk state).
// ssd_chunk_cb: a block per (16 x 16 outputs, chunk, batch and group):
//   cb[i, j] = C_i . B_j over N, the block's 16 rows of C and of B staged in
//   shared memory; blocks above the diagonal write zeros. Once per group,
//   not per head (the 2.7B's 80 heads share one group).
// ssd_chunk_scan: a block per (head and block of up to 64 p, chunk, batch).
//   cb masked and scaled into m_ij in shared memory; then y = m x (the
//   causal part: a tile's j stop after its last row) continued by (exp(cum)
//   C) init over N in slices of NS state elements; + D x.
//
// Every output is one thread's sum over its k in ascending order (acc = acc
// + a * b, unfused, FloatSemantics.h): the reference's order, so the kernels
// equal the CPU backend bit for bit. Shared-memory rows are padded by one
// element where a warp reads a column. Rows past the sequence's end are
// zero in shared memory: their terms add +0 to sums that are never -0
// (they start at +0), which changes nothing.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/Kernels.h"
#include "codegen/kernels/ScalarMath.h"
#include "runtime/reference/Kernels.h"

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
  /// cond ? ptr[index] : 0.0f, without a branch: a false cond loads
  /// ptr[0] (the buffers are never empty when a kernel runs) and drops it.
  Value loadOrZero(Value cond, Value ptr, Value index) {
    auto &b = k.b();
    Value safe = arith::SelectOp::create(b, cond, index, k.idx(0));
    Value v = k.load(b.getF32Type(), ptr, safe);
    return arith::SelectOp::create(b, cond, v, k.f32(0.0f));
  }
};

/// A matrix in shared memory seen as (k, x) -> ptr[k * kStride + x].
struct SharedMatrix {
  Value ptr;
  int64_t kStride;
};

/// `count` consecutive elements (kk, x0 ..) of `m`: 16-byte vector loads
/// where the row stride and count allow (x0 is then a multiple of 4 and the
/// array 16-byte aligned: the callers' tiles and KernelBuilder::sharedArray).
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

/// acc[mi * TN + ni] += A(kk, m0 + mi) * B(kk, n0 + ni) for kk in [kBegin,
/// kEnd), ascending: each output's sum in the reference's order. The loop
/// body holds `unroll` consecutive kk (kEnd - kBegin must be a multiple).
SmallVector<Value> tileProduct(KernelBuilder &k, SharedMatrix A, Value m0, int64_t TM,
                               SharedMatrix B, Value n0, int64_t TN, Value kBegin, Value kEnd,
                               ValueRange acc, int64_t unroll = 1) {
  Ix ix{k};
  return k.forLoop(kBegin, kEnd, k.idx(unroll), acc, [&](Value k0, ValueRange iter) {
    SmallVector<Value> sums(iter.begin(), iter.end());
    for (int64_t u = 0; u < unroll; ++u) {
      Value kk = ix.add(k0, u);
      SmallVector<Value> a = loadRun(k, A, ix.add(ix.mul(kk, A.kStride), m0), TM);
      SmallVector<Value> bv = loadRun(k, B, ix.add(ix.mul(kk, B.kStride), n0), TN);
      for (int64_t mi = 0; mi < TM; ++mi)
        for (int64_t ni = 0; ni < TN; ++ni)
          sums[mi * TN + ni] = ix.fadd(sums[mi * TN + ni], ix.fmul(a[mi], bv[ni]));
    }
    return sums;
  });
}

/// The largest of {want, 4, 2, 1} dividing n.
int64_t tileFor(int64_t n, int64_t want) {
  for (int64_t t : {want, int64_t(4), int64_t(2)})
    if (t <= want && n % t == 0)
      return t;
  return 1;
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
  // Output tiles of TP x TN state elements, a thread each, `rounds` a thread.
  const int64_t TP = tileFor(P, 4), TN = tileFor(N, 8);
  const int64_t tilesN = N / TN, tiles = P / TP * tilesN;
  const int64_t rounds = (tiles + kThreads - 1) / kThreads;
  if (rounds > 4)
    return emitError(loc) << "ssd_chunk_state: a state of " << P << " x " << N
                          << " is too large for one block";
  std::string name = "ssd_chunk_state" + dimsName(*dims) + "_dtmin" + floatBits(dtMin) +
                     "_dtmax" + floatBits(dtMax);
  launch.scalars = {*plan::ShapeExpr::parse("B"), *plan::ShapeExpr::parse("L")};
  chunkGrid(launch, H);
  ctx.useKernel(name, ctx.operandArgs(2), kWarps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Ix ix{k};
    Type f32 = b.getF32Type();
    Value h = k.blockIdx(gpu::Dimension::x), c = k.blockIdx(gpu::Dimension::y),
          bIdx = k.blockIdx(gpu::Dimension::z), tid = k.threadIdx();
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
    k.ifThen(ix.lt(tid, Q), [&] {
      Value dtv = k.select(ix.lt(tid, count), f32, [&] {
        Value raw = k.load(f32, k.arg(1), ix.add(ix.mul(ix.add(rowBase, tid), H), h));
        return clampDt(k, softplus(k, ix.fadd(raw, bias)), dtMin, dtMax);
      }, [&] { return k.f32(0.0f); });
      k.store(dtv, dtS, tid);
      k.store(ix.fmul(dtv, A), cumS, tid);
    });
    k.barrier();
    // The running sum in token order, by one thread.
    k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, k.idx(0)), [&] {
      k.forLoop(k.idx(1), count, k.idx(1), ValueRange{k.load(f32, cumS, k.idx(0))},
                [&](Value i, ValueRange iter) -> SmallVector<Value> {
                  Value next = ix.fadd(iter[0], k.load(f32, cumS, i));
                  k.store(next, cumS, i);
                  return {next};
                });
    });
    k.barrier();
    k.ifThen(ix.lt(tid, Q), [&] {
      Value valid = ix.lt(tid, count);
      Value cumI = k.load(f32, cumS, tid), dtv = k.load(f32, dtS, tid);
      k.ifThen(valid, [&] {
        k.store(dtv, k.arg(5), ix.add(headRow, tid));
        k.store(cumI, k.arg(6), ix.add(headRow, tid));
      });
      Value last = k.load(f32, cumS, ix.sub(count, k.idx(1)));
      Value w = k.select(valid, f32, [&] { return ix.fmul(exp(k, ix.fsub(last, cumI)), dtv); },
                         [&] { return k.f32(0.0f); });
      k.store(w, wS, tid);
    });

    // The state: slices of kTokenSlice tokens staged (w x and B), then each
    // thread's tiles accumulate over the slice.
    Value gn = ix.mul(g, N);
    SmallVector<Value> zeros(rounds * TP * TN, k.f32(0.0f));
    SmallVector<Value> acc = k.forLoop(
        k.idx(0), k.idx(Q), k.idx(kTokenSlice), zeros,
        [&](Value k0, ValueRange iter) -> SmallVector<Value> {
          k.barrier();
          k.forLoop(tid, k.idx(kTokenSlice * P), k.idx(kThreads), [&](Value e) {
            Value i = ix.add(k0, ix.div(e, P)), p = ix.rem(e, P);
            // Past the end: w = 0 and x = 0 (w * x = +0, not NaN).
            Value xv = ix.loadOrZero(ix.lt(i, count), k.arg(0),
                                     ix.add(ix.mul(ix.add(rowBase, i), H * P), ix.add(ix.mul(h, P), p)));
            k.store(ix.fmul(k.load(f32, wS, i), xv), wxS, e);
          });
          k.forLoop(tid, k.idx(kTokenSlice * N), k.idx(kThreads), [&](Value e) {
            Value i = ix.add(k0, ix.div(e, N)), n = ix.rem(e, N);
            k.store(ix.loadOrZero(ix.lt(i, count), k.arg(2),
                                  ix.add(ix.mul(ix.add(rowBase, i), G * N), ix.add(gn, n))),
                    bS, e);
          });
          k.barrier();
          SmallVector<Value> next;
          for (int64_t r = 0; r < rounds; ++r) {
            Value tile = ix.add(tid, r * kThreads);
            ValueRange mine = iter.slice(r * TP * TN, TP * TN);
            Value p0 = ix.mul(ix.div(tile, tilesN), TP), n0 = ix.mul(ix.rem(tile, tilesN), TN);
            auto product = [&] {
              return tileProduct(k, {wxS, P}, p0, TP, {bS, N}, n0, TN, k.idx(0),
                                 k.idx(kTokenSlice), mine, kTokenSlice);
            };
            // Threads past the last tile (if any) run no products.
            SmallVector<Value> out =
                tiles % kThreads == 0 ? product() : k.ifOr(ix.lt(tile, tiles), mine, product);
            next.append(out.begin(), out.end());
          }
          return next;
        });

    // chunk_states[b, c, h, p, n]
    Value stateBase = ix.mul(ix.add(ix.mul(ix.add(ix.mul(bIdx, chunks), c), H), h), P * N);
    for (int64_t r = 0; r < rounds; ++r) {
      Value tile = ix.add(tid, r * kThreads);
      k.ifThen(ix.lt(tile, tiles), [&] {
        Value p0 = ix.mul(ix.div(tile, tilesN), TP), n0 = ix.mul(ix.rem(tile, tilesN), TN);
        for (int64_t pi = 0; pi < TP; ++pi) {
          Value row = ix.add(stateBase, ix.add(ix.mul(ix.add(p0, pi), N), n0));
          ArrayRef<Value> values = ArrayRef<Value>(acc).slice((r * TP + pi) * TN, TN);
          // 16-byte stores where the row allows (n0 is a multiple of TN).
          const int64_t width = TN % 4 == 0 && N % 4 == 0 ? 4 : 1;
          for (int64_t ni = 0; ni < TN; ni += width) {
            if (width == 4)
              k.storeVector(values.slice(ni, 4), k.arg(7), ix.add(row, ni));
            else
              k.store(values[ni], k.arg(7), ix.add(row, ni));
          }
        }
      });
    }
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
  launch.scalars = {*plan::ShapeExpr::parse("B"), *plan::ShapeExpr::parse("L")};
  ctx.gridFor(mulExpr(*plan::ShapeExpr::parse("B"), plan::ShapeExpr(H * PN)), 4);
  std::string name = "ssd_state_passing_h" + std::to_string(H) + "_pn" + std::to_string(PN) +
                     "_q" + std::to_string(Q);
  ctx.useKernel(name, ctx.operandArgs(2), 4, [&](KernelBuilder &k) {
    Ix ix{k};
    Type f32 = k.b().getF32Type();
    Value gid = k.globalIdx();
    Value L = k.argIndex(5), chunks = ix.div(ix.add(L, Q - 1), Q);
    k.ifThen(ix.lt(gid, ix.mul(k.argIndex(4), H * PN)), [&] {
      Value bh = ix.div(gid, PN), e = ix.rem(gid, PN);
      Value bIdx = ix.div(bh, H), h = ix.rem(bh, H);
      // Chunks in groups of U: the group's loads first (the stores to
      // init_states might alias them as far as the compiler knows), then
      // its updates in chunk order.
      SmallVector<Value> s = k.forLoop(
          k.idx(0), chunks, k.idx(kPassingGroup), ValueRange{k.f32(0.0f)},
          [&](Value c0, ValueRange iter) -> SmallVector<Value> {
            SmallVector<Value> valid, at, local, cumLast;
            for (int64_t u = 0; u < kPassingGroup; ++u) {
              Value c = ix.add(c0, u);
              valid.push_back(ix.lt(c, chunks));
              at.push_back(
                  ix.add(ix.mul(ix.add(ix.mul(ix.add(ix.mul(bIdx, chunks), c), H), h), PN), e));
              local.push_back(ix.loadOrZero(valid[u], k.arg(1), at[u]));
              Value last = ix.sub(ix.min(ix.mul(ix.add(c, 1), Q), L), k.idx(1));
              cumLast.push_back(ix.loadOrZero(valid[u], k.arg(0), ix.add(ix.mul(bh, L), last)));
            }
            Value state = iter[0];
            for (int64_t u = 0; u < kPassingGroup; ++u) {
              k.ifThen(valid[u], [&] { k.store(state, k.arg(2), at[u]); });
              Value next = ix.fadd(ix.fmul(state, exp(k, cumLast[u])), local[u]);
              state = arith::SelectOp::create(k.b(), valid[u], next, state);
            }
            return {state};
          });
      k.store(s[0], k.arg(3), gid);
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
              sum = ix.fadd(sum, ix.fmul(cv[u], bv[u]));
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
  // m: a 4 x 4 tile of (i, j) a thread ((Q / 4)^2 = 256 tiles).
  constexpr int64_t TI = 4;
  static_assert(Q % TI == 0 && (Q / TI) * (Q / TI) == kThreads, "one m tile a thread");
  // y: TI x TP tiles of (i, p), `rounds` a thread.
  const int64_t TP = tileFor(PB, 4), tilesP = (PB + TP - 1) / TP, tiles = Q / TI * tilesP;
  const int64_t rounds = (tiles + kThreads - 1) / kThreads;
  // Padded row strides, multiples of 4 where the rows are (vector loads).
  auto padded = [](int64_t n) { return n % 4 == 0 ? n + 4 : n + 1; };
  const int64_t QS = padded(Q), PS = padded(PB);
  static_assert(2 * kStateSlice * (Q + 4) <= Q * (Q + 4), "the N slices fit in m's array");
  // The slice of N staged at a time: kStateSlice, or N (rounded up to 4)
  // when smaller (a longer unrolled slice of zeros made ptxas spill).
  const int64_t NS = std::min(kStateSlice, (N + 3) / 4 * 4);
  std::string name = "ssd_chunk_scan" + dimsName(*dims) + "_dh" + (dHasHdim ? "1" : "0") +
                     "_ns" + std::to_string(NS);
  launch.scalars = {*plan::ShapeExpr::parse("B"), *plan::ShapeExpr::parse("L")};
  chunkGrid(launch, H * pBlocks);
  ctx.useKernel(name, ctx.operandArgs(2), kWarps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Ix ix{k};
    Type f32 = b.getF32Type();
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

    k.ifThen(ix.lt(tid, Q), [&] {
      Value valid = ix.lt(tid, count);
      Value cumI = ix.loadOrZero(valid, k.arg(2), ix.add(headRow, tid));
      k.store(cumI, cumS, tid);
      k.store(ix.loadOrZero(valid, k.arg(1), ix.add(headRow, tid)), dtS, tid);
      k.store(exp(k, cumI), eS, tid);
    });
    k.forLoop(tid, k.idx(Q * PB), k.idx(kThreads), [&](Value e) {
      Value i = ix.div(e, PB), p = ix.add(p0, ix.rem(e, PB));
      k.store(ix.loadOrZero(ix.both(ix.lt(i, count), ix.lt(p, P)), k.arg(0), xIndex(i, p)), xS, e);
    });

    // Stages a slice of N of C scaled by the decay from the chunk's start:
    // cS(n, i) = exp(cum_i) * C[i, n0 + n].
    auto stageScaledC = [&](Value n0) {
      k.forLoop(tid, k.idx(Q * NS), k.idx(kThreads), [&](Value e) {
        Value i = ix.div(e, NS), nl = ix.rem(e, NS), n = ix.add(n0, nl);
        Value cv = ix.loadOrZero(ix.both(ix.lt(i, count), ix.lt(n, N)), k.arg(3), bcIndex(i, n));
        k.store(ix.fmul(k.load(f32, eS, i), cv), cS, ix.add(ix.mul(nl, QS), i));
      });
    };

    // m_ij = (cb_ij * exp(cum_i - cum_j)) * dt_j (0 for j > i) into shared
    // memory, a 4 x 4 tile a thread.
    k.barrier();
    Value i0 = ix.mul(ix.div(tid, Q / TI), TI), j0 = ix.mul(ix.rem(tid, Q / TI), TI);
    for (int64_t ii = 0; ii < TI; ++ii) {
      Value i = ix.add(i0, ii);
      SmallVector<Value> cbRow = k.loadVector(f32, TI, k.arg(4), ix.add(cbBase, ix.add(ix.mul(i, Q), j0)));
      for (int64_t jj = 0; jj < TI; ++jj) {
        Value j = ix.add(j0, jj);
        Value decay = exp(k, ix.fsub(k.load(f32, cumS, i), k.load(f32, cumS, j)));
        Value m = ix.fmul(ix.fmul(cbRow[jj], decay), k.load(f32, dtS, j));
        k.store(arith::SelectOp::create(b, ix.le(j, i), m, k.f32(0.0f)), mS, ix.add(ix.mul(j, QS), i));
      }
    }
    k.barrier();

    // y = m x over j <= the tile's last row, then (exp(cum) C) init over N.
    SmallVector<Value> yi0, yp0;
    SmallVector<Value> acc;
    for (int64_t r = 0; r < rounds; ++r) {
      Value tile = ix.add(tid, r * kThreads);
      Value inRange = ix.lt(tile, tiles);
      yi0.push_back(ix.mul(ix.rem(ix.div(tile, tilesP), Q / TI), TI));
      yp0.push_back(ix.mul(ix.rem(tile, tilesP), TP));
      Value end = k.select(inRange, b.getIndexType(), [&] { return ix.add(yi0.back(), TI); },
                           [&] { return k.idx(0); });
      SmallVector<Value> z(TI * TP, k.f32(0.0f));
      SmallVector<Value> part = tileProduct(k, {mS, QS}, yi0.back(), TI, {xS, PB}, yp0.back(), TP,
                                            k.idx(0), end, z, /*unroll=*/TI);
      acc.append(part.begin(), part.end());
    }
    Value pInit = ix.mul(ix.add(ix.mul(ix.add(ix.mul(bIdx, chunks), c), H), h), P * N);
    acc = k.forLoop(
        k.idx(0), k.idx(N), k.idx(NS), acc,
        [&](Value n0, ValueRange iter) -> SmallVector<Value> {
          k.barrier();
          stageScaledC(n0);
          k.forLoop(tid, k.idx(PB * NS), k.idx(kThreads), [&](Value e) {
            Value pl = ix.div(e, NS), nl = ix.rem(e, NS);
            Value p = ix.add(p0, pl), n = ix.add(n0, nl);
            k.store(ix.loadOrZero(ix.both(ix.lt(p, P), ix.lt(n, N)), k.arg(6),
                                  ix.add(pInit, ix.add(ix.mul(p, N), n))),
                    oS, ix.add(ix.mul(nl, PS), pl));
          });
          k.barrier();
          SmallVector<Value> next;
          for (int64_t r = 0; r < rounds; ++r) {
            ValueRange mine = iter.slice(r * TI * TP, TI * TP);
            SmallVector<Value> part = k.ifOr(ix.lt(ix.add(tid, r * kThreads), tiles), mine, [&] {
              return tileProduct(k, {cS, QS}, yi0[r], TI, {oS, PS}, yp0[r], TP, k.idx(0),
                                 k.idx(NS), mine, NS);
            });
            next.append(part.begin(), part.end());
          }
          return next;
        });

    for (int64_t r = 0; r < rounds; ++r) {
      k.ifThen(ix.lt(ix.add(tid, r * kThreads), tiles), [&] {
        for (int64_t ii = 0; ii < TI; ++ii)
          for (int64_t pp = 0; pp < TP; ++pp) {
            Value i = ix.add(yi0[r], ii), pl = ix.add(yp0[r], pp), p = ix.add(p0, pl);
            k.ifThen(ix.both(ix.lt(i, count), ix.lt(p, P)), [&] {
              Value xv = k.load(f32, xS, ix.add(ix.mul(i, PB), pl));
              Value d = k.load(f32, k.arg(5), dHasHdim ? ix.add(ix.mul(h, P), p) : h);
              k.store(ix.fadd(acc[(r * TI + ii) * TP + pp], ix.fmul(d, xv)), k.arg(7),
                      xIndex(i, p));
            });
          }
      });
    }
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
