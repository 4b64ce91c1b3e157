//===- TokenizerEncodeFuzzer.cpp - fuzz BPE encoding of arbitrary text ----===//
//
// Encodes the bytes as text with a real tokenizer: $QUAMBA_FUZZ_TOKENIZER,
// else the GPT-NeoX-20B tokenizer.json of ../shared, else the cut-down NeoX
// tokenizer of the seed corpus. Checks what BpeTokenizer.h promises: ids
// inside the vocabulary and, for a tokenizer that drops no bytes (a symbol
// for every byte of valid UTF-8, no added token strips whitespace), that
// decoding gives the text back up to NFC, with invalid UTF-8 replaced by
// U+FFFD. (Exact NFC of the whole text is not promised: added tokens are
// split off before normalization, as the Rust core does.)
//
//===----------------------------------------------------------------------===//
#include "runtime/tokenizer/BpeTokenizer.h"
#include "runtime/tokenizer/Unicode.h"

#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>

using namespace quamba;

namespace {

const BpeTokenizer *tokenizer = nullptr;
bool lossless = false;

bool exists(const char *path) {
  struct stat st;
  return ::stat(path, &st) == 0;
}

/// Whether encoding keeps every byte: each byte of valid UTF-8 (what encode
/// hands BPE) has a vocabulary symbol, and no added token swallows adjacent
/// whitespace.
bool keepsEveryByte(const BpeTokenizer &t) {
  for (int b = 0; b < 256; ++b) {
    if (b == 0xC0 || b == 0xC1 || b >= 0xF5)
      continue; // never in valid UTF-8; NeoX has no symbols for them
    std::string symbol;
    unicode::appendUtf8(byteToUnicode(static_cast<uint8_t>(b)), symbol);
    if (!t.tokenToId(symbol))
      return false;
  }
  for (const AddedToken &token : t.addedTokens())
    if (token.lstrip || token.rstrip)
      return false;
  return true;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  const char *path = std::getenv("QUAMBA_FUZZ_TOKENIZER");
  if (!path)
    path = exists(QUAMBA_FUZZ_NEOX_TOKENIZER) ? QUAMBA_FUZZ_NEOX_TOKENIZER
                                              : QUAMBA_FUZZ_SMALL_TOKENIZER;
  Result<std::unique_ptr<BpeTokenizer>> loaded = BpeTokenizer::load(path);
  if (!loaded) {
    std::fprintf(stderr, "tokenizer encode fuzzer: %s\n", loaded.error().c_str());
    std::exit(1);
  }
  tokenizer = loaded.take().release(); // lives for the whole process
  lossless = keepsEveryByte(*tokenizer);
  std::fprintf(stderr, "tokenizer encode fuzzer: %s (vocabulary %lld%s)\n", path,
               static_cast<long long>(tokenizer->vocabSize()),
               lossless ? ", checking decode(encode(x)) = x up to NFC" : "");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  std::vector<int32_t> ids = tokenizer->encode(text);
  for (int32_t id : ids)
    if (id < 0 || id >= tokenizer->vocabSize()) {
      std::fprintf(stderr, "encode yielded id %d outside the vocabulary\n", id);
      std::abort();
    }
  std::string decoded = tokenizer->decode(ids);
  if (lossless && unicode::nfcUtf8(decoded) != unicode::nfcUtf8(unicode::toValidUtf8(text))) {
    std::fprintf(stderr, "decode(encode(x)) differs from x (up to NFC): '%s'\n",
                 decoded.c_str());
    std::abort();
  }
  return 0;
}
