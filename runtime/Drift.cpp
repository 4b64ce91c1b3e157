//===- Drift.cpp - logits drift of a model from a reference ----------------===//
#include "runtime/Drift.h"

#include "runtime/Logits.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace quamba {

namespace {

/// The first non-finite logit of `row[0, n)`, or -1.
int64_t firstNonFinite(const float *row, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(row[i]))
      return i;
  return -1;
}

/// log softmax of `row[0, n)` in double.
std::vector<double> logSoftmax(const float *row, int64_t n) {
  double top = *std::max_element(row, row + n), sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += std::exp(static_cast<double>(row[i]) - top);
  double shift = top + std::log(sum);
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    out[static_cast<size_t>(i)] = static_cast<double>(row[i]) - shift;
  return out;
}

DriftStep compare(const float *model, const float *reference, int64_t n, int32_t next) {
  DriftStep step;
  std::vector<double> p = logSoftmax(reference, n), q = logSoftmax(model, n);
  for (int64_t i = 0; i < n; ++i) {
    step.maxAbs = std::max(step.maxAbs, std::fabs(static_cast<double>(model[i]) - reference[i]));
    size_t k = static_cast<size_t>(i);
    step.kl += std::exp(p[k]) * (p[k] - q[k]);
  }
  step.sameTop1 = std::max_element(model, model + n) - model ==
                  std::max_element(reference, reference + n) - reference;
  step.nll = -q[static_cast<size_t>(next)];
  step.referenceNll = -p[static_cast<size_t>(next)];
  return step;
}

DriftWindow summarize(const std::vector<DriftStep> &steps, int64_t first, int64_t last) {
  DriftWindow w{first, last};
  for (int64_t t = first; t <= last; ++t) {
    const DriftStep &s = steps[static_cast<size_t>(t)];
    w.meanMaxAbs += s.maxAbs;
    w.maxMaxAbs = std::max(w.maxMaxAbs, s.maxAbs);
    w.meanKl += s.kl;
    w.top1Agreement += s.sameTop1;
    w.nll += s.nll;
    w.referenceNll += s.referenceNll;
  }
  double n = static_cast<double>(last - first + 1);
  w.meanMaxAbs /= n;
  w.meanKl /= n;
  w.top1Agreement /= n;
  w.nll /= n;
  w.referenceNll /= n;
  return w;
}

/// prefillReplay's model.
class PrefillReplay final : public LanguageModel {
public:
  PrefillReplay(LanguageModel &model, std::vector<int32_t> tokens)
      : model(model), tokens(std::move(tokens)) {}
  int64_t vocabSize() const override { return model.vocabSize(); }
  Result<std::vector<float>> prefill(const std::vector<int32_t> &prompt) override {
    if (prompt.size() != 1 || prompt[0] != tokens[0])
      return makeError("prefill replay: expected the text's first token alone");
    Result<std::vector<float>> all = model.prefill(tokens);
    if (!all)
      return all;
    logits = all.take();
    step = 0;
    return row(0);
  }
  Result<std::vector<float>> decode(int32_t token) override {
    ++step;
    if (logits.empty() || step >= static_cast<int64_t>(tokens.size()) ||
        token != tokens[static_cast<size_t>(step)])
      return makeError("prefill replay: decode step " + std::to_string(step) +
                       " was not given the text's next token");
    return row(step);
  }

private:
  std::vector<float> row(int64_t t) const {
    const size_t v = static_cast<size_t>(vocabSize());
    return std::vector<float>(logits.begin() + static_cast<ptrdiff_t>(t * v),
                              logits.begin() + static_cast<ptrdiff_t>((t + 1) * v));
  }
  LanguageModel &model;
  std::vector<int32_t> tokens;
  std::vector<float> logits;
  int64_t step = 0;
};

} // namespace

std::unique_ptr<LanguageModel> prefillReplay(LanguageModel &model,
                                             const std::vector<int32_t> &tokens,
                                             int64_t steps) {
  size_t n = std::min(tokens.size(), static_cast<size_t>(std::max<int64_t>(steps, 0) + 1));
  return std::make_unique<PrefillReplay>(
      model, std::vector<int32_t>(tokens.begin(), tokens.begin() + static_cast<ptrdiff_t>(n)));
}

Result<DriftReport> measureDrift(LanguageModel &model, LanguageModel &reference,
                                 const std::vector<int32_t> &tokens, int64_t allowedVocab,
                                 const DriftOptions &options,
                                 const std::pair<std::string, std::string> &names,
                                 const std::function<void(int64_t)> &onStep) {
  if (options.steps < 1 || options.window < 1)
    return makeError("drift: the steps and the window must be >= 1");
  if (static_cast<int64_t>(tokens.size()) < options.steps + 2)
    return makeError("drift: " + std::to_string(options.steps) + " decode steps need " +
                     std::to_string(options.steps + 2) + " tokens of text, got " +
                     std::to_string(tokens.size()));
  if (model.vocabSize() != reference.vocabSize())
    return makeError("drift: " + names.first + " has " + std::to_string(model.vocabSize()) +
                     " logits per token, " + names.second + " " +
                     std::to_string(reference.vocabSize()));
  const int64_t vocab = model.vocabSize(), allowed = std::min(vocab, allowedVocab);

  DriftReport report;
  report.steps.reserve(static_cast<size_t>(options.steps + 1));
  const std::vector<int32_t> first(tokens.begin(), tokens.begin() + 1);
  for (int64_t t = 0; t <= options.steps; ++t) {
    int32_t token = tokens[static_cast<size_t>(t)];
    Result<std::vector<float>> a = t == 0 ? model.prefill(first) : model.decode(token);
    if (!a)
      return makeError(names.first + ": step " + std::to_string(t) + ": " + a.error());
    Result<std::vector<float>> b = t == 0 ? reference.prefill(first) : reference.decode(token);
    if (!b)
      return makeError(names.second + ": step " + std::to_string(t) + ": " + b.error());
    const float *rowA = a->data() + a->size() - vocab, *rowB = b->data() + b->size() - vocab;
    for (auto [row, name] : {std::pair{rowA, &names.first}, std::pair{rowB, &names.second}})
      if (int64_t bad = firstNonFinite(row, vocab); bad >= 0)
        return makeError(*name + ": step " + std::to_string(t) + ": logit " +
                         std::to_string(bad) + " is " + std::to_string(row[bad]) +
                         " (the model's states or activations overflowed)");
    report.steps.push_back(compare(rowA, rowB, allowed, tokens[static_cast<size_t>(t + 1)]));
    if (onStep)
      onStep(t);
  }
  for (int64_t first = 1; first <= options.steps; first += options.window)
    report.windows.push_back(
        summarize(report.steps, first, std::min(options.steps, first + options.window - 1)));
  return report;
}

std::string DriftReport::toJson() const {
  nlohmann::json windowsJson = nlohmann::json::array();
  double maxAbs = 0;
  for (const DriftStep &s : steps)
    maxAbs = std::max(maxAbs, s.maxAbs);
  for (const DriftWindow &w : windows)
    windowsJson.push_back({{"first", w.first},
                           {"last", w.last},
                           {"mean_max_abs", w.meanMaxAbs},
                           {"max_max_abs", w.maxMaxAbs},
                           {"mean_kl", w.meanKl},
                           {"top1_agreement", w.top1Agreement},
                           {"nll", w.nll},
                           {"reference_nll", w.referenceNll}});
  nlohmann::json out{{"steps", static_cast<int64_t>(steps.size()) - 1},
                     {"finite", true},
                     {"prefill_max_abs", steps.empty() ? 0.0 : steps[0].maxAbs},
                     {"max_abs", maxAbs},
                     {"windows", windowsJson}};
  return out.dump();
}

std::string DriftReport::toTsv() const {
  std::ostringstream out;
  out.precision(9);
  out << "step\tmax_abs\tkl\tsame_top1\tnll\treference_nll\n";
  for (size_t t = 0; t < steps.size(); ++t) {
    const DriftStep &s = steps[t];
    out << t << '\t' << s.maxAbs << '\t' << s.kl << '\t' << int(s.sameTop1) << '\t' << s.nll
        << '\t' << s.referenceNll << '\n';
  }
  return out.str();
}

} // namespace quamba
