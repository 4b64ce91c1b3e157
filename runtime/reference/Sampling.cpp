//===- Sampling.cpp - random sampling that a GPU warp reproduces -----------===//
//
// ref::sampleToken, for ids i < allowed with logits l_i (NaN never drawn):
//   1. m = max l_i; z_i = (l_i - m) / temperature (fp32).
//   2. top-k: the largest order key t_k (keys order floats as unsigned ints)
//      with #{i : key(l_i) >= t_k} >= k, found bit by bit from the top;
//      t_k = 0 without a cut.
//   3. top-p: q_i = uint64(exp(z_i) * 2^32) for kept i (fp32 exp of
//      FloatSemantics.h; exp(z) <= 1), Q = sum q_i, target = max(1,
//      ceil(double(topP) * double(Q))); the largest key t with
//      sum_{key(l_i) >= max(t, t_k)} q_i >= target, again bit by bit.
//      Integer sums: the same in any order, so on any backend.
//   4. Gumbel-max over the kept ids (key(l_i) >= threshold): u_i = (r + 0.5)
//      * 2^-24 with r the top 24 bits of splitmix64(seed ^ step * c1 ^
//      sequence * c2 ^ i * c3), score_i = z_i - log(-log(u_i)); the first
//      maximum wins. argmax(z + Gumbel) is a draw from softmax(z).
// The kept set is the top-p nucleus of the top-k candidates, boundary ties
// kept; every step is exact or one of FloatSemantics.h's fp32 operations.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/FloatSemantics.h"
#include "runtime/reference/Kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace quamba::ref {

namespace {

/// Orders floats as unsigned integers (negative ones flipped).
uint32_t orderKey(float v) {
  uint32_t bits = floatBits(v);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

/// The largest t with predicate(t) (monotone: true up to some t), bit by bit.
template <typename Predicate> uint32_t largestKey(Predicate &&holds) {
  uint32_t t = 0;
  for (int bit = 31; bit >= 0; --bit) {
    uint32_t candidate = t | (1u << bit);
    if (holds(candidate))
      t = candidate;
  }
  return t;
}

} // namespace

uint64_t sampleHash(uint64_t seed, uint64_t step, uint64_t sequence, uint64_t id) {
  using namespace sample_hash;
  uint64_t x = seed ^ (step * kStep) ^ (sequence * kSequence) ^ (id * kId);
  x = (x ^ (x >> 30)) * kMix1;
  x = (x ^ (x >> 27)) * kMix2;
  return x ^ (x >> 31);
}

void sampleParamsToWords(const SampleParams &p, int32_t words[kSampleParamWords]) {
  words[0] = static_cast<int32_t>(floatBits(p.temperature));
  words[1] = static_cast<int32_t>(p.topK);
  words[2] = static_cast<int32_t>(floatBits(p.topP));
  words[3] = static_cast<int32_t>(p.allowed);
  words[4] = static_cast<int32_t>(p.seed & 0xffffffffu);
  words[5] = static_cast<int32_t>(p.seed >> 32);
  words[6] = static_cast<int32_t>(p.step & 0xffffffffu);
  words[7] = static_cast<int32_t>(p.step >> 32);
}

SampleParams sampleParamsFromWords(const int32_t words[kSampleParamWords]) {
  auto u = [&](int i) { return static_cast<uint64_t>(static_cast<uint32_t>(words[i])); };
  SampleParams p;
  p.temperature = bitsFloat(static_cast<uint32_t>(words[0]));
  p.topK = words[1];
  p.topP = bitsFloat(static_cast<uint32_t>(words[2]));
  p.allowed = words[3];
  p.seed = u(4) | (u(5) << 32);
  p.step = u(6) | (u(7) << 32);
  return p;
}

int32_t sampleToken(const float *logits, const SampleParams &p, uint64_t sequence) {
  const int64_t n = p.allowed;
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i)
    if (logits[i] > m)
      m = logits[i];
  auto z = [&](int64_t i) { return (logits[i] - m) / p.temperature; };
  auto valid = [&](int64_t i) { return logits[i] == logits[i]; };

  uint32_t threshold = 0;
  if (p.topK > 0 && p.topK < n)
    threshold = largestKey([&](uint32_t t) {
      int64_t count = 0;
      for (int64_t i = 0; i < n; ++i)
        count += valid(i) && orderKey(logits[i]) >= t;
      return count >= p.topK;
    });
  if (p.topP < 1.0f) {
    auto mass = [&](uint32_t t) {
      uint64_t sum = 0;
      for (int64_t i = 0; i < n; ++i)
        if (valid(i) && orderKey(logits[i]) >= t && orderKey(logits[i]) >= threshold)
          sum += static_cast<uint64_t>(ref::exp(z(i)) * 4294967296.0f);
      return sum;
    };
    uint64_t target = static_cast<uint64_t>(
        std::ceil(static_cast<double>(p.topP) * static_cast<double>(mass(0))));
    target = std::max<uint64_t>(target, 1);
    threshold = largestKey([&](uint32_t t) { return mass(t) >= target; });
  }

  float best = -std::numeric_limits<float>::infinity();
  int64_t bestId = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (!valid(i) || orderKey(logits[i]) < threshold)
      continue;
    uint64_t r = sampleHash(p.seed, p.step, sequence, static_cast<uint64_t>(i)) >> 40;
    float u = (static_cast<float>(r) + 0.5f) * 0x1p-24f;
    float score = z(i) - ref::log(-ref::log(u));
    if (score > best || bestId < 0) {
      best = score;
      bestId = i;
    }
  }
  return bestId < 0 ? 0 : static_cast<int32_t>(bestId);
}

} // namespace quamba::ref
