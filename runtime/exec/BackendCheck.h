//===- BackendCheck.h - one backend against another, launch by launch -*- C++ -*-===//
//
// The GPU acceptance checks of DESIGN.md §8, written once: every launch of a
// plan run on a candidate backend (CUDA) and on the reference (CPU) with the
// same fresh random inputs and poisoned outputs, compared bit for bit (every
// op but the fp32 linear: integer arithmetic, or fp32 in the reference's
// order and float semantics, runtime/reference/FloatSemantics.h) or by
// relative L2 error (the fp32 linear, whose reference is BLAS); and whole
// models compared by logits and greedy tokens.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/exec/Session.h"

#include <string>
#include <vector>

namespace quamba::exec {

struct LaunchCheck {
  std::string entry, op, kernel;
  size_t index = 0;
  bool exact = false;       ///< compared bit for bit
  double relError = 0;      ///< ||out - ref|| / ||ref|| over float outputs
  int64_t mismatches = 0;   ///< elements differing (exact) or non-finite
  int64_t unwritten = 0;    ///< poisoned elements the kernel never wrote
  bool passed = false;
  std::string error;        ///< a backend error, if any
};

/// Launches whose results must match the reference bit for bit: all but
/// the float-activation linears (fp32, and W4A16 unless its attr "exact"
/// says it keeps the exact kernels: tensor cores sum in another order; held
/// to the check's relative tolerance).
bool isExactLaunch(const plan::Launch &launch);
/// How many trailing operands of a launch are outputs.
int outputCount(const plan::Launch &launch);

/// Runs every launch of @prefill (batch x seqlen) and @decode (batch x 1)
/// on both sessions (which must share one artifact), each on fresh random
/// inputs drawn from `seed`. Float tolerance: relative L2 error `tolerance`.
std::vector<LaunchCheck> checkLaunches(Session &candidate, Session &reference, int64_t batch,
                                       int64_t seqlen, uint64_t seed, double tolerance = 1e-3);

struct ModelComparison {
  double prefillMaxAbs = 0;  ///< max |logit difference| after prefill
  double decodeMaxAbs = 0;   ///< max over the greedy decode steps
  std::vector<int32_t> candidateTokens, referenceTokens;
  bool sameTokens() const { return candidateTokens == referenceTokens; }
};

/// Prefills `prompt` on both sessions and decodes `steps` greedy tokens,
/// each session following its own argmax.
Result<ModelComparison> compareModels(Session &candidate, Session &reference,
                                      const std::vector<int32_t> &prompt, int64_t steps);

} // namespace quamba::exec
