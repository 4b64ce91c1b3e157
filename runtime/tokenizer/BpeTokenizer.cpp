//===- BpeTokenizer.cpp - Hugging Face byte-level BPE ----------------------===//
//
// Internally words are BPE-merged as raw bytes: a byte-level vocabulary spells
// byte b with one code point (byteToUnicode), so "one symbol per character of
// the byte-level string" is "one symbol per byte", and merges act on ids.
// nlohmann-json throws; every call into it happens below fromJson's
// catch-all, so no exception leaves the loader.
//
//===----------------------------------------------------------------------===//

#include "runtime/tokenizer/BpeTokenizer.h"

#include "runtime/tokenizer/Unicode.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <exception>
#include <fstream>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace quamba {

//===----------------------------------------------------------------------===//
// Byte-to-unicode map.
//===----------------------------------------------------------------------===//

namespace {

struct ByteMap {
  std::array<char32_t, 256> toUnicode{};
  std::array<int16_t, 0x144> toByte{}; // code points < U+0144; -1 = none

  ByteMap() {
    toByte.fill(-1);
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) ||
                             (b >= 174 && b <= 255);
      toUnicode[b] = printable ? char32_t(b) : next++;
      toByte[toUnicode[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteMap &byteMap() {
  static const ByteMap map;
  return map;
}

/// The bytes a vocabulary token stands for: its characters mapped back
/// through the byte map or, when one of them is not in the map, the token's
/// own UTF-8 bytes (the Rust ByteLevel decoder's rule).
std::string tokenStringToBytes(std::string_view token) {
  const ByteMap &map = byteMap();
  std::string bytes;
  size_t pos = 0;
  while (pos < token.size()) {
    const char32_t cp = unicode::decodeUtf8(token, pos);
    if (cp >= map.toByte.size() || map.toByte[cp] < 0)
      return std::string(token);
    bytes.push_back(static_cast<char>(map.toByte[cp]));
  }
  return bytes;
}

/// The byte-level spelling of raw bytes.
std::string bytesToTokenString(std::string_view bytes) {
  std::string out;
  for (char c : bytes)
    unicode::appendUtf8(byteMap().toUnicode[static_cast<uint8_t>(c)], out);
  return out;
}

//===----------------------------------------------------------------------===//
// GPT-2 pre-split.
//===----------------------------------------------------------------------===//

struct CharAt {
  char32_t cp;
  unicode::CharClass cls;
  uint32_t len;
};

/// The code point at text[pos] (text is valid UTF-8) and its class.
inline CharAt charAt(std::string_view text, size_t pos) {
  const auto b = static_cast<uint8_t>(text[pos]);
  if (b < 0x80)
    return {b, unicode::charClass(b), 1};
  size_t next = pos;
  const char32_t cp = unicode::decodeUtf8(text, next);
  return {cp, unicode::charClass(cp), static_cast<uint32_t>(next - pos)};
}

/// End of the run of characters of class `cls` starting at `pos`.
inline size_t runEnd(std::string_view text, size_t pos, unicode::CharClass cls) {
  while (pos < text.size()) {
    const CharAt c = charAt(text, pos);
    if (c.cls != cls)
      break;
    pos += c.len;
  }
  return pos;
}

/// Length of the contraction ('s 't 're 've 'm 'll 'd, case-sensitive) at
/// text[pos], or 0.
inline size_t contractionLength(std::string_view text, size_t pos) {
  if (text[pos] != '\'' || pos + 1 >= text.size())
    return 0;
  const char c1 = text[pos + 1];
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd')
    return 2;
  if (pos + 2 >= text.size())
    return 0;
  const char c2 = text[pos + 2];
  if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') ||
      (c1 == 'l' && c2 == 'l'))
    return 3;
  return 0;
}

/// Calls onPiece(string_view) for each match of the GPT-2 regex, in order.
/// The alternatives are tried in the regex's order at every position, which
/// for this regex reduces to: a contraction; else an optional space and a
/// run of letters, numbers or "other" characters; else a whitespace run,
/// minus its last character when a non-space follows and the run is longer
/// than one character (\s+(?!\S) backtracks by one; \s+ takes a lone one).
template <typename OnPiece>
void forEachPreToken(std::string_view text, OnPiece &&onPiece) {
  using unicode::CharClass;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    if (size_t n = contractionLength(text, pos)) {
      onPiece(text.substr(start, n));
      pos += n;
      continue;
    }
    // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`.
    size_t body = pos + (text[pos] == ' ' ? 1 : 0);
    if (body < text.size()) {
      const CharAt c = charAt(text, body);
      if (c.cls != CharClass::WhiteSpace) {
        pos = runEnd(text, body + c.len, c.cls);
        onPiece(text.substr(start, pos - start));
        continue;
      }
    }
    // Whitespace at `pos` (a space followed by whitespace or the end, or
    // another White_Space character).
    size_t lastStart = pos;
    size_t count = 0;
    while (pos < text.size()) {
      const CharAt c = charAt(text, pos);
      if (c.cls != CharClass::WhiteSpace)
        break;
      lastStart = pos;
      pos += c.len;
      ++count;
    }
    if (pos < text.size() && count >= 2)
      pos = lastStart; // leave the last one to prefix the next word
    onPiece(text.substr(start, pos - start));
  }
}

//===----------------------------------------------------------------------===//
// Added-token matching.
//===----------------------------------------------------------------------===//

/// A byte trie of added-token contents answering "the longest content that
/// starts at this position", which scanned left to right gives the
/// leftmost-longest, non-overlapping matches of the Rust core's Aho-Corasick
/// automaton (MatchKind::LeftmostLongest).
class Matcher {
public:
  void add(std::string_view content, int32_t tokenIndex) {
    if (content.empty())
      return; // the Rust core ignores empty added tokens too
    if (nodes_.empty())
      nodes_.emplace_back();
    int32_t node = 0;
    for (char c : content) {
      const auto b = static_cast<uint8_t>(c);
      int32_t child = findChild(node, b);
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();
        nodes_[node].children.emplace_back(b, child);
      }
      node = child;
    }
    nodes_[node].token = tokenIndex;
    first_[static_cast<uint8_t>(content[0])] = true;
  }

  bool empty() const { return nodes_.empty(); }
  bool canStart(uint8_t b) const { return first_[b]; }

  /// The longest content matching text at `pos`: {token index, length}, or
  /// {-1, 0}.
  std::pair<int32_t, size_t> longest(std::string_view text, size_t pos) const {
    std::pair<int32_t, size_t> best{-1, 0};
    int32_t node = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      node = findChild(node, static_cast<uint8_t>(text[i]));
      if (node < 0)
        break;
      if (nodes_[node].token >= 0)
        best = {nodes_[node].token, i + 1 - pos};
    }
    return best;
  }

private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;
    int32_t token = -1;
  };

  int32_t findChild(int32_t node, uint8_t b) const {
    for (const auto &[byte, child] : nodes_[node].children)
      if (byte == b)
        return child;
    return -1;
  }

  std::vector<Node> nodes_;
  std::array<bool, 256> first_{};
};

/// Offset where the code point ending at `end` starts (text valid UTF-8).
size_t previousCharStart(std::string_view text, size_t end) {
  size_t pos = end - 1;
  while (pos > 0 && (static_cast<uint8_t>(text[pos]) & 0xC0) == 0x80)
    --pos;
  return pos;
}

/// Rust regex \w, approximated as \p{L}, \p{N} or '_' (the Rust class also
/// has marks, Pc and Join_Control; only `single_word` tokens consult it).
bool isWordChar(char32_t cp) {
  return cp == '_' || unicode::isLetter(cp) || unicode::isNumber(cp);
}

//===----------------------------------------------------------------------===//
// BPE merges.
//===----------------------------------------------------------------------===//

struct MergeEntry {
  uint32_t rank;
  int32_t newId;
};

inline uint64_t pairKey(int32_t a, int32_t b) {
  return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
}

struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  uint32_t len; // bytes; 0 marks a symbol merged into its left neighbour
};

struct QueuedMerge {
  uint32_t rank;
  uint32_t pos;
  int32_t newId;
};

/// Heap order: the top is the lowest rank, then the leftmost position.
bool lowerPriority(const QueuedMerge &a, const QueuedMerge &b) {
  return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
}

} // namespace

char32_t byteToUnicode(uint8_t b) { return byteMap().toUnicode[b]; }

std::vector<std::string_view> gpt2PreSplit(std::string_view text) {
  std::vector<std::string_view> pieces;
  forEachPreToken(text, [&](std::string_view piece) { pieces.push_back(piece); });
  return pieces;
}

//===----------------------------------------------------------------------===//
// The tokenizer state.
//===----------------------------------------------------------------------===//

struct BpeTokenizer::Impl {
  // Model.
  std::unordered_map<std::string, int32_t> vocab; // byte-level spelling -> id
  std::array<int32_t, 256> byteSymbol{};          // id of each 1-byte symbol, -1
  std::array<int32_t, 256> byteFallbackId{};      // id of "<0xXX>", -1
  std::unordered_map<uint64_t, MergeEntry> merges;
  std::unordered_map<std::string, int32_t> wordVocab; // raw bytes -> id (ignore_merges)
  int32_t unkId = -1;
  bool fuseUnk = false;
  bool byteFallback = false;
  bool ignoreMerges = false;

  // Pipeline.
  bool nfc = false;
  bool addPrefixSpace = false;
  bool useRegex = true;
  std::vector<AddedToken> added;
  std::unordered_map<std::string, int32_t> addedByContent;
  Matcher rawMatcher;        // normalized == false, matched on the input
  Matcher normalizedMatcher; // normalized == true, matched after NFC

  // Decoding.
  std::vector<std::string> idBytes;
  std::vector<uint8_t> idKnown;
  int64_t vocabSize = 0;

  // Word cache (raw bytes of a pre-token -> ids).
  mutable std::mutex cacheMutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache;

  template <typename OnPiece>
  void splitAddedTokens(std::string_view text, const Matcher &matcher,
                        std::vector<int32_t> &ids, OnPiece &&onPiece) const;
  void encodeRaw(std::string_view piece, std::vector<int32_t> &ids) const;
  void encodeNormalized(std::string_view piece, std::vector<int32_t> &ids) const;
  void encodeWord(std::string_view word, std::vector<int32_t> &ids) const;
  void bpe(std::string_view word, std::vector<int32_t> &ids) const;
  const MergeEntry *findMerge(int32_t a, int32_t b) const {
    auto it = merges.find(pairKey(a, b));
    return it == merges.end() ? nullptr : &it->second;
  }
};

/// Splits `text` on the matcher's added tokens (the Rust core's
/// AddedVocabulary::find_matches): token ids go to `ids`, the text between
/// them to onPiece. A match that an rstrip token's swallowed whitespace
/// overlaps still yields its id (as in the Rust core) but the text it covers
/// is emitted once.
template <typename OnPiece>
void BpeTokenizer::Impl::splitAddedTokens(std::string_view text,
                                          const Matcher &matcher,
                                          std::vector<int32_t> &ids,
                                          OnPiece &&onPiece) const {
  if (matcher.empty()) {
    if (!text.empty())
      onPiece(text);
    return;
  }
  size_t startOffset = 0; // end of the text already handed out
  size_t pos = 0;         // where the automaton resumes
  while (pos < text.size()) {
    if (!matcher.canStart(static_cast<uint8_t>(text[pos]))) {
      ++pos;
      continue;
    }
    const auto [tokenIndex, length] = matcher.longest(text, pos);
    if (tokenIndex < 0) {
      ++pos;
      continue;
    }
    size_t start = pos;
    size_t stop = pos + length;
    pos = stop;
    const AddedToken &token = added[tokenIndex];
    if (token.singleWord) {
      const bool startOk =
          start == 0 ||
          !isWordChar(charAt(text, previousCharStart(text, start)).cp);
      const bool stopOk = stop == text.size() || !isWordChar(charAt(text, stop).cp);
      if (!startOk || !stopOk)
        continue;
    }
    if (token.lstrip) {
      size_t newStart = start;
      while (newStart > 0) {
        const size_t prev = previousCharStart(text, newStart);
        if (!unicode::isWhiteSpace(charAt(text, prev).cp))
          break;
        newStart = prev;
      }
      start = std::max(newStart, startOffset);
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        const CharAt c = charAt(text, stop);
        if (c.cls != unicode::CharClass::WhiteSpace)
          break;
        stop += c.len;
      }
    }
    if (startOffset < start)
      onPiece(text.substr(startOffset, start - startOffset));
    ids.push_back(token.id);
    startOffset = std::max(startOffset, stop);
  }
  if (startOffset < text.size())
    onPiece(text.substr(startOffset));
}

void BpeTokenizer::Impl::encodeRaw(std::string_view piece,
                                   std::vector<int32_t> &ids) const {
  std::string normalizedText;
  if (nfc && !unicode::isNfcQuick(piece)) {
    normalizedText = unicode::nfcUtf8(piece);
    piece = normalizedText;
  }
  splitAddedTokens(piece, normalizedMatcher, ids, [&](std::string_view rest) {
    encodeNormalized(rest, ids);
  });
}

void BpeTokenizer::Impl::encodeNormalized(std::string_view piece,
                                          std::vector<int32_t> &ids) const {
  std::string prefixed;
  if (addPrefixSpace && piece[0] != ' ') {
    prefixed = " ";
    prefixed.append(piece);
    piece = prefixed;
  }
  if (!useRegex) {
    encodeWord(piece, ids);
    return;
  }
  forEachPreToken(piece, [&](std::string_view word) { encodeWord(word, ids); });
}

void BpeTokenizer::Impl::encodeWord(std::string_view word,
                                    std::vector<int32_t> &ids) const {
  if (word.size() == 1 && byteSymbol[static_cast<uint8_t>(word[0])] >= 0) {
    ids.push_back(byteSymbol[static_cast<uint8_t>(word[0])]);
    return;
  }
  if (ignoreMerges) {
    auto it = wordVocab.find(std::string(word));
    if (it != wordVocab.end()) {
      ids.push_back(it->second);
      return;
    }
  }
  // The Rust core caches words shorter than 256 bytes.
  const bool cacheable = word.size() < 256;
  std::string key;
  if (cacheable) {
    key.assign(word);
    std::lock_guard<std::mutex> lock(cacheMutex);
    auto it = cache.find(key);
    if (it != cache.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const size_t first = ids.size();
  bpe(word, ids);
  if (cacheable) {
    std::vector<int32_t> value(ids.begin() + first, ids.end());
    std::lock_guard<std::mutex> lock(cacheMutex);
    if (cache.size() < kCacheCapacity)
      cache.emplace(std::move(key), std::move(value));
  }
}

/// The Rust core's BPE::merge_word + Word::merge_all, on bytes.
void BpeTokenizer::Impl::bpe(std::string_view word,
                             std::vector<int32_t> &ids) const {
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto addSymbol = [&](int32_t id, uint32_t len) {
    const auto index = static_cast<int32_t>(symbols.size());
    if (!symbols.empty())
      symbols.back().next = index;
    symbols.push_back({id, index - 1, -1, len});
  };
  int32_t pendingUnk = -1; // an unk symbol not yet added (fuse_unk grows it)
  uint32_t pendingLen = 0;
  for (char c : word) {
    const auto b = static_cast<uint8_t>(c);
    if (byteSymbol[b] >= 0) {
      if (pendingUnk >= 0) {
        addSymbol(pendingUnk, pendingLen);
        pendingUnk = -1;
      }
      addSymbol(byteSymbol[b], 1);
      continue;
    }
    if (byteFallback && byteFallbackId[b] >= 0) {
      addSymbol(byteFallbackId[b], 1); // the Rust core does not flush unk here
      continue;
    }
    if (unkId < 0)
      continue; // unk_token null: the symbol is dropped
    if (pendingUnk >= 0 && fuseUnk) {
      ++pendingLen;
    } else {
      if (pendingUnk >= 0)
        addSymbol(pendingUnk, pendingLen);
      pendingUnk = unkId;
      pendingLen = 1;
    }
  }
  if (pendingUnk >= 0)
    addSymbol(pendingUnk, pendingLen);

  std::vector<QueuedMerge> queue;
  queue.reserve(symbols.size());
  for (size_t i = 0; i + 1 < symbols.size(); ++i)
    if (const MergeEntry *m = findMerge(symbols[i].id, symbols[i + 1].id))
      queue.push_back({m->rank, static_cast<uint32_t>(i), m->newId});
  std::make_heap(queue.begin(), queue.end(), lowerPriority);

  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), lowerPriority);
    const QueuedMerge top = queue.back();
    queue.pop_back();
    Symbol &left = symbols[top.pos];
    if (left.len == 0 || left.next == -1)
      continue;
    const Symbol right = symbols[left.next];
    // Skip entries made stale by earlier merges (the Rust core compares the
    // resulting id only, and so does this).
    const MergeEntry *current = findMerge(left.id, right.id);
    if (current == nullptr || current->newId != top.newId)
      continue;
    symbols[left.next].len = 0;
    left.id = top.newId;
    left.len += right.len;
    left.next = right.next;
    if (right.next >= 0)
      symbols[right.next].prev = static_cast<int32_t>(top.pos);
    if (left.prev >= 0) {
      if (const MergeEntry *m = findMerge(symbols[left.prev].id, left.id)) {
        queue.push_back({m->rank, static_cast<uint32_t>(left.prev), m->newId});
        std::push_heap(queue.begin(), queue.end(), lowerPriority);
      }
    }
    if (left.next >= 0) {
      if (const MergeEntry *m = findMerge(left.id, symbols[left.next].id)) {
        queue.push_back({m->rank, top.pos, m->newId});
        std::push_heap(queue.begin(), queue.end(), lowerPriority);
      }
    }
  }
  for (const Symbol &s : symbols)
    if (s.len != 0)
      ids.push_back(s.id);
}

//===----------------------------------------------------------------------===//
// tokenizer.json parsing.
//===----------------------------------------------------------------------===//

namespace {

using Json = nlohmann::json;

constexpr size_t kMaxFileSize = size_t(1) << 30;
// Ids index the decode table; real vocabularies are below 2^18. The cap keeps
// a corrupt id from sizing a multi-gigabyte table.
constexpr int64_t kMaxTokenId = (int64_t(1) << 24) - 1;

/// Thrown inside the parser only; fromJson turns it into an Error.
struct ParseFailure {
  std::string message;
};

[[noreturn]] void fail(const std::string &key, const std::string &message) {
  throw ParseFailure{key + ": " + message};
}

std::string inQuotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

const Json *member(const Json &object, const char *key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

bool optionalBool(const Json &object, const std::string &path, const char *key,
                  bool fallback) {
  const Json *value = member(object, key);
  if (value == nullptr)
    return fallback;
  if (!value->is_boolean())
    fail(path + "." + key, "expected true or false");
  return value->get<bool>();
}

int32_t tokenId(const Json &value, const std::string &key) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0 ||
      value.get<int64_t>() > kMaxTokenId)
    fail(key, "expected a token id (an integer in [0, 2^24))");
  return static_cast<int32_t>(value.get<int64_t>());
}

/// The `type` of a pipeline component that must be one of `allowed`;
/// `required` components may not be null or missing.
std::string componentType(const Json &root, const char *key, bool required,
                          std::initializer_list<const char *> allowed) {
  const Json *component = member(root, key);
  std::string names;
  for (const char *name : allowed)
    names += (names.empty() ? "" : " or ") + inQuotes(name);
  if (component == nullptr) {
    if (required)
      fail(key, "missing; a byte-level BPE tokenizer needs " + names);
    return "";
  }
  if (!component->is_object())
    fail(key, "expected an object");
  const Json *type = member(*component, "type");
  if (type == nullptr || !type->is_string())
    fail(std::string(key) + ".type", "missing or not a string");
  const std::string value = type->get<std::string>();
  for (const char *name : allowed)
    if (value == name)
      return value;
  fail(std::string(key) + ".type",
       inQuotes(value) + " is not supported (only " + names + ")");
}

void parseModel(const Json &root, BpeTokenizer::Impl &impl) {
  const Json *model = member(root, "model");
  if (model == nullptr)
    fail("model", "missing");
  if (!model->is_object())
    fail("model", "expected an object");
  if (const Json *type = member(*model, "type")) {
    if (!type->is_string() || type->get<std::string>() != "BPE")
      fail("model.type", (type->is_string() ? inQuotes(type->get<std::string>())
                                            : type->dump()) +
                             " is not supported (only \"BPE\")");
  }

  // Options this encoder does not implement.
  if (const Json *dropout = member(*model, "dropout")) {
    if (!dropout->is_number())
      fail("model.dropout", "expected a number or null");
    if (dropout->get<double>() != 0.0)
      fail("model.dropout", "BPE dropout (random merges) is not supported");
  }
  for (const char *key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (const Json *value = member(*model, key)) {
      if (!value->is_string())
        fail(std::string("model.") + key, "expected a string or null");
      if (!value->get<std::string>().empty())
        fail(std::string("model.") + key,
             "not supported (byte-level BPE has none)");
    }
  }
  impl.fuseUnk = optionalBool(*model, "model", "fuse_unk", false);
  impl.byteFallback = optionalBool(*model, "model", "byte_fallback", false);
  impl.ignoreMerges = optionalBool(*model, "model", "ignore_merges", false);

  // vocab.
  const Json *vocab = member(*model, "vocab");
  if (vocab == nullptr)
    fail("model.vocab", "missing");
  if (!vocab->is_object())
    fail("model.vocab", "expected an object {token: id}");
  impl.vocab.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    const int32_t id = tokenId(it.value(), "model.vocab[" + inQuotes(it.key()) + "]");
    impl.vocab[it.key()] = id;
    impl.vocabSize = std::max<int64_t>(impl.vocabSize, int64_t(id) + 1);
  }

  if (const Json *unk = member(*model, "unk_token")) {
    if (!unk->is_string())
      fail("model.unk_token", "expected a string or null");
    auto it = impl.vocab.find(unk->get<std::string>());
    if (it == impl.vocab.end())
      fail("model.unk_token", inQuotes(unk->get<std::string>()) +
                                  " is not in model.vocab");
    impl.unkId = it->second;
  }

  // merges: "a b" (exactly one space, as the Rust core splits them) or
  // ["a", "b"]; both parts and their concatenation must be in the vocab.
  const Json *merges = member(*model, "merges");
  if (merges == nullptr)
    fail("model.merges", "missing");
  if (!merges->is_array())
    fail("model.merges", "expected an array");
  impl.merges.reserve(merges->size());
  for (size_t rank = 0; rank < merges->size(); ++rank) {
    const Json &merge = (*merges)[rank];
    const std::string key = "model.merges[" + std::to_string(rank) + "]";
    std::string a, b;
    if (merge.is_string()) {
      const std::string line = merge.get<std::string>();
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
        fail(key, "expected \"a b\" (two tokens separated by one space), got " +
                      inQuotes(line));
      a = line.substr(0, space);
      b = line.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      a = merge[0].get<std::string>();
      b = merge[1].get<std::string>();
    } else {
      fail(key, "expected \"a b\" or [\"a\", \"b\"]");
    }
    auto lookup = [&](const std::string &token) {
      auto it = impl.vocab.find(token);
      if (it == impl.vocab.end())
        fail(key, inQuotes(token) + " is not in model.vocab");
      return it->second;
    };
    const int32_t idA = lookup(a);
    const int32_t idB = lookup(b);
    const int32_t idAB = lookup(a + b);
    // A repeated pair keeps its last rank, like the Rust core's HashMap.
    impl.merges[pairKey(idA, idB)] = MergeEntry{static_cast<uint32_t>(rank), idAB};
  }
}

void parseAddedTokens(const Json &root, BpeTokenizer::Impl &impl) {
  const Json *list = member(root, "added_tokens");
  if (list == nullptr)
    return;
  if (!list->is_array())
    fail("added_tokens", "expected an array");
  for (size_t i = 0; i < list->size(); ++i) {
    const Json &entry = (*list)[i];
    const std::string key = "added_tokens[" + std::to_string(i) + "]";
    if (!entry.is_object())
      fail(key, "expected an object");
    AddedToken token;
    const Json *id = member(entry, "id");
    if (id == nullptr)
      fail(key + ".id", "missing");
    token.id = tokenId(*id, key + ".id");
    const Json *content = member(entry, "content");
    if (content == nullptr || !content->is_string())
      fail(key + ".content", "missing or not a string");
    token.content = content->get<std::string>();
    if (!unicode::isValidUtf8(token.content))
      fail(key + ".content", "not valid UTF-8");
    token.special = optionalBool(entry, key, "special", false);
    token.normalized = optionalBool(entry, key, "normalized", !token.special);
    token.lstrip = optionalBool(entry, key, "lstrip", false);
    token.rstrip = optionalBool(entry, key, "rstrip", false);
    token.singleWord = optionalBool(entry, key, "single_word", false);
    impl.vocabSize = std::max<int64_t>(impl.vocabSize, int64_t(token.id) + 1);
    impl.added.push_back(std::move(token));
  }
}

void parsePipeline(const Json &root, BpeTokenizer::Impl &impl) {
  impl.nfc = componentType(root, "normalizer", false, {"NFC"}) == "NFC";
  componentType(root, "pre_tokenizer", true, {"ByteLevel"});
  const Json &pre = root["pre_tokenizer"];
  // The Rust ByteLevel defaults: add_prefix_space true, use_regex true.
  impl.addPrefixSpace = optionalBool(pre, "pre_tokenizer", "add_prefix_space", true);
  impl.useRegex = optionalBool(pre, "pre_tokenizer", "use_regex", true);
  componentType(root, "decoder", true, {"ByteLevel"});
  // The post_processor only adds special tokens on request (ByteLevel adds
  // none); encode never adds any, so it is not consulted.
}

/// Derived tables: byte symbols, byte fallback, decode bytes, matchers.
void buildTables(BpeTokenizer::Impl &impl) {
  for (int b = 0; b < 256; ++b) {
    std::string spelled;
    unicode::appendUtf8(byteMap().toUnicode[b], spelled);
    auto it = impl.vocab.find(spelled);
    impl.byteSymbol[b] = it == impl.vocab.end() ? -1 : it->second;
    char fallback[8];
    std::snprintf(fallback, sizeof fallback, "<0x%02X>", b);
    it = impl.vocab.find(fallback);
    impl.byteFallbackId[b] = it == impl.vocab.end() ? -1 : it->second;
  }

  impl.idBytes.assign(static_cast<size_t>(impl.vocabSize), std::string());
  impl.idKnown.assign(static_cast<size_t>(impl.vocabSize), 0);
  for (const auto &[token, id] : impl.vocab) {
    impl.idBytes[id] = tokenStringToBytes(token);
    impl.idKnown[id] = 1;
    if (impl.ignoreMerges) {
      std::string raw = tokenStringToBytes(token);
      if (bytesToTokenString(raw) == token)
        impl.wordVocab.emplace(std::move(raw), id);
    }
  }
  for (size_t i = 0; i < impl.added.size(); ++i) {
    const AddedToken &token = impl.added[i];
    impl.idBytes[token.id] = token.content; // verbatim, not byte-mapped
    impl.idKnown[token.id] = 1;
    impl.addedByContent[token.content] = token.id;
    if (token.normalized)
      impl.normalizedMatcher.add(impl.nfc ? unicode::nfcUtf8(token.content)
                                          : token.content,
                                 static_cast<int32_t>(i));
    else
      impl.rawMatcher.add(token.content, static_cast<int32_t>(i));
  }
}

} // namespace

BpeTokenizer::BpeTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpeTokenizer::~BpeTokenizer() = default;

Result<std::unique_ptr<BpeTokenizer>>
BpeTokenizer::fromJson(std::string_view json, const std::string &source) {
  try {
    Json root;
    try {
      root = Json::parse(json.begin(), json.end());
    } catch (const Json::parse_error &e) {
      return makeError(source + ": invalid JSON: " + e.what());
    }
    if (!root.is_object())
      return makeError(source + ": expected a JSON object at the top level");
    auto impl = std::make_unique<Impl>();
    parseModel(root, *impl);
    parseAddedTokens(root, *impl);
    parsePipeline(root, *impl);
    buildTables(*impl);
    return std::unique_ptr<BpeTokenizer>(new BpeTokenizer(std::move(impl)));
  } catch (const ParseFailure &e) {
    return makeError(source + ": " + e.message);
  } catch (const std::exception &e) {
    return makeError(source + ": " + e.what());
  } catch (...) {
    return makeError(source + ": unexpected error while reading the tokenizer");
  }
}

Result<std::unique_ptr<BpeTokenizer>> BpeTokenizer::load(const std::string &path) {
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in)
      return makeError(path + ": cannot open the tokenizer file");
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size < 0 || static_cast<uint64_t>(size) > kMaxFileSize)
      return makeError(path + ": not a readable file of at most 1 GiB");
    in.seekg(0, std::ios::beg);
    std::string text(static_cast<size_t>(size), '\0');
    if (!in.read(text.data(), size))
      return makeError(path + ": read failed");
    return fromJson(text, path);
  } catch (const std::exception &e) {
    return makeError(path + ": " + e.what());
  } catch (...) {
    return makeError(path + ": unexpected error while reading the tokenizer");
  }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  std::string valid;
  if (!unicode::isValidUtf8(text)) {
    valid = unicode::toValidUtf8(text);
    text = valid;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  impl_->splitAddedTokens(text, impl_->rawMatcher, ids,
                          [&](std::string_view piece) { impl_->encodeRaw(piece, ids); });
  return ids;
}

void BpeTokenizer::appendBytes(int32_t id, std::string &bytes) const {
  if (id >= 0 && id < impl_->vocabSize && impl_->idKnown[id])
    bytes += impl_->idBytes[id];
}

int64_t BpeTokenizer::vocabSize() const { return impl_->vocabSize; }

std::optional<int32_t> BpeTokenizer::tokenToId(std::string_view token) const {
  const std::string key(token);
  if (auto it = impl_->addedByContent.find(key); it != impl_->addedByContent.end())
    return it->second;
  if (auto it = impl_->vocab.find(key); it != impl_->vocab.end())
    return it->second;
  return std::nullopt;
}

const std::vector<AddedToken> &BpeTokenizer::addedTokens() const {
  return impl_->added;
}

} // namespace quamba
