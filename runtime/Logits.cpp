//===- Logits.cpp - from logits to tokens and losses ----------------------===//
#include "runtime/Logits.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace quamba {

Sampler::Sampler(SamplingOptions options, int64_t allowedVocab)
    : options(options), allowedVocab(allowedVocab), rng(options.seed) {}

int32_t Sampler::sample(const float *logits, int64_t vocab) {
  int64_t n = std::min(vocab, allowedVocab);
  if (options.temperature <= 0.0f)
    return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);

  // Candidates sorted by logit, best first (ties by id, for determinism).
  std::vector<int32_t> ids(n);
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b];
  });
  if (options.topK > 0 && options.topK < n)
    ids.resize(options.topK);

  std::vector<double> probs(ids.size());
  double top = logits[ids[0]], sum = 0.0;
  for (size_t i = 0; i < ids.size(); ++i) {
    probs[i] = std::exp((logits[ids[i]] - top) / options.temperature);
    sum += probs[i];
  }
  // Nucleus: the smallest prefix whose mass reaches top-p.
  size_t keep = ids.size();
  if (options.topP < 1.0f) {
    double mass = 0.0;
    for (size_t i = 0; i < ids.size(); ++i) {
      mass += probs[i] / sum;
      if (mass >= options.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  std::discrete_distribution<size_t> pick(probs.begin(), probs.begin() + keep);
  return ids[pick(rng)];
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
