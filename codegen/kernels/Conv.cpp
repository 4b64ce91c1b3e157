//===- Conv.cpp - depthwise causal conv1d kernels, prefill and step -------===//
//
// causal_conv1d: one thread per (b, c) and run of 16 tokens (grid: channel
// blocks, token runs, batch), the K weights and the last K inputs in
// registers. Each output sums the bias, then the taps k = 0..K-1 (oldest
// input first, taps before the sequence's start skipped), as
// ref::causalConv1d does, and applies SiLU when asked. The thread of the
// last token (t = L-1) of each (b, c) also writes the final conv state
// state[b, c, :] = the last K inputs, zero-padded on the left.
//
// causal_conv1d_step: one thread per (b, c). It reads the window
// state_in[b, c, 1..K-1] followed by x[b, c], writes it to state_out (the
// rolled state) and computes y[b, c] from it in the same order as
// ref::causalConv1dStep. An int8 state (state_int8) is dequantized where it
// is read and the rolled state quantized where it is written.
//
// Kernels are specialised on C, K, silu, has_bias and a split epilogue (y
// stored as its parts, LaunchOps.h); B and L are i32 scalars.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/Kernels.h"
#include "codegen/kernels/ScalarMath.h"

#include "mlir/Dialect/Math/IR/Math.h"

namespace mlir::quamba::codegen {

namespace {

/// Tokens of one causal_conv1d thread.
constexpr int64_t kConvTokens = 16;

Value mulAdd(KernelBuilder &k, Value acc, Value a, Value c) {
  auto &b = k.b();
  return arith::AddFOp::create(b, acc, arith::MulFOp::create(b, a, c));
}

/// The parameters a conv kernel is specialised on, for kernel names.
std::string convParams(int64_t channels, int64_t kernel, bool useSilu, bool hasBias) {
  return "c" + std::to_string(channels) + "_k" + std::to_string(kernel) + "_silu" +
         (useSilu ? "1" : "0") + "_bias" + (hasBias ? "1" : "0");
}

} // namespace

FailureOr<ConvStepArgs> convStepArgs(KernelContext &ctx, const plan::Launch &conv,
                                     ArrayRef<int> argOf, Location loc) {
  ConvStepArgs a;
  const plan::Buffer &weight = ctx.operand(argOf[2]);
  if (weight.shape.size() != 2 || !weight.shape[0].isConstant() || !weight.shape[1].isConstant())
    return emitError(loc) << "causal_conv1d_step: expected a static weight [C, K]";
  a.channels = ctx.dim(argOf[2], 0);
  a.kernel = ctx.dim(argOf[2], 1);
  if (a.channels <= 0 || a.kernel <= 0)
    return emitError(loc) << "causal_conv1d_step: empty weight";
  a.silu = conv.flag("silu");
  a.hasBias = conv.flag("has_bias");
  a.stateIn = argOf[1];
  a.weight = argOf[2];
  a.bias = argOf[3];
  if (std::optional<plan::Int8StateOperands> state = plan::int8StateOperands(conv))
    a.scales = argOf[state->scales];
  a.parts = splitSizesOf(conv);
  const int y = plan::epilogueOutputOperand(conv);
  for (int operand : requantizeScaleOperands(conv, y))
    a.requant.push_back(operand >= 0 ? argOf[operand] : -1);
  a.out = argOf[y];
  a.stateOut = argOf.back();
  return a;
}

std::string ConvStepArgs::name() const {
  std::string name = convParams(channels, kernel, silu, hasBias) + (scales >= 0 ? "_qstate" : "");
  for (size_t j = 0; j < parts.size(); ++j)
    name += (j ? "x" : "_split") + std::to_string(parts[j]);
  if (llvm::any_of(requant, [](int arg) { return arg >= 0; })) {
    name += "_rq";
    for (int arg : requant)
      name += arg >= 0 ? "1" : "0";
  }
  return name;
}

ConvStepChannel loadConvStepChannel(KernelBuilder &k, const ConvStepArgs &a, Value seq,
                                    Value c) {
  auto &b = k.b();
  Type f32 = b.getF32Type();
  ConvStepChannel ch;
  Value scales = a.scales >= 0 ? k.arg(a.scales) : Value();
  const StateOperand stateIn{k.arg(a.stateIn), scales};
  Value i = arith::AddIOp::create(b, arith::MulIOp::create(b, seq, k.idx(a.channels)), c);
  Value stateBase = arith::MulIOp::create(b, i, k.idx(a.kernel));
  Value wBase = arith::MulIOp::create(b, c, k.idx(a.kernel));
  ch.bias = a.hasBias ? k.load(f32, k.arg(a.bias), c) : k.f32(0.0f);
  for (int64_t tap = 0; tap < a.kernel; ++tap) {
    if (tap + 1 < a.kernel)
      ch.window.push_back(stateIn.load(k, arith::AddIOp::create(b, stateBase, k.idx(tap + 1)),
                                       arith::AddIOp::create(b, wBase, k.idx(tap + 1))));
    ch.weights.push_back(
        k.load(f32, k.arg(a.weight), arith::AddIOp::create(b, wBase, k.idx(tap))));
  }
  ch.y = prepareOutput(k, seq, c, a.out, a.channels, a.parts, a.requant);
  return ch;
}

void storeConvStepChannel(KernelBuilder &k, const ConvStepArgs &a, const ConvStepChannel &ch,
                          Value seq, Value c, Value x) {
  auto &b = k.b();
  Value scales = a.scales >= 0 ? k.arg(a.scales) : Value();
  const StateOperand stateOut{k.arg(a.stateOut), scales};
  Value i = arith::AddIOp::create(b, arith::MulIOp::create(b, seq, k.idx(a.channels)), c);
  Value stateBase = arith::MulIOp::create(b, i, k.idx(a.kernel));
  Value wBase = arith::MulIOp::create(b, c, k.idx(a.kernel));
  // The rolled window (state_in[1..K-1], x) to state_out, and y: the bias,
  // then the taps oldest first, as ref::causalConv1dStep.
  Value acc = ch.bias;
  for (int64_t tap = 0; tap < a.kernel; ++tap) {
    Value v = tap + 1 < a.kernel ? ch.window[tap] : x;
    stateOut.store(k, v, arith::AddIOp::create(b, stateBase, k.idx(tap)),
                   arith::AddIOp::create(b, wBase, k.idx(tap)));
    acc = mulAdd(k, acc, ch.weights[tap], v);
  }
  if (a.silu)
    acc = silu(k, acc);
  storeOutput(k, ch.y, acc);
}

void emitConvStepChannel(KernelBuilder &k, const ConvStepArgs &a, Value seq, Value c, Value x) {
  storeConvStepChannel(k, a, loadConvStepChannel(k, a, seq, c), seq, c, x);
}

LogicalResult emitConv(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  const bool step = launch.op == "causal_conv1d_step";
  const bool useSilu = launch.flag("silu");
  const bool hasBias = launch.flag("has_bias");
  const unsigned weightOperand = step ? 2 : 1;
  const plan::Buffer &x = ctx.operand(0);
  const plan::Buffer &weight = ctx.operand(weightOperand);
  if (x.shape.size() < 2 || weight.shape.size() != 2 ||
      !x.shape.back().isConstant() || !weight.shape[0].isConstant() ||
      !weight.shape[1].isConstant())
    return emitError(loc) << launch.op
                          << ": expected x [B, L, C] and weight [C, K] with "
                             "static C and K";
  const int64_t channels = ctx.dim(0, -1);
  const int64_t kernel = ctx.dim(weightOperand, 1);
  if (ctx.dim(weightOperand, 0) != channels || kernel <= 0)
    return emitError(loc) << launch.op << ": weight is not [" << channels
                          << ", K]";
  const int numWarps = 4;
  // Requantized parts of y: their scales are the last inputs (`r` of them).
  const unsigned r = ctx.requantizedPartCount();
  // y may be split (LaunchOps.h): `extra` more operands before the state.
  const SmallVector<int64_t> parts = ctx.splitSizes();
  const unsigned extra = parts.size() > 1 ? parts.size() - 1 : 0;

  if (step) {
    // x[B, 1, C] is the same memory as [B, C].
    plan::ShapeExpr batch = x.shape[0];
    launch.scalars = {batch};
    ctx.gridFor(mulExpr(batch, plan::ShapeExpr(channels)), numWarps);
    SmallVector<int> argOf;
    for (unsigned i = 0; i < launch.operands.size(); ++i)
      argOf.push_back(i);
    FailureOr<ConvStepArgs> args = convStepArgs(ctx, launch, argOf, loc);
    if (failed(args))
      return failure();
    const std::string name = launch.op + "_" + args->name();
    ctx.useKernel(name, ctx.operandArgs(1), numWarps, [&](KernelBuilder &k) {
      auto &b = k.b();
      Value i = k.globalIdx(); // b * C + c
      Value total = arith::MulIOp::create(b, k.argIndex(launch.operands.size()), k.idx(channels));
      Value inBounds = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, total);
      k.ifThen(inBounds, [&] {
        emitConvStepChannel(k, *args, arith::DivUIOp::create(b, i, k.idx(channels)),
                            arith::RemUIOp::create(b, i, k.idx(channels)),
                            k.load(b.getF32Type(), k.arg(0), i));
      });
    });
    return success();
  }

  if (x.shape.size() != 3)
    return emitError(loc) << "causal_conv1d: expected x [B, L, C]";
  std::string name = launch.op + "_" + convParams(channels, kernel, useSilu, hasBias) +
                     ctx.splitSuffix() + ctx.requantizeSuffix();
  plan::ShapeExpr batch = x.shape[0], seqlen = x.shape[1];
  launch.scalars = {batch, seqlen};
  // A thread per (channel, run of kConvTokens tokens): the weights loaded
  // once, the last K inputs kept in registers as the run slides.
  const int64_t threads = 32 * numWarps;
  launch.grid[0] = plan::ShapeExpr((channels + threads - 1) / threads);
  launch.grid[1] = *plan::ShapeExpr::parse("cdiv(L," + std::to_string(kConvTokens) + ")");
  launch.grid[2] = batch;
  name += "_t" + std::to_string(kConvTokens);
  // Operands: x, weight, bias, y, state; scalars batch, seqlen.
  ctx.useKernel(name, ctx.operandArgs(2), numWarps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Type f32 = b.getF32Type();
    auto lt = [&](Value a, Value c) {
      return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, a, c);
    };
    Value c = arith::AddIOp::create(
        b, arith::MulIOp::create(b, k.blockIdx(gpu::Dimension::x), k.idx(threads)),
        k.threadIdx());
    Value t0 = arith::MulIOp::create(b, k.blockIdx(gpu::Dimension::y), k.idx(kConvTokens));
    Value bIdx = k.blockIdx(gpu::Dimension::z);
    Value L = k.argIndex(6 + r + extra);
    Value rowBase = arith::MulIOp::create(b, bIdx, L); // b * L
    k.ifThen(lt(c, k.idx(channels)), [&] {
      Value wBase = arith::MulIOp::create(b, c, k.idx(kernel));
      SmallVector<Value> w;
      for (int64_t tap = 0; tap < kernel; ++tap)
        w.push_back(k.load(f32, k.arg(1), arith::AddIOp::create(b, wBase, k.idx(tap))));
      Value bias = hasBias ? k.load(f32, k.arg(2), c) : k.f32(0.0f);
      // x[b, t, c], 0 outside [0, L) (read at a clamped index: no branch).
      auto input = [&](Value t, Value valid) {
        Value safe = arith::SelectOp::create(b, valid, t, k.idx(0));
        Value at = arith::AddIOp::create(
            b, arith::MulIOp::create(b, arith::AddIOp::create(b, rowBase, safe), k.idx(channels)), c);
        return arith::SelectOp::create(b, valid, k.load(f32, k.arg(0), at), k.f32(0.0f))
            .getResult();
      };
      // window[j] = x[t - (K-1) + j] for the current t; present[j]: that
      // token exists (t - (K-1) + j >= 0).
      SmallVector<Value> window, present;
      for (int64_t j = 0; j + 1 < kernel; ++j) {
        int64_t back = kernel - 1 - j;
        Value exists = arith::CmpIOp::create(b, arith::CmpIPredicate::uge, t0, k.idx(back));
        Value src = arith::SubIOp::create(b, arith::SelectOp::create(b, exists, t0, k.idx(back)),
                                          k.idx(back));
        window.push_back(input(src, exists));
        present.push_back(exists);
      }
      // The output's part, pointer and requantization scale depend on c
      // only: prepared once, each token one row further.
      const OutputSlot first = prepareOutput(k, arith::AddIOp::create(b, rowBase, t0), c, 3 + r,
                                             channels, parts, ctx.requantizeScaleArgs(3 + r));
      for (int64_t u = 0; u < kConvTokens; ++u) {
        Value t = arith::AddIOp::create(b, t0, k.idx(u));
        Value inSeq = lt(t, L);
        window.push_back(input(t, inSeq));
        present.push_back(inSeq);
        // The bias, then the taps oldest first; a tap before the start adds
        // nothing (as ref::causalConv1d, which skips it).
        Value acc = bias;
        for (int64_t tap = 0; tap < kernel; ++tap)
          acc = tap + 1 == kernel
                    ? mulAdd(k, acc, w[tap], window[tap])
                    : arith::SelectOp::create(b, present[tap],
                                              mulAdd(k, acc, w[tap], window[tap]), acc)
                          .getResult();
        if (useSilu)
          acc = silu(k, acc);
        OutputSlot slot = first;
        slot.index = arith::AddIOp::create(
            b, first.index, arith::MulIOp::create(b, first.rowStride, k.idx(u)));
        k.ifThen(inSeq, [&] { storeOutput(k, slot, acc); });
        // The last token of (b, c) writes state[b, c, :] = its window.
        Value last = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, t,
                                           arith::SubIOp::create(b, L, k.idx(1)));
        k.ifThen(last, [&] {
          Value bc = arith::AddIOp::create(b, arith::MulIOp::create(b, bIdx, k.idx(channels)), c);
          Value stateBase = arith::MulIOp::create(b, bc, k.idx(kernel));
          for (int64_t tap = 0; tap < kernel; ++tap)
            k.store(window[tap], k.arg(4 + r + extra),
                    arith::AddIOp::create(b, stateBase, k.idx(tap)));
        });
        window.erase(window.begin());
        present.erase(present.begin());
      }
    });
  });
  return success();
}

} // namespace mlir::quamba::codegen
