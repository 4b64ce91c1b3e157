//===- LinearTiled.h - the shared-memory tiled tensor-core GEMM -*- C++ -*-===//
//
// The prefill kernel of linear_w8a8 and linear_w4a8 (LinearTiled.cpp): block tiles of x and w staged in shared
// memory by cp.async in a multi-stage pipeline, mma.sync on them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/kernels/LinearEmitter.h"

#include <algorithm>
#include <optional>
#include <string>

namespace mlir::quamba::codegen::linear {

/// One tiled GEMM's shape: a block of warpsM x warpsN warps computes
/// blockRows() x blockCols() outputs, each warp mTiles x nTiles mma tiles
/// (16 x 8 each); K advances by tileK elements a pipeline stage.
struct TiledConfig {
  /// K elements of one shared-memory tile (each lane's rows and columns
  /// take a quarter of it: tileK / 4 contiguous elements).
  int64_t tileK = 64;
  /// 128 x 64 blocks of 4 warps: mamba2-2.7b's W8A8 in_proj measured
  /// 189 us with them vs 212 with 128 x 128 blocks of 8 warps (both 16
  /// warps an SM at 128 registers; fewer warps meet at each barrier),
  /// out_proj 83 us either way; 128 x 256 blocks (64 x 64 a warp, 222
  /// registers) 247 us (H200, ncu).
  int64_t warpsM = 2, warpsN = 2;
  int64_t mTiles = 4, nTiles = 4;
  /// Tiles in flight (cp.async groups): stages - 1 load while one computes.
  int64_t stages = 3;
  /// Bits of a weight element (8: int8, 4: packed int4).
  int64_t wBits = 8;

  int numWarps() const { return static_cast<int>(warpsM * warpsN); }
  int64_t blockRows() const { return warpsM * 16 * mTiles; }
  int64_t blockCols() const { return warpsN * 8 * nTiles; }
  int64_t laneElems() const { return tileK / 4; }
  /// Bytes of one row of the x and weight tiles, dense in shared memory: a
  /// lane reads 16 (int4: 8) contiguous bytes of a row, so the 8 lanes of a
  /// 16-byte load phase (rows g, g + 1) cover 128 contiguous bytes, on
  /// distinct banks.
  int64_t xStride() const { return tileK; }
  int64_t wRowBytes() const { return tileK * wBits / 8; }
  int64_t wStride() const { return wRowBytes(); }
  int64_t stageBytes() const { return blockRows() * xStride() + blockCols() * wStride(); }
  /// W4A8: the block decodes each staged int4 tile once into an int8 tile
  /// (blockCols x tileK bytes, after the stages) that the warps then read
  /// as W8A8's, instead of each warp decoding its columns in registers
  /// (the two warps of a column would decode them twice).
  bool decodeOnce() const { return wBits == 4; }
  int64_t decodedBase() const { return stages * stageBytes(); }
  int64_t decodedBytes() const { return decodeOnce() ? blockCols() * tileK : 0; }
  /// Row stride (bytes) of the epilogue's [blockRows][blockCols] tile of
  /// 4-byte sums: padded by 32 so that the 16 lanes of an 8-byte store
  /// phase (4 rows, 4 column pairs) hit distinct banks.
  int64_t epilogueStride() const { return blockCols() * 4 + 32; }
  /// The pipeline's stages, or the epilogue's tile where that is larger
  /// (they share the memory: the epilogue runs after the last tile).
  int64_t sharedBytes() const {
    return std::max(stages * stageBytes() + decodedBytes(), blockRows() * epilogueStride());
  }
  std::string suffix() const;
};

/// The tiled configuration of a prefill linear, or nothing where it does
/// not apply (fp32 activations, a K the tile does not divide, an int4
/// group a lane's chunk would straddle).
std::optional<TiledConfig> tiledConfig(const LinearSpec &s);

/// Builds the tiled kernel; grid: one block per (row tile, column tile),
/// row tiles fastest.
void buildTiledKernel(KernelBuilder &k, const LinearSpec &s, const TiledConfig &c);

// The epilogue both tiled kernels share (LinearTiled.cpp, LinearWgmma.cpp):
// the sums parked in shared memory as a [blockRows][blockCols] tile of
// i32 with row stride `stride` bytes, then walked by the whole block.

/// Stores the pair of sums (vector<2xi32>) at (row, col) of the tile.
void parkSums(KernelBuilder &k, Value shared, int64_t stride, Value row, Value col, Value pair);
/// After a barrier: each parked sum through LinearEmitter's epilogue into
/// the output at (firstRow + r, firstCol + col), rows < `rows` and columns
/// < N only.
void storeParkedTile(KernelBuilder &k, const LinearSpec &s, LinearEmitter &e, Value shared,
                     int64_t stride, int64_t blockRows, int64_t blockCols, int64_t threads,
                     Value rows, Value firstRow, Value firstCol);
/// shared + byteOffset (an index) as an i8 GEP with an i32 offset.
Value sharedByte(KernelBuilder &k, Value shared, Value byteOffset);
/// global + byteOffset (an index) as an i8 GEP with an i64 offset.
Value globalByte(KernelBuilder &k, Value global, Value byteOffset);

} // namespace mlir::quamba::codegen::linear
