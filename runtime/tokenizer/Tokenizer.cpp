//===- Tokenizer.cpp - Tokenizer base, byte tokenizer, factory ------------===//

#include "runtime/tokenizer/Tokenizer.h"

#include "runtime/tokenizer/BpeTokenizer.h"
#include "runtime/tokenizer/Unicode.h"

#include <sys/stat.h>

namespace quamba {

std::string Tokenizer::decode(const std::vector<int32_t> &ids) const {
  std::string bytes;
  for (int32_t id : ids)
    appendBytes(id, bytes);
  if (unicode::isValidUtf8(bytes))
    return bytes;
  return unicode::toValidUtf8(bytes);
}

std::string Tokenizer::tokenBytes(int32_t id) const {
  std::string bytes;
  appendBytes(id, bytes);
  return bytes;
}

std::vector<int32_t> ByteTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (char c : text)
    ids.push_back(static_cast<uint8_t>(c));
  return ids;
}

void ByteTokenizer::appendBytes(int32_t id, std::string &bytes) const {
  if (id >= 0 && id < 256)
    bytes.push_back(static_cast<char>(static_cast<uint8_t>(id)));
}

Result<std::unique_ptr<Tokenizer>> loadTokenizerJson(const std::string &path) {
  auto bpe = BpeTokenizer::load(path);
  if (!bpe)
    return makeError(bpe.error());
  return std::unique_ptr<Tokenizer>(bpe.take());
}

namespace {

bool isRegularFile(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

} // namespace

Result<std::unique_ptr<Tokenizer>> loadTokenizer(const std::string &checkpointDir,
                                                 int64_t modelVocab) {
  const std::string jsonPath = checkpointDir + "/tokenizer.json";
  if (isRegularFile(jsonPath)) {
    auto tokenizer = loadTokenizerJson(jsonPath);
    if (!tokenizer)
      return tokenizer;
    if (modelVocab > 0 && (*tokenizer)->vocabSize() > modelVocab)
      return makeError(jsonPath + ": the tokenizer has " +
                       std::to_string((*tokenizer)->vocabSize()) +
                       " ids but the model's embedding has only " +
                       std::to_string(modelVocab) + " rows");
    return tokenizer;
  }
  if (modelVocab == 256)
    return std::unique_ptr<Tokenizer>(new ByteTokenizer());
  return makeError(checkpointDir + ": no tokenizer.json, and the model's "
                   "vocabulary (" + std::to_string(modelVocab) +
                   ") is not 256, so it is not a byte-level model; copy the "
                   "tokenizer.json of the model's tokenizer into this directory");
}

} // namespace quamba
