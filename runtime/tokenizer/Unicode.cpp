//===- Unicode.cpp - UTF-8, character classes and NFC for tokenizers -----===//
//
// Table lookups are binary searches over the sorted range tables of
// UnicodeTables.inc, with ASCII (and for NFC everything below U+0300)
// answered without a lookup: the tokenizer's inner loops run on mostly-ASCII
// text.
//
//===----------------------------------------------------------------------===//

#include "runtime/tokenizer/Unicode.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace quamba::unicode {

namespace {

struct ClassRange {
  char32_t first;
  char32_t last;
  uint8_t value;
};
struct CodePointRange {
  char32_t first;
  char32_t last;
};
struct Decomposition {
  char32_t cp;
  char32_t first;
  char32_t second; // 0 for a singleton decomposition
};
struct Composition {
  char32_t first;
  char32_t second;
  char32_t composite;
};

#include "runtime/tokenizer/UnicodeTables.inc"

// Class codes written by gen_unicode_tables.py.
constexpr uint8_t kClassLetter = 1;
constexpr uint8_t kClassNumber = 2;
constexpr uint8_t kClassSpace = 3;

// Hangul syllable arithmetic (Unicode §3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161,
                   kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount;
constexpr char32_t kSCount = kLCount * kNCount;

/// The range of `table` that contains `cp`, or nullptr.
template <typename Range, size_t N>
const Range *findRange(const Range (&table)[N], char32_t cp) {
  const Range *it = std::upper_bound(
      std::begin(table), std::end(table), cp,
      [](char32_t value, const Range &range) { return value < range.first; });
  if (it == std::begin(table))
    return nullptr;
  --it;
  return cp <= it->last ? it : nullptr;
}

const Decomposition *findDecomposition(char32_t cp) {
  const Decomposition *it = std::lower_bound(
      std::begin(kDecompositions), std::end(kDecompositions), cp,
      [](const Decomposition &d, char32_t value) { return d.cp < value; });
  if (it == std::end(kDecompositions) || it->cp != cp)
    return nullptr;
  return it;
}

bool isNfcUnsafe(char32_t cp) {
  return cp >= kNfcSafeBelow && findRange(kNfcUnsafeRanges, cp) != nullptr;
}

//===----------------------------------------------------------------------===//
// UTF-8 decoding of one sequence (Unicode Table 3-7, well-formed byte
// sequences).
//===----------------------------------------------------------------------===//

struct Decoded {
  char32_t cp;  // U+FFFD when !ok
  uint32_t len; // bytes consumed: the sequence, or the maximal ill-formed subpart
  bool ok;
};

Decoded decodeOne(std::string_view s, size_t pos) {
  const auto b0 = static_cast<uint8_t>(s[pos]);
  if (b0 < 0x80)
    return {b0, 1, true};
  uint32_t need;
  char32_t cp;
  uint8_t lo = 0x80, hi = 0xBF; // allowed range of the next byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0)
      lo = 0xA0; // no overlong 3-byte forms
    else if (b0 == 0xED)
      hi = 0x9F; // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0)
      lo = 0x90; // no overlong 4-byte forms
    else if (b0 == 0xF4)
      hi = 0x8F; // nothing above U+10FFFF
  } else {
    return {kReplacementChar, 1, false}; // continuation byte, C0, C1, F5..FF
  }
  for (uint32_t k = 1; k <= need; ++k) {
    if (pos + k >= s.size())
      return {kReplacementChar, k, false};
    const auto b = static_cast<uint8_t>(s[pos + k]);
    if (b < lo || b > hi)
      return {kReplacementChar, k, false};
    cp = (cp << 6) | (b & 0x3F);
    lo = 0x80;
    hi = 0xBF;
  }
  return {cp, need + 1, true};
}

//===----------------------------------------------------------------------===//
// NFC steps.
//===----------------------------------------------------------------------===//

void decomposeInto(char32_t cp, std::u32string &out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0)
      out.push_back(kTBase + s % kTCount);
    return;
  }
  // Nothing below U+00C0 has a canonical decomposition.
  const Decomposition *d = cp < 0xC0 ? nullptr : findDecomposition(cp);
  if (d == nullptr) {
    out.push_back(cp);
    return;
  }
  decomposeInto(d->first, out);
  if (d->second != 0)
    decomposeInto(d->second, out);
}

/// Stable sort of every run of non-starters by combining class.
void reorder(std::u32string &text) {
  for (size_t i = 1; i < text.size(); ++i) {
    const uint8_t cc = combiningClass(text[i]);
    if (cc == 0)
      continue;
    size_t j = i;
    const char32_t cp = text[i];
    while (j > 0) {
      const uint8_t prev = combiningClass(text[j - 1]);
      if (prev == 0 || prev <= cc)
        break;
      text[j] = text[j - 1];
      --j;
    }
    text[j] = cp;
  }
}

/// The primary composite of <first, second>, or 0.
char32_t compose(char32_t first, char32_t second) {
  if (first >= kLBase && first < kLBase + kLCount && second >= kVBase &&
      second < kVBase + kVCount)
    return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
  if (first >= kSBase && first < kSBase + kSCount &&
      (first - kSBase) % kTCount == 0 && second > kTBase &&
      second < kTBase + kTCount)
    return first + (second - kTBase);
  const Composition *it = std::lower_bound(
      std::begin(kCompositions), std::end(kCompositions),
      std::make_pair(first, second),
      [](const Composition &c, const std::pair<char32_t, char32_t> &key) {
        return c.first != key.first ? c.first < key.first
                                    : c.second < key.second;
      });
  if (it == std::end(kCompositions) || it->first != first ||
      it->second != second)
    return 0;
  return it->composite;
}

/// Canonical composition in place (UAX #15 §1.3, "blocked" as defined there).
void composeInPlace(std::u32string &text) {
  if (text.empty())
    return;
  size_t out = 1;
  size_t starter = 0;
  bool haveStarter = combiningClass(text[0]) == 0;
  // Combining class of the last character kept after the starter (0: none
  // kept yet, so the next character is adjacent to the starter); 256 blocks
  // everything when no starter has been seen.
  int lastClass = haveStarter ? 0 : 256;
  for (size_t i = 1; i < text.size(); ++i) {
    const char32_t cp = text[i];
    const int cc = combiningClass(cp);
    const bool blocked = !haveStarter || (lastClass != 0 && lastClass >= cc);
    if (!blocked) {
      if (char32_t composite = compose(text[starter], cp)) {
        text[starter] = composite;
        continue;
      }
    }
    if (cc == 0) {
      starter = out;
      haveStarter = true;
      lastClass = 0;
    } else {
      lastClass = cc;
    }
    text[out++] = cp;
  }
  text.resize(out);
}

} // namespace

const char *tableVersion() { return QUAMBA_UNICODE_VERSION; }

CharClass charClass(char32_t cp) {
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
      return CharClass::Letter;
    if (cp >= '0' && cp <= '9')
      return CharClass::Number;
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D))
      return CharClass::WhiteSpace;
    return CharClass::Other;
  }
  const ClassRange *range = findRange(kClassRanges, cp);
  if (range == nullptr)
    return CharClass::Other;
  switch (range->value) {
  case kClassLetter:
    return CharClass::Letter;
  case kClassNumber:
    return CharClass::Number;
  case kClassSpace:
    return CharClass::WhiteSpace;
  default:
    return CharClass::Other;
  }
}

uint8_t combiningClass(char32_t cp) {
  if (cp < kNfcSafeBelow)
    return 0;
  const ClassRange *range = findRange(kCombiningClassRanges, cp);
  return range == nullptr ? 0 : range->value;
}

std::u32string nfc(std::u32string_view text) {
  // Quick check: without an unsafe code point NFC is the identity.
  const bool unchanged = std::none_of(text.begin(), text.end(), [](char32_t cp) {
    return cp > kMaxCodePoint || isNfcUnsafe(cp);
  });
  if (unchanged)
    return std::u32string(text);
  std::u32string result;
  result.reserve(text.size() + 8);
  for (char32_t cp : text)
    decomposeInto(cp > kMaxCodePoint ? kReplacementChar : cp, result);
  reorder(result);
  composeInPlace(result);
  return result;
}

std::string nfcUtf8(std::string_view utf8) {
  if (isNfcQuick(utf8))
    return std::string(utf8);
  return utf32ToUtf8(nfc(utf8ToUtf32(utf8)));
}

bool isNfcQuick(std::string_view utf8) {
  size_t pos = 0;
  while (pos < utf8.size()) {
    if (static_cast<uint8_t>(utf8[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const Decoded d = decodeOne(utf8, pos);
    if (!d.ok || isNfcUnsafe(d.cp))
      return false;
    pos += d.len;
  }
  return true;
}

char32_t decodeUtf8(std::string_view utf8, size_t &pos) {
  const Decoded d = decodeOne(utf8, pos);
  pos += d.len;
  return d.cp;
}

void appendUtf8(char32_t cp, std::string &out) {
  if (cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF))
    cp = kReplacementChar;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::u32string utf8ToUtf32(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  size_t pos = 0;
  while (pos < utf8.size())
    out.push_back(decodeUtf8(utf8, pos));
  return out;
}

std::string utf32ToUtf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text)
    appendUtf8(cp, out);
  return out;
}

bool isValidUtf8(std::string_view bytes) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (static_cast<uint8_t>(bytes[pos]) < 0x80) {
      ++pos;
      continue;
    }
    const Decoded d = decodeOne(bytes, pos);
    if (!d.ok)
      return false;
    pos += d.len;
  }
  return true;
}

std::string toValidUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    const Decoded d = decodeOne(bytes, pos);
    if (d.ok)
      out.append(bytes.substr(pos, d.len));
    else
      appendUtf8(kReplacementChar, out);
    pos += d.len;
  }
  return out;
}

size_t completeUtf8Prefix(std::string_view bytes) {
  const size_t n = bytes.size();
  // Find the last non-continuation byte among the final three; only a lead
  // byte there can start a sequence that is still incomplete.
  for (size_t k = 1; k <= 3 && k <= n; ++k) {
    const auto b = static_cast<uint8_t>(bytes[n - k]);
    if (b >= 0x80 && b <= 0xBF)
      continue;
    if (b < 0xC2 || b > 0xF4)
      return n; // ASCII, or a byte that can never start a valid sequence
    const size_t length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
    if (length <= k)
      return n; // complete
    // An incomplete sequence whose bytes so far are a valid prefix: decoding
    // it fails only for running off the end.
    const Decoded d = decodeOne(bytes, n - k);
    return (!d.ok && d.len == k) ? n - k : n;
  }
  return n;
}

} // namespace quamba::unicode
