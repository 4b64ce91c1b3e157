//===- Scan.cpp - SSM scan kernels: Mamba2 SSD and Mamba1 selective -------===//
//
// Every kernel runs the plain sequential recurrence (formats.md §4.2 /
// §4.3) in the reference's operation order and float semantics
// (runtime/reference/FloatSemantics.h), bit for bit:
//   h_t = exp(dt_t A) h_{t-1} + dt_t B_t x_t,   y_t = C_t . h_t + D x_t
// with dt_t = softplus(dt_raw + dt_bias) and A = -exp(A_log). (The Mamba2
// prefill scan is chunked: SSDChunked.cpp.)
//
// ssd_step: one warp per (b, h, p) (from decode batch 16, per four rows
// (b, h, p..p+3): dt, decay, B and C once for them; mamba2-2.7b TPOT at
// batch 64 -21 % on an H200); lane l owns the elements n = l,
// l + 32, ... of the state row h[b, h, p, :], so loads of the row, B and C
// are coalesced across the lanes. C . h is the warp order of FloatSemantics.h
// (lane partials in ascending n, then the xor butterfly), as ref::ssdStep;
// lane 0 writes y. Head h reads group h / (H / G) of B and C; D is [H] or
// [H * P] (d_has_hdim).
//
// selective_scan / selective_step: one thread per (b, e) owning h[b, e, :];
// A[e, n] = -exp(A_log[e, n]), y = (C . h + D x) * silu(z).
//
// Kernels are specialised on the static dims and attrs; B and L are i32
// scalars (LaunchOps.h).
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/Kernels.h"
#include "codegen/kernels/ScalarMath.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>

namespace mlir::quamba::codegen {

namespace {

Value add(KernelBuilder &k, Value a, Value c) {
  return arith::AddIOp::create(k.b(), a, c);
}
Value mul(KernelBuilder &k, Value a, Value c) {
  return arith::MulIOp::create(k.b(), a, c);
}
Value mulC(KernelBuilder &k, Value a, int64_t c) { return mul(k, a, k.idx(c)); }
Value fmul(KernelBuilder &k, Value a, Value c) {
  return arith::MulFOp::create(k.b(), a, c);
}
Value fadd(KernelBuilder &k, Value a, Value c) {
  return arith::AddFOp::create(k.b(), a, c);
}

bool staticTrailing(const plan::Buffer &buffer) {
  return !buffer.shape.empty() && buffer.shape.back().isConstant();
}

//===----------------------------------------------------------------------===//
// Mamba2 SSD
//===----------------------------------------------------------------------===//

/// State rows a warp of ssd_step for decode batches from
/// kBatchedDecodeMinBatch.
constexpr int64_t kBatchedRowsPerWarp = 4;

LogicalResult emitSSD(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  const bool int8State = launch.flag("state_int8");
  const int64_t headdim = static_cast<int64_t>(launch.attr("headdim"));
  const int64_t ngroups = static_cast<int64_t>(launch.attr("ngroups"));
  const bool dHasHdim = launch.flag("d_has_hdim");
  for (unsigned i = 0; i < 4; ++i)
    if (!staticTrailing(ctx.operand(i)))
      return emitError(loc) << launch.op
                            << ": x, dt, B and C need a static last dimension";
  const plan::Buffer &x = ctx.operand(0);
  if (headdim <= 0 || ngroups <= 0 || ctx.dim(0, -1) % headdim != 0)
    return emitError(loc) << launch.op << ": bad headdim " << headdim
                          << " or ngroups " << ngroups;
  const int64_t nheads = ctx.dim(0, -1) / headdim;
  if (ctx.dim(1, -1) != nheads || nheads % ngroups != 0 ||
      ctx.dim(2, -1) % ngroups != 0 || ctx.dim(3, -1) != ctx.dim(2, -1))
    return emitError(loc) << launch.op << ": inconsistent head/group shapes";
  const int64_t dstate = ctx.dim(2, -1) / ngroups;
  const int64_t headsPerGroup = nheads / ngroups;
  const int64_t P = headdim, H = nheads, G = ngroups, N = dstate;

  std::string name = launch.op + "_h" + std::to_string(H) + "_p" +
                     std::to_string(P) + "_g" + std::to_string(G) + "_n" +
                     std::to_string(N) + "_dh" + (dHasHdim ? "1" : "0");
  if (int8State)
    name += "_qstate";
  // A_log, D, dt_bias and the int8 state's scales are loaded before the
  // wait for the previous kernel where they are weight buffers (no launch
  // writes them; KernelBuilder::awaitPredecessor).
  const bool preload = ctx.areWeights({4, 5, 6, int8State ? 8 : -1});
  // So is the state where no launch of the entry writes it (decode: the
  // state is an input of the step, the new one an output; the previous step
  // that wrote it ran launches ago).
  const bool preloadState = preload && ctx.isSettledEntryInput(7);
  if (preload)
    name += preloadState ? "_pws" : "_pw";

  // A warp per state row: lane l owns h[.., n] for n = l, l + 32, ...
  const int64_t perLane = (N + 31) / 32;
  const bool ragged = N % 32 != 0;

  const int numWarps = 4;
  plan::ShapeExpr batch = x.shape[0];
  launch.scalars = {batch};
  // A state row a warp at small batches (batch 1 has only H * P warps to
  // spread); from kBatchedDecodeMinBatch, kBatchedRowsPerWarp rows of one
  // head a warp: its dt, softplus, decay, B and C once for them all.
  const int64_t R = !isFewRowsDecode(ctx) && P % kBatchedRowsPerWarp == 0 ? kBatchedRowsPerWarp : 1;
  if (R > 1)
    name += "_r" + std::to_string(R);
  ctx.gridFor(mulExpr(batch, plan::ShapeExpr(H * P / R * 32)), numWarps);

  // ssd_step: x, dt, B, C, A_log, D, dt_bias, state_in, [state_scales,]
  // y, state_out; batch.
  const unsigned q = int8State ? 1 : 0;
  const unsigned yArg = 8 + q, stateArg = 9 + q, batchArg = 10 + q;
  ctx.useKernel(name, ctx.operandArgs(1), numWarps,
                [&](KernelBuilder &k) {
    auto &b = k.b();
    Type f32 = b.getF32Type();
    Value gid = k.globalIdx();
    // (b * H + h) * (P / R) + p / R
    Value i = arith::DivUIOp::create(b, gid, k.idx(32));
    Value lane = arith::RemUIOp::create(b, gid, k.idx(32));
    Value total = mulC(k, k.argIndex(batchArg), H * P / R);
    // Warp-uniform: the shuffles inside see every lane.
    Value inBounds =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, total);
    k.ifThen(inBounds, [&] {
      Value p0 = mulC(k, arith::RemUIOp::create(b, i, k.idx(P / R)), R);
      Value bh = arith::DivUIOp::create(b, i, k.idx(P / R));
      Value h = arith::RemUIOp::create(b, bh, k.idx(H));
      Value bIdx = arith::DivUIOp::create(b, bh, k.idx(H));
      Value g = arith::DivUIOp::create(b, h, k.idx(headsPerGroup));
      Value A = arith::NegFOp::create(
          b, exp(k, k.load(f32, k.arg(4), h)));
      Value dtBias = k.load(f32, k.arg(6), h);
      // Row r of the warp: p = p0 + r, state row (b, h, p), its D and
      // its x column h * P + p.
      SmallVector<Value> D, stateBase, hp, scaleBase;
      for (int64_t r = 0; r < R; ++r) {
        Value p = add(k, p0, k.idx(r));
        hp.push_back(add(k, mulC(k, h, P), p));
        D.push_back(k.load(f32, k.arg(5), dHasHdim ? hp.back() : h));
        stateBase.push_back(mulC(k, add(k, mulC(k, bh, P), p), N));
        // An int8 state's scales are per element of [H, P, N].
        scaleBase.push_back(mulC(k, hp.back(), N));
      }
      Value scales = int8State ? k.arg(8) : Value();
      const StateOperand stateIn{k.arg(7), scales}, stateOut{k.arg(stateArg), scales};
      Value gn = mulC(k, g, N);
      // The lane's state elements n_j = lane + 32 j (ragged: the last may
      // not exist; it then holds 0 and adds +0 to the lane's sum, which
      // leaves it unchanged).
      SmallVector<Value> ns, valid;
      for (int64_t j = 0; j < perLane; ++j) {
        ns.push_back(add(k, lane, k.idx(32 * j)));
        valid.push_back(ragged && j + 1 == perLane
                            ? arith::CmpIOp::create(b, arith::CmpIPredicate::ult, ns[j],
                                                    k.idx(N)).getResult()
                            : Value());
      }
      auto loadAt = [&](Value ptr, Value base, int64_t j) -> Value {
        Value at = add(k, base, ns[j]);
        if (!valid[j])
          return k.load(f32, ptr, at);
        return k.select(valid[j], f32, [&] { return k.load(f32, ptr, at); },
                        [&] { return k.f32(0.0f); });
      };
      // The int8 state's scales of the lane's elements, loaded once for the
      // state's load and store (a ragged lane's missing element reads
      // element 0's: it is neither loaded nor stored).
      SmallVector<Value> stateScale;
      for (int64_t r = 0; r < R; ++r)
        for (int64_t j = 0; j < perLane; ++j) {
          Value n = valid[j] ? arith::SelectOp::create(b, valid[j], ns[j], k.idx(0)).getResult()
                             : ns[j];
          stateScale.push_back(stateIn.scale(k, add(k, scaleBase[r], n)));
        }
      if (preload && !preloadState)
        k.awaitPredecessor();
      auto loadState = [&](const StateOperand &state, int64_t r, int64_t j) -> Value {
        Value at = add(k, stateBase[r], ns[j]), scale = stateScale[r * perLane + j];
        if (!valid[j])
          return state.loadScaled(k, at, scale);
        return k.select(valid[j], f32, [&] { return state.loadScaled(k, at, scale); },
                        [&] { return k.f32(0.0f); });
      };
      auto storeState = [&](Value v, const StateOperand &state, int64_t r, int64_t j) {
        Value at = add(k, stateBase[r], ns[j]), scale = stateScale[r * perLane + j];
        if (!valid[j])
          return state.storeScaled(k, v, at, scale);
        k.ifThen(valid[j], [&] { state.storeScaled(k, v, at, scale); });
      };

      // What one token reads (independent of the state, so a warp issues
      // the loads of several tokens before their recurrence steps).
      struct TokenInputs {
        SmallVector<Value> x, Bn, Cn;
        Value dtRaw;
      };
      auto loadToken = [&](Value row) {
        TokenInputs in;
        for (int64_t r = 0; r < R; ++r)
          in.x.push_back(k.load(f32, k.arg(0), add(k, mulC(k, row, H * P), hp[r])));
        in.dtRaw = k.load(f32, k.arg(1), add(k, mulC(k, row, H), h));
        Value bcBase = add(k, mulC(k, row, G * N), gn);
        for (int64_t j = 0; j < perLane; ++j) {
          in.Bn.push_back(loadAt(k.arg(2), bcBase, j));
          in.Cn.push_back(loadAt(k.arg(3), bcBase, j));
        }
        return in;
      };
      // One token of the recurrence at sequence row `row` (= b * L + t):
      // state[r * perLane + j] in registers, y stored by lane 0.
      // One token of the recurrence at row `row` (= b): state[r * perLane + j]
      // in registers, y stored by lane 0. No dt limit (as ref::ssdStep).
      auto token = [&](Value row, const TokenInputs &in, ValueRange state) {
        Value dtv = softplus(k, arith::AddFOp::create(b, in.dtRaw, dtBias));
        Value decay = exp(k, fmul(k, dtv, A));
        // row[n] * decay + B * dt * x, then C . h in the warp order, as
        // ref::ssdStep.
        SmallVector<Value> next, y;
        for (int64_t r = 0; r < R; ++r) {
          Value acc = k.f32(0.0f);
          for (int64_t j = 0; j < perLane; ++j) {
            next.push_back(fadd(k, fmul(k, state[r * perLane + j], decay),
                                fmul(k, fmul(k, in.Bn[j], dtv), in.x[r])));
            acc = fadd(k, acc, fmul(k, in.Cn[j], next.back()));
          }
          y.push_back(fadd(k, warpSum(k, acc), fmul(k, D[r], in.x[r])));
        }
        k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, k.idx(0)), [&] {
          for (int64_t r = 0; r < R; ++r)
            k.store(y[r], k.arg(yArg), add(k, mulC(k, row, H * P), hp[r]));
        });
        return next;
      };

      SmallVector<Value> state;
      for (int64_t r = 0; r < R; ++r)
        for (int64_t j = 0; j < perLane; ++j)
          state.push_back(loadState(stateIn, r, j));
      if (preloadState)
        k.awaitPredecessor();
      state = token(bIdx, loadToken(bIdx), state);
      for (int64_t r = 0; r < R; ++r)
        for (int64_t j = 0; j < perLane; ++j)
          storeState(state[r * perLane + j], stateOut, r, j);
    });
  });
  return success();
}

//===----------------------------------------------------------------------===//
// Mamba1 selective scan
//===----------------------------------------------------------------------===//

LogicalResult emitSelective(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  const bool step = launch.op == "selective_step";
  const bool int8State = step && launch.flag("state_int8");
  const plan::Buffer &x = ctx.operand(0);
  const plan::Buffer &aLog = ctx.operand(5);
  if (!staticTrailing(x) || !staticTrailing(ctx.operand(2)) ||
      aLog.shape.size() != 2 || !aLog.shape[0].isConstant() ||
      !aLog.shape[1].isConstant())
    return emitError(loc) << launch.op
                          << ": expected static E and N (x [.., E], A_log [E, N])";
  const int64_t E = ctx.dim(5, 0), N = ctx.dim(5, 1);
  if (ctx.dim(0, -1) != E || ctx.dim(2, -1) != N || ctx.dim(3, -1) != N)
    return emitError(loc) << launch.op << ": inconsistent shapes";
  std::string name = launch.op + "_e" + std::to_string(E) + "_n" +
                     std::to_string(N) + (int8State ? "_qstate" : "");

  const int numWarps = 4;
  plan::ShapeExpr batch = x.shape[0];
  if (step) {
    launch.scalars = {batch};
  } else {
    if (x.shape.size() != 3)
      return emitError(loc) << "selective_scan: expected x [B, L, E]";
    launch.scalars = {batch, x.shape[1]};
  }
  ctx.gridFor(mulExpr(batch, plan::ShapeExpr(E)), numWarps);

  // selective_scan: x, dt, B, C, z, A_log, D, dt_bias, y, state; batch, seqlen.
  // selective_step: x, dt, B, C, z, A_log, D, dt_bias, state_in,
  //                 [state_scales,] y, state_out; batch.
  const unsigned q = int8State ? 1 : 0;
  const unsigned yArg = step ? 9 + q : 8, stateArg = step ? 10 + q : 9;
  const unsigned batchArg = step ? 11 + q : 10;
  ctx.useKernel(name, ctx.operandArgs(step ? 1 : 2), numWarps,
                [&](KernelBuilder &k) {
    auto &b = k.b();
    Type f32 = b.getF32Type();
    Value i = k.globalIdx(); // b * E + e
    Value total = mulC(k, k.argIndex(batchArg), E);
    Value inBounds =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, total);
    k.ifThen(inBounds, [&] {
      Value e = arith::RemUIOp::create(b, i, k.idx(E));
      Value bIdx = arith::DivUIOp::create(b, i, k.idx(E));
      Value dtBias = k.load(f32, k.arg(7), e);
      Value D = k.load(f32, k.arg(6), e);
      Value stateBase = mulC(k, i, N); // state[b, e, :]
      Value aBase = mulC(k, e, N);

      // The state [B, E, N]: an int8 one has scales per element of [E, N].
      Value scales = int8State ? k.arg(9) : Value();
      const StateOperand stateOut{k.arg(stateArg), scales};
      // One token at sequence row `row` (= b * L + t).
      auto token = [&](Value row, const StateOperand &stateIn) {
        Value xi = add(k, mulC(k, row, E), e);
        Value xv = k.load(f32, k.arg(0), xi);
        Value dtv = softplus(
            k, arith::AddFOp::create(b, k.load(f32, k.arg(1), xi), dtBias));
        Value bcBase = mulC(k, row, N);
        SmallVector<Value> acc = k.forLoop(
            k.idx(0), k.idx(N), k.idx(1), ValueRange{k.f32(0.0f)},
            [&](Value n, ValueRange iter) -> SmallVector<Value> {
              Value A = arith::NegFOp::create(
                  b, exp(k, k.load(f32, k.arg(5), add(k, aBase, n))));
              Value decay = exp(k, fmul(k, dtv, A));
              Value s = add(k, stateBase, n);
              Value bc = add(k, bcBase, n);
              Value old = stateIn.load(k, s, add(k, aBase, n));
              Value Bn = k.load(f32, k.arg(2), bc);
              Value Cn = k.load(f32, k.arg(3), bc);
              // decay * h + dt * B * x, as ref::updateChannel.
              Value hn = fadd(k, fmul(k, decay, old),
                              fmul(k, fmul(k, dtv, Bn), xv));
              stateOut.store(k, hn, s, add(k, aBase, n));
              return {fadd(k, iter[0], fmul(k, hn, Cn))};
            });
        Value z = k.load(f32, k.arg(4), xi);
        Value y = fmul(k, fadd(k, acc[0], fmul(k, D, xv)), silu(k, z));
        k.store(y, k.arg(yArg), xi);
      };

      if (step) {
        token(bIdx, StateOperand{k.arg(8), scales});
        return;
      }
      k.forLoop(k.idx(0), k.idx(N), k.idx(1), [&](Value n) {
        k.store(k.f32(0.0f), k.arg(stateArg), add(k, stateBase, n));
      });
      Value L = k.argIndex(11);
      Value rowBase = mul(k, bIdx, L);
      k.forLoop(k.idx(0), L, k.idx(1), [&](Value t) {
        token(add(k, rowBase, t), stateOut);
      });
    });
  });
  return success();
}

} // namespace

LogicalResult emitScan(KernelContext &ctx, Location loc) {
  const std::string &op = ctx.getLaunch().op;
  if (op == "ssd_step")
    return emitSSD(ctx, loc);
  if (op == "selective_scan" || op == "selective_step")
    return emitSelective(ctx, loc);
  return emitError(loc) << "no scan kernel for '" << op << "'";
}

} // namespace mlir::quamba::codegen
