//===- ActivationArena.h - activation buffers that share memory -*- C++ -*-===//
//
// Most activation buffers of an entry point live from the launch that
// writes them to the last launch that reads them; a 64-layer model has
// thousands of them, and one allocation each (sized for the largest batch x
// length) ran batch 64 out of an H200's memory. The arena gives each such
// buffer a byte range of one shared allocation so that buffers whose
// lifetimes overlap never overlap in memory, and others may.
//
// A buffer is an arena buffer when it is an activation used by the launches
// of exactly one entry point and is none of that entry point's inputs or
// outputs (tokens, states, logits: the host and the next call read them)
// nor an operand of a sampler (its params and next-token buffers are read
// and written by the host). Its lifetime is [first, last] launch index
// within its entry point. Entry points run one at a time and all their
// launches on one stream, in order, so buffers of different entry points
// never conflict, and a range is free again after its last reader launched.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/plan/Plan.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace quamba::exec {

class ActivationArena {
public:
  /// Offsets are multiples of this (cuMemAlloc's alignment, enough for any
  /// vector access a kernel makes).
  static constexpr size_t kAlignment = 256;

  explicit ActivationArena(const plan::Plan &plan);

  /// Whether plan buffer `index` lives in the arena.
  bool contains(int index) const { return lifetimes_[index].entry >= 0; }

  struct Layout {
    std::vector<size_t> offsets; ///< by plan buffer index (arena buffers only)
    size_t bytes = 0;            ///< the arena size this layout needs
  };
  /// The byte offset of every arena buffer at this batch and length: greedy
  /// first fit, largest buffers first (deterministic). Buffers whose
  /// lifetimes overlap get disjoint ranges.
  Layout layout(int64_t batch, int64_t seqlen) const;

  /// Whether buffers a and b (both in the arena) may be live at once.
  bool overlapInTime(int a, int b) const;

private:
  struct Lifetime {
    int entry = -1; ///< -1: not an arena buffer
    int first = 0, last = 0;
  };
  const plan::Plan &plan_;
  std::vector<Lifetime> lifetimes_;
};

} // namespace quamba::exec
