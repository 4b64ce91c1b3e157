//===- BpeTokenizer.h - Hugging Face byte-level BPE ------------*- C++ -*-===//
//
// The encoder of a Hugging Face tokenizer.json with a BPE model and the
// ByteLevel pre-tokenizer and decoder (GPT-2 style; the GPT-NeoX-20B tokenizer
// of the Mamba checkpoints), reproducing the `tokenizers` Rust core id for id
// (shared/reference/formats.md §2.2):
//
//  1. added tokens are split off first, leftmost-longest: those with
//     `normalized: false` on the raw text, the others on the NFC-normalised
//     remainder; `lstrip`/`rstrip` swallow the adjacent White_Space and
//     `single_word` rejects matches inside a word. Matches become their ids
//     and never enter BPE;
//  2. the remaining pieces are NFC-normalised (when the normalizer is NFC);
//  3. the GPT-2 regex splits them ('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
//     ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+), implemented over code points;
//  4. BPE merges each word's bytes by merge rank, with the same priority
//     queue (lowest rank, then leftmost) as the Rust core; single-byte
//     symbols missing from the vocabulary are dropped (unk_token null), or
//     become unk_token / <0xXX> byte-fallback tokens when the file asks.
//
// Invalid UTF-8 input (which the Rust API cannot even express: it takes a
// &str) is first made valid by replacing each maximal ill-formed subpart by
// U+FFFD, so encode("a\xFFb") == encode("a\uFFFDb"). No BOS/EOS is added
// (the post_processor is ignored; for NeoX it adds nothing).
//
// Decoding maps each vocabulary token's characters back through the
// byte-to-unicode table (as the Rust ByteLevel decoder does, a token with a
// character outside the table contributes its UTF-8 bytes unchanged). Added
// tokens, special ones included, decode to their content verbatim, as the
// current Rust core's Tokenizer::decode does (it keeps them out of the
// decoder). decode(encode(x)) is NFC(x) for valid UTF-8 x.
//
// Thread safety: encode keeps a per-instance word cache (as the Rust core
// does, at most kCacheCapacity words shorter than 256 bytes) guarded by a
// mutex; all methods may be called concurrently.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/tokenizer/Tokenizer.h"

#include <optional>

namespace quamba {

/// One entry of tokenizer.json's `added_tokens`.
struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool normalized = true;
  bool lstrip = false;
  bool rstrip = false;
  bool singleWord = false;
};

class BpeTokenizer final : public Tokenizer {
public:
  /// Words cached per instance (the Rust core's default is 10,000).
  static constexpr size_t kCacheCapacity = 100000;

  /// Reads and validates `path`. Every problem is an error naming the file
  /// and the key: invalid JSON, a model that is not BPE, a pre-tokenizer or
  /// decoder that is not ByteLevel, a normalizer other than NFC, malformed
  /// vocab/merges/added_tokens, merges naming tokens the vocab lacks, and the
  /// options this encoder does not implement (dropout, subword prefixes).
  static Result<std::unique_ptr<BpeTokenizer>> load(const std::string &path);
  /// As load, from the file's text; `source` names it in error messages.
  static Result<std::unique_ptr<BpeTokenizer>> fromJson(std::string_view json,
                                                        const std::string &source);

  ~BpeTokenizer() override;

  std::vector<int32_t> encode(std::string_view text) const override;
  void appendBytes(int32_t id, std::string &bytes) const override;
  int64_t vocabSize() const override;

  /// The id of a token as tokenizer.json spells it (an added token's content
  /// or a byte-level vocab key such as "Ġworld").
  std::optional<int32_t> tokenToId(std::string_view token) const;
  const std::vector<AddedToken> &addedTokens() const;

  struct Impl;

private:
  explicit BpeTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The pieces the GPT-2 pre-split regex cuts valid UTF-8 `text` into (they
/// tile it); exposed for tests.
std::vector<std::string_view> gpt2PreSplit(std::string_view text);

/// GPT-2's byte-to-unicode map: the code point byte `b` is spelled with in a
/// byte-level vocabulary (bytes 33-126, 161-172, 174-255 map to themselves,
/// the other 68 to U+0100 + k in increasing order).
char32_t byteToUnicode(uint8_t b);

} // namespace quamba
