//===- LogitsTest.cpp - sampling and losses over padded vocabularies ------===//
#include "runtime/Logits.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

using quamba::negativeLogLikelihood;
using quamba::Sampler;
using quamba::SamplingOptions;

namespace {

// Ten ids; the last two are vocabulary padding and carry the largest logits,
// which must never win nor take probability mass.
const std::vector<float> kLogits = {0.5f, 2.0f, -1.0f, 1.5f, 0.0f,
                                    3.0f, -2.0f, 1.0f, 9.0f, 8.0f};
constexpr int64_t kAllowed = 8;

TEST(SamplerTest, GreedyIgnoresPaddedRows) {
  Sampler greedy({}, kAllowed);
  EXPECT_EQ(greedy.sample(kLogits.data(), kLogits.size()), 5);
}

TEST(SamplerTest, TopKOfOneIsGreedy) {
  Sampler sampler({/*temperature=*/1.0f, /*topK=*/1, /*topP=*/1.0f, /*seed=*/3},
                  kAllowed);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(sampler.sample(kLogits.data(), kLogits.size()), 5);
}

TEST(SamplerTest, TinyTopPIsGreedy) {
  Sampler sampler({1.0f, 0, 1e-6f, 7}, kAllowed);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(sampler.sample(kLogits.data(), kLogits.size()), 5);
}

TEST(SamplerTest, SameSeedSameSequence) {
  Sampler a({1.0f, 0, 1.0f, 42}, kAllowed), b({1.0f, 0, 1.0f, 42}, kAllowed);
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(a.sample(kLogits.data(), kLogits.size()),
              b.sample(kLogits.data(), kLogits.size()));
}

TEST(SamplerTest, FrequenciesFollowTheSoftmaxOfAllowedIds) {
  const float temperature = 0.7f;
  Sampler sampler({temperature, 0, 1.0f, 11}, kAllowed);
  std::map<int32_t, int> counts;
  const int draws = 40000;
  for (int i = 0; i < draws; ++i)
    ++counts[sampler.sample(kLogits.data(), kLogits.size())];
  double z = 0;
  for (int64_t i = 0; i < kAllowed; ++i)
    z += std::exp(kLogits[i] / temperature);
  for (int64_t i = 0; i < kAllowed; ++i) {
    double p = std::exp(kLogits[i] / temperature) / z;
    double sigma = std::sqrt(draws * p * (1 - p)) + 1;
    EXPECT_NEAR(counts[i], draws * p, 5 * sigma) << "id " << i;
  }
  EXPECT_EQ(counts.count(8) + counts.count(9), 0u);
}

TEST(SamplerTest, TopPKeepsTheSmallestPrefixReachingTheMass) {
  // Probabilities at temperature 1 over ids {5, 1, 3, ...}: 0.53, 0.20, 0.12
  // With top-p 0.6 only ids 5 and 1 can be drawn.
  Sampler sampler({1.0f, 0, 0.6f, 5}, kAllowed);
  for (int i = 0; i < 2000; ++i) {
    int32_t id = sampler.sample(kLogits.data(), kLogits.size());
    EXPECT_TRUE(id == 5 || id == 1) << id;
  }
}

TEST(SamplerTest, TopKKeepsTiesAtTheBoundary) {
  // k = 1 with two equal largest logits: both stay candidates, nothing else.
  const std::vector<float> logits = {1.0f, 2.0f, 2.0f, 0.0f};
  Sampler sampler({1.0f, /*topK=*/1, 1.0f, 9}, 4);
  std::map<int32_t, int> counts;
  for (int i = 0; i < 2000; ++i)
    ++counts[sampler.sample(logits.data(), logits.size())];
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_GT(counts[1], 800);
  EXPECT_GT(counts[2], 800);
}

TEST(SamplerTest, TopKFrequenciesFollowTheRenormalisedSoftmax) {
  // k = 3 keeps ids 5, 1, 3 (logits 3, 2, 1.5).
  Sampler sampler({1.0f, /*topK=*/3, 1.0f, 21}, kAllowed);
  std::map<int32_t, int> counts;
  const int draws = 30000;
  for (int i = 0; i < draws; ++i)
    ++counts[sampler.sample(kLogits.data(), kLogits.size())];
  double z = std::exp(3.0) + std::exp(2.0) + std::exp(1.5);
  for (auto [id, logit] : {std::pair{5, 3.0}, {1, 2.0}, {3, 1.5}}) {
    double p = std::exp(logit) / z;
    double sigma = std::sqrt(draws * p * (1 - p)) + 1;
    EXPECT_NEAR(counts[id], draws * p, 5 * sigma) << "id " << id;
  }
  EXPECT_EQ(counts.size(), 3u);
}

TEST(SampleTokenTest, SequencesOfABatchDrawIndependently) {
  quamba::ref::SampleParams p;
  p.allowed = kAllowed;
  int same = 0;
  for (uint64_t step = 0; step < 200; ++step) {
    p.step = step;
    same += quamba::ref::sampleToken(kLogits.data(), p, 0) ==
            quamba::ref::sampleToken(kLogits.data(), p, 1);
  }
  // Identical streams would agree 200 times; independent ones about
  // sum p_i^2 = 0.35 of the time.
  EXPECT_LT(same, 120);
}

TEST(SampleTokenTest, ParamsRoundTripThroughTheirBufferWords) {
  quamba::ref::SampleParams p;
  p.temperature = 0.7f;
  p.topK = 40;
  p.topP = 0.9f;
  p.allowed = 50277;
  p.seed = 0x123456789abcdef0ull;
  p.step = (1ull << 40) + 3;
  int32_t words[quamba::ref::kSampleParamWords];
  quamba::ref::sampleParamsToWords(p, words);
  quamba::ref::SampleParams q = quamba::ref::sampleParamsFromWords(words);
  EXPECT_EQ(q.temperature, p.temperature);
  EXPECT_EQ(q.topK, p.topK);
  EXPECT_EQ(q.topP, p.topP);
  EXPECT_EQ(q.allowed, p.allowed);
  EXPECT_EQ(q.seed, p.seed);
  EXPECT_EQ(q.step, p.step);
}

TEST(NegativeLogLikelihoodTest, IsLogSoftmaxOverAllowedIds) {
  double z = 0;
  for (int64_t i = 0; i < kAllowed; ++i)
    z += std::exp(static_cast<double>(kLogits[i]));
  for (int32_t target : {0, 5, 7})
    EXPECT_NEAR(negativeLogLikelihood(kLogits.data(), kAllowed, target),
                std::log(z) - kLogits[target], 1e-12);
}

TEST(NegativeLogLikelihoodTest, IsStableForLargeLogits) {
  std::vector<float> big = {1000.0f, 999.0f};
  EXPECT_NEAR(negativeLogLikelihood(big.data(), 2, 1),
              std::log(1 + std::exp(-1.0)) + 1.0, 1e-9);
}

} // namespace
