//===- LinearTiled.cpp - the shared-memory tiled tensor-core GEMM ---------===//
//
// Prefill's linear_w8a8 and linear_w4a8, rows = B * L:
//
//   out[r, n] = epilogue(sum_k x[r, k] * w[n, k])
//
// A block computes a blockRows x blockCols tile of the output (128 x 64)
// with warpsM x warpsN warps of 64 x 32 outputs (4 x 4 mma tiles
// of 16 x 8). K advances a tile of tileK elements at a time: every thread
// copies 16-byte pieces of the block's x rows and weight rows (int4:
// packed) from global to shared memory with cp.async, `stages` tiles in
// flight (cp.async groups), so the loads of tiles kt+1.. overlap the mmas
// of tile kt; one barrier a tile. The weights are read from DRAM/L2 once
// per row tile instead of once per warp row tile (Linear.cpp's register
// kernel: 32 x 32 outputs a warp, operands straight from global memory).
//
// Lane layout (g = lane / 4, t = lane % 4): each lane reads tileK / 4
// contiguous elements of its rows (g + 8r) and columns (g + 8j) of the
// tile, at element t * tileK / 4, in 16-byte shared loads; a warp's load
// phase of 8 lanes then covers 128 distinct-bank bytes. As in Linear.cpp's mma kernel, the K
// slots of the mma fragments are permuted alike for x and w (sub-step u,
// half h take the lane's words 2u + h of each 16-byte piece), which a sum
// does not see.
//
// Exactness: the integer kinds accumulate exact int32 sums (order-free),
// W4A8's block decodes each staged int4 tile once into an int8 tile
// (LinearEmitter::decodeInt4Words, fp16 half2 arithmetic) exactly as
// ref::dequantizeW4ToInt8, and the epilogue is LinearEmitter's: bit-exact
// with the CPU reference.
//
// The fp32 linear with f16 weights (2xTF32) stays on Linear.cpp's register
// kernel: this kernel's tf32 variant measured slower on mamba2-2.7b
// (in_proj 824 vs 745 us, out_proj 474 vs 381 us, H200): each mma of x's
// hi and lo parts reads 4x the shared bytes of an int8 one.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/LinearTiled.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::quamba::codegen::linear {

std::string TiledConfig::suffix() const {
  return "_tiled_m" + std::to_string(blockRows()) + "n" + std::to_string(blockCols()) + "k" +
         std::to_string(tileK) + "s" + std::to_string(stages);
}

std::optional<TiledConfig> tiledConfig(const LinearSpec &s) {
  TiledConfig c;
  if (!s.integer())
    return std::nullopt;
  c.wBits = s.int4() ? 4 : 8;
  const int64_t threads = 32 * c.numWarps();
  // W4A8's decoding threads take 32 codes (half a tile row) each, inside
  // one group.
  if (s.K % c.tileK != 0 || (s.int4() && s.group % (c.tileK / 2) != 0) ||
      (c.decodeOnce() && 2 * c.blockCols() != threads) ||
      c.wRowBytes() % 16 != 0 || (c.blockRows() * c.xStride() / 16) % threads != 0 ||
      (c.blockCols() * c.wRowBytes() / 16) % threads != 0)
    return std::nullopt;
  return c;
}

void buildTiledKernel(KernelBuilder &k, const LinearSpec &s, const TiledConfig &c) {
  auto &b = k.b();
  LinearEmitter e(k, s);
  e.loadXScale();
  Type i8 = b.getI8Type(), i32 = b.getI32Type();
  auto word = VectorType::get({4}, i8);
  auto aType = VectorType::get({4, 4}, i8);
  auto bType = VectorType::get({2, 4}, i8);
  auto cType = VectorType::get({2, 2}, i32);
  const int64_t threads = 32 * c.numWarps();
  const int64_t numK = s.K / c.tileK;
  const int64_t laneXBytes = c.laneElems();
  // A lane's bytes of a weight row in the tile it reads (W4A8: the
  // decoded int8 tile).
  const int64_t laneWBytes = c.laneElems();
  const int64_t wReadStride = c.decodeOnce() ? c.tileK : c.wStride();

  Value shared = k.dynamicShared(c.sharedBytes());
  auto add = [&](Value a, int64_t c) -> Value { return arith::AddIOp::create(b, a, k.idx(c)); };
  auto mul = [&](Value a, int64_t c) -> Value { return arith::MulIOp::create(b, a, k.idx(c)); };

  Value rows = k.argIndex(s.operands);
  Value tid = k.threadIdx();
  Value lane = arith::RemUIOp::create(b, tid, k.idx(32));
  Value warp = arith::DivUIOp::create(b, tid, k.idx(32));
  Value wm = arith::DivUIOp::create(b, warp, k.idx(c.warpsN));
  Value wn = arith::RemUIOp::create(b, warp, k.idx(c.warpsN));
  // Blocks walk the row tiles fastest: a column tile's weights stay in L2
  // while every row tile reads them.
  Value rowTiles = arith::CeilDivUIOp::create(b, rows, k.idx(c.blockRows()));
  Value firstRow = mul(arith::RemUIOp::create(b, k.blockIdx(), rowTiles), c.blockRows());
  Value firstCol = mul(arith::DivUIOp::create(b, k.blockIdx(), rowTiles), c.blockCols());
  Value lastRow = arith::SubIOp::create(b, rows, k.idx(1));

  // The 16-byte pieces this thread copies a tile: (global byte offset at
  // tile 0, shared byte offset in a stage). Rows and columns past the end
  // copy the last one (finite data; never stored).
  struct Piece {
    Value global, sharedOffset;
    bool weight;
  };
  SmallVector<Piece> pieces;
  auto planCopies = [&](int64_t count, int64_t rowBytes, int64_t stride, int64_t sharedBase,
                        bool weight) {
    const int64_t perRow = rowBytes / 16;
    for (int64_t j = 0; j < count * perRow / threads; ++j) {
      Value i = add(tid, j * threads);
      Value r = arith::DivUIOp::create(b, i, k.idx(perRow));
      Value piece = mul(arith::RemUIOp::create(b, i, k.idx(perRow)), 16);
      Value global;
      if (weight) {
        Value col = arith::MinUIOp::create(b, arith::AddIOp::create(b, firstCol, r),
                                           k.idx(s.N - 1));
        global = arith::AddIOp::create(b, mul(col, s.weightRowBytes()), piece);
      } else {
        Value row = arith::MinUIOp::create(b, arith::AddIOp::create(b, firstRow, r), lastRow);
        global = arith::AddIOp::create(b, mul(row, s.K), piece);
      }
      Value local = add(arith::AddIOp::create(b, mul(r, stride), piece), sharedBase);
      pieces.push_back({global, local, weight});
    }
  };
  planCopies(c.blockRows(), c.xStride(), c.xStride(), 0, /*weight=*/false);
  planCopies(c.blockCols(), c.wRowBytes(), c.wStride(), c.blockRows() * c.xStride(),
             /*weight=*/true);
  auto cacheGlobal = NVVM::LoadCacheModifierKindAttr::get(b.getContext(),
                                                      NVVM::LoadCacheModifierKind::CG);
  // cp.async of tile kt into stage `stage` (index values).
  auto issueTile = [&](Value kt, Value stage) {
    Value stageBase = mul(stage, c.stageBytes());
    for (const Piece &p : pieces) {
      Value global = arith::AddIOp::create(
          b, p.global, mul(kt, p.weight ? c.wRowBytes() : c.xStride()));
      Value src = globalByte(k, k.arg(p.weight ? s.w : s.x), global);
      Value dst = sharedByte(k, shared, arith::AddIOp::create(b, stageBase, p.sharedOffset));
      NVVM::CpAsyncOp::create(b, dst, src, b.getI32IntegerAttr(16), cacheGlobal, Value());
    }
  };
  auto commit = [&] { NVVM::CpAsyncCommitGroupOp::create(b); };

  Value g = arith::DivUIOp::create(b, lane, k.idx(4));
  Value t = arith::RemUIOp::create(b, lane, k.idx(4));
  Value warpRow = mul(wm, 16 * c.mTiles);
  Value warpCol = mul(wn, 8 * c.nTiles);
  // The lane's first x row and weight column in a stage (bytes).
  Value laneX = arith::AddIOp::create(
      b, mul(arith::AddIOp::create(b, warpRow, g), c.xStride()), mul(t, laneXBytes));
  Value laneW = arith::AddIOp::create(
      b, mul(arith::AddIOp::create(b, warpCol, g), wReadStride), mul(t, laneWBytes));

  // `words` 4-byte words at shared byte offset `offset` (16-byte aligned
  // vector loads, or one 8-byte load).
  auto loadShared = [&](Value offset, int64_t words) {
    SmallVector<Value> out;
    for (int64_t w = 0; w < words; w += 4) {
      int64_t n = std::min<int64_t>(4, words - w);
      Value v = LLVM::LoadOp::create(b, VectorType::get({n}, i32), sharedByte(k, shared, add(offset, 4 * w)),
                                     /*alignment=*/4 * n);
      for (int64_t i = 0; i < n; ++i)
        out.push_back(e.extract(v, i));
    }
    return out;
  };
  auto asWord = [&](Value v) -> Value { return LLVM::BitcastOp::create(b, word, v); };
  auto fragment = [&](VectorType type, ArrayRef<Value> registers) -> Value {
    Value frag = arith::ConstantOp::create(b, type,
                                           DenseElementsAttr::get(type, b.getI8IntegerAttr(0)));
    for (int64_t i = 0; i < static_cast<int64_t>(registers.size()); ++i)
      frag = vector::InsertOp::create(b, registers[i], frag, ArrayRef<int64_t>{i});
    return frag;
  };
  // W4A8: the block decodes the stage's int4 tile into the int8 tile, a
  // thread per half row (32 codes, one group scale; consecutive threads on
  // consecutive 16-byte pieces, in and out).
  auto decodeTile = [&](Value stage, Value kt) {
    Value col = arith::DivUIOp::create(b, tid, k.idx(2));
    Value half = arith::RemUIOp::create(b, tid, k.idx(2));
    Value in = arith::AddIOp::create(
        b, mul(stage, c.stageBytes()),
        add(arith::AddIOp::create(b, mul(col, c.wStride()), mul(half, 16)),
            c.blockRows() * c.xStride()));
    Value n = arith::MinUIOp::create(b, arith::AddIOp::create(b, firstCol, col), k.idx(s.N - 1));
    Value chunkK = arith::AddIOp::create(b, mul(kt, c.tileK), mul(half, c.tileK / 2));
    Value scale = e.groupScale(n, arith::DivUIOp::create(b, chunkK, k.idx(s.group)));
    SmallVector<Value> words = e.decodeInt4Words(loadShared(in, 4), 16, scale);
    Value out = add(arith::AddIOp::create(b, mul(col, c.tileK), mul(half, c.tileK / 2)),
                    c.decodedBase());
    Type v4i32 = VectorType::get({4}, i32);
    for (int64_t v = 0; v < 2; ++v) {
      Value packed = LLVM::UndefOp::create(b, v4i32);
      for (int64_t i = 0; i < 4; ++i)
        packed = LLVM::InsertElementOp::create(
            b, packed, LLVM::BitcastOp::create(b, i32, words[4 * v + i]), k.i32(i));
      LLVM::StoreOp::create(b, packed, sharedByte(k, shared, add(out, 16 * v)), /*alignment=*/16);
    }
  };
  // The lane's 16 int8 weight bytes of column tile j (in the stage, or in
  // W4A8's decoded tile), as the two sub-steps' mma words.
  auto weightWords = [&](Value stageBase, int64_t j) {
    Value base = c.decodeOnce() ? k.idx(c.decodedBase())
                                : add(stageBase, c.blockRows() * c.xStride());
    return loadShared(arith::AddIOp::create(b, base, add(laneW, 8 * j * wReadStride)),
                      laneWBytes / 4);
  };

  // The mmas of one stage: the lane's 16 bytes of each row and column, two
  // mma sub-steps (u) of 8 bytes.
  auto computeStage = [&](Value stage, SmallVector<Value> acc) {
    Value stageBase = mul(stage, c.stageBytes());
    SmallVector<SmallVector<Value>> w;
    for (int64_t j = 0; j < c.nTiles; ++j)
      w.push_back(weightWords(stageBase, j));
    // Every row's words first, then the mmas with u outermost: the two
    // mmas into one accumulator are mTiles x nTiles mmas apart (the mma's
    // latency hides behind the others).
    SmallVector<SmallVector<Value>> x;
    for (int64_t r = 0; r < 2 * c.mTiles; ++r) {
      x.push_back({});
      for (Value v : loadShared(
               arith::AddIOp::create(b, stageBase, add(laneX, 8 * r * c.xStride())), 4))
        x.back().push_back(asWord(v));
    }
    for (int64_t u = 0; u < 2; ++u) {
      SmallVector<Value> bFrags;
      for (int64_t j = 0; j < c.nTiles; ++j)
        bFrags.push_back(fragment(bType, {asWord(w[j][2 * u]), asWord(w[j][2 * u + 1])}));
      for (int64_t m = 0; m < c.mTiles; ++m) {
        Value aFrag = fragment(aType, {x[2 * m][2 * u], x[2 * m + 1][2 * u],
                                       x[2 * m][2 * u + 1], x[2 * m + 1][2 * u + 1]});
        for (int64_t j = 0; j < c.nTiles; ++j)
          acc[m * c.nTiles + j] =
              nvgpu::MmaSyncOp::create(b, aFrag, bFrags[j], acc[m * c.nTiles + j],
                                       ArrayRef<int64_t>{16, 8, 32}, /*tf32Enabled=*/false);
      }
    }
    return acc;
  };

  // Prologue: tiles 0 .. stages-2 in flight, a cp.async group each (empty
  // groups past the last tile keep the group count uniform).
  for (int64_t st = 0; st + 1 < c.stages; ++st) {
    if (st < numK)
      issueTile(k.idx(st), k.idx(st));
    commit();
  }
  SmallVector<Value> init(
      c.mTiles * c.nTiles,
      arith::ConstantOp::create(b, cType, DenseElementsAttr::get(cType, b.getI32IntegerAttr(0))));
  SmallVector<Value> acc = k.forLoop(
      k.idx(0), k.idx(numK), k.idx(1), init,
      [&](Value kt, ValueRange iter) -> SmallVector<Value> {
        // Tile kt has landed (at most stages-2 younger groups pending) and,
        // after the barrier, every warp is done with tile kt-1, whose stage
        // the next copy refills.
        NVVM::CpAsyncWaitGroupOp::create(b, b.getI32IntegerAttr(c.stages - 2));
        k.barrier();
        Value next = add(kt, c.stages - 1);
        k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, next, k.idx(numK)), [&] {
          issueTile(next, arith::RemUIOp::create(b, next, k.idx(c.stages)));
        });
        commit();
        if (c.decodeOnce()) {
          // The decoded tile of kt-1 is free: every warp passed the
          // barrier above after its mmas.
          decodeTile(arith::RemUIOp::create(b, kt, k.idx(c.stages)), kt);
          k.barrier();
        }
        return computeStage(arith::RemUIOp::create(b, kt, k.idx(c.stages)),
                            SmallVector<Value>(iter.begin(), iter.end()));
      });
  NVVM::CpAsyncWaitGroupOp::create(b, b.getI32IntegerAttr(0));

  // The warps park their sums (c[i][h] of mma tile (m, j) is row
  // 16m + 8i + g, column 8j + 2t + h of the warp tile) for the epilogue.
  k.barrier();
  for (int64_t m = 0; m < c.mTiles; ++m)
    for (int64_t j = 0; j < c.nTiles; ++j)
      for (int64_t i = 0; i < 2; ++i)
        parkSums(k, shared, c.epilogueStride(),
                 arith::AddIOp::create(b, warpRow, add(g, 16 * m + 8 * i)),
                 arith::AddIOp::create(b, warpCol, add(mul(t, 2), 8 * j)),
                 vector::ExtractOp::create(b, acc[m * c.nTiles + j], ArrayRef<int64_t>{i}));
  k.barrier();
  storeParkedTile(k, s, e, shared, c.epilogueStride(), c.blockRows(), c.blockCols(), threads,
                  rows, firstRow, firstCol);
}

// Epilogue through shared memory: the warps park their sums in a
// [blockRows][blockCols] tile, then the block walks the tile with
// consecutive threads on consecutive columns: stores coalesce, and only
// one sum is live at a time in the (register-hungry, requantizing)
// per-element epilogue.
void parkSums(KernelBuilder &k, Value shared, int64_t stride, Value row, Value col, Value pair) {
  auto &b = k.b();
  Value offset = arith::AddIOp::create(b, arith::MulIOp::create(b, row, k.idx(stride)),
                                       arith::MulIOp::create(b, col, k.idx(4)));
  LLVM::StoreOp::create(b, pair, sharedByte(k, shared, offset), /*alignment=*/8);
}

void storeParkedTile(KernelBuilder &k, const LinearSpec &s, LinearEmitter &e, Value shared,
                     int64_t stride, int64_t blockRows, int64_t blockCols, int64_t threads,
                     Value rows, Value firstRow, Value firstCol) {
  auto &b = k.b();
  auto mul = [&](Value a, int64_t c) -> Value { return arith::MulIOp::create(b, a, k.idx(c)); };
  // A thread owns a run of `width` consecutive columns for the whole walk
  // (their scales, part pointer and requantization scales loaded once; the
  // tile's rows walked `passRows` at a time): runs of 4 where no run
  // straddles a part or the end (one 16-byte shared load and global store
  // a row), else single columns.
  const bool byFour = s.N % 4 == 0 && llvm::all_of(s.parts, [](int64_t p) { return p % 4 == 0; });
  const int64_t width = byFour && blockCols % 4 == 0 && threads % (blockCols / 4) == 0 ? 4 : 1;
  const int64_t runs = blockCols / width;
  assert(threads % runs == 0 && blockRows % (threads / runs) == 0 && "the walk tiles the block");
  const int64_t passRows = threads / runs;
  Value tid = k.threadIdx();
  Value col = mul(arith::RemUIOp::create(b, tid, k.idx(runs)), width);
  Value firstR = arith::DivUIOp::create(b, tid, k.idx(runs));
  Value n = arith::AddIOp::create(b, firstCol, col);
  // Columns past N (the last column tile) load column N - 1 and store
  // nothing.
  Value colInRange = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, n, k.idx(s.N));
  SmallVector<LinearEmitter::ColumnEpilogue> columns;
  SmallVector<OutputSlot> slots;
  for (int64_t i = 0; i < width; ++i) {
    Value ni = arith::MinUIOp::create(b, arith::AddIOp::create(b, n, k.idx(i)), k.idx(s.N - 1));
    LinearEmitter::ColumnEpilogue c = e.loadColumnEpilogue(ni);
    if (s.integer())
      c.xwScale = arith::MulFOp::create(b, e.xScaleValue, c.wScale);
    columns.push_back(c);
    // Row 0's slot: the row adds rowStride * row to its index.
    slots.push_back(prepareOutput(k, k.idx(0), ni, s.out, s.N, s.parts, s.requant));
  }
  k.forLoop(k.idx(0), k.idx(blockRows / passRows), k.idx(1), [&](Value pass) {
    Value r = arith::AddIOp::create(b, mul(pass, passRows), firstR);
    Value row = arith::AddIOp::create(b, firstRow, r);
    Value inRange = arith::AndIOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, rows), colInRange);
    k.ifThen(inRange, [&] {
      Value offset = arith::AddIOp::create(b, mul(r, stride), mul(col, 4));
      Value sums = LLVM::LoadOp::create(b, VectorType::get({width}, b.getI32Type()),
                                        sharedByte(k, shared, offset), /*alignment=*/4 * width);
      Value rowBase = arith::MulIOp::create(b, row, slots[0].rowStride);
      SmallVector<Value> values;
      for (int64_t i = 0; i < width; ++i)
        values.push_back(
            requantizedOutput(k, slots[i], e.epilogue(e.extract(sums, i), columns[i])));
      k.storeVector(values, slots[0].ptr, arith::AddIOp::create(b, rowBase, slots[0].index));
    });
  });
}

// ptr + byteOffset (an index) as an i8 GEP: i32 offsets in shared memory,
// i64 in global.
static Value byteAddress(KernelBuilder &k, Value ptr, Value byteOffset, Type offsetType) {
  auto &b = k.b();
  Value off = arith::IndexCastOp::create(b, offsetType, byteOffset);
  return LLVM::GEPOp::create(b, ptr.getType(), b.getI8Type(), ptr, ValueRange{off});
}

Value sharedByte(KernelBuilder &k, Value shared, Value byteOffset) {
  return byteAddress(k, shared, byteOffset, k.b().getI32Type());
}

Value globalByte(KernelBuilder &k, Value global, Value byteOffset) {
  return byteAddress(k, global, byteOffset, k.b().getI64Type());
}

} // namespace mlir::quamba::codegen::linear
