//===- Logits.cpp - from logits to tokens and losses ----------------------===//
#include "runtime/Logits.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

namespace quamba {

Status checkSamplingOptions(const SamplingOptions &options, const std::string &prefix) {
  auto text = [](double value) {
    char out[32];
    std::snprintf(out, sizeof(out), "%g", value);
    return std::string(out);
  };
  if (!std::isfinite(options.temperature) || options.temperature < 0.0f)
    return makeError(prefix + "temperature must be a finite number >= 0 (0: greedy), got " +
                     text(options.temperature));
  if (options.topK < 0)
    return makeError(prefix + "top-k must be >= 0 (0: no cut), got " +
                     std::to_string(options.topK));
  // Negated so that NaN fails too.
  if (!(options.topP > 0.0f && options.topP <= 1.0f))
    return makeError(prefix + "top-p must be in (0, 1] (1: no cut), got " + text(options.topP));
  return Status::success();
}

Sampler::Sampler(SamplingOptions options, int64_t allowedVocab)
    : options(options), allowedVocab(allowedVocab) {}

int32_t Sampler::sample(const float *logits, int64_t vocab) {
  int64_t n = std::min(vocab, allowedVocab);
  if (options.temperature <= 0.0f)
    return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);
  // The draw the GPU's sampler makes from the same logits (ref::sampleToken).
  return ref::sampleToken(logits, params(n, step++), /*sequence=*/0);
}

ref::SampleParams Sampler::params(int64_t allowed, uint64_t step) const {
  ref::SampleParams p;
  p.temperature = options.temperature;
  p.topK = options.topK;
  p.topP = options.topP;
  p.allowed = allowed;
  p.seed = options.seed;
  p.step = step;
  return p;
}

double negativeLogLikelihood(const float *logits, int64_t allowedVocab,
                             int32_t target) {
  double top = *std::max_element(logits, logits + allowedVocab);
  double sum = 0.0;
  for (int64_t i = 0; i < allowedVocab; ++i)
    sum += std::exp(static_cast<double>(logits[i]) - top);
  return std::log(sum) + top - static_cast<double>(logits[target]);
}

} // namespace quamba
