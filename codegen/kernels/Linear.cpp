//===- Linear.cpp - dense and quantized linear layers ---------------------===//
//
// linear, linear_bias, linear_w8a8, linear_w4a8 and linear_w4a16 (LaunchOps.h):
// out[r, n] = sum_k x[r, k] * w[n, k] (+ bias[n]), weights in the PyTorch
// layout [N, K] (int4: [N, K/2] bytes, element 2i in the low nibble of byte
// i, 2i+1 in the high one; group scales [N, K/g]).
//
// The fp32 linear's weights may be f16 (quamba-cast-weights: --mode fp16),
// widened exactly on load (cvt.f32.f16); the x and the sums stay fp32.
//
// Two kernels, specialised on (op, K, N, group size, has_bias, f16 weights):
//
//  * "warp": one warp per block of C output columns and R rows (prefill:
//    R = 16, C = 1; decode: R = 1, C = 4 when N / 4 >= 2048 warps remain,
//    so each x chunk loaded serves 4 columns, else C = 1). Integer kinds
//    multiply int8 words with dp4a (exact int32 sums). W4A8 where 4 or 8 adjacent lanes read one group (group 128 or
//    256) decodes each group's 16 possible codes once, a table word a lane,
//    gathers the table by shuffles and looks the weights up with prmt
//    (LinearEmitter::lookupInt4Word: the same bits as decoding each weight;
//    mamba2-2.7b's in_proj 12.1 -> 10.7 us, out_proj 6.9 -> 6.2 on H200).
//    Each lane walks the reduction in chunks of 16
//    weight bytes (16-byte vector loads; rows are 16-byte aligned when the
//    chunk divides K: every plan buffer is its own allocation or a 256-byte
//    aligned arena range), issuing 8 weight-chunk loads (8 / C chunks of
//    each column) before their products so that 128 weight bytes per lane
//    are in flight, decoding (int4) or widening (f16) each chunk once for
//    the R rows, and accumulating one share per output in the same order
//    as a single output would; the warp sums each output's 32 partials with
//    xor shuffles and lane 0 runs the epilogues. Block = 4 warps; grid =
//    cdiv(cdiv(rows, R) * N / C, 4).
//  * "thread": one thread per output element, a plain loop over k in
//    ascending order. Used when K does not split into whole chunks.
//    Block = 128 threads; grid = cdiv(rows * N, 128).
//  * "mma" (prefill, and decode from batch kBatchedDecodeMinBatch): tensor
//    cores. linear_w8a8 / linear_w4a8 on mma.sync m16n8k32 .s8 (W4A8
//    decodes its int4 weights to int8 in registers first,
//    LinearEmitter::decodeInt4Words, exactly the reference's
//    dequantizeW4ToInt8): exact int32 sums, then the same epilogue. The fp32 linear with f16 weights on mma.sync m16n8k8 .tf32:
//    the f16 weights are exact in tf32 and x is split into two tf32 parts,
//    x = hi + lo (each rounded to nearest, ties away), two mmas per tile
//    ("2xTF32"), so each product is within 2^-21 relative of x * w and the
//    fp32 accumulation dominates the error, as in the GEMV (single TF32
//    would round x to 11 significant bits: 2^-12 relative, the f16
//    activations' precision). linear_w4a16 the same way with code - 8
//    (exact in tf32) as the weight: each group's sum starts from zero in an
//    inner loop, then total += sum * s[n, group] (two mmas a tile, no
//    per-weight multiply): the fp32 GEMV's result up to order and one
//    rounding per group, not ref::linearW4A16's bits. A warp computes a tile of 32 x 32 outputs
//    in prefill (2 x 4 mma tiles: each x load serves 4 tiles, each weight
//    load 2) and 16 x 8 in batched decode; each lane loads 16 or 32
//    contiguous bytes of each of its rows and columns per step (the K slots
//    of the mma are permuted alike for A and B, which a sum does not see).
//    Each lane issues the loads of 2 (prefill) or 4 (decode) steps before
//    their mmas. Batched decode has few tiles (mamba2-2.7b's out_proj: 320
//    at batch 16), so there the 4 warps of a block split K and add their
//    sums in warp order through shared memory (deterministic). Rows and
//    columns past the end read the last one and are not stored. Block = 4
//    warps (adjacent column tiles of one row tile, or one tile's K slices);
//    blocks walk the row tiles fastest.
//
// Decode's warp kernel whose weights, group scales, weight scales and bias
// are all weight buffers (never written by a launch) and fit one step of
// loads a lane (K <= 32 * kChunksInFlight / C chunks: mamba2-2.7b's in_proj
// and out_proj) issues those loads before it awaits the previous kernel
// (KernelBuilder::awaitPredecessor; kernel name "_pw"): launched with
// programmatic stream serialization, its resident warps fetch their weights
// while the previous kernel (a one-block norm) still runs. mamba2-2.7b TPOT
// at batch 1 on H200: W4A8 2.130 -> 1.966 ms, W8A8 1.851 -> 1.645 ms.
//
// Conv-step epilogue (decode, LaunchOps.h): the warp and thread kernels run
// causal_conv1d_step's channel (Conv.cpp, emitConvStepChannel) where they
// store a column of the step's part, on the value stored (requantized where
// the part is), so each output is computed once and the step's x never makes
// a round trip; the step's own kernel computes the same, bit for bit.
//
// All take the i32 scalar `rows`.
//
// Exactness (runtime/reference/QuantizedKernels.h): the integer paths
// (w8a8, w4a8) accumulate exact int32 sums, so the order does not matter and
// the result is bit-exact; the epilogue is t = xScale * wScale[n];
// y = float(acc) * t; y = y + bias[n] (only when has_bias), three separately
// rounded fp32 operations (arith.mulf / arith.addf without fastmath flags:
// never contracted to fma). The W4A8 weight decode is
// w8 = sat8(RNE(float(code - 8) * s~)) with NaN -> 0, as ref::saturateToInt8.
// w4a16 on the warp and thread kernels (decode below batch 16) sums in
// ref::linearW4A16's order (the warp order of
// runtime/reference/FloatSemantics.h over 32-weight chunks, or k ascending
// in the thread kernel), unfused: bit-exact; on the mma kernel (prefill,
// batched decode) it is the group-factored 2xTF32 sum above, held to the
// fp32 linear's tolerance by --check-kernels (exec::isExactLaunch). In
// models with int8 activations (W4AX) LaunchPlan.cpp marks it "exact" and
// it keeps the exact kernels everywhere. The fp32 linear may contract
// to fma and sums in another order than BLAS: equal to fp32 accumulation
// rounding only.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/LinearEmitter.h"
#include "codegen/kernels/LinearTiled.h"
#include "codegen/kernels/LinearWgmma.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <optional>

namespace mlir::quamba::codegen {

namespace {

using linear::Kind;
using linear::LinearEmitter;
using linear::LinearSpec;

/// Chunks (16 weight bytes each) a lane of the warp GEMV loads before it
/// multiplies: enough bytes in flight to approach DRAM bandwidth. 24 lets
/// mamba2-2.7b's out_proj (K = 5120, 20 chunks a lane) issue all its loads
/// at once: 10.2 us under ncu on H200 (54 % of DRAM bandwidth) vs 13.1 us
/// with 16 and 14.1 us with 8; in_proj (4 columns a warp) is unchanged.
constexpr int64_t kChunksInFlight = 24;

/// Rows of x one warp of the GEMV kernel multiplies with each weight chunk
/// it loads: prefill (rows = B * L) reads the weights cdiv(rows, this)
/// times instead of rows times. Decode keeps one row a warp: blocks of 4
/// rows measured 30.5 us instead of 18.9 for mamba2-2.7b's in_proj at
/// batch 1 (H200), where batch 1 is what decode is judged by.
constexpr int64_t kDecodeRowsPerWarp = 1;
/// Output columns one decode warp computes, reusing each x chunk it loads
/// for all of them (x is fp32: 2x the bytes of f16 weights, 8x int4's; one
/// column a warp re-read x from L1/L2 once per column).
constexpr int64_t kDecodeColsPerWarp = 4;
/// Fewest warps (per row) a decode GEMV keeps when it blocks columns.
constexpr int64_t kMinDecodeWarps = 2048;
constexpr int64_t kPrefillRowsPerWarp = 16;

/// Largest K for which an int8 dot product fits in int32
/// (ref::kMaxInt8DotLength).
constexpr int64_t kMaxInt8DotLength = 131071;


/// One thread per output element; k ascending.
void buildThreadKernel(KernelBuilder &k, const LinearSpec &s) {
  LinearEmitter e(k, s);
  auto &b = k.b();
  Value i = k.globalIdx();
  Value rows = k.argIndex(s.operands);
  Value total = arith::MulIOp::create(b, rows, k.idx(s.N));
  Value inBounds =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, total);
  k.ifThen(inBounds, [&] {
    e.loadXScale();
    Value r = arith::DivUIOp::create(b, i, k.idx(s.N));
    Value n = arith::RemUIOp::create(b, i, k.idx(s.N));
    Value xRow = arith::MulIOp::create(b, r, k.idx(s.K));
    Value acc;
    if (!s.int4()) {
      Value wRow = arith::MulIOp::create(b, n, k.idx(s.K));
      Type elem = s.kind == Kind::F32 ? e.f32 : e.i8;
      Type wElem = s.f16Weights ? Type(b.getF16Type()) : elem;
      acc = k.forLoop(
          k.idx(0), k.idx(s.K), k.idx(1), ValueRange{e.zero()},
          [&](Value kk, ValueRange iter) -> SmallVector<Value> {
            Value xv = k.load(elem, k.arg(s.x),
                              arith::AddIOp::create(b, xRow, kk));
            Value wv = k.load(wElem, k.arg(s.w),
                              arith::AddIOp::create(b, wRow, kk));
            if (s.f16Weights)
              wv = arith::ExtFOp::create(b, e.f32, wv);
            if (s.kind == Kind::W8A8) {
              xv = e.xElement(xv);
              wv = e.w8Element(wv);
            }
            return {e.mac(iter[0], xv, wv)};
          })[0];
    } else {
      // One packed byte (two elements) per iteration.
      Type xElem = s.kind == Kind::W4A8 ? e.i8 : e.f32;
      Value wRow = arith::MulIOp::create(b, n, k.idx(s.K / 2));
      acc = k.forLoop(
          k.idx(0), k.idx(s.K / 2), k.idx(1), ValueRange{e.zero()},
          [&](Value j, ValueRange iter) -> SmallVector<Value> {
            Value k0 = arith::MulIOp::create(b, j, k.idx(2));
            Value k1 = arith::AddIOp::create(b, k0, k.idx(1));
            Value sLo = e.groupScale(
                n, arith::DivUIOp::create(b, k0, k.idx(s.group)));
            Value sHi = s.group % 2 == 0
                            ? sLo
                            : e.groupScale(n, arith::DivUIOp::create(
                                                  b, k1, k.idx(s.group)));
            Value byte = k.load(e.i8, k.arg(s.w),
                                arith::AddIOp::create(b, wRow, j));
            auto [wLo, wHi] = e.decodeByte(byte, sLo, sHi);
            Value x0 = e.xElement(k.load(xElem, k.arg(s.x),
                                         arith::AddIOp::create(b, xRow, k0)));
            Value x1 = e.xElement(k.load(xElem, k.arg(s.x),
                                         arith::AddIOp::create(b, xRow, k1)));
            Value acc = e.mac(iter[0], x0, wLo);
            return {e.mac(acc, x1, wHi)};
          })[0];
    }
    e.store(prepareOutput(k, r, n, s.out, s.N, s.parts, s.requant), e.epilogue(acc, n), r, n);
  });
}

/// One warp per block of `colsPerWarp` output columns and `rowsPerWarp`
/// rows, 16-byte chunks of the weight rows per lane, xor-shuffle
/// reductions. Each weight chunk is loaded (and int4 decoded) once for all
/// the rows, each x chunk once for all the columns. Requires K % chunk == 0
/// (and for int4, a group size that is a multiple of the chunk) and
/// N % colsPerWarp == 0.
void buildWarpKernel(KernelBuilder &k, const LinearSpec &s, int numWarps, int64_t rowsPerWarp,
                     int64_t colsPerWarp) {
  LinearEmitter e(k, s);
  auto &b = k.b();
  const int64_t R = rowsPerWarp, C = colsPerWarp, colBlocks = s.N / C;
  Value tid = k.threadIdx();
  Value warp = arith::DivUIOp::create(b, tid, k.idx(32));
  Value lane = arith::RemUIOp::create(b, tid, k.idx(32));
  Value o = arith::AddIOp::create(
      b, arith::MulIOp::create(b, k.blockIdx(), k.idx(numWarps)), warp);
  Value rows = k.argIndex(s.operands);
  Value rowBlocks = arith::CeilDivUIOp::create(b, rows, k.idx(R));
  Value total = arith::MulIOp::create(b, rowBlocks, k.idx(colBlocks));
  Value inBounds =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ult, o, total);
  // The whole warp takes the same branches (o and the rows are
  // warp-uniform), so the shuffles below see every lane.
  k.ifThen(inBounds, [&] {
    // Columns vary fastest: the warps of a block of rows share its x
    // through L1. (Row blocks of one column adjacent instead, sharing the
    // weights, measured slower: mamba2-2.7b fp16 TTFT at 1024 tokens 1,392
    // vs 1,001 ms on H200; fp32 x of 16 rows outweighs a column's weights.)
    Value firstRow = arith::MulIOp::create(
        b, arith::DivUIOp::create(b, o, k.idx(colBlocks)), k.idx(R));
    Value firstCol = arith::MulIOp::create(
        b, arith::RemUIOp::create(b, o, k.idx(colBlocks)), k.idx(C));
    const int64_t chunk = s.chunk();
    const int64_t chunks = s.K / chunk;
    // Byte offsets of the rows.
    int64_t xElemBytes = (s.kind == Kind::F32 || s.kind == Kind::W4A16) ? 4 : 1;
    int64_t wRowBytes = s.weightRowBytes();
    SmallVector<Value> row, rowValid, xRow, col, wRow;
    for (int64_t j = 0; j < R; ++j) {
      row.push_back(arith::AddIOp::create(b, firstRow, k.idx(j)));
      rowValid.push_back(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row[j], rows));
      xRow.push_back(arith::MulIOp::create(b, row[j], k.idx(s.K * xElemBytes)));
    }
    for (int64_t c = 0; c < C; ++c) {
      col.push_back(arith::AddIOp::create(b, firstCol, k.idx(c)));
      wRow.push_back(arith::MulIOp::create(b, col[c], k.idx(wRowBytes)));
    }
    Type v16i8 = VectorType::get({16}, e.i8);
    Type v4f32 = VectorType::get({4}, e.f32);
    int64_t xVectors = chunk * xElemBytes / 16;
    Type xVecType = xElemBytes == 4 ? v4f32 : v16i8;
    int64_t perVector = xElemBytes == 4 ? 4 : 16;
    Type wType = s.kind == Kind::F32
                     ? (s.f16Weights ? Type(VectorType::get({8}, b.getF16Type())) : v4f32)
                     : v16i8;
    // One chunk of one column's weights: 16 bytes (and an int4 chunk's
    // group scale; the chunk lies in one group).
    struct ChunkWeights {
      Value w, scale;
    };
    auto loadWeights = [&](int64_t c, Value ch) {
      ChunkWeights loads;
      Value wOff = arith::AddIOp::create(b, wRow[c], arith::MulIOp::create(b, ch, k.idx(16)));
      loads.w = e.loadVector(wType, k.arg(s.w), wOff);
      if (s.int4())
        loads.scale = e.groupScale(
            col[c], arith::DivUIOp::create(b, arith::MulIOp::create(b, ch, k.idx(chunk)),
                                           k.idx(s.group)));
      return loads;
    };
    // The integer kinds multiply int8 words (dp4a): the 16-byte vector's
    // four i32 words as vector<4xi8>.
    Type v4i32 = VectorType::get({4}, e.i32);
    auto vectorWords = [&](Value v) {
      Value asI32 = LLVM::BitcastOp::create(b, v4i32, v);
      SmallVector<Value> words;
      for (int64_t i = 0; i < 4; ++i)
        words.push_back(e.extract(asI32, i));
      return words;
    };
    auto asInt8Word = [&](Value w) -> Value {
      return LLVM::BitcastOp::create(b, VectorType::get({4}, e.i8), w);
    };
    // The chunk's weights as the values the products take, in k order
    // (int4 decoded once for all rows): elements, or int8 words.
    // W4A8 where 4 or 8 adjacent lanes read chunks of one group (their
    // chunks are consecutive, ch = lane + 32 u): the group's 16-entry table
    // (decodeInt4Words of the codes themselves) built a word a lane and
    // gathered by 4 shuffles, then a lookup a weight word
    // (lookupInt4Word): ~2.2 instructions a weight instead of 3.4.
    const int64_t lanesPerGroup = s.int4() ? s.group / chunk : 0;
    const bool sharedTable = s.kind == Kind::W4A8 && (lanesPerGroup == 4 || lanesPerGroup == 8);
    auto groupTable = [&](Value scale) {
      Value member = arith::RemUIOp::create(b, lane, k.idx(lanesPerGroup));
      Value j = arith::IndexCastOp::create(b, e.i32, arith::RemUIOp::create(b, member, k.idx(4)));
      // Codes 4j .. 4j+3 in the nibbles of one half word.
      Value codes = arith::AddIOp::create(b, k.i32(0x3210), arith::MulIOp::create(b, j, k.i32(0x4444)));
      Value mine = LLVM::BitcastOp::create(b, e.i32, e.decodeInt4Words({codes}, 2, scale)[0]);
      Value firstLane = arith::IndexCastOp::create(
          b, e.i32, arith::SubIOp::create(b, lane, member));
      SmallVector<Value> table;
      for (int64_t i = 0; i < 4; ++i)
        table.push_back(gpu::ShuffleOp::create(b, mine, arith::AddIOp::create(b, firstLane, k.i32(i)),
                                               k.i32(32), gpu::ShuffleMode::IDX)
                            .getShuffleResult());
      return table;
    };
    auto weightValues = [&](const ChunkWeights &loads) {
      SmallVector<Value> w;
      if (s.integer()) {
        SmallVector<Value> words = vectorWords(loads.w);
        if (sharedTable) {
          SmallVector<Value> table = groupTable(loads.scale);
          for (Value word : words)
            llvm::append_range(w, e.lookupInt4Word(word, table));
          return w;
        }
        if (s.kind == Kind::W4A8)
          return e.decodeInt4Words(words, 16, loads.scale);
        for (Value word : words)
          w.push_back(asInt8Word(word));
        return w;
      }
      if (s.kind == Kind::F32) {
        for (int64_t i = 0; i < chunk; ++i) {
          Value v = e.extract(loads.w, i);
          w.push_back(s.f16Weights ? arith::ExtFOp::create(b, e.f32, v).getResult() : v);
        }
        return w;
      }
      for (int64_t i = 0; i < 16; ++i) { // W4A16
        auto [wLo, wHi] = e.decodeByte(e.extract(loads.w, i), loads.scale, loads.scale);
        w.push_back(wLo);
        w.push_back(wHi);
      }
      return w;
    };
    // Row j's x values of one chunk.
    auto xValues = [&](int64_t j, Value ch) {
      Value xBase = arith::AddIOp::create(
          b, xRow[j], arith::MulIOp::create(b, ch, k.idx(chunk * xElemBytes)));
      SmallVector<Value> xv, x;
      for (int64_t v = 0; v < xVectors; ++v)
        xv.push_back(e.loadVector(xVecType, k.arg(s.x),
                                  arith::AddIOp::create(b, xBase, k.idx(16 * v))));
      if (s.integer()) {
        for (Value v : xv)
          for (Value word : vectorWords(v))
            x.push_back(asInt8Word(word));
        return x;
      }
      for (int64_t i = 0; i < chunk; ++i)
        x.push_back(e.xElement(e.extract(xv[i / perVector], i % perVector)));
      return x;
    };
    // acc plus the products of one chunk, elements in ascending k (W8A8 /
    // W4A8: exact int32 sums, four products a dp4a).
    auto mac = [&](Value acc, ArrayRef<Value> x, ArrayRef<Value> w) {
      if (s.integer()) {
        for (auto [xw, ww] : llvm::zip_equal(x, w))
          acc = e.dot4(acc, xw, ww);
        return acc;
      }
      for (int64_t i = 0; i < chunk; ++i)
        acc = e.mac(acc, x[i], w[i]);
      return acc;
    };
    // Each lane walks its chunks ch = lane, lane + 32, ... in steps of
    // `inFlight` chunks (of every column): all their weight loads first,
    // then their products.
    const int64_t perLane = (chunks + 31) / 32;
    const int64_t maxInFlight = std::max<int64_t>(1, kChunksInFlight / C);
    const int64_t steps = (perLane + maxInFlight - 1) / maxInFlight;
    const int64_t inFlight = (perLane + steps - 1) / steps;
    // The weight loads of one step (chunks step0 + lane + 32 u, u <
    // inFlight, of every column; a chunk past the row loads the last chunk
    // again and is not added).
    struct StepLoads {
      SmallVector<SmallVector<ChunkWeights>> w;
      SmallVector<Value> chs, valid;
    };
    auto issueLoads = [&](Value step0) {
      StepLoads l;
      l.w.resize(inFlight);
      Value ch0 = arith::AddIOp::create(b, step0, lane);
      for (int64_t u = 0; u < inFlight; ++u) {
        Value ch = arith::AddIOp::create(b, ch0, k.idx(32 * u));
        l.valid.push_back(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, ch, k.idx(chunks)));
        l.chs.push_back(arith::MinUIOp::create(b, ch, k.idx(chunks - 1)));
        for (int64_t c = 0; c < C; ++c)
          l.w[u].push_back(loadWeights(c, l.chs.back()));
      }
      return l;
    };
    // Chunk by chunk, the products of every (row present, column), so each
    // output's sum runs in the same order as one chunk of one row and one
    // column at a time. acc[j * C + c] is (row j, column c).
    auto accumulate = [&](const StepLoads &l, ValueRange iter) {
      SmallVector<Value> next(iter.begin(), iter.end());
      for (int64_t u = 0; u < inFlight; ++u) {
        SmallVector<SmallVector<Value>> w;
        for (int64_t c = 0; c < C; ++c)
          w.push_back(weightValues(l.w[u][c]));
        for (int64_t j = 0; j < R; ++j) {
          auto update = [&](bool select) {
            SmallVector<Value> x = xValues(j, l.chs[u]);
            for (int64_t c = 0; c < C; ++c) {
              Value prev = next[j * C + c];
              Value sum = mac(prev, x, w[c]);
              next[j * C + c] =
                  select ? arith::SelectOp::create(b, l.valid[u], sum, prev).getResult() : sum;
            }
          };
          if (j == 0) {
            update(/*select=*/true); // row 0 always exists
            continue;
          }
          // Rows past the end are skipped (a warp-uniform branch).
          SmallVector<Value> before(next.begin() + j * C, next.begin() + (j + 1) * C);
          Value take = arith::AndIOp::create(b, l.valid[u], rowValid[j]);
          for (int64_t c = 0; c < C; ++c) {
            Value prev = before[c];
            next[j * C + c] = k.select(
                take, prev.getType(), [&] { return mac(prev, xValues(j, l.chs[u]), w[c]); },
                [&] { return prev; });
          }
        }
      }
      return next;
    };

    // With preloaded weights and one step (every chunk of the lane in
    // flight at once: mamba2-2.7b's in_proj and out_proj), the weights, their
    // group scales and the columns' scales and bias are loaded before the
    // wait for the previous kernel; everything else after it.
    const bool preload = s.preloadWeights && steps == 1;
    std::optional<StepLoads> preloaded;
    SmallVector<LinearEmitter::ColumnEpilogue> colEpilogue;
    if (preload) {
      for (int64_t c = 0; c < C; ++c)
        colEpilogue.push_back(e.loadColumnEpilogue(col[c]));
      preloaded = issueLoads(k.idx(0));
    }
    if (s.preloadWeights)
      k.awaitPredecessor();
    e.loadXScale();
    // The epilogue's loads (weight scales, bias, requantize scales) before
    // the sums, so that their latency overlaps the weights' instead of
    // The epilogue's loads (weight scales, bias, requantize scales) before
    // the sums, so that their latency overlaps the weights' instead of
    // following the reduction (measured neutral on mamba2-2.7b's W4A8
    // in_proj, 12.14 vs 12.2 us, whose decode issue limits it).
    // So are a conv-step epilogue's (state window, conv weights).
    SmallVector<OutputSlot> slots;
    SmallVector<LinearEmitter::ConvColumn> convColumns;
    // With a conv-step epilogue and several columns, lane c < C stores
    // column c and runs its step: the steps' serial chains (loads, SiLU,
    // stores) overlap instead of following each other in lane 0. Decode
    // only (R = 1).
    const bool laneColumns = s.conv && C > 1;
    assert((!s.conv || R == 1) && "a conv-step epilogue is decode's, one row a warp");
    Value myCol;
    if (laneColumns) {
      myCol = arith::AddIOp::create(b, firstCol, arith::MinUIOp::create(b, lane, k.idx(C - 1)));
      slots.push_back(prepareOutput(k, row[0], myCol, s.out, s.N, s.parts, s.requant));
      convColumns.push_back(e.convColumn(row[0], myCol, /*loadNow=*/true));
    }
    for (int64_t c = 0; c < C; ++c) {
      if (!preload)
        colEpilogue.push_back(e.loadColumnEpilogue(col[c]));
      for (int64_t j = 0; j < R && !laneColumns; ++j) {
        slots.push_back(prepareOutput(k, row[j], col[c], s.out, s.N, s.parts, s.requant));
        if (s.conv)
          convColumns.push_back(e.convColumn(row[j], col[c], /*loadNow=*/true));
      }
    }
    SmallVector<Value> init(R * C, e.zero());
    // The loop bounds are the warp's, not the lane's: every lane runs every
    // iteration (the shared tables' shuffles need the whole warp).
    SmallVector<Value> acc =
        preload ? accumulate(*preloaded, init)
                : k.forLoop(k.idx(0), k.idx(chunks), k.idx(32 * inFlight), init,
                            [&](Value step0, ValueRange iter) -> SmallVector<Value> {
                              return accumulate(issueLoads(step0), iter);
                            });
    // Butterfly reductions over the warp: every lane ends with the totals.
    Value width = k.i32(32);
    for (Value &total : acc)
      for (int offset = 16; offset >= 1; offset /= 2) {
        auto shuffle = gpu::ShuffleOp::create(b, total, k.i32(offset), width,
                                              gpu::ShuffleMode::XOR);
        total = e.add(total, shuffle.getShuffleResult());
      }
    if (laneColumns) {
      Value mine = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, lane, k.idx(C));
      k.ifThen(mine, [&] {
        Value value = e.epilogue(acc[C - 1], colEpilogue[C - 1]);
        for (int64_t c = C - 1; c-- > 0;)
          value = arith::SelectOp::create(
              b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, k.idx(c)),
              e.epilogue(acc[c], colEpilogue[c]), value);
        e.store(slots[0], value, row[0], myCol, &convColumns[0]);
      });
      return;
    }
    Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, k.idx(0));
    k.ifThen(first, [&] {
      for (int64_t j = 0; j < R; ++j) {
        auto store = [&] {
          for (int64_t c = 0; c < C; ++c)
            e.store(slots[c * R + j], e.epilogue(acc[j * C + c], colEpilogue[c]), row[j],
                    col[c], s.conv ? &convColumns[c * R + j] : nullptr);
        };
        if (j == 0)
          store();
        else
          k.ifThen(rowValid[j], store);
      }
    });
  });
}

/// Static dimension `axis` of operand i, or -1 when it is dynamic.
int64_t staticDim(KernelContext &ctx, unsigned i, int axis) {
  const plan::Buffer &buffer = ctx.operand(i);
  int rank = static_cast<int>(buffer.shape.size());
  int index = axis < 0 ? rank + axis : axis;
  if (index < 0 || index >= rank || !buffer.shape[index].isConstant())
    return -1;
  return buffer.shape[index].evaluate(0, 0);
}

/// How the tensor-core kernel maps a linear onto mma.sync (see the file
/// comment): the instruction's K, the K elements a lane loads per step, and
/// the warp tile in 16 x 8 mma tiles.
struct MmaConfig {
  /// K of one mma.sync: 32 (m16n8k32 .s8) or 8 (m16n8k8 .tf32).
  int64_t mmaK = 32;
  /// K elements of one row (and one column) a lane loads per step: whole
  /// mmas, mmaK / 4 elements each; a step covers 4 * laneElems of K.
  int64_t laneElems = 16;
  /// 16-row and 8-column mma tiles per warp.
  int64_t mTiles = 1, nTiles = 1;
  /// Warps of a block sharing one tile, each summing a slice of K (summed
  /// in warp order through shared memory): more loads in flight where
  /// there are few tiles (batched decode).
  int64_t kSplit = 1;
  /// Steps whose loads a lane issues before their mmas.
  int64_t unroll = 1;

  bool tf32() const { return mmaK == 8; }
  int64_t stepK() const { return 4 * laneElems; }
  int64_t warpRows() const { return 16 * mTiles; }
  int64_t warpCols() const { return 8 * nTiles; }
  std::string suffix() const {
    return "_mma_m" + std::to_string(warpRows()) + "n" + std::to_string(warpCols()) +
           (kSplit > 1 ? "_k" + std::to_string(kSplit) : "") +
           (unroll > 1 ? "_u" + std::to_string(unroll) : "");
  }
};

/// The mma configuration of `s`, or nothing where the tensor-core kernel
/// does not apply (fp32 weights, an int4 group a lane chunk would straddle,
/// a K no step divides).
std::optional<MmaConfig> mmaConfig(const LinearSpec &s, bool prefill, int numWarps) {
  MmaConfig c;
  if (s.kind == Kind::F32 && !s.f16Weights)
    return std::nullopt;
  const bool floatX = s.kind == Kind::F32 || s.kind == Kind::W4A16;
  c.mmaK = floatX ? 8 : 32;
  // The widest lane chunk (16-byte x loads for int8, 32 for fp32) K allows.
  const int64_t perMma = c.mmaK / 4;
  c.laneElems = 0;
  for (int64_t elems : {int64_t{16} / (floatX ? 2 : 1), perMma})
    if (s.K % (4 * elems) == 0 && (!s.int4() || s.group % elems == 0)) {
      c.laneElems = elems;
      break;
    }
  // W4A16: a lane's weights are whole 4-byte words (8 codes).
  if (c.laneElems == 0 || (s.kind == Kind::W4A16 && c.laneElems != 8))
    return std::nullopt;
  // Prefill: 32 x 32 a warp (each x and weight load serves 4 and 2 mma
  // tiles); batched decode (16-64 rows): one tile a warp, for warps enough
  // to stream the weights.
  if (prefill)
    c.mTiles = 2, c.nTiles = 4;
  else if (s.K % (numWarps * c.stepK()) == 0)
    c.kSplit = numWarps;
  // Loads of up to 4 (decode) or 2 (prefill: 3x the operands a step)
  // steps in flight, where the warp's K slice divides into them.
  // W4A16 sums each group apart (then scales it): a warp's K slice is
  // whole groups and a group whole loop iterations.
  if (s.kind == Kind::W4A16 && (s.K / c.kSplit) % s.group != 0)
    c.kSplit = 1;
  if (s.kind == Kind::W4A16 && s.group % c.stepK() != 0)
    return std::nullopt;
  const int64_t period = s.kind == Kind::W4A16 ? s.group : s.K / c.kSplit;
  for (int64_t u = prefill ? 2 : 4; u > 1; u /= 2)
    if (period % (u * c.stepK()) == 0) {
      c.unroll = u;
      break;
    }
  return c;
}

/// The tensor-core kernel (see the file comment). Fragment layouts of
/// mma.m16n8k32 .s8 and mma.m16n8k8 .tf32 (PTX ISA, "Matrix fragments"),
/// with g = lane / 4 and t = lane % 4, each register holding mmaK / 8
/// consecutive K slots (4 int8 or 1 tf32):
///   A (16 x K, row): a0 = row g, half 0; a1 = row g + 8, half 0;
///                    a2 = row g, half 1; a3 = row g + 8, half 1
///   B (K x 8, col):  b0 = column g, half 0; b1 = column g, half 1
///   C (16 x 8):      c[i][j] at row g + 8i, column 2t + j
/// where half h of lane t is K slots t * mmaK / 8 + h * mmaK / 2 onwards.
/// A sum does not depend on which physical k a K slot holds as long as A
/// and B agree, so each lane loads laneElems contiguous elements of its
/// rows and columns per step (16- or 32-byte vector loads) and sub-step u
/// gives slot half h the elements u * mmaK / 4 + h * mmaK / 8 onwards.
void buildMmaKernel(KernelBuilder &k, const LinearSpec &s, const MmaConfig &c,
                    int numWarps) {
  auto &b = k.b();
  LinearEmitter e(k, s);
  e.loadXScale();
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), f32 = b.getF32Type();
  const bool tf32 = c.tf32();
  auto word = VectorType::get({4}, i8);
  auto aType = tf32 ? VectorType::get({4, 1}, f32) : VectorType::get({4, 4}, i8);
  auto bType = tf32 ? VectorType::get({2, 1}, f32) : VectorType::get({2, 4}, i8);
  auto cType = VectorType::get({2, 2}, tf32 ? f32 : i32);
  Type globalPtr = k.arg(s.x).getType();

  // `words` 4-byte words of `ptr` from byte offset `offset`, in vector
  // loads of up to 16 bytes (offset is a multiple of the load's size).
  auto loadWords = [&](Value ptr, Value offset, int64_t words) {
    SmallVector<Value> out;
    for (int64_t w = 0; w < words;) {
      // words is 1, 2, 4 or 8 (the lane chunks of mmaConfig).
      int64_t n = std::min<int64_t>(4, words - w);
      Value at = arith::AddIOp::create(b, offset, k.idx(4 * w));
      Value off64 = arith::IndexCastOp::create(b, b.getI64Type(), at);
      Value address = LLVM::GEPOp::create(b, globalPtr, i8, ptr, ValueRange{off64});
      if (n == 1) {
        out.push_back(LLVM::LoadOp::create(b, i32, address, /*alignment=*/4));
      } else {
        Value v = LLVM::LoadOp::create(b, VectorType::get({n}, i32), address,
                                       /*alignment=*/4 * n);
        for (int64_t i = 0; i < n; ++i)
          out.push_back(e.extract(v, i));
      }
      w += n;
    }
    return out;
  };
  auto asWord = [&](Value v) -> Value { return LLVM::BitcastOp::create(b, word, v); };
  auto asF32 = [&](Value v) -> Value { return arith::BitcastOp::create(b, f32, v); };
  // fp32 -> tf32 rounded to nearest, ties away (cvt.rna.tf32.f32): the 13
  // low mantissa bits cleared after adding half their weight.
  auto roundTf32 = [&](Value x) -> Value {
    Value bits = arith::BitcastOp::create(b, i32, x);
    bits = arith::AddIOp::create(b, bits, k.i32(0x1000));
    bits = arith::AndIOp::create(b, bits, k.i32(static_cast<int32_t>(0xFFFFE000u)));
    return asF32(bits);
  };

  Value rows = k.argIndex(s.operands);
  Value tid = k.threadIdx();
  Value lane = arith::RemUIOp::create(b, tid, k.idx(32));
  Value warp = arith::DivUIOp::create(b, tid, k.idx(32));
  // Blocks walk the row tiles fastest (a block's weights stay in L2 while
  // every row tile reads them); the warps of a block take adjacent column
  // tiles of one row tile and share its x through L1.
  const int64_t colTiles = (s.N + c.warpCols() - 1) / c.warpCols();
  // With a split K, the warps of a block share one tile instead.
  Value rowTiles = arith::CeilDivUIOp::create(b, rows, k.idx(c.warpRows()));
  Value mt = arith::RemUIOp::create(b, k.blockIdx(), rowTiles);
  Value blockCols = arith::DivUIOp::create(b, k.blockIdx(), rowTiles);
  Value nt = c.kSplit > 1 ? blockCols
                          : arith::AddIOp::create(
                                b, arith::MulIOp::create(b, blockCols, k.idx(numWarps)), warp)
                                .getResult();
  const int64_t sliceK = s.K / c.kSplit;
  Value kBegin = c.kSplit > 1 ? arith::MulIOp::create(b, warp, k.idx(sliceK)).getResult()
                              : k.idx(0);
  // Warp-uniform (block-uniform with a split K): a whole warp takes or
  // skips the tile (mma.sync needs all 32 lanes).
  Value active = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, nt, k.idx(colTiles));
  k.ifThen(active, [&] {
    Value g = arith::DivUIOp::create(b, lane, k.idx(4));
    Value t = arith::RemUIOp::create(b, lane, k.idx(4));
    Value firstRow = arith::MulIOp::create(b, mt, k.idx(c.warpRows()));
    Value firstCol = arith::MulIOp::create(b, nt, k.idx(c.warpCols()));
    // The lane's rows (g + 8r) and columns (g + 8j) of the warp tile.
    // Rows and columns past the end read the last one (finite data) and
    // store nothing.
    const int64_t xElemBytes = tf32 ? 4 : 1;
    const int64_t laneXWords = c.laneElems * xElemBytes / 4;
    const int64_t laneWBytes = s.int4() ? c.laneElems / 2 : c.laneElems * (tf32 ? 2 : 1);
    Value lastRow = arith::SubIOp::create(b, rows, k.idx(1));
    SmallVector<Value> xBase, wBase, cols;
    Value laneK = arith::MulIOp::create(b, t, k.idx(c.laneElems));
    for (int64_t r = 0; r < 2 * c.mTiles; ++r) {
      Value row = arith::AddIOp::create(b, firstRow, arith::AddIOp::create(b, g, k.idx(8 * r)));
      row = arith::MinUIOp::create(b, row, lastRow);
      Value elem = arith::AddIOp::create(b, arith::MulIOp::create(b, row, k.idx(s.K)), laneK);
      xBase.push_back(arith::MulIOp::create(b, elem, k.idx(xElemBytes)));
    }
    for (int64_t j = 0; j < c.nTiles; ++j) {
      Value col = arith::AddIOp::create(b, firstCol, arith::AddIOp::create(b, g, k.idx(8 * j)));
      col = arith::MinUIOp::create(b, col, k.idx(s.N - 1));
      cols.push_back(col);
      Value rowBytes = arith::MulIOp::create(b, col, k.idx(s.weightRowBytes()));
      wBase.push_back(arith::AddIOp::create(
          b, rowBytes, arith::MulIOp::create(b, t, k.idx(laneWBytes))));
    }
    // The lane chunk's weights of column j at step offset k0 as mma
    // operands: int8 words (W8A8 loads them; W4A8 decodes packed bytes in
    // registers, one group scale a chunk) or tf32 values (f16, exact).
    auto weightOperands = [&](int64_t j, Value k0) {
      Value byteOffset = arith::DivUIOp::create(
          b, arith::MulIOp::create(b, k0, k.idx(laneWBytes)), k.idx(c.laneElems));
      SmallVector<Value> words =
          loadWords(k.arg(s.w), arith::AddIOp::create(b, wBase[j], byteOffset),
                    std::max<int64_t>(1, laneWBytes / 4));
      SmallVector<Value> out;
      if (s.kind == Kind::W8A8) {
        for (Value w : words)
          out.push_back(asWord(w));
      } else if (s.kind == Kind::W4A8) {
        Value chunkK = arith::AddIOp::create(b, k0, laneK);
        Value scale = e.groupScale(cols[j], arith::DivUIOp::create(b, chunkK, k.idx(s.group)));
        out = e.decodeInt4Words(words, laneWBytes, scale);
      } else if (s.kind == Kind::W4A16) {
        // code - 8, exact in tf32; the group scale multiplies the group's
        // sum (below).
        for (int64_t i = 0; i < laneWBytes; ++i) {
          Value byte = arith::TruncIOp::create(
              b, i8, arith::ShRUIOp::create(b, words[i / 4], k.i32(8 * (i % 4))));
          auto [w0, w1] = e.decodeByte(byte, k.f32(1.0f), k.f32(1.0f));
          out.append({w0, w1});
        }
      } else {
        auto halves = VectorType::get({2}, b.getF16Type());
        for (Value w : words) {
          Value pair = LLVM::BitcastOp::create(b, halves, w);
          for (int64_t i = 0; i < 2; ++i)
            out.push_back(arith::ExtFOp::create(b, f32, e.extract(pair, i)));
        }
      }
      return out;
    };
    auto xOperands = [&](int64_t r, Value k0) {
      Value offset = arith::AddIOp::create(b, xBase[r],
                                           arith::MulIOp::create(b, k0, k.idx(xElemBytes)));
      SmallVector<Value> words = loadWords(k.arg(s.x), offset, laneXWords);
      SmallVector<Value> out;
      for (Value w : words)
        out.push_back(tf32 ? asF32(w) : asWord(w));
      return out;
    };
    // An mma operand from its registers in fragment order: tf32 values, or
    // int8 words (vector<4xi8>) inserted row by row.
    auto fragment = [&](VectorType type, ArrayRef<Value> registers) -> Value {
      if (tf32)
        return vector::FromElementsOp::create(b, type, registers);
      Value frag = arith::ConstantOp::create(b, type,
                                             DenseElementsAttr::get(type, b.getI8IntegerAttr(0)));
      for (int64_t i = 0; i < static_cast<int64_t>(registers.size()); ++i)
        frag = vector::InsertOp::create(b, registers[i], frag, ArrayRef<int64_t>{i});
      return frag;
    };
    SmallVector<Value> init(c.mTiles * c.nTiles,
                            arith::ConstantOp::create(
                                b, cType,
                                tf32 ? DenseElementsAttr::get(cType, b.getF32FloatAttr(0.0f))
                                     : DenseElementsAttr::get(cType, b.getI32IntegerAttr(0))));
    // Operand registers per sub-step and half: one word (int8) or value.
    const int64_t subSteps = c.laneElems / (c.mmaK / 4);
    auto steps = [&](Value kLoop, ValueRange iter) -> SmallVector<Value> {
          // Every step's loads first, then their mmas.
          SmallVector<SmallVector<SmallVector<Value>>> xSteps, wSteps;
          for (int64_t step = 0; step < c.unroll; ++step) {
            Value k0 = arith::AddIOp::create(b, kLoop, k.idx(step * c.stepK()));
            xSteps.emplace_back();
            wSteps.emplace_back();
            for (int64_t r = 0; r < 2 * c.mTiles; ++r)
              xSteps.back().push_back(xOperands(r, k0));
            for (int64_t j = 0; j < c.nTiles; ++j)
              wSteps.back().push_back(weightOperands(j, k0));
          }
          SmallVector<Value> next(iter.begin(), iter.end());
          for (int64_t step = 0; step < c.unroll; ++step) {
            for (int64_t u = 0; u < subSteps; ++u) {
              auto &xs = xSteps[step];
              auto &ws = wSteps[step];
              auto piece = [&](ArrayRef<Value> v, int64_t half) { return v[2 * u + half]; };
              SmallVector<Value> bFrags;
              for (int64_t j = 0; j < c.nTiles; ++j) {
                Value b0 = piece(ws[j], 0), b1 = piece(ws[j], 1);
                bFrags.push_back(fragment(bType, {b0, b1}));
              }
              for (int64_t m = 0; m < c.mTiles; ++m) {
                Value a[4] = {piece(xs[2 * m], 0), piece(xs[2 * m + 1], 0), piece(xs[2 * m], 1),
                              piece(xs[2 * m + 1], 1)};
                SmallVector<Value> aFrags;
                if (tf32) {
                  // x = hi + lo, both tf32: products within ~2^-21 of fp32's
                  // (the f16 weights are exact in tf32).
                  Value hi[4], lo[4];
                  for (int i = 0; i < 4; ++i) {
                    hi[i] = roundTf32(a[i]);
                    lo[i] = roundTf32(arith::SubFOp::create(b, a[i], hi[i]));
                  }
                  aFrags.push_back(fragment(aType, hi));
                  aFrags.push_back(fragment(aType, lo));
                } else {
                  aFrags.push_back(fragment(aType, a));
                }
                for (int64_t j = 0; j < c.nTiles; ++j)
                  for (Value aFrag : aFrags)
                    next[m * c.nTiles + j] = nvgpu::MmaSyncOp::create(
                        b, aFrag, bFrags[j], next[m * c.nTiles + j],
                        ArrayRef<int64_t>{16, 8, c.mmaK}, tf32);
              }
            }
          }
          return next;
    };
    SmallVector<Value> acc;
    Value kEnd = arith::AddIOp::create(b, kBegin, k.idx(sliceK));
    Value stride = k.idx(c.unroll * c.stepK());
    if (s.kind != Kind::W4A16) {
      acc = k.forLoop(kBegin, kEnd, stride, init, steps);
    } else {
      // W4A16: each group's sum of x * (code - 8) from zero, then
      // total += sum * s[n, group] (c[i][h] is column 2t + h of its tile).
      acc = k.forLoop(kBegin, kEnd, k.idx(s.group), init, [&](Value g0, ValueRange total) {
        SmallVector<Value> sums =
            k.forLoop(g0, arith::AddIOp::create(b, g0, k.idx(s.group)), stride, init, steps);
        Value group = arith::DivUIOp::create(b, g0, k.idx(s.group));
        SmallVector<Value> next(total.begin(), total.end());
        for (int64_t j = 0; j < c.nTiles; ++j) {
          Value scale[2];
          for (int64_t h = 0; h < 2; ++h) {
            Value col = arith::AddIOp::create(
                b, firstCol, arith::AddIOp::create(b, arith::MulIOp::create(b, t, k.idx(2)),
                                                   k.idx(8 * j + h)));
            scale[h] = e.groupScale(arith::MinUIOp::create(b, col, k.idx(s.N - 1)), group);
          }
          Value scales = vector::FromElementsOp::create(
              b, cType, ValueRange{scale[0], scale[1], scale[0], scale[1]});
          for (int64_t m = 0; m < c.mTiles; ++m) {
            int64_t a = m * c.nTiles + j;
            next[a] = arith::AddFOp::create(b, total[a],
                                            arith::MulFOp::create(b, sums[a], scales));
          }
        }
        return next;
      });
    }
    if (c.kSplit > 1) {
      // The slices' sums, added in warp order by warp 0 (deterministic;
      // exact for the int32 sums).
      const int64_t perLane = 4 * c.mTiles * c.nTiles;
      Type elem = tf32 ? f32 : i32;
      Value partials = k.sharedArray("k_partials", elem, c.kSplit * perLane * 32);
      auto slot = [&](Value w, int64_t v) {
        return arith::AddIOp::create(
            b, arith::MulIOp::create(b, arith::AddIOp::create(b, arith::MulIOp::create(b, w, k.idx(perLane)), k.idx(v)), k.idx(32)),
            lane);
      };
      for (int64_t a = 0; a < c.mTiles * c.nTiles; ++a)
        for (int64_t v = 0; v < 4; ++v)
          k.store(vector::ExtractOp::create(b, acc[a], ArrayRef<int64_t>{v / 2, v % 2}),
                  partials, slot(warp, 4 * a + v));
      k.barrier();
      for (int64_t a = 0; a < c.mTiles * c.nTiles; ++a)
        for (int64_t v = 0; v < 4; ++v) {
          Value sum = k.load(elem, partials, slot(k.idx(0), 4 * a + v));
          for (int64_t w = 1; w < c.kSplit; ++w)
            sum = e.add(sum, k.load(elem, partials, slot(k.idx(w), 4 * a + v)));
          acc[a] = vector::InsertOp::create(b, sum, acc[a], ArrayRef<int64_t>{v / 2, v % 2});
        }
    }
    // Epilogue: c[i][j] is (row g + 8i, column 2t + j) of each mma tile;
    // with a split K, warp 0 stores.
    Value storing = c.kSplit > 1 ? arith::CmpIOp::create(b, arith::CmpIPredicate::eq, warp, k.idx(0)).getResult()
                                 : Value();
    for (int64_t m = 0; m < c.mTiles; ++m)
      for (int64_t j = 0; j < c.nTiles; ++j)
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t h = 0; h < 2; ++h) {
            Value row = arith::AddIOp::create(
                b, firstRow, arith::AddIOp::create(b, g, k.idx(16 * m + 8 * i)));
            Value n = arith::AddIOp::create(
                b, firstCol,
                arith::AddIOp::create(b, arith::MulIOp::create(b, t, k.idx(2)),
                                      k.idx(8 * j + h)));
            Value inRange = arith::AndIOp::create(
                b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, rows),
                arith::CmpIOp::create(b, arith::CmpIPredicate::ult, n, k.idx(s.N)));
            if (storing)
              inRange = arith::AndIOp::create(b, inRange, storing);
            Value value = vector::ExtractOp::create(b, acc[m * c.nTiles + j],
                                                    ArrayRef<int64_t>{i, h});
            k.ifThen(inRange, [&] {
              storeOutput(k, e.epilogue(value, n), row, n, s.out, s.N, s.parts, s.requant);
            });
          }
  });
}

} // namespace

LogicalResult emitLinear(KernelContext &ctx, Location loc) {
  plan::Launch &launch = ctx.getLaunch();
  const std::string &op = launch.op;
  LinearSpec s;
  if (op == "linear") {
    s = LinearSpec{};
  } else if (op == "linear_bias") {
    s.hasBias = true;
    s.bias = 2;
    s.out = 3;
    s.operands = 4;
  } else if (op == "linear_w8a8") {
    s.kind = Kind::W8A8;
    s.xScale = 1, s.w = 2, s.wScales = 3, s.bias = 4, s.out = 5;
    s.operands = 6;
    s.hasBias = launch.flag("has_bias");
  } else if (op == "linear_w4a8") {
    s.kind = Kind::W4A8;
    s.xScale = 1, s.w = 2, s.groupScales = 3, s.wScales = 4, s.bias = 5;
    s.out = 6;
    s.operands = 7;
    s.hasBias = launch.flag("has_bias");
  } else if (op == "linear_w4a16") {
    s.kind = Kind::W4A16;
    s.w = 1, s.groupScales = 2, s.bias = 3, s.out = 4;
    s.operands = 5;
    s.hasBias = launch.flag("has_bias");
  } else {
    return emitError(loc) << "no linear kernel for '" << op << "'";
  }
  s.parts = ctx.splitSizes();
  if (s.parts.size() > 1)
    s.operands += s.parts.size() - 1; // out is the last operand
  // Requantized output parts: their scales are the last inputs.
  s.operands += ctx.requantizedPartCount();
  s.out += ctx.requantizedPartCount();
  s.requant = ctx.requantizeScaleArgs(s.out);
  // A conv-step epilogue: the step's inputs sit between the linear's inputs
  // and outputs, its outputs after them (plan::convStepEpilogue).
  std::optional<plan::ConvStepEpilogue> fused = plan::convStepEpilogue(launch);
  if (launch.attrs.count(plan::kConvStepAttr) && !fused)
    return emitError(loc) << op << ": conv_step must name one output part of the linear";
  std::string convSuffix;
  if (fused) {
    FailureOr<ConvStepArgs> conv = convStepArgs(ctx, fused->conv, fused->convOperands, loc);
    if (failed(conv))
      return failure();
    const int64_t part = static_cast<int64_t>(launch.attr(plan::kConvStepAttr));
    const unsigned x = fused->convOperands[0];
    const int64_t partWidth = staticDim(ctx, x, -1);
    if (partWidth != conv->channels || ctx.pointerKind(x) != ArgKind::PtrF32)
      return emitError(loc) << op << ": conv_step: output part " << part << " has " << partWidth
                            << " f32 columns, the step " << conv->channels << " channels";
    for (int64_t j = 0; j < part; ++j)
      s.convStart += s.parts[j];
    s.conv = *conv;
    const unsigned shift = fused->linearOperands[s.out] - s.out;
    s.out += shift;
    s.operands += fused->convOperands.size() - 1;
    // Kernel name: the part, then the step's parameters as its own kernel's.
    convSuffix = "_conv" + std::to_string(part) + "_" + conv->name();
  }
  if (launch.operands.size() != s.operands)
    return emitError(loc) << op << " launch with " << launch.operands.size()
                          << " operands, expected " << s.operands;

  // Operand dtypes.
  auto expect = [&](int i, ArgKind kind, StringRef what) -> LogicalResult {
    if (i < 0 || ctx.pointerKind(i) == kind)
      return success();
    // int4 weights may be declared i8 or u8: both are bytes.
    if (kind == ArgKind::PtrU8 && ctx.pointerKind(i) == ArgKind::PtrI8)
      return success();
    return emitError(loc) << op << ": unexpected element type of the "
                          << what << " operand";
  };
  bool f32x = s.kind == Kind::F32 || s.kind == Kind::W4A16;
  s.f16Weights = s.kind == Kind::F32 && ctx.pointerKind(s.w) == ArgKind::PtrF16;
  if (failed(expect(s.x, f32x ? ArgKind::PtrF32 : ArgKind::PtrI8, "input")) ||
      failed(expect(s.w,
                    s.f16Weights           ? ArgKind::PtrF16
                    : s.kind == Kind::F32  ? ArgKind::PtrF32
                    : s.kind == Kind::W8A8 ? ArgKind::PtrI8
                                           : ArgKind::PtrU8,
                    "weight")) ||
      failed(expect(s.xScale, ArgKind::PtrF32, "input scale")) ||
      failed(expect(s.wScales, ArgKind::PtrF32, "weight scales")) ||
      failed(expect(s.groupScales, ArgKind::PtrF32, "group scales")) ||
      failed(expect(s.bias, ArgKind::PtrF32, "bias")) ||
      failed(expect(s.out, ArgKind::PtrF32, "output")))
    return failure();

  // Shapes: w [N, K] (int4: [N, K/2]); x [..., K]; out [..., N].
  s.N = staticDim(ctx, s.w, 0);
  int64_t wCols = staticDim(ctx, s.w, 1);
  if (ctx.operand(s.w).shape.size() != 2 || s.N <= 0 || wCols <= 0)
    return emitError(loc) << op << ": the weight must be a static, non-empty "
                             "[N, K] matrix";
  s.K = s.int4() ? 2 * wCols : wCols;
  int64_t xK = staticDim(ctx, s.x, -1);
  if (xK >= 0 && xK != s.K)
    return emitError(loc) << op << ": input has " << xK
                          << " features, the weight " << s.K;
  int64_t outWidth = 0;
  for (size_t j = 0; j < std::max<size_t>(s.parts.size(), 1); ++j)
    outWidth += staticDim(ctx, s.out + j, -1);
  if (outWidth != s.N)
    return emitError(loc) << op << ": output's last dimension is not " << s.N;
  if (s.integer() && s.K > kMaxInt8DotLength)
    return emitError(loc) << op << ": K = " << s.K << " exceeds "
                          << kMaxInt8DotLength
                          << ", beyond which the int32 accumulator overflows";
  if (s.int4()) {
    s.group = static_cast<int64_t>(launch.attr("group_size"));
    if (s.group <= 0 || s.K % s.group != 0)
      return emitError(loc) << op << ": group_size " << s.group
                            << " must be positive and divide K = " << s.K;
    if (staticDim(ctx, s.groupScales, 0) != s.N ||
        staticDim(ctx, s.groupScales, 1) != s.K / s.group)
      return emitError(loc) << op << ": group scales must be [" << s.N << ", "
                            << s.K / s.group << "]";
  }

  const int numWarps = 4;
  plan::ShapeExpr rows = ctx.rows(s.x);
  launch.scalars = {rows};
  // Tensor cores for prefill (rows = B * L: many tokens per weight read)
  // and for decode's alternative for large batches; decode otherwise stays
  // on the memory-bound warp kernel, a row a warp. Where the alternative
  // would be the same kernel, LaunchPlan keeps one launch.
  const bool prefill = rows.text().find('L') != std::string::npos;
  const bool batchedDecode = !prefill && launch.minBatch >= kBatchedDecodeMinBatch;
  // The kernel's name: op, shapes, variant flags; the kernel kind's
  // suffix follows.
  std::string name = op + "_k" + std::to_string(s.K) + "_n" +
                     std::to_string(s.N);
  if (s.int4())
    name += "_g" + std::to_string(s.group);
  if (s.f16Weights)
    name += "_f16w";
  if (op != "linear" && op != "linear_bias")
    name += s.hasBias ? "_bias" : "_nobias";
  name += ctx.splitSuffix() + ctx.requantizeSuffix() + convSuffix;

  // Prefill: a shared-memory GEMM where one applies (on sm_90a the
  // warpgroup GEMM, LinearWgmma.cpp; else the mma.sync tiled one,
  // LinearTiled.cpp), else the register mma kernel.
  if (s.conv && (prefill || batchedDecode))
    return emitError(loc) << op << ": a conv-step epilogue needs decode's GEMV kernel (batches "
                          << "below " << kBatchedDecodeMinBatch << ")";
  // A block a (row tile, column tile), row tiles fastest.
  auto useBlockTiles = [&](const auto &config, auto build) {
    const int64_t colTiles = (s.N + config.blockCols() - 1) / config.blockCols();
    ctx.gridFor(mulExpr(*plan::ShapeExpr::parse("cdiv(" + rows.text() + "," +
                                                 std::to_string(config.blockRows()) + ")"),
                        plan::ShapeExpr(colTiles * 32 * config.numWarps())),
                config.numWarps());
    ctx.useKernel(name + config.suffix(), ctx.operandArgs(1), config.numWarps(),
                  [&](KernelBuilder &k) { build(k, s, config); });
    return success();
  };
  if (prefill) {
    if (std::optional<linear::WgmmaConfig> wgmma = linear::wgmmaConfig(s, ctx.target()))
      return useBlockTiles(*wgmma, linear::buildWgmmaKernel);
    if (std::optional<linear::TiledConfig> tiled = linear::tiledConfig(s))
      return useBlockTiles(*tiled, linear::buildTiledKernel);
  }
  std::optional<MmaConfig> mma;
  // W4A16 in a model with int8 activations keeps the exact kernels
  // (LaunchPlan.cpp, attr "exact").
  const bool exact = launch.attrs.count("exact") != 0;
  if ((prefill || batchedDecode) && !exact)
    mma = mmaConfig(s, prefill, numWarps);
  const bool mmaKernel = mma.has_value();
  const bool warpKernel =
      !mmaKernel && s.K % s.chunk() == 0 && (!s.int4() || s.group % s.chunk() == 0);
  const int64_t rowsPerWarp = prefill ? kPrefillRowsPerWarp : kDecodeRowsPerWarp;
  // Column blocks only where enough warps remain to keep DRAM busy
  // (mamba2-2.7b's out_proj, N = 2560, measured 15.6 us with 640 warps of 4
  // columns and 11.7 us with 2560 warps of one; in_proj, N = 10576, 17.9 vs
  // 19.5 us). W4A8 too since its weights load before the wait for the
  // previous kernel: 2,644 warps of 4 columns are all resident and fetch
  // every weight during add_rms_norm, where 10,576 one-column warps were
  // 1.25 waves (mamba2-2.7b W4A8 TPOT at batch 1 1.80-1.83 ms with four
  // columns, 1.85 with two, 1.86 with eight, 1.97 with one; H200. Without
  // the early weights one column had won: 2.58 vs 2.69 ms with four).
  const int64_t colsPerWarp = !prefill && s.N % kDecodeColsPerWarp == 0 &&
                                      s.N / kDecodeColsPerWarp >= kMinDecodeWarps
                                  ? kDecodeColsPerWarp
                                  : 1;
  plan::ShapeExpr outputs = mulExpr(rows, plan::ShapeExpr(s.N));
  if (mmaKernel) {
    // Blocks of numWarps column tiles (or of one tile's K slices), for
    // every row tile.
    int64_t colTiles = (s.N + mma->warpCols() - 1) / mma->warpCols();
    int64_t blockCols = mma->kSplit > 1 ? colTiles : (colTiles + numWarps - 1) / numWarps;
    ctx.gridFor(mulExpr(*plan::ShapeExpr::parse("cdiv(" + rows.text() + "," +
                                                 std::to_string(mma->warpRows()) + ")"),
                        plan::ShapeExpr(blockCols * numWarps * 32)),
                numWarps);
  }
  else if (warpKernel)
    ctx.gridFor(mulExpr(rowsPerWarp == 1
                            ? rows
                            : *plan::ShapeExpr::parse("cdiv(" + rows.text() + "," +
                                                      std::to_string(rowsPerWarp) + ")"),
                        plan::ShapeExpr(s.N / colsPerWarp * 32)),
                numWarps);
  else
    ctx.gridFor(outputs, numWarps);

  name += mmaKernel   ? mma->suffix()
          : warpKernel ? "_warp_r" + std::to_string(rowsPerWarp) +
                             (colsPerWarp > 1 ? "_c" + std::to_string(colsPerWarp) : "")
                       : "_thread";
  // Decode's GEMV loads its weights before it awaits the previous kernel
  // where every operand it loads then is a weight buffer.
  if (warpKernel && !prefill) {
    s.preloadWeights = ctx.areWeights({s.w, s.groupScales, s.wScales, s.hasBias ? s.bias : -1});
    if (s.preloadWeights)
      name += "_pw";
  }
  ctx.useKernel(name, ctx.operandArgs(1), numWarps, [&](KernelBuilder &k) {
    if (mmaKernel)
      buildMmaKernel(k, s, *mma, numWarps);
    else if (warpKernel)
      buildWarpKernel(k, s, numWarps, rowsPerWarp, colsPerWarp);
    else
      buildThreadKernel(k, s);
  });
  return success();
}

} // namespace mlir::quamba::codegen
