//===- Tokenizer.h - Text <-> token ids for the runtime --------*- C++ -*-===//
//
// The tokenizers quamba runs with its models: Hugging Face byte-level BPE read
// from a checkpoint's tokenizer.json (the GPT-NeoX-20B tokenizer of the
// state-spaces Mamba checkpoints; BpeTokenizer.h) and the 256-symbol byte
// tokenizer of byte-level models, which ship no tokenizer.json.
//
// Neither adds BOS/EOS: encode maps text to ids and nothing else (Mamba
// training used <|endoftext|> only as a document separator; callers that want
// it insert it themselves). All methods are const and safe to call from
// several threads at once, and none throws (short of std::bad_alloc); the
// loaders report every problem as an Error.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace quamba {

class Tokenizer {
public:
  virtual ~Tokenizer() = default;

  /// Token ids of `text`. Text is expected to be UTF-8; how a tokenizer
  /// treats invalid UTF-8 is defined by the subclass (always without error).
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;

  /// Appends the bytes token `id` stands for. A token may end inside a UTF-8
  /// sequence that the next token completes, so a streaming printer collects
  /// these bytes and prints only complete sequences (see
  /// unicode::completeUtf8Prefix). Ids the tokenizer does not know (the
  /// padded embedding rows, negative ids) append nothing.
  virtual void appendBytes(int32_t id, std::string &bytes) const = 0;

  /// The text of `ids`: their bytes concatenated, with every ill-formed UTF-8
  /// subsequence (a token sequence cut inside a character, say) replaced by
  /// U+FFFD, as the Hugging Face decoders do. Unknown ids are skipped.
  std::string decode(const std::vector<int32_t> &ids) const;

  /// The raw bytes of one token (appendBytes into an empty string).
  std::string tokenBytes(int32_t id) const;

  /// One more than the largest id encode can produce. Model embeddings may
  /// have more rows (padding); those ids are never produced.
  virtual int64_t vocabSize() const = 0;
};

/// Token = one byte of the UTF-8 text, id = the byte's value; vocabulary 256,
/// no special tokens. Encoding is lossless for any byte string (invalid UTF-8
/// included: the bytes are the tokens), so encode/decode round-trips every
/// valid UTF-8 string.
class ByteTokenizer final : public Tokenizer {
public:
  std::vector<int32_t> encode(std::string_view text) const override;
  void appendBytes(int32_t id, std::string &bytes) const override;
  int64_t vocabSize() const override { return 256; }
};

/// Reads and validates a Hugging Face tokenizer.json (byte-level BPE only).
/// Errors name the file and the offending key.
Result<std::unique_ptr<Tokenizer>> loadTokenizerJson(const std::string &path);

/// The tokenizer of the checkpoint in `checkpointDir`: its tokenizer.json when
/// there is one, else the byte tokenizer when the model's vocabulary
/// (embedding rows) is exactly 256, else an error naming the directory.
/// With `modelVocab` > 0, a tokenizer.json producing ids the embedding does
/// not have (vocabSize() > modelVocab) is an error too.
Result<std::unique_ptr<Tokenizer>> loadTokenizer(const std::string &checkpointDir,
                                                 int64_t modelVocab);

} // namespace quamba
