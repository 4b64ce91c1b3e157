//===- LinearWgmma.cpp - the Hopper warpgroup GEMM ------------------------===//
//
// Prefill's linear_w8a8 and linear_w4a8 on sm_90a, rows = B * L:
//
//   out[r, n] = epilogue(sum_k x[r, k] * w[n, k])
//
// A block of `warpgroups` warpgroups computes a (64 * mTiles * warpgroups)
// x blockN tile of the output; warpgroup wg owns mTiles slabs of 64 rows and
// issues a wgmma.m64nNk32.s32.s8.s8 a slab per 32 K elements (their group
// scales loaded a tile ahead for W4A8), both operands read by the
// tensor cores straight from shared memory through matrix descriptors (no
// shared-to-register loads: those bound LinearTiled.cpp's mma.sync kernel).
//
// Shared layout: x and weight tiles are K-major rows of 128 bytes (128 int8
// K elements) in the 128-byte swizzle the descriptors name: the 16-byte
// chunk c of row r sits at chunk c ^ (r % 8), 8-row atoms of 1024 bytes
// (the stride byte offset), every tile 1024-aligned. A wgmma's 32 K
// elements are 32 bytes of each row: stepping K inside the tile adds 32
// bytes to the descriptors' start address (the swizzle is a function of
// the address bits above, which the step does not touch).
//
// Pipeline: every thread copies 16-byte pieces with cp.async, a group a
// tile, stages - 1 tiles ahead. Iteration kt issues tile kt's wgmmas, lets
// them run (wgmma.wait_group 1: tile kt-1's are complete), and meanwhile
// readies tile kt+1: waits for its copies, fences them into the async
// proxy (wgmma reads through it), meets the block at a barrier (after
// which every warpgroup's wgmmas of kt-1 are complete), and refills tile
// kt-1's stage with tile kt+stages-1.
//
// W4A8: the packed int4 tile is staged dense (64-byte rows) and the block
// decodes it into a swizzled int8 tile (LinearEmitter::lookupInt4Word in a
// table of decodeInt4Words' bits: exactly ref::dequantizeW4ToInt8) while tile kt's wgmmas run: two decoded
// tiles alternate (tile kt+1's buffer was tile kt-1's), and a second
// barrier publishes it.
//
// Exactness: int32 sums of int8 products are exact and order-free (|sum|
// <= K * 128 * 128 < 2^31 for K < 131072), and the epilogue is
// LinearEmitter's through LinearTiled.h's shared tile: bit-exact with the
// CPU reference, like the mma.sync kernel.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernels/LinearWgmma.h"
#include "codegen/kernels/LinearTiled.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mlir::quamba::codegen::linear {

std::string WgmmaConfig::suffix() const {
  return "_wgmma_m" + std::to_string(blockRows()) + "n" + std::to_string(blockN) + "s" +
         std::to_string(stages);
}

std::optional<WgmmaConfig> wgmmaConfig(const LinearSpec &s, StringRef chip) {
  if (chip != "sm_90a" || !s.integer())
    return std::nullopt;
  WgmmaConfig c;
  c.wBits = s.int4() ? 4 : 8;
  // Narrow outputs (the small models) take narrower tiles than the
  // default's idle columns.
  c.blockN = s.N >= 256 ? 256 : s.N >= 128 ? 128 : 64;
  // W4A8 decodes each weight tile once per row tile: 256 x 128 blocks
  // (two m64 slabs a warpgroup) halve that work a MAC. mamba2-2.7b at
  // 1,024 tokens: in_proj 144 vs 153 us, out_proj 49 vs 55 (H200, ncu).
  if (s.int4() && c.blockN == 256) {
    c.blockN = 128;
    c.mTiles = 2;
  }
  // A decoded piece is 32 codes of one group.
  if (s.K % WgmmaConfig::kTileK != 0 || (s.int4() && s.group % 32 != 0) ||
      c.numThreads() % c.blockN != 0)
    return std::nullopt;
  return c;
}

namespace {
/// The pieces of one operand tile a thread copies each K tile.
struct Piece {
  Value global, sharedOffset;
};
} // namespace

void buildWgmmaKernel(KernelBuilder &k, const LinearSpec &s, const WgmmaConfig &c) {
  auto &b = k.b();
  MLIRContext *ctx = b.getContext();
  LinearEmitter e(k, s);
  e.loadXScale();
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  constexpr int64_t tileK = WgmmaConfig::kTileK;
  const int64_t threads = c.numThreads();
  const int64_t numK = s.K / tileK;
  assert(c.stages >= 3 && "a tile multiplied, one readied, one refilled");
  assert((c.blockRows() * 8) % threads == 0 && (c.blockN * c.wRowBytes() / 16) % threads == 0 &&
         "the copies divide among the threads");

  Value shared = k.dynamicShared(c.sharedBytes(), WgmmaConfig::kAtomBytes);
  auto add = [&](Value a, int64_t v) -> Value { return arith::AddIOp::create(b, a, k.idx(v)); };
  auto mul = [&](Value a, int64_t v) -> Value { return arith::MulIOp::create(b, a, k.idx(v)); };
  auto sum = [&](Value a, Value v) -> Value { return arith::AddIOp::create(b, a, v); };
  // Byte offset of chunk `chunk` of row `row` in a swizzled tile.
  auto swizzled = [&](Value row, Value chunk) -> Value {
    Value phase = arith::RemUIOp::create(b, row, k.idx(8));
    return sum(mul(row, tileK), mul(arith::XOrIOp::create(b, chunk, phase), 16));
  };

  Value rows = k.argIndex(s.operands);
  Value tid = k.threadIdx();
  Value rowTiles = arith::CeilDivUIOp::create(b, rows, k.idx(c.blockRows()));
  Value firstRow = mul(arith::RemUIOp::create(b, k.blockIdx(), rowTiles), c.blockRows());
  Value firstCol = mul(arith::DivUIOp::create(b, k.blockIdx(), rowTiles), c.blockN);
  Value lastRow = arith::SubIOp::create(b, rows, k.idx(1));

  // The copies: x rows and weight columns past the end copy the last one
  // (finite data; never stored).
  SmallVector<Piece> xPieces, wPieces;
  for (int64_t j = 0; j < c.blockRows() * 8 / threads; ++j) {
    Value i = add(tid, j * threads);
    Value r = arith::DivUIOp::create(b, i, k.idx(8)), chunk = arith::RemUIOp::create(b, i, k.idx(8));
    Value row = arith::MinUIOp::create(b, sum(firstRow, r), lastRow);
    xPieces.push_back({sum(mul(row, s.K), mul(chunk, 16)), swizzled(r, chunk)});
  }
  const int64_t wPiecesPerRow = c.wRowBytes() / 16;
  for (int64_t j = 0; j < c.blockN * wPiecesPerRow / threads; ++j) {
    Value i = add(tid, j * threads);
    Value r = arith::DivUIOp::create(b, i, k.idx(wPiecesPerRow));
    Value chunk = arith::RemUIOp::create(b, i, k.idx(wPiecesPerRow));
    Value col = arith::MinUIOp::create(b, sum(firstCol, r), k.idx(s.N - 1));
    Value local = c.decodes() ? sum(mul(r, c.wRowBytes()), mul(chunk, 16)) : swizzled(r, chunk);
    wPieces.push_back({sum(mul(col, s.weightRowBytes()), mul(chunk, 16)),
                       add(local, c.xTileBytes())});
  }
  auto cacheGlobal = NVVM::LoadCacheModifierKindAttr::get(ctx, NVVM::LoadCacheModifierKind::CG);
  auto issueTile = [&](Value kt, Value stage) {
    Value stageBase = mul(stage, c.stageBytes());
    auto copy = [&](const Piece &p, unsigned arg, int64_t tileBytes) {
      Value src = globalByte(k, k.arg(arg), sum(p.global, mul(kt, tileBytes)));
      Value dst = sharedByte(k, shared, sum(stageBase, p.sharedOffset));
      NVVM::CpAsyncOp::create(b, dst, src, b.getI32IntegerAttr(16), cacheGlobal, Value());
    };
    for (const Piece &p : xPieces)
      copy(p, s.x, tileK);
    for (const Piece &p : wPieces)
      copy(p, s.w, c.wRowBytes());
  };
  auto commit = [&] { NVVM::CpAsyncCommitGroupOp::create(b); };
  // Generic-proxy writes (cp.async, st.shared) made visible to the async
  // proxy the wgmmas read through; a barrier follows.
  auto fenceToAsyncProxy = [&] {
    NVVM::FenceProxyOp::create(
        b, NVVM::ProxyKindAttr::get(ctx, NVVM::ProxyKind::async_shared),
        NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
  };

  // W4A8's decode: a thread owns `mine` consecutive pieces of one column's
  // row.
  const int64_t piecesPerRow = c.wRowBytes() / 16;
  const int64_t threadsPerCol = threads / c.blockN;
  const int64_t mine = piecesPerRow / threadsPerCol;
  const int64_t piecesPerGroup = std::max<int64_t>(s.group / 32, 1);
  Value decodeCol = arith::DivUIOp::create(b, tid, k.idx(threadsPerCol));
  Value firstChunk = mul(arith::RemUIOp::create(b, tid, k.idx(threadsPerCol)), mine);
  Value decodeN = arith::MinUIOp::create(b, sum(firstCol, decodeCol), k.idx(s.N - 1));
  // The pieces j of a thread's run that start a group (firstChunk is a
  // multiple of `mine`: with power-of-two sizes a group starts at j only
  // where j is a multiple of its pieces).
  SmallVector<int64_t> groupStarts;
  for (int64_t j = 0; j < mine; ++j)
    if (j == 0 || !llvm::isPowerOf2_64(piecesPerGroup) || !llvm::isPowerOf2_64(mine) ||
        j % piecesPerGroup == 0)
      groupStarts.push_back(j);
  // The group scales of the thread's pieces of tile kt (clamped to the
  // last tile): loaded a tile ahead of their decode, so that their latency
  // is not on its path.
  auto loadScales = [&](Value kt) {
    SmallVector<Value> scales;
    if (!c.decodes())
      return scales;
    Value tile = arith::MinUIOp::create(b, kt, k.idx(numK - 1));
    for (int64_t j : groupStarts) {
      Value firstK = sum(mul(tile, tileK), mul(add(firstChunk, j), 32));
      scales.push_back(e.groupScale(decodeN, arith::DivUIOp::create(b, firstK, k.idx(s.group))));
    }
    return scales;
  };
  // W4A8: decode the staged int4 tile into decoded tile `buffer`: a
  // thread takes `mine` consecutive 16-byte pieces (32 codes each) of one
  // column's row, decoding through a 16-entry table of the piece's group
  // (LinearEmitter::int4Table, built where a piece starts a group):
  // ~1.3 instructions a weight instead of decodeInt4Words' ~3.
  auto decodeTile = [&](Value stage, Value buffer, ArrayRef<Value> scales) {
    Value stageW = add(mul(stage, c.stageBytes()), c.xTileBytes());
    Value out = add(mul(buffer, c.decodedTileBytes()), c.decodedBase());
    SmallVector<Value> table;
    for (int64_t j = 0, g = 0; j < mine; ++j) {
      Value chunk = add(firstChunk, j);
      if (g < static_cast<int64_t>(groupStarts.size()) && groupStarts[g] == j)
        table = e.int4Table(scales[g++]);
      Value packed = LLVM::LoadOp::create(
          b, VectorType::get({4}, i32),
          sharedByte(k, shared, sum(stageW, sum(mul(decodeCol, c.wRowBytes()), mul(chunk, 16)))),
          /*alignment=*/16);
      SmallVector<Value> decoded;
      for (int64_t w = 0; w < 4; ++w)
        llvm::append_range(decoded, e.lookupInt4Word(e.extract(packed, w), table));
      for (int64_t v = 0; v < 2; ++v) {
        Value piece = LLVM::UndefOp::create(b, VectorType::get({4}, i32));
        for (int64_t w = 0; w < 4; ++w)
          piece = LLVM::InsertElementOp::create(
              b, piece, LLVM::BitcastOp::create(b, i32, decoded[4 * v + w]), k.i32(w));
        Value at = sum(out, swizzled(decodeCol, add(mul(chunk, 2), v)));
        LLVM::StoreOp::create(b, piece, sharedByte(k, shared, at), /*alignment=*/16);
      }
    }
  };

  // Matrix descriptors (PTX ISA "Matrix Descriptor Format"): start address
  // >> 4 in bits 0-13, leading byte offset >> 4 in 16-29 (unused by
  // K-major swizzled tiles: 1), stride byte offset >> 4 in 32-45 (the
  // 1024-byte atom), 128-byte swizzle (1) in bits 62-63.
  Value sharedBase = arith::IndexCastUIOp::create(
      b, b.getIndexType(), LLVM::PtrToIntOp::create(b, i32, shared));
  const int64_t descriptorHigh =
      (int64_t{1} << 16) | ((WgmmaConfig::kAtomBytes >> 4) << 32) | (int64_t{1} << 62);
  auto descriptor = [&](Value byteOffset) -> Value {
    Value address = arith::ShRUIOp::create(b, sum(sharedBase, byteOffset), k.idx(4));
    Value low = arith::AndIOp::create(b, address, k.idx(0x3FFF));
    return arith::OrIOp::create(b, arith::IndexCastUIOp::create(b, i64, low),
                                arith::ConstantIntOp::create(b, i64, descriptorHigh));
  };
  Value warpgroup = arith::DivUIOp::create(b, tid, k.idx(128));
  // The warpgroup's rows: mTiles slabs of 64.
  Value xOffset = mul(warpgroup, 64 * c.mTiles * tileK);

  auto accType = LLVM::LLVMStructType::getLiteral(ctx, SmallVector<Type>(c.blockN / 2, i32));
  auto shape = NVVM::MMAShapeAttr::get(ctx, 64, c.blockN, WgmmaConfig::kStepK);

  // Tiles 0 .. stages-2 in flight, a cp.async group each (empty groups
  // past the last tile keep the count uniform).
  for (int64_t st = 0; st + 1 < c.stages; ++st) {
    if (st < numK)
      issueTile(k.idx(st), k.idx(st));
    commit();
  }
  // A tile landed (at most `pending` younger groups in flight) and fenced
  // for the wgmmas; decodeReady then decodes W4A8's into buffer kt % 2.
  auto tileLanded = [&](int64_t pending) {
    NVVM::CpAsyncWaitGroupOp::create(b, b.getI32IntegerAttr(pending));
    fenceToAsyncProxy();
    k.barrier();
  };
  auto decodeReady = [&](Value kt, ArrayRef<Value> scales) {
    if (!c.decodes())
      return;
    decodeTile(arith::RemUIOp::create(b, kt, k.idx(c.stages)),
               arith::RemUIOp::create(b, kt, k.idx(2)), scales);
    fenceToAsyncProxy();
    k.barrier();
  };
  tileLanded(c.stages - 2);
  decodeReady(k.idx(0), loadScales(k.idx(0)));
  // Loop-carried: the accumulators, then (W4A8) tile kt+1's group scales.
  SmallVector<Value> init(c.mTiles, LLVM::ZeroOp::create(b, accType));
  llvm::append_range(init, loadScales(k.idx(1)));
  SmallVector<Value> acc = k.forLoop(
      k.idx(0), k.idx(numK), k.idx(1), init,
      [&](Value kt, ValueRange iter) -> SmallVector<Value> {
        Value stageBase = mul(arith::RemUIOp::create(b, kt, k.idx(c.stages)), c.stageBytes());
        Value wOffset =
            c.decodes()
                ? add(mul(arith::RemUIOp::create(b, kt, k.idx(2)), c.decodedTileBytes()),
                      c.decodedBase())
                : add(stageBase, c.xTileBytes());
        Value descB = descriptor(wOffset);
        NVVM::WgmmaFenceAlignedOp::create(b);
        SmallVector<Value> accumulators(iter.begin(), iter.begin() + c.mTiles);
        SmallVector<Value> nextScales(iter.begin() + c.mTiles, iter.end());
        for (int64_t step = 0; step < tileK / WgmmaConfig::kStepK; ++step) {
          Value advance = arith::ConstantIntOp::create(b, i64, step * WgmmaConfig::kStepK / 16);
          for (int64_t m = 0; m < c.mTiles; ++m) {
            Value descA = descriptor(sum(stageBase, add(xOffset, m * 64 * tileK)));
            accumulators[m] = NVVM::WgmmaMmaAsyncOp::create(
                b, accType, accumulators[m], arith::AddIOp::create(b, descA, advance),
                arith::AddIOp::create(b, descB, advance), shape, NVVM::WGMMATypes::s8,
                NVVM::WGMMATypes::s8, NVVM::WGMMATypes::s32, NVVM::WGMMAScaleOut::one,
                NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
                NVVM::MMALayout::col, /*satfinite=*/nullptr);
          }
        }
        NVVM::WgmmaGroupSyncAlignedOp::create(b);
        // Tile kt's wgmmas run on while the block readies tile kt+1; kt-1's
        // are complete in this warpgroup, and after the barrier in every
        // one: its stage and (W4A8) decoded buffer are free.
        NVVM::WgmmaWaitGroupSyncOp::create(b, 1);
        Value next = add(kt, 1);
        k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, next, k.idx(numK)), [&] {
          // Committed: tiles 0 .. kt+stages-2; kt+1 must have landed.
          tileLanded(c.stages - 3);
          Value refill = add(kt, c.stages - 1);
          k.ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::ult, refill, k.idx(numK)), [&] {
            issueTile(refill, arith::RemUIOp::create(b, refill, k.idx(c.stages)));
          });
          commit();
          decodeReady(next, nextScales);
        });
        llvm::append_range(accumulators, loadScales(add(kt, 2)));
        return accumulators;
      });
  NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
  NVVM::CpAsyncWaitGroupOp::create(b, b.getI32IntegerAttr(0));

  // Accumulator i of slab m of warp w of the warpgroup (the m64nN D
  // fragment): row 64m + 16w + g + 8 * (i / 2 % 2), column 8 * (i / 4) +
  // 2t + i % 2.
  k.barrier();
  Value lane = arith::RemUIOp::create(b, tid, k.idx(32));
  Value g = arith::DivUIOp::create(b, lane, k.idx(4));
  Value t = arith::RemUIOp::create(b, lane, k.idx(4));
  Value warpRow = sum(mul(warpgroup, 64 * c.mTiles),
                      mul(arith::RemUIOp::create(b, arith::DivUIOp::create(b, tid, k.idx(32)),
                                                 k.idx(4)),
                          16));
  auto pairType = VectorType::get({2}, i32);
  for (int64_t m = 0; m < c.mTiles; ++m)
    for (int64_t i = 0; i < c.blockN / 2; i += 2) {
      Value pair = LLVM::UndefOp::create(b, pairType);
      for (int64_t h = 0; h < 2; ++h)
        pair = LLVM::InsertElementOp::create(
            b, pair, LLVM::ExtractValueOp::create(b, acc[m], ArrayRef<int64_t>{i + h}), k.i32(h));
      parkSums(k, shared, c.epilogueStride(), sum(warpRow, add(g, 64 * m + 8 * (i / 2 % 2))),
               add(mul(t, 2), 8 * (i / 4)), pair);
    }
  k.barrier();
  storeParkedTile(k, s, e, shared, c.epilogueStride(), c.blockRows(), c.blockN, threads, rows,
                  firstRow, firstCol);
}

} // namespace mlir::quamba::codegen::linear
