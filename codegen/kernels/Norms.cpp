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
// out_proj in one launch: no f32 row written and read back twice). On
// sm_90, for a decode batch below 16, a one-group row of 40 * 2^k values
// (mamba2-2.7b's 5120) is split over a cluster of 8 blocks instead
// (emitClusterGatedNormBody: the same operations in the same order, so the
// same bits; mamba2-2.7b W4A8 TPOT b1 1.82 -> 1.69 ms on an H200, where the
// one block ran 9.4 us a layer on one SM while the rest waited).
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/HadamardRow.h"
#include "codegen/kernels/Kernels.h"
#include "codegen/kernels/ScalarMath.h"
#include "codegen/NvptxTarget.h"
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

/// ref::blockOrderSum's total of each thread's `sum` over its group of
/// `warpsPerGroup` warps (group `groupInBlock` of the block: threads
/// [g * 32 * warpsPerGroup, ...)): warp xor butterflies, then the warp
/// totals in warp order through shared memory; every thread of the group
/// gets it. Every thread of the block must reach it (a barrier).
Value groupSum(KernelBuilder &k, Value sum, int warpsPerGroup, Value groupInBlock) {
  auto &b = k.b();
  sum = warpSum(k, sum);
  const int numWarps = k.blockSize() / kWarp;
  if (numWarps == 1)
    return sum;
  Value blockTid = k.threadIdx();
  Value totals = k.sharedArray("warp_totals", b.getF32Type(), numWarps);
  Value warp = arith::DivUIOp::create(b, blockTid, k.idx(kWarp));
  Value lane = arith::RemUIOp::create(b, blockTid, k.idx(kWarp));
  k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, k.idx(0)),
           [&] { k.store(sum, totals, warp); });
  k.barrier();
  Value firstWarp = arith::MulIOp::create(b, groupInBlock, k.idx(warpsPerGroup));
  sum = k.load(b.getF32Type(), totals, firstWarp);
  for (int w = 1; w < warpsPerGroup; ++w)
    sum = arith::AddFOp::create(
        b, sum, k.load(b.getF32Type(), totals, arith::AddIOp::create(b, firstWarp, k.idx(w))));
  return sum;
}

/// Blocks of the cluster a one-group gated norm + Hadamard row is split
/// over (the portable cluster size).
constexpr int64_t kClusterBlocks = 8;

/// Whether a one-group gated norm + Hadamard + quantize of rows of h.n
/// fits the cluster kernel: block c of the cluster owns values
/// [c * T, (c + 1) * T) with T = normThreads(n) = n / 8, which are the
/// values j = c of every one of the reference's T threads (so the sum can
/// keep its order), whole blocks of p for the butterflies, and p / 8 of
/// the columns for the m-point factor (m * p / 8 = T outputs, one a thread).
bool fitsCluster(const HadamardRow &h, int64_t threads) {
  return h.m > 1 && threads * kClusterBlocks == h.n && threads % h.p == 0 &&
         h.p % kClusterBlocks == 0 && threads <= 1024;
}

/// The body of the cluster kernel (emitNorm's preconditions and
/// fitsCluster hold): one row a cluster of kClusterBlocks blocks of T
/// threads, thread t of block c value e = c * T + t:
///   1. g = y * silu(z), its square into shared memory; cluster barrier;
///   2. every block adds, for each of its threads t, the squares of value
///      t of blocks 0..7 in order (ld.shared::cluster), then the block
///      sum: the reference's operations and order, so every block has the
///      one-block kernel's total bit for bit;
///   3. (g * scale) * weight into shared memory, the butterflies on the
///      block's T / p whole blocks of p; cluster barrier;
///   4. thread t = j * (p / 8) + r fetches chunk j's column c * p / 8 + r
///      from the block holding it; cluster barrier (no block leaves while
///      another reads its shared memory);
///   5. thread t = row * (p / 8) + r: output row * p + c * p / 8 + r of the
///      m-point factor, adds and subtracts in j order (x + (-v) is x - v,
///      the sign flipped through H_m's sign masks), times the scale,
///      quantized.
void emitClusterGatedNormBody(KernelBuilder &k, const HadamardRow &h, float eps,
                              unsigned weightArg, plan::QuantizedOutputOperands quantized,
                              unsigned rowsArg, bool preload) {
  auto &b = k.b();
  Type f32 = b.getF32Type(), i32 = b.getI32Type(), i64 = b.getI64Type();
  const int64_t T = k.blockSize(), C = kClusterBlocks, n = h.n, p = h.p;
  const int64_t cols = p / C, chunks = T / p;
  auto add = [&](Value x, Value y) { return arith::AddIOp::create(b, x, y).getResult(); };
  auto mul = [&](Value x, int64_t c) { return arith::MulIOp::create(b, x, k.idx(c)).getResult(); };
  auto div = [&](Value x, int64_t c) { return arith::DivUIOp::create(b, x, k.idx(c)).getResult(); };
  auto rem = [&](Value x, int64_t c) { return arith::RemUIOp::create(b, x, k.idx(c)).getResult(); };
  auto mulf = [&](Value x, Value y) { return arith::MulFOp::create(b, x, y).getResult(); };
  auto asI32 = [&](Value index) { return arith::IndexCastOp::create(b, i32, index).getResult(); };
  // ptr[index] of the cluster block `rank`'s copy of shared array ptr.
  auto loadRemote = [&](Value ptr, Value index, Value rank) {
    Value local = LLVM::GEPOp::create(b, ptr.getType(), f32, ptr,
                                      ValueRange{arith::IndexCastOp::create(b, i64, index)});
    return k.load(f32, k.sharedInClusterBlock(local, asI32(rank)), k.idx(0));
  };

  Value t = k.threadIdx();
  Value rank = rem(k.blockIdx(), C), row = div(k.blockIdx(), C);
  // Cluster-uniform: the barriers inside are reached by the whole cluster.
  Value inBounds = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, k.argIndex(rowsArg));
  k.ifThen(inBounds, [&] {
    Value rowStart = mul(row, n);
    Value e = add(mul(rank, T), t);
    // This thread's output (step 5) and the chunk/column it fetches (step 4)
    // share the split t = q * cols + r.
    Value q = div(t, cols), r = rem(t, cols);
    Value column = add(mul(rank, cols), r);
    Value out = add(mul(q, p), column);
    Value weight = k.load(f32, k.arg(weightArg), e);
    Value quantScale = k.load(f32, k.arg(quantized.scales), out);
    Value signs = k.load(i64, k.constantTable("hadamard_signs", h.signMasks()), q);
    if (preload)
      k.awaitPredecessor();

    // 1.
    Value g = mulf(k.load(f32, k.arg(0), add(rowStart, e)),
                   silu(k, k.load(f32, k.arg(1), add(rowStart, e))));
    Value squares = k.sharedArray("squares", f32, T);
    k.store(mulf(g, g), squares, t);
    k.clusterBarrier();
    // 2.
    Value sum = k.f32(0.0f);
    for (int64_t j = 0; j < C; ++j)
      sum = arith::AddFOp::create(b, sum, loadRemote(squares, t, k.idx(j)));
    sum = groupSum(k, sum, static_cast<int>(T / kWarp), k.idx(0));
    Value scale = inverseRms(k, sum, n, eps);
    // 3.
    Value work = k.sharedArray("hadamard_part", f32, T);
    k.store(mulf(mulf(g, scale), weight), work, t);
    k.barrier();
    h.emitButterflies(k, work, [](Value i) { return i; }, T);
    k.clusterBarrier();
    // 4. Chunk q's column: value (q % chunks) * p + column of block q / chunks.
    Value columns = k.sharedArray("hadamard_columns", f32, T);
    k.store(loadRemote(work, add(mul(rem(q, chunks), p), column), div(q, chunks)), columns, t);
    k.clusterBarrier();
    // 5.
    Value acc = k.f32(0.0f);
    for (int64_t j = 0; j < h.m; ++j) {
      Value v = k.load(f32, columns, add(k.idx(j * cols), r));
      Value bit = arith::TruncIOp::create(
          b, i32, arith::ShRUIOp::create(b, signs, arith::ConstantIntOp::create(b, j, 64)));
      Value flip = arith::ShLIOp::create(b, bit, k.i32(31));
      v = arith::BitcastOp::create(
          b, f32, arith::XOrIOp::create(b, arith::BitcastOp::create(b, i32, v), flip));
      acc = arith::AddFOp::create(b, acc, v);
    }
    Value code = quantizeInt8(k, mulf(acc, k.f32(h.scale)), quantScale);
    k.store(code, k.arg(quantized.out), add(rowStart, out));
  });
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

  // mamba2's one-group gated norm before out_proj (batch 1 decode: one row,
  // which one block would normalise, transform and quantize alone) over a
  // cluster of blocks sharing their shared memory.
  if (gated && hadamard && quantized && groups == 1 && isFewRowsDecode(ctx) &&
      supportsThreadBlockClusters(ctx.target()) && fitsCluster(*rotation, threads)) {
    name += "_cluster" + std::to_string(kClusterBlocks);
    ctx.useKernel(name, ctx.operandArgs(1), numWarps, [&](KernelBuilder &k) {
      k.setClusterSize(kClusterBlocks);
      emitClusterGatedNormBody(k, *rotation, eps, weightArg, *quantized, rowsArg, preload);
    });
    launch.grid[0] = mulExpr(rows, plan::ShapeExpr(kClusterBlocks));
    launch.grid[1] = plan::ShapeExpr(1);
    launch.grid[2] = plan::ShapeExpr(1);
    return success();
  }

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
      sum = groupSum(k, sum, warpsPerGroup, groupInBlock);
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
