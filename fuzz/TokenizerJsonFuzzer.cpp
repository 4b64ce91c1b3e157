//===- TokenizerJsonFuzzer.cpp - fuzz tokenizer.json loading --------------===//
//
// Feeds the bytes to BpeTokenizer::fromJson as tokenizer.json text. A
// rejected file is fine; an accepted tokenizer must encode and decode
// without failing: a fixed text (letters, digits, contractions, runs of
// spaces, NFC-sensitive accents, invalid UTF-8) and every added token's
// content, each id inside the vocabulary, and every id's bytes readable.
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/BpeTokenizer.h"

#include <cstdio>
#include <cstdlib>

using namespace quamba;

namespace {

[[noreturn]] void violated(const char *what) {
  std::fprintf(stderr, "tokenizer.json fuzzer: accepted tokenizer breaks '%s'\n", what);
  std::abort();
}

void encodeAndDecode(const BpeTokenizer &tokenizer, std::string_view text) {
  std::vector<int32_t> ids = tokenizer.encode(text);
  for (int32_t id : ids)
    if (id < 0 || id >= tokenizer.vocabSize())
      violated("encode yields ids inside the vocabulary");
  (void)tokenizer.decode(ids);
}

void checkAccepted(const BpeTokenizer &tokenizer) {
  static constexpr std::string_view kText =
      "Hello world! It's 2024, we'll see:  tabs\tand\nnewlines   end. "
      "Cafe\xCC\x81 caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 "
      "bad \xFF\xC3 utf8 <|endoftext|><0x41>";
  encodeAndDecode(tokenizer, kText);
  encodeAndDecode(tokenizer, "");
  std::string added;
  for (const AddedToken &token : tokenizer.addedTokens()) {
    if (!tokenizer.tokenToId(token.content))
      violated("every added token has an id");
    added += " " + token.content + "x" + token.content;
  }
  encodeAndDecode(tokenizer, added);
  // Every id of a small vocabulary, the edges of a large one.
  const int64_t vocab = tokenizer.vocabSize();
  for (int64_t id = -1; id <= vocab; ++id) {
    if (id > 1024 && id < vocab - 16)
      id = vocab - 16;
    (void)tokenizer.tokenBytes(static_cast<int32_t>(id));
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Result<std::unique_ptr<BpeTokenizer>> tokenizer = BpeTokenizer::fromJson(
      std::string_view(reinterpret_cast<const char *>(data), size), "fuzz/tokenizer.json");
  if (tokenizer)
    checkAccepted(**tokenizer);
  return 0;
}
