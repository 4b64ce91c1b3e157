//===- Drift.h - logits drift of a model from a reference ------*- C++ -*-===//
//
// How far a model's logits wander from a reference model's (a quantized
// artifact against the fp32 one) over a long generation. Both models read
// the same text token by token, prefill of the first token and then one
// decode step per token (teacher forcing): the decode path, with its
// requantized int8 states, runs every step, and the comparison at step t
// sees the same inputs on both sides, so any growth of the gap over t is
// the states' error accumulating, not the two generations diverging.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Generation.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace quamba {

/// The comparison at one step (logits after reading tokens [0, t]).
struct DriftStep {
  double maxAbs = 0;   ///< max |logit - reference logit| over the allowed ids
  double kl = 0;       ///< KL(reference || model) of the softmaxes, nats
  bool sameTop1 = false; ///< the first maxima agree
  double nll = 0, referenceNll = 0; ///< -log p(token t+1), nats
};

/// Means over steps [first, last] (1-based decode steps; step 0 is prefill).
struct DriftWindow {
  int64_t first = 0, last = 0;
  double meanMaxAbs = 0, maxMaxAbs = 0, meanKl = 0, top1Agreement = 0, nll = 0,
         referenceNll = 0;
};

struct DriftReport {
  std::vector<DriftStep> steps; ///< [0] prefill, [t] decode step t
  std::vector<DriftWindow> windows;
  std::string toJson() const;
  /// One line per step: step, max_abs, kl, same_top1, nll, reference_nll.
  std::string toTsv() const;
};

struct DriftOptions {
  int64_t steps = 1024;  ///< decode steps
  int64_t window = 1024; ///< steps per summary window
};

/// `model`'s prefill path as a reference for a decode path (of another
/// instance of the same model: `model`'s state is its own): the first
/// prefill call runs the prefill of tokens [0, steps] at once and keeps its
/// logits; each later decode step returns the next row (after checking that
/// it was given the text's next token). A quantized model's prefill keeps
/// its SSM state in fp32 inside the scan and quantizes it once, at the end;
/// its decode requantizes the int8 state every step. Against this
/// reference, the drift of the decode path is what those requantizations
/// accumulate.
std::unique_ptr<LanguageModel> prefillReplay(LanguageModel &model,
                                             const std::vector<int32_t> &tokens,
                                             int64_t steps);

/// Runs `model` and `reference` over `tokens` (at least steps + 2: the last
/// step's next token is scored); `allowedVocab` ids are compared. A
/// non-finite logit in either model is an error naming the model (`names`:
/// model, reference), the step and the id. `onStep` (if set) sees each step
/// done, for a progress bar.
Result<DriftReport> measureDrift(LanguageModel &model, LanguageModel &reference,
                                 const std::vector<int32_t> &tokens, int64_t allowedVocab,
                                 const DriftOptions &options,
                                 const std::pair<std::string, std::string> &names,
                                 const std::function<void(int64_t)> &onStep = {});

} // namespace quamba
