//===- DriftTest.cpp - the drift loop against hand-computed comparisons ---===//
#include "runtime/Drift.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace quamba;

namespace {

/// A model whose logits after reading tokens [0, t] are a fixed function of
/// t and the last token: logit i = scale * ((token + i) % 3) + shift(t).
/// The log-softmax ignores `shift`, so a shifted copy of a model differs by
/// |shift| in every logit and not at all in its probabilities.
class FakeModel final : public LanguageModel {
public:
  FakeModel(float scale, float shiftPerStep, int64_t vocab = 4)
      : scale(scale), shiftPerStep(shiftPerStep), vocab(vocab) {}
  int64_t vocabSize() const override { return vocab; }
  /// Row t: the logits decode step t gives after the same tokens.
  Result<std::vector<float>> prefill(const std::vector<int32_t> &tokens) override {
    std::vector<float> rows;
    for (size_t t = 0; t < tokens.size(); ++t) {
      step = static_cast<int64_t>(t);
      std::vector<float> row = logits(tokens[t]);
      rows.insert(rows.end(), row.begin(), row.end());
    }
    return rows;
  }
  Result<std::vector<float>> decode(int32_t token) override {
    ++step;
    if (step == poisonAt)
      return std::vector<float>(static_cast<size_t>(vocab),
                                std::numeric_limits<float>::quiet_NaN());
    return logits(token);
  }
  int64_t poisonAt = -1;
  float paddingBias = 0; ///< added to ids >= 3

private:
  std::vector<float> logits(int32_t token) const {
    std::vector<float> row(static_cast<size_t>(vocab));
    for (int64_t i = 0; i < vocab; ++i)
      row[static_cast<size_t>(i)] =
          scale * static_cast<float>((token + i) % 3) + shiftPerStep * static_cast<float>(step) +
          (i >= 3 ? paddingBias : 0.0f);
    return row;
  }
  float scale, shiftPerStep;
  int64_t vocab, step = 0;
};

const std::vector<int32_t> kTokens = {0, 1, 2, 0, 1, 2, 0, 1};
const std::pair<std::string, std::string> kNames = {"q.qmb", "ref.qmb"};

TEST(DriftTest, ShiftedLogitsDriftInMaxAbsButNotInKl) {
  FakeModel model(1.0f, 0.5f), reference(1.0f, 0.0f);
  auto report = measureDrift(model, reference, kTokens, 4, {4, 2}, kNames);
  ASSERT_TRUE(report) << report.error();
  ASSERT_EQ(report->steps.size(), 5u);
  for (size_t t = 0; t < 5; ++t) {
    EXPECT_DOUBLE_EQ(report->steps[t].maxAbs, 0.5 * static_cast<double>(t));
    EXPECT_NEAR(report->steps[t].kl, 0.0, 1e-12);
    EXPECT_TRUE(report->steps[t].sameTop1);
    EXPECT_NEAR(report->steps[t].nll, report->steps[t].referenceNll, 1e-6);
  }
  ASSERT_EQ(report->windows.size(), 2u);
  EXPECT_EQ(report->windows[0].first, 1);
  EXPECT_EQ(report->windows[0].last, 2);
  EXPECT_DOUBLE_EQ(report->windows[0].meanMaxAbs, 0.75);
  EXPECT_DOUBLE_EQ(report->windows[1].maxMaxAbs, 2.0);
}

TEST(DriftTest, KlAndNllMatchTheSoftmaxes) {
  // Reference logits (0,1,2,0) after token 0; the model's are doubled.
  FakeModel model(2.0f, 0.0f), reference(1.0f, 0.0f);
  auto report = measureDrift(model, reference, kTokens, 4, {1, 1}, kNames);
  ASSERT_TRUE(report) << report.error();
  const double p[] = {1, std::exp(1.0), std::exp(2.0), 1}, q[] = {1, std::exp(2.0),
                                                                   std::exp(4.0), 1};
  double zp = p[0] + p[1] + p[2] + p[3], zq = q[0] + q[1] + q[2] + q[3], kl = 0;
  for (int i = 0; i < 4; ++i)
    kl += p[i] / zp * std::log((p[i] / zp) / (q[i] / zq));
  const DriftStep &s = report->steps[0];
  EXPECT_NEAR(s.kl, kl, 1e-9);
  EXPECT_DOUBLE_EQ(s.maxAbs, 2.0);
  EXPECT_NEAR(s.nll, -std::log(q[1] / zq), 1e-9); // next token: 1
  EXPECT_NEAR(s.referenceNll, -std::log(p[1] / zp), 1e-9);
}

TEST(DriftTest, PaddingIdsAreNotCompared) {
  // The models differ only in ids 3..5, vocabulary padding when 3 are allowed.
  FakeModel model(1.0f, 0.0f, 6), reference(1.0f, 0.0f, 6);
  model.paddingBias = 50.0f;
  auto padded = measureDrift(model, reference, kTokens, 3, {2, 2}, kNames);
  ASSERT_TRUE(padded) << padded.error();
  for (const DriftStep &s : padded->steps) {
    EXPECT_EQ(s.maxAbs, 0.0);
    EXPECT_EQ(s.kl, 0.0);
    EXPECT_EQ(s.nll, s.referenceNll);
  }
  auto whole = measureDrift(model, reference, kTokens, 6, {2, 2}, kNames);
  ASSERT_TRUE(whole) << whole.error();
  EXPECT_EQ(whole->steps[0].maxAbs, 50.0);
}

TEST(DriftTest, NonFiniteLogitNamesTheModelAndStep) {
  FakeModel model(1.0f, 0.0f), reference(1.0f, 0.0f);
  model.poisonAt = 3;
  auto report = measureDrift(model, reference, kTokens, 4, {5, 5}, kNames);
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().find("q.qmb: step 3: logit 0 is nan"), std::string::npos)
      << report.error();
}

TEST(DriftTest, TooShortTextIsAnError) {
  FakeModel model(1.0f, 0.0f), reference(1.0f, 0.0f);
  auto report = measureDrift(model, reference, kTokens, 4, {7, 7}, kNames);
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().find("7 decode steps need 9 tokens of text, got 8"),
            std::string::npos)
      << report.error();
}

TEST(DriftTest, PrefillReplayMatchesTheDecodePathStepByStep) {
  // Each of the fake's prefill rows is what its decode gives at that step,
  // so its decode path drifts from its replayed prefill path by nothing.
  FakeModel model(1.0f, 0.5f), prefillSide(1.0f, 0.5f);
  std::unique_ptr<LanguageModel> replay = prefillReplay(prefillSide, kTokens, 5);
  auto report = measureDrift(model, *replay, kTokens, 4, {5, 5}, kNames);
  ASSERT_TRUE(report) << report.error();
  for (const DriftStep &s : report->steps) {
    EXPECT_EQ(s.maxAbs, 0.0);
    EXPECT_TRUE(s.sameTop1);
  }
}

TEST(DriftTest, PrefillReplayRefusesAnotherText) {
  FakeModel prefillSide(1.0f, 0.0f);
  std::unique_ptr<LanguageModel> replay = prefillReplay(prefillSide, kTokens, 5);
  ASSERT_TRUE(replay->prefill({kTokens[0]}));
  ASSERT_TRUE(replay->decode(kTokens[1]));
  auto wrong = replay->decode(kTokens[1]);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().find("decode step 2 was not given the text's next token"),
            std::string::npos)
      << wrong.error();
}

} // namespace
