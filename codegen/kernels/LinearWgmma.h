//===- LinearWgmma.h - the Hopper warpgroup GEMM ----------------*- C++ -*-===//
//
// The sm_90a prefill kernel of linear_w8a8 and linear_w4a8
// (LinearWgmma.cpp): tiles staged by cp.async in 128-byte-swizzled shared
// memory, multiplied by wgmma.mma_async straight from shared memory.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/kernels/LinearEmitter.h"

#include <algorithm>
#include <optional>
#include <string>

namespace mlir::quamba::codegen::linear {

/// One warpgroup GEMM's shape: `warpgroups` warpgroups of 64 x mTiles rows
/// each share blockCols() columns (mTiles m64nNk32 wgmmas per 32 K
/// elements); K advances a 128-element tile at a time (one 128-byte
/// swizzle row of int8).
struct WgmmaConfig {
  int64_t warpgroups = 2;
  /// m64 wgmmas a warpgroup issues a K step, on consecutive 64-row slabs.
  int64_t mTiles = 1;
  /// The wgmma's N: columns of the block tile. 256 (two warpgroups of
  /// m64n256: 128 accumulators a thread, ~210 registers): mamba2-2.7b's
  /// W8A8 in_proj at 1,024 tokens measured 80 us vs 87 with 128, out_proj
  /// 32 vs 40 (H200, ncu); the loads a MAC fall by a third.
  int64_t blockN = 256;
  /// Tiles in the pipeline: one being multiplied, stages - 1 loading.
  int64_t stages = 4;
  /// Bits of a weight element (8: int8, 4: packed int4).
  int64_t wBits = 8;

  static constexpr int64_t kTileK = 128;
  /// K elements of one wgmma (s8).
  static constexpr int64_t kStepK = 32;
  /// One swizzle atom: 8 rows of 128 bytes.
  static constexpr int64_t kAtomBytes = 1024;

  int numThreads() const { return static_cast<int>(128 * warpgroups); }
  int numWarps() const { return numThreads() / 32; }
  int64_t blockRows() const { return 64 * mTiles * warpgroups; }
  int64_t blockCols() const { return blockN; }
  int64_t xTileBytes() const { return blockRows() * kTileK; }
  /// A staged weight row: 128 bytes swizzled (int8) or 64 bytes dense
  /// (packed int4, decoded into the swizzled int8 tile before the wgmmas).
  int64_t wRowBytes() const { return kTileK * wBits / 8; }
  int64_t stageBytes() const { return xTileBytes() + blockN * wRowBytes(); }
  bool decodes() const { return wBits == 4; }
  /// W4A8's decoded int8 tiles: two, so that tile kt+1 decodes while tile
  /// kt's wgmmas run.
  int64_t decodedBase() const { return stages * stageBytes(); }
  int64_t decodedTileBytes() const { return blockN * kTileK; }
  int64_t decodedBytes() const { return decodes() ? 2 * decodedTileBytes() : 0; }
  /// The epilogue's [blockRows][blockN] tile of sums (LinearTiled.h).
  int64_t epilogueStride() const { return blockN * 4 + 32; }
  int64_t sharedBytes() const {
    return std::max(decodedBase() + decodedBytes(), blockRows() * epilogueStride());
  }
  std::string suffix() const;
};

/// The warpgroup configuration of a prefill linear on `chip`, or nothing
/// where it does not apply (not sm_90a, not integer, K not a multiple of
/// 128, an int4 group a 32-code piece would straddle).
std::optional<WgmmaConfig> wgmmaConfig(const LinearSpec &s, StringRef chip);

/// Builds the kernel; grid: one block per (row tile, column tile), row
/// tiles fastest.
void buildWgmmaKernel(KernelBuilder &k, const LinearSpec &s, const WgmmaConfig &c);

} // namespace mlir::quamba::codegen::linear
