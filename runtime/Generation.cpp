//===- Generation.cpp - text generation and perplexity loops --------------===//
#include "runtime/Generation.h"

#include "runtime/Progress.h"
#include "runtime/tokenizer/Unicode.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace quamba {

namespace {
double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
} // namespace

std::string GenerateReport::toJson() const {
  nlohmann::json out{{"prompt_tokens", promptTokens},
                             {"generated_tokens", static_cast<int64_t>(tokens.size())},
                             {"text", text},
                             {"tokens", tokens},
                             {"prefill_tokens_per_s", prefillTokensPerSecond},
                             {"decode_tokens_per_s", decodeTokensPerSecond}};
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

static int32_t firstMax(const std::vector<float> &logits, int64_t vocab, int64_t allowed) {
  const float *row = logits.data() + logits.size() - vocab;
  return static_cast<int32_t>(std::max_element(row, row + std::min(vocab, allowed)) - row);
}

Result<int32_t> LanguageModel::prefillGreedy(const std::vector<int32_t> &tokens,
                                             int64_t allowed) {
  Result<std::vector<float>> logits = prefill(tokens);
  if (!logits)
    return makeError(logits.error());
  return firstMax(*logits, vocabSize(), allowed);
}

Result<int32_t> LanguageModel::prefillSample(const std::vector<int32_t> &tokens,
                                             const ref::SampleParams &params) {
  Result<std::vector<float>> logits = prefill(tokens);
  if (!logits)
    return makeError(logits.error());
  return ref::sampleToken(logits->data() + logits->size() - vocabSize(), params, 0);
}

Result<int32_t> LanguageModel::decodeSample(int32_t token, const ref::SampleParams &params) {
  Result<std::vector<float>> logits = decode(token);
  if (!logits)
    return makeError(logits.error());
  return ref::sampleToken(logits->data() + logits->size() - vocabSize(), params, 0);
}

Result<int32_t> LanguageModel::decodeGreedy(int32_t token, int64_t allowed) {
  Result<std::vector<float>> logits = decode(token);
  if (!logits)
    return makeError(logits.error());
  return firstMax(*logits, vocabSize(), allowed);
}

Result<std::vector<int32_t>> LanguageModel::decodeGreedySteps(int32_t token, int64_t steps,
                                                             int64_t allowed) {
  std::vector<int32_t> out;
  for (int64_t i = 0; i < steps; ++i) {
    Result<int32_t> next = decodeGreedy(i == 0 ? token : out.back(), allowed);
    if (!next)
      return makeError(next.error());
    out.push_back(*next);
  }
  return out;
}

/// Greedy tokens decoded between visits to the host: the streamed text comes
/// in bursts of up to this many tokens, and the GPU saves a host round trip
/// (upload, synchronize, download) on all but one token of each burst.
constexpr int64_t kGreedyBurst = 16;

Result<GenerateReport> generate(LanguageModel &model, const Tokenizer &tokenizer,
                                const GenerateOptions &options,
                                const std::function<void(const std::string &)> &onText) {
  if (Status s = checkSamplingOptions(options.sampling, "--"); !s)
    return makeError(s.error());
  std::vector<int32_t> ids = tokenizer.encode(options.prompt);
  if (ids.empty())
    return makeError("--prompt is empty: give the model at least one token to continue");
  const int64_t vocab = model.vocabSize();
  int64_t allowed = std::min<int64_t>(vocab, tokenizer.vocabSize());
  Sampler sampler(options.sampling, allowed);

  GenerateReport report;
  report.promptTokens = static_cast<int64_t>(ids.size());
  // The model picks each next token where its logits are (on a GPU, inside
  // decode's graph): greedy, or a draw with the step's parameters.
  const bool greedy = options.sampling.temperature <= 0.0f;
  uint64_t step = 0;
  auto start = std::chrono::steady_clock::now();
  Result<int32_t> next = greedy ? model.prefillGreedy(ids, allowed)
                                : model.prefillSample(ids, sampler.params(allowed, step++));
  if (!next)
    return makeError(next.error());
  double prefillSeconds = secondsSince(start);

  std::string pending;
  auto emit = [&](int32_t token) {
    report.tokens.push_back(token);
    if (onText) {
      tokenizer.appendBytes(token, pending);
      size_t ready = unicode::completeUtf8Prefix(pending);
      onText(pending.substr(0, ready));
      pending.erase(0, ready);
    }
  };
  start = std::chrono::steady_clock::now();
  if (options.maxTokens > 0)
    emit(*next);
  while (static_cast<int64_t>(report.tokens.size()) < options.maxTokens) {
    int32_t token = report.tokens.back();
    if (greedy) {
      int64_t burst = std::min(kGreedyBurst, options.maxTokens -
                                                 static_cast<int64_t>(report.tokens.size()));
      Result<std::vector<int32_t>> tokens = model.decodeGreedySteps(token, burst, allowed);
      if (!tokens)
        return makeError(tokens.error());
      for (int32_t t : *tokens)
        emit(t);
      continue;
    }
    next = model.decodeSample(token, sampler.params(allowed, step++));
    if (!next)
      return makeError(next.error());
    emit(*next);
  }
  if (onText && !pending.empty())
    onText(pending);
  double decodeSeconds = secondsSince(start);
  report.text = tokenizer.decode(report.tokens);
  report.prefillTokensPerSecond = ids.size() / prefillSeconds;
  report.decodeTokensPerSecond =
      report.tokens.size() > 1 ? (report.tokens.size() - 1) / decodeSeconds : 0.0;
  return report;
}

std::string PerplexityReport::toJson() const {
  nlohmann::json out{{"tokens", tokens},
                             {"bytes", bytes},
                             {"nll_per_token", nllPerToken},
                             {"perplexity", perplexity},
                             {"bits_per_byte", bitsPerByte},
                             {"window", window},
                             {"stride", stride},
                             {"tokens_per_s", tokensPerSecond}};
  return out.dump();
}

std::string PerplexityReport::toText() const {
  char line[160];
  std::snprintf(line, sizeof(line),
                "tokens %lld  nll/token %.4f  perplexity %.3f  bits/byte %.4f",
                static_cast<long long>(tokens), nllPerToken, perplexity, bitsPerByte);
  return line;
}

Result<PerplexityReport> perplexity(LanguageModel &model, const Tokenizer &tokenizer,
                                    const std::string &text, const std::string &source,
                                    const PerplexityOptions &options) {
  std::vector<int32_t> ids = tokenizer.encode(text);
  const int64_t n = static_cast<int64_t>(ids.size());
  if (n < 2)
    return makeError(source + ": needs at least 2 tokens to measure perplexity, has " +
                     std::to_string(n));
  if (options.window < 2)
    return makeError("--window must be at least 2");
  const int64_t step = options.stride > 0 ? options.stride : options.window;
  if (step > options.window)
    return makeError("--stride must not exceed --window");
  const int64_t vocab = model.vocabSize();
  int64_t allowed = std::min<int64_t>(vocab, tokenizer.vocabSize());

  double nll = 0.0;
  int64_t scored = 0, bytes = 0, nextTarget = 1;
  ProgressBar progress("ppl", n - 1, "tok");
  auto start = std::chrono::steady_clock::now();
  for (int64_t begin = 0; nextTarget < n; begin += step) {
    int64_t end = std::min(begin + options.window, n);
    std::vector<int32_t> chunk(ids.begin() + begin, ids.begin() + end);
    Result<std::vector<float>> logits = model.prefill(chunk);
    if (!logits)
      return makeError(logits.error());
    for (int64_t t = std::max(nextTarget, begin + 1); t < end; ++t) {
      nll += negativeLogLikelihood(&(*logits)[(t - 1 - begin) * vocab], allowed, ids[t]);
      std::string piece;
      tokenizer.appendBytes(ids[t], piece);
      bytes += static_cast<int64_t>(piece.size());
      ++scored;
    }
    nextTarget = std::max(nextTarget, end);
    progress.update(nextTarget - 1);
    if (end == n)
      break;
  }
  progress.finish();
  PerplexityReport report;
  report.tokens = scored;
  report.bytes = bytes;
  report.window = options.window;
  report.stride = step;
  report.nllPerToken = nll / scored;
  report.perplexity = std::exp(report.nllPerToken);
  report.bitsPerByte = nll / std::log(2.0) / bytes;
  report.tokensPerSecond = scored / secondsSince(start);
  return report;
}

} // namespace quamba
