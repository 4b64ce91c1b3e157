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
//    so each x chunk loaded serves 4 columns, else C = 1). Each lane walks the reduction in chunks of 16
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
//  * "mma" (linear_w8a8 and linear_w4a8 in prefill, K % 32 == 0): int8 tensor cores; W4A8 decodes its int4 weights to int8
//    in registers first (exactly the reference's dequantizeW4ToInt8). One warp per 16 x 8 output tile issues nvgpu.mma.sync m16n8k32
//    (PTX mma.sync.aligned.m16n8k32.row.col.satfinite.s32.s8.s8.s32) along
//    K, its A and B fragments loaded straight from global memory in 4-byte
//    words (A: x rows, "row"; B: weight rows, which are the "col" layout of
//    W^T). Exact int32 sums (satfinite never triggers below
//    kMaxInt8DotLength), then the same epilogue. Block = 4 warps; grid =
//    cdiv(cdiv(rows, 16) * cdiv(N, 8), 4); a partial last column tile
//    reads zero weights and stores nothing past N.
//
// Both take the i32 scalar `rows`.
//
// Exactness (runtime/reference/QuantizedKernels.h): the integer paths
// (w8a8, w4a8) accumulate exact int32 sums, so the order does not matter and
// the result is bit-exact; the epilogue is t = xScale * wScale[n];
// y = float(acc) * t; y = y + bias[n] (only when has_bias), three separately
// rounded fp32 operations (arith.mulf / arith.addf without fastmath flags:
// never contracted to fma). The W4A8 weight decode is
// w8 = sat8(RNE(float(code - 8) * s~)) with NaN -> 0, as ref::saturateToInt8.
// w4a16 sums in ref::linearW4A16's order (the warp order of
// runtime/reference/FloatSemantics.h over 32-weight chunks, or k ascending
// in the thread kernel), unfused: bit-exact. The fp32 linear may contract
// to fma and sums in another order than BLAS: equal to fp32 accumulation
// rounding only.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/Kernels.h"
#include "codegen/kernels/ScalarMath.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::quamba::codegen {

namespace {

enum class Kind { F32, W8A8, W4A8, W4A16 };

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
/// From this batch on, an integer decode linear (W8A8, W4A8) takes the
/// tensor-core kernel prefill uses (16-row tiles: the weights read once per
/// tile, not once per sequence). The fp32-activation linears keep a row a
/// warp: the prefill kernel's 16-row blocks measured slower at batch 16
/// (mamba2-2.7b fp16 TPOT 19.9 vs 18.3 ms, H200): each warp re-reads fp32
/// x for every row from L1, which then limits it.
constexpr int64_t kBatchedDecodeMinBatch = 16;

/// Largest K for which an int8 dot product fits in int32
/// (ref::kMaxInt8DotLength).
constexpr int64_t kMaxInt8DotLength = 131071;

struct LinearSpec {
  Kind kind = Kind::F32;
  int64_t K = 0, N = 0, group = 0;
  bool hasBias = false;
  /// The parts of a split epilogue (LaunchOps.h); empty: one output.
  SmallVector<int64_t> parts;
  /// F32 kind with f16 weights (quamba-cast-weights), widened on load.
  bool f16Weights = false;
  // Operand indices (-1: absent).
  int x = 0, xScale = -1, w = 1, groupScales = -1, wScales = -1, bias = -1,
      out = 2;
  unsigned operands = 3;

  bool int4() const { return kind == Kind::W4A8 || kind == Kind::W4A16; }
  bool integer() const { return kind == Kind::W8A8 || kind == Kind::W4A8; }
  /// Elements of K per 16-byte weight chunk.
  int64_t chunk() const {
    if (kind == Kind::F32)
      return f16Weights ? 8 : 4;
    return int4() ? 32 : 16;
  }
  /// Bytes of one weight row.
  int64_t weightRowBytes() const {
    if (int4())
      return K / 2;
    if (kind == Kind::F32)
      return K * (f16Weights ? 2 : 4);
    return K;
  }
};

/// Emits the kernel body pieces shared by both variants.
class LinearEmitter {
public:
  LinearEmitter(KernelBuilder &k, const LinearSpec &spec)
      : k(k), b(k.b()), s(spec) {
    i8 = b.getI8Type();
    i32 = b.getI32Type();
    f32 = b.getF32Type();
  }

  /// The arithmetic identity of the accumulator.
  Value zero() { return s.integer() ? k.i32(0) : k.f32(0.0f); }

  Value add(Value a, Value c) {
    if (s.integer())
      return arith::AddIOp::create(b, a, c);
    return arith::AddFOp::create(b, a, c, contract());
  }

  /// acc + x * w for one element; x and w are i32 (integer paths) or f32.
  Value mac(Value acc, Value x, Value w) {
    if (s.integer())
      return arith::AddIOp::create(b, acc, arith::MulIOp::create(b, x, w));
    Value p = arith::MulFOp::create(b, x, w, contract());
    return arith::AddFOp::create(b, acc, p, contract());
  }

  /// An int8 x element as i32, or an f32 x element as is.
  Value xElement(Value raw) {
    if (s.integer())
      return arith::ExtSIOp::create(b, i32, raw);
    return raw;
  }

  /// The two weights of one packed int4 byte (element 2i, 2i+1), given the
  /// group scale of each: i32 for w4a8 (the int8 weight), f32 for w4a16.
  std::pair<Value, Value> decodeByte(Value byte, Value scaleLo,
                                     Value scaleHi) {
    Value wide = arith::ExtUIOp::create(b, i32, byte);
    Value lo = arith::AndIOp::create(b, wide, k.i32(15));
    Value hi = arith::ShRUIOp::create(b, wide, k.i32(4));
    return {decodeCode(lo, scaleLo), decodeCode(hi, scaleHi)};
  }

  /// The int8 weight element as i32 (w8a8).
  Value w8Element(Value raw) { return arith::ExtSIOp::create(b, i32, raw); }

  /// The epilogue of output (n): the value to store.
  Value epilogue(Value acc, Value n) {
    Value y = acc;
    if (s.integer()) {
      Value wScale = k.load(f32, k.arg(s.wScales), n);
      Value t = arith::MulFOp::create(b, xScaleValue, wScale);
      Value accF = arith::SIToFPOp::create(b, f32, acc);
      y = arith::MulFOp::create(b, accF, t);
    }
    if (s.hasBias) {
      Value bias = k.load(f32, k.arg(s.bias), n);
      y = arith::AddFOp::create(b, y, bias);
    }
    return y;
  }

  /// Loads x_scale[0] (integer paths), once per thread.
  void loadXScale() {
    if (s.integer())
      xScaleValue = k.load(f32, k.arg(s.xScale), k.idx(0));
  }

  /// The scale of group `g` (an index) of output row n.
  Value groupScale(Value n, Value g) {
    Value groups = k.idx(s.K / s.group);
    Value at = arith::AddIOp::create(
        b, arith::MulIOp::create(b, n, groups), g);
    return k.load(f32, k.arg(s.groupScales), at);
  }

  /// 16 bytes at byte offset `offset` of pointer `ptr`, as `type`
  /// (a 16-byte vector), with alignment 16.
  Value loadVector(Type type, Value ptr, Value offset) {
    Value off = arith::IndexCastOp::create(b, b.getI64Type(), offset);
    Value addr = LLVM::GEPOp::create(b, ptr.getType(), i8, ptr,
                                     ValueRange{off});
    return LLVM::LoadOp::create(b, type, addr, /*alignment=*/16);
  }

  Value extract(Value vector, int64_t i) {
    return LLVM::ExtractElementOp::create(b, vector, k.i32(i));
  }

  KernelBuilder &k;
  ImplicitLocOpBuilder &b;
  const LinearSpec &s;
  Type i8, i32, f32;
  Value xScaleValue;

private:
  /// fp32 linears may contract to fma (their reference is BLAS, whose
  /// order is unspecified anyway); w4a16 reproduces ref::linearW4A16.
  arith::FastMathFlagsAttr contract() {
    return arith::FastMathFlagsAttr::get(
        b.getContext(), s.kind == Kind::F32 ? arith::FastMathFlags::contract
                                            : arith::FastMathFlags::none);
  }

  Value decodeCode(Value code, Value scale) {
    Value v = arith::SubIOp::create(b, code, k.i32(8));
    Value vf = arith::SIToFPOp::create(b, f32, v);
    // Exact product (4 x 11 significant bits); w4a16: the fp32 weight.
    Value p = arith::MulFOp::create(b, vf, scale);
    if (s.kind == Kind::W4A16)
      return p;
    // w8 = sat8(RNE(p)), NaN -> 0 (ref::saturateToInt8).
    return roundToInt8Saturating(k, p, i32);
  }
};

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
    storeOutput(k, e.epilogue(acc, n), r, n, s.out, s.N, s.parts);
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
    e.loadXScale();
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
    // The chunk's weights as the values the products take, in k order
    // (int4 decoded once for all rows).
    auto weightValues = [&](const ChunkWeights &loads) {
      SmallVector<Value> w;
      switch (s.kind) {
      case Kind::F32:
        for (int64_t i = 0; i < chunk; ++i) {
          Value v = e.extract(loads.w, i);
          w.push_back(s.f16Weights ? arith::ExtFOp::create(b, e.f32, v).getResult() : v);
        }
        break;
      case Kind::W8A8:
        for (int64_t i = 0; i < 16; ++i)
          w.push_back(e.w8Element(e.extract(loads.w, i)));
        break;
      case Kind::W4A8:
      case Kind::W4A16:
        for (int64_t i = 0; i < 16; ++i) {
          auto [wLo, wHi] = e.decodeByte(e.extract(loads.w, i), loads.scale, loads.scale);
          w.push_back(wLo);
          w.push_back(wHi);
        }
        break;
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
      for (int64_t i = 0; i < chunk; ++i)
        x.push_back(e.xElement(e.extract(xv[i / perVector], i % perVector)));
      return x;
    };
    // acc plus the products of one chunk, elements in ascending k (W8A8 /
    // W4A8: exact int32 sums).
    auto mac = [&](Value acc, ArrayRef<Value> x, ArrayRef<Value> w) {
      for (int64_t i = 0; i < chunk; ++i)
        acc = e.mac(acc, x[i], w[i]);
      return acc;
    };
    // Each lane walks its chunks ch = lane, lane + 32, ... in steps of
    // `inFlight` chunks (of every column): all their weight loads first (a
    // chunk past the row loads the last chunk again and is not added), then,
    // chunk by chunk, the products of every (row present, column), so each
    // output's sum runs in the same order as one chunk of one row and one
    // column at a time. acc[j * C + c] is (row j, column c).
    const int64_t perLane = (chunks + 31) / 32;
    const int64_t maxInFlight = std::max<int64_t>(1, kChunksInFlight / C);
    const int64_t steps = (perLane + maxInFlight - 1) / maxInFlight;
    const int64_t inFlight = (perLane + steps - 1) / steps;
    SmallVector<Value> init(R * C, e.zero());
    SmallVector<Value> acc = k.forLoop(
        lane, k.idx(chunks), k.idx(32 * inFlight), init,
        [&](Value ch0, ValueRange iter) -> SmallVector<Value> {
          SmallVector<SmallVector<ChunkWeights>> loads(inFlight);
          SmallVector<Value> chs, valid;
          for (int64_t u = 0; u < inFlight; ++u) {
            Value ch = arith::AddIOp::create(b, ch0, k.idx(32 * u));
            valid.push_back(
                arith::CmpIOp::create(b, arith::CmpIPredicate::ult, ch, k.idx(chunks)));
            chs.push_back(arith::MinUIOp::create(b, ch, k.idx(chunks - 1)));
            for (int64_t c = 0; c < C; ++c)
              loads[u].push_back(loadWeights(c, chs.back()));
          }
          SmallVector<Value> next(iter.begin(), iter.end());
          for (int64_t u = 0; u < inFlight; ++u) {
            SmallVector<SmallVector<Value>> w;
            for (int64_t c = 0; c < C; ++c)
              w.push_back(weightValues(loads[u][c]));
            for (int64_t j = 0; j < R; ++j) {
              auto update = [&](bool select) {
                SmallVector<Value> x = xValues(j, chs[u]);
                for (int64_t c = 0; c < C; ++c) {
                  Value prev = next[j * C + c];
                  Value sum = mac(prev, x, w[c]);
                  next[j * C + c] =
                      select ? arith::SelectOp::create(b, valid[u], sum, prev).getResult() : sum;
                }
              };
              if (j == 0) {
                update(/*select=*/true); // row 0 always exists
                continue;
              }
              // Rows past the end are skipped (a warp-uniform branch).
              SmallVector<Value> before(next.begin() + j * C, next.begin() + (j + 1) * C);
              Value take = arith::AndIOp::create(b, valid[u], rowValid[j]);
              for (int64_t c = 0; c < C; ++c) {
                Value prev = before[c];
                next[j * C + c] = k.select(
                    take, prev.getType(),
                    [&] { return mac(prev, xValues(j, chs[u]), w[c]); },
                    [&] { return prev; });
              }
            }
          }
          return next;
        });
    // Butterfly reductions over the warp: every lane ends with the totals.
    Value width = k.i32(32);
    for (Value &total : acc)
      for (int offset = 16; offset >= 1; offset /= 2) {
        auto shuffle = gpu::ShuffleOp::create(b, total, k.i32(offset), width,
                                              gpu::ShuffleMode::XOR);
        total = e.add(total, shuffle.getShuffleResult());
      }
    Value first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, k.idx(0));
    k.ifThen(first, [&] {
      for (int64_t j = 0; j < R; ++j) {
        auto store = [&] {
          for (int64_t c = 0; c < C; ++c)
            storeOutput(k, e.epilogue(acc[j * C + c], col[c]), row[j], col[c], s.out, s.N,
                        s.parts);
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

} // namespace

/// The int8 tensor-core kernel (see the file comment). Fragment layouts
/// of mma.m16n8k32 .s8 (PTX ISA, "Matrix fragments for mma.m16n8k32"),
/// with g = lane / 4 and t = lane % 4:
///   A (16 x 32, row):  a[i] = 4 bytes of row g + 8 * (i % 2), columns
///                      4t + 16 * (i / 2) .. + 3
///   B (32 x 8, col):   b[i] = 4 bytes of column g, rows 4t + 16 * i .. + 3
///   C (16 x 8, s32):   c[i][j] at row g + 8 * i, column 2t + j
void buildMmaKernel(KernelBuilder &k, const LinearSpec &s, int numWarps) {
  auto &b = k.b();
  LinearEmitter e(k, s);
  e.loadXScale();
  Type i8 = b.getI8Type(), i32 = b.getI32Type();
  auto word = VectorType::get({4}, i8);
  auto aType = VectorType::get({4, 4}, i8);
  auto bType = VectorType::get({2, 4}, i8);
  auto cType = VectorType::get({2, 2}, i32);
  Type globalPtr = k.arg(s.x).getType();

  // A 4-byte word of `ptr` at byte offset `offset` (4-aligned).
  auto loadWord = [&](Value ptr, Value offset) -> Value {
    Value off64 = arith::IndexCastOp::create(b, b.getI64Type(), offset);
    Value address = LLVM::GEPOp::create(b, globalPtr, i8, ptr, ValueRange{off64});
    return LLVM::LoadOp::create(b, word, address, /*alignment=*/4);
  };
  Value zeroWord = arith::ConstantOp::create(b, word, DenseElementsAttr::get(word, b.getI8IntegerAttr(0)));

  Value rows = k.argIndex(s.operands);
  Value tid = k.threadIdx();
  Value lane = arith::RemUIOp::create(b, tid, k.idx(32));
  Value warp = arith::DivUIOp::create(b, tid, k.idx(32));
  Value tile = arith::AddIOp::create(
      b, arith::MulIOp::create(b, k.blockIdx(), k.idx(numWarps)), warp);
  // A last, partial tile of columns (N % 8 != 0, e.g. Mamba2's in_proj)
  // reads zero weights past N and stores nothing there.
  const int64_t nTiles = (s.N + 7) / 8;
  Value mTiles = arith::CeilDivUIOp::create(b, rows, k.idx(16));
  Value tiles = arith::MulIOp::create(b, mTiles, k.idx(nTiles));
  // Warp-uniform: a whole warp takes or skips the tile (mma.sync needs all
  // 32 lanes).
  Value active = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, tile, tiles);
  k.ifThen(active, [&] {
    Value mt = arith::DivUIOp::create(b, tile, k.idx(nTiles));
    Value nt = arith::RemUIOp::create(b, tile, k.idx(nTiles));
    Value g = arith::DivUIOp::create(b, lane, k.idx(4));
    Value t = arith::RemUIOp::create(b, lane, k.idx(4));
    Value row0 = arith::AddIOp::create(b, arith::MulIOp::create(b, mt, k.idx(16)), g);
    Value row1 = arith::AddIOp::create(b, row0, k.idx(8));
    Value in0 = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row0, rows);
    Value in1 = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row1, rows);
    Value col = arith::AddIOp::create(b, arith::MulIOp::create(b, nt, k.idx(8)), g);
    Value t4 = arith::MulIOp::create(b, t, k.idx(4));
    Value xRow0 = arith::MulIOp::create(b, row0, k.idx(s.K));
    Value xRow1 = arith::MulIOp::create(b, row1, k.idx(s.K));
    Value wRow = arith::MulIOp::create(b, col, k.idx(s.int4() ? s.K / 2 : s.K));
    // Weight elements k .. k+3 of column `col` as one int8 word: W8A8 loads
    // it; W4A8 decodes two packed bytes in registers (Marlin-QQQ's
    // int4 -> int8, one group scale: 4 | group).
    Value colInRange = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, col, k.idx(s.N));
    auto decodeWord = [&](Value kIndex) -> Value {
      if (!s.int4())
        return loadWord(k.arg(s.w), arith::AddIOp::create(b, wRow, kIndex));
      Value byteAt = arith::AddIOp::create(b, wRow, arith::DivUIOp::create(b, kIndex, k.idx(2)));
      Value scale = e.groupScale(col, arith::DivUIOp::create(b, kIndex, k.idx(s.group)));
      auto [w0, w1] = e.decodeByte(k.load(i8, k.arg(s.w), byteAt), scale, scale);
      auto [w2, w3] = e.decodeByte(
          k.load(i8, k.arg(s.w), arith::AddIOp::create(b, byteAt, k.idx(1))), scale, scale);
      SmallVector<Value> bytes;
      for (Value v : {w0, w1, w2, w3})
        bytes.push_back(arith::TruncIOp::create(b, i8, v));
      return vector::FromElementsOp::create(b, word, bytes);
    };
    auto weightWord = [&](Value kIndex) -> Value {
      if (s.N % 8 == 0)
        return decodeWord(kIndex);
      return k.select(colInRange, word, [&] { return decodeWord(kIndex); },
                      [&] { return zeroWord; });
    };
    // Rows past the end read zeros (their results are not stored).
    auto loadA = [&](Value inRange, Value rowBase, Value column) -> Value {
      return k.select(inRange, word, [&] {
        return loadWord(k.arg(s.x), arith::AddIOp::create(b, rowBase, column));
      }, [&] { return zeroWord; });
    };
    Value zeroAcc = arith::ConstantOp::create(b, cType, DenseElementsAttr::get(cType, b.getI32IntegerAttr(0)));
    Value zeroA = arith::ConstantOp::create(b, aType, DenseElementsAttr::get(aType, b.getI8IntegerAttr(0)));
    Value zeroB = arith::ConstantOp::create(b, bType, DenseElementsAttr::get(bType, b.getI8IntegerAttr(0)));
    SmallVector<Value> acc = k.forLoop(k.idx(0), k.idx(s.K), k.idx(32), ValueRange{zeroAcc},
                                       [&](Value k0, ValueRange iter) -> SmallVector<Value> {
      Value lo = arith::AddIOp::create(b, k0, t4);
      Value hi = arith::AddIOp::create(b, lo, k.idx(16));
      Value a = zeroA;
      Value words[4] = {loadA(in0, xRow0, lo), loadA(in1, xRow1, lo), loadA(in0, xRow0, hi),
                        loadA(in1, xRow1, hi)};
      for (int64_t i = 0; i < 4; ++i)
        a = vector::InsertOp::create(b, words[i], a, ArrayRef<int64_t>{i});
      Value bFrag = vector::InsertOp::create(b, weightWord(lo), zeroB, ArrayRef<int64_t>{0});
      bFrag = vector::InsertOp::create(b, weightWord(hi), bFrag, ArrayRef<int64_t>{1});
      Value next = nvgpu::MmaSyncOp::create(b, a, bFrag, iter[0], b.getI64ArrayAttr({16, 8, 32}));
      return {next};
    });
    // Epilogue: c[i][j] is (row g + 8i, column 2t + j) of the tile.
    Value outCol0 = arith::AddIOp::create(b, arith::MulIOp::create(b, nt, k.idx(8)),
                                          arith::MulIOp::create(b, t, k.idx(2)));
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        Value row = i ? row1 : row0;
        Value inRange = i ? in1 : in0;
        Value n = arith::AddIOp::create(b, outCol0, k.idx(j));
        Value c = vector::ExtractOp::create(b, acc[0], ArrayRef<int64_t>{i, j});
        if (s.N % 8 != 0)
          inRange = arith::AndIOp::create(
              b, inRange, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, n, k.idx(s.N)));
        k.ifThen(inRange, [&] {
          storeOutput(k, e.epilogue(c, n), row, n, s.out, s.N, s.parts);
        });
      }
  });
}

int64_t batchedDecodeMinBatch(StringRef op) {
  return op == "linear_w8a8" || op == "linear_w4a8" ? kBatchedDecodeMinBatch : 0;
}

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
  const bool mmaKernel = (s.kind == Kind::W8A8 || (s.kind == Kind::W4A8 && s.group % 4 == 0)) &&
                         (prefill || batchedDecode) && s.K % 32 == 0;
  const bool warpKernel =
      !mmaKernel && s.K % s.chunk() == 0 && (!s.int4() || s.group % s.chunk() == 0);
  const int64_t rowsPerWarp = prefill ? kPrefillRowsPerWarp : kDecodeRowsPerWarp;
  // Column blocks only where enough warps remain to keep DRAM busy
  // (mamba2-2.7b's out_proj, N = 2560, measured 15.6 us with 640 warps of 4
  // columns and 11.7 us with 2560 warps of one; in_proj, N = 10576, 17.9 vs
  // 19.5 us).
  const int64_t colsPerWarp = !prefill && s.N % kDecodeColsPerWarp == 0 &&
                                      s.N / kDecodeColsPerWarp >= kMinDecodeWarps
                                  ? kDecodeColsPerWarp
                                  : 1;
  plan::ShapeExpr outputs = mulExpr(rows, plan::ShapeExpr(s.N));
  if (mmaKernel)
    ctx.gridFor(mulExpr(*plan::ShapeExpr::parse("cdiv(" + rows.text() + ",16)"),
                        plan::ShapeExpr((s.N + 7) / 8 * 32)),
                numWarps);
  else if (warpKernel)
    ctx.gridFor(mulExpr(rowsPerWarp == 1
                            ? rows
                            : *plan::ShapeExpr::parse("cdiv(" + rows.text() + "," +
                                                      std::to_string(rowsPerWarp) + ")"),
                        plan::ShapeExpr(s.N / colsPerWarp * 32)),
                numWarps);
  else
    ctx.gridFor(outputs, numWarps);

  std::string name = op + "_k" + std::to_string(s.K) + "_n" +
                     std::to_string(s.N);
  if (s.int4())
    name += "_g" + std::to_string(s.group);
  if (s.f16Weights)
    name += "_f16w";
  if (op != "linear" && op != "linear_bias")
    name += s.hasBias ? "_bias" : "_nobias";
  name += ctx.splitSuffix();
  name += mmaKernel   ? "_mma"
          : warpKernel ? "_warp_r" + std::to_string(rowsPerWarp) +
                             (colsPerWarp > 1 ? "_c" + std::to_string(colsPerWarp) : "")
                       : "_thread";
  ctx.useKernel(name, ctx.operandArgs(1), numWarps, [&](KernelBuilder &k) {
    if (mmaKernel)
      buildMmaKernel(k, s, numWarps);
    else if (warpKernel)
      buildWarpKernel(k, s, numWarps, rowsPerWarp, colsPerWarp);
    else
      buildThreadKernel(k, s);
  });
  return success();
}

} // namespace mlir::quamba::codegen
