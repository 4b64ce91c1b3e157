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
