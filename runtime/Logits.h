//===- Logits.h - from logits to tokens and losses -------------*- C++ -*-===//
//
// Sampling (greedy, temperature, top-k, top-p) and the negative
// log-likelihood of a target token. Both see only the first `allowedVocab`
// logits: models pad their vocabulary (50277 tokenizer ids, 50280 or 50288
// rows), and the padding rows must never be sampled nor take probability mass.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Status.h"
#include "runtime/reference/Kernels.h"

#include <cstdint>
#include <string>

namespace quamba {

struct SamplingOptions {
  float temperature = 0.0f; // 0: greedy (argmax)
  int64_t topK = 0;         // 0: no top-k cut
  float topP = 1.0f;        // 1: no nucleus cut
  uint64_t seed = 0;
};

/// Whether `options` define a distribution: temperature finite and >= 0,
/// top-k >= 0, top-p in (0, 1] (outside, the sampler's arithmetic has no
/// meaning). Errors name the option as `prefix` + "temperature" etc.
Status checkSamplingOptions(const SamplingOptions &options, const std::string &prefix);

/// Greedy decoding, or one draw per call from the tempered, top-k / top-p
/// restricted softmax (ref::sampleToken: the GPU sampler draws the same
/// token from the same logits, seed and step).
class Sampler {
public:
  Sampler(SamplingOptions options, int64_t allowedVocab);
  /// Picks a token id in [0, allowedVocab) from `logits[0, vocab)`; each call
  /// is the next step.
  int32_t sample(const float *logits, int64_t vocab);
  /// The parameters of step `step` over ids [0, allowed).
  ref::SampleParams params(int64_t allowed, uint64_t step) const;

private:
  SamplingOptions options;
  int64_t allowedVocab;
  uint64_t step = 0;
};

/// -log softmax(logits[0, allowedVocab))[target], computed in double.
double negativeLogLikelihood(const float *logits, int64_t allowedVocab,
                             int32_t target);

} // namespace quamba
