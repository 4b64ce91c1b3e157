//===- Norms.cpp - RMSNorm, fused add + RMSNorm, grouped gated RMSNorm ----===//
//
// One block per row (per (row, group) for gated_rms_norm) of T =
// ref::normThreads(n) threads, n the values normalised together: thread t
// owns the values t, t + T, ... (about 8). It issues all its loads first
// (they are independent, so they are in flight together), accumulates the
// squares in ascending order, and the block adds the partials in
// ref::blockOrderSum's order (warp xor butterflies, then the warp totals in
// warp order through shared memory), so every thread holds the same total:
//   scale = 1 / sqrt(sum / n + eps)   (div.rn, sqrt.rn: correctly rounded)
//   out[i] = v[i] * scale * weight[i]
// with v = x (rms_norm); v = x + residual, also stored to residual_out
// (add_rms_norm); v = y * silu(z), silu(v) = v / (1 + exp(-v))
// (gated_rms_norm). The values stay in registers between the two phases.
// The operations and their order are ref::rmsNorm's & co.: bit-identical.
// Epilogues (LaunchOps.h): quantize_output stores out as int8 codes
// (quantizeInt8, the quantize launch's function); gated_rms_norm's hadamard
// has one block per row normalise all its groups into shared memory and run
// HadamardRow on it (mamba2's gated norm, Hadamard and quantize before
// out_proj in one launch: no f32 row written and read back twice).
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/HadamardRow.h"
#include "codegen/kernels/Kernels.h"
#include "codegen/kernels/ScalarMath.h"
#include "runtime/reference/FloatSemantics.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include <cstdio>
#include <cstring>

namespace mlir::quamba::codegen {
namespace {

constexpr int kWarp = 32;
/// Registers a thread keeps per operand (rows up to 1024 * 64 values).
constexpr int64_t kMaxValuesPerThread = 64;


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
  const bool hadamard = plan::hasHadamardEpilogue(launch);
  const std::optional<plan::QuantizedOutputOperands> quantized =
      plan::quantizedOutputOperands(launch);
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
  const int64_t threads = ::quamba::ref::normThreads(groupSize);
  const int64_t perThread = (groupSize + threads - 1) / threads;
  // Values stay in registers between the sum and the scaling.
  if (perThread > kMaxValuesPerThread)
    return emitError(loc) << op << ": rows of " << groupSize
                          << " values exceed the norm kernel's "
                          << threads * kMaxValuesPerThread;
  // Operands: rms_norm x, weight, [scales], out; add_rms_norm x, residual,
  // weight, [scales], out, residual_out; gated_rms_norm y, z, weight,
  // [factor], [scales], out.
  const unsigned weightArg = (add || gated) ? 2 : 1;
  const unsigned outArg = quantized ? quantized->out : weightArg + 1 + (hadamard ? 1 : 0);
  const unsigned rowsArg = add ? outArg + 2 : outArg + 1;
  if (ctx.dim(weightArg, -1) != dim)
    return emitError(loc) << op << ": weight size " << ctx.dim(weightArg, -1)
                          << " differs from the row size " << dim;
  if (quantized && ctx.dim(quantized->scales, -1) != dim)
    return emitError(loc) << op << ": quantize scales of " << ctx.dim(quantized->scales, -1)
                          << " for rows of " << dim;

  const int64_t groups = dim / groupSize;
  // A Hadamard epilogue needs the whole row in one block: the block then
  // normalises every group of it, threads [g * T, (g + 1) * T) group g
  // (T a multiple of 32, so each group's warps and their order are the
  // one-group kernel's), into a shared row the transform runs on.
  const int64_t groupsPerBlock = hadamard ? groups : 1;
  FailureOr<HadamardRow> rotation;
  if (hadamard) {
    rotation = HadamardRow::get(dim, loc);
    if (failed(rotation))
      return failure();
    if (ctx.dim(weightArg + 1, 0) != rotation->m)
      return emitError(loc) << op << ": hadamard factor is not " << rotation->m << "x"
                            << rotation->m;
    if (groupsPerBlock * threads > 1024 || dim > HadamardRow::kMaxSharedRow)
      return emitError(loc) << op << ": a Hadamard epilogue needs the row of " << dim
                            << " in one block (" << groupsPerBlock * threads
                            << " threads, at most 1024; at most "
                            << HadamardRow::kMaxSharedRow << " values)";
  }
  const int warpsPerGroup = static_cast<int>(threads / kWarp);
  const int numWarps = static_cast<int>(groupsPerBlock) * warpsPerGroup;
  plan::ShapeExpr rows = ctx.rows(0);
  launch.scalars = {rows};

  std::string name = op + "_d" + std::to_string(dim);
  if (gated)
    name += "_g" + std::to_string(groupSize);
  name += "_eps" + floatBits(eps);
  if (hadamard)
    name += "_hadamard";
  if (quantized)
    name += "_q8";
  // The norm weights and quantize scales are loaded before the wait for
  // the previous kernel where they are weight buffers (no launch writes
  // them; KernelBuilder::awaitPredecessor), so their DRAM latency overlaps
  // that kernel instead of adding to the one block's chain.
  const bool preload = ctx.areWeights(
      {static_cast<int>(weightArg), quantized && !hadamard ? quantized->scales : -1});
  if (preload)
    name += "_pw";

  ctx.useKernel(name, ctx.operandArgs(1), numWarps, [&](KernelBuilder &k) {
    auto &b = k.b();
    Type f32 = b.getF32Type();
    Value blockTid = k.threadIdx();
    Value block = k.blockIdx();
    const int64_t blocksPerRow = groups / groupsPerBlock;
    Value row = arith::DivUIOp::create(b, block, k.idx(blocksPerRow));
    // This thread's group within the block and index within the group.
    Value groupInBlock = groupsPerBlock > 1
                             ? arith::DivUIOp::create(b, blockTid, k.idx(threads)).getResult()
                             : k.idx(0);
    Value tid = groupsPerBlock > 1
                    ? arith::RemUIOp::create(b, blockTid, k.idx(threads)).getResult()
                    : blockTid;
    Value group = arith::AddIOp::create(
        b,
        arith::MulIOp::create(b, arith::RemUIOp::create(b, block, k.idx(blocksPerRow)),
                              k.idx(groupsPerBlock)),
        groupInBlock);
    // Block-uniform: the barriers inside are reached by the whole block.
    Value inBounds = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row,
                                           k.argIndex(rowsArg));
    k.ifThen(inBounds, [&] {
      Value groupStart = arith::MulIOp::create(b, group, k.idx(groupSize));
      Value rowStart = arith::MulIOp::create(b, row, k.idx(dim));
      Value base = arith::AddIOp::create(b, rowStart, groupStart);
      auto mulf = [&](Value x, Value y) {
        return arith::MulFOp::create(b, x, y).getResult();
      };

      // Value j of this thread is element tid + j * threads of the group;
      // only the last can fall outside it.
      SmallVector<Value> index, valid;
      for (int64_t j = 0; j < perThread; ++j) {
        index.push_back(arith::AddIOp::create(b, tid, k.idx(j * threads)));
        bool full = j + 1 < perThread || groupSize % threads == 0;
        valid.push_back(full ? Value() : arith::CmpIOp::create(
                                             b, arith::CmpIPredicate::ult,
                                             index.back(), k.idx(groupSize)));
      }
      // A load of operand `arg` at element j (0 where it does not exist).
      auto loadAt = [&](unsigned arg, int64_t j, Value offset) -> Value {
        Value at = arith::AddIOp::create(b, offset, index[j]);
        if (!valid[j])
          return k.load(f32, k.arg(arg), at);
        return k.select(valid[j], f32, [&] { return k.load(f32, k.arg(arg), at); },
                        [&] { return k.f32(0.0f); });
      };
      // Runs `body` for element j where it exists.
      auto ifValid = [&](int64_t j, function_ref<void()> body) {
        if (!valid[j])
          return body();
        k.ifThen(valid[j], body);
      };
      auto storeAt = [&](Value v, unsigned arg, int64_t j) {
        ifValid(j, [&] { k.store(v, k.arg(arg), arith::AddIOp::create(b, base, index[j])); });
      };

      // Every load first, then the arithmetic in the reference's order.
      SmallVector<Value> first, second, weight, quantScale;
      for (int64_t j = 0; j < perThread; ++j) {
        weight.push_back(loadAt(weightArg, j, groupStart));
        // The quantize scales of this thread's outputs, here rather than
        // after the sum: a load behind each (possibly aliasing) store
        // measured 7.0 us for add_rms_norm d2560 (H200), 4.2 more.
        if (quantized && !hadamard)
          quantScale.push_back(loadAt(quantized->scales, j, groupStart));
      }
      if (preload)
        k.awaitPredecessor();
      for (int64_t j = 0; j < perThread; ++j) {
        first.push_back(loadAt(0, j, base));
        if (add || gated)
          second.push_back(loadAt(1, j, base));
      }
      SmallVector<Value> values;
      Value sum = k.f32(0.0f);
      for (int64_t j = 0; j < perThread; ++j) {
        Value v = first[j];
        if (add) {
          v = arith::AddFOp::create(b, v, second[j]);
          storeAt(v, outArg + 1, j);
        } else if (gated) {
          v = mulf(v, silu(k, second[j]));
        }
        values.push_back(v);
        sum = arith::AddFOp::create(b, sum, mulf(v, v));
      }
      sum = warpSum(k, sum);
      if (numWarps > 1) {
        // Warp totals through shared memory; every thread adds its group's
        // in warp order.
        Value totals = k.sharedArray("warp_totals", f32, numWarps);
        Value warp = arith::DivUIOp::create(b, blockTid, k.idx(kWarp));
        Value lane = arith::RemUIOp::create(b, blockTid, k.idx(kWarp));
        k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane,
                                       k.idx(0)),
                 [&] { k.store(sum, totals, warp); });
        k.barrier();
        Value firstWarp = arith::MulIOp::create(b, groupInBlock, k.idx(warpsPerGroup));
        sum = k.load(f32, totals, firstWarp);
        for (int w = 1; w < warpsPerGroup; ++w)
          sum = arith::AddFOp::create(
              b, sum, k.load(f32, totals, arith::AddIOp::create(b, firstWarp, k.idx(w))));
      }
      Value scale = inverseRms(k, sum, groupSize, eps);
      if (!hadamard) {
        // out[i] = v * scale * weight, or its int8 code.
        for (int64_t j = 0; j < perThread; ++j)
          ifValid(j, [&] {
            Value v = mulf(mulf(values[j], scale), weight[j]);
            if (quantized)
              v = quantizeInt8(k, v, quantScale[j]);
            k.store(v, k.arg(outArg), arith::AddIOp::create(b, base, index[j]));
          });
        return;
      }
      // The normalised row into shared memory, then ref::hadamard of it.
      Value work = k.sharedArray("hadamard_row", f32, dim);
      for (int64_t j = 0; j < perThread; ++j)
        ifValid(j, [&] {
          k.store(mulf(mulf(values[j], scale), weight[j]), work,
                  arith::AddIOp::create(b, groupStart, index[j]));
        });
      k.barrier();
      rotation->emit(k, work, [](Value i) { return i; }, /*shared=*/true,
                     [&](ArrayRef<Value> columns, ArrayRef<Value> v) {
                       storeRowOutputs(k, columns, v, k.arg(outArg), rowStart,
                                       quantized ? k.arg(quantized->scales) : Value());
                     });
    });
  });
  launch.grid[0] = mulExpr(rows, plan::ShapeExpr(groups / groupsPerBlock));
  launch.grid[1] = plan::ShapeExpr(1);
  launch.grid[2] = plan::ShapeExpr(1);
  return success();
}

} // namespace mlir::quamba::codegen
