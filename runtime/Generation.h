//===- Generation.h - text generation and perplexity loops -----*- C++ -*-===//
//
// The user-facing loops of quamba-run (compiled models, CPU or CUDA) and
// quamba-interpret (mamba IR on the CPU interpreter), written once against
// a minimal model interface: prefill a prompt, then decode token by token.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Logits.h"
#include "runtime/Status.h"
#include "runtime/tokenizer/Tokenizer.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace quamba {

/// A model run one sequence at a time (batch 1).
class LanguageModel {
public:
  virtual ~LanguageModel() = default;
  /// Logits rows (vocabSize() wide).
  virtual int64_t vocabSize() const = 0;
  /// Runs the prompt from a fresh state; returns logits [tokens, vocab] and
  /// keeps the state for decode.
  virtual Result<std::vector<float>> prefill(const std::vector<int32_t> &tokens) = 0;
  /// One token from the kept state; returns logits [vocab].
  virtual Result<std::vector<float>> decode(int32_t token) = 0;

  /// Greedy decoding's next token (the first maximum of the logits
  /// [0, allowed)) after prefill / decode. The defaults take it from the
  /// logits; a model that can pick it where the logits live (the GPU)
  /// overrides them.
  virtual Result<int32_t> prefillGreedy(const std::vector<int32_t> &tokens, int64_t allowed);
  virtual Result<int32_t> decodeGreedy(int32_t token, int64_t allowed);
  /// `steps` greedy decode steps from `token`, each reading the previous
  /// one's pick: the default calls decodeGreedy; a GPU model runs them
  /// without a host round trip between steps.
  virtual Result<std::vector<int32_t>> decodeGreedySteps(int32_t token, int64_t steps,
                                                         int64_t allowed);
  /// The same for a random draw (ref::sampleToken with `params`, whose
  /// `allowed` and `step` the caller sets): the defaults draw on the host
  /// from the logits, a GPU model draws where the logits live. Both give the
  /// same token for the same logits.
  virtual Result<int32_t> prefillSample(const std::vector<int32_t> &tokens,
                                        const ref::SampleParams &params);
  virtual Result<int32_t> decodeSample(int32_t token, const ref::SampleParams &params);
};

struct GenerateOptions {
  std::string prompt;
  int64_t maxTokens = 64;
  SamplingOptions sampling;
};

struct GenerateReport {
  int64_t promptTokens = 0;
  std::vector<int32_t> tokens; ///< generated ids
  std::string text;            ///< their decoding
  double prefillTokensPerSecond = 0, decodeTokensPerSecond = 0;
  std::string toJson() const;
};

/// Generates; `onText` (if set) receives the text as it becomes complete
/// UTF-8.
Result<GenerateReport> generate(LanguageModel &model, const Tokenizer &tokenizer,
                                const GenerateOptions &options,
                                const std::function<void(const std::string &)> &onText = {});

struct PerplexityOptions {
  int64_t window = 1024;
  int64_t stride = 0; ///< 0: the window (no overlap)
};

struct PerplexityReport {
  int64_t tokens = 0, bytes = 0, window = 0, stride = 0;
  double nllPerToken = 0, perplexity = 0, bitsPerByte = 0, tokensPerSecond = 0;
  std::string toJson() const;
  std::string toText() const;
};

/// Perplexity and bits per byte of `text` (`source` names it in errors):
/// window k covers [k*stride, k*stride + window) and scores the tokens no
/// earlier window scored, each with at least one token of context.
Result<PerplexityReport> perplexity(LanguageModel &model, const Tokenizer &tokenizer,
                                    const std::string &text, const std::string &source,
                                    const PerplexityOptions &options);

} // namespace quamba
