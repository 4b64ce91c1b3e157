//===- Unicode.h - UTF-8, character classes and NFC for tokenizers -*- C++ -*-===//
//
// The Unicode the byte-level BPE tokenizer needs (shared/reference/formats.md
// §2.2), without ICU: the classes of the GPT-2 pre-split regex (\p{L}, \p{N}
// and \s = White_Space, as Oniguruma defines them), NFC, and UTF-8 coding.
// The tables come from UnicodeTables.inc, generated from the Unicode 15.0
// Character Database by gen_unicode_tables.py.
//
// Invalid UTF-8 never crashes and never passes through silently: decoding
// replaces each maximal ill-formed subpart (Unicode §3.9, "U+FFFD substitution
// of maximal subparts") by one U+FFFD, which is what Rust's
// String::from_utf8_lossy and Python's errors="replace" do, so that results
// agree with the Hugging Face tokenizers byte for byte.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace quamba::unicode {

constexpr char32_t kReplacementChar = 0xFFFD;
constexpr char32_t kMaxCodePoint = 0x10FFFF;

/// The Unicode version the tables were generated from ("15.0.0").
const char *tableVersion();

//===----------------------------------------------------------------------===//
// Character classes.
//===----------------------------------------------------------------------===//

/// The classes the GPT-2 pre-split regex distinguishes. They are disjoint:
/// no White_Space code point is a letter or a number.
enum class CharClass : uint8_t { Other, Letter, Number, WhiteSpace };

CharClass charClass(char32_t cp);
/// General category L (Lu, Ll, Lt, Lm, Lo): the regex's \p{L}.
inline bool isLetter(char32_t cp) { return charClass(cp) == CharClass::Letter; }
/// General category N (Nd, Nl, No): the regex's \p{N}.
inline bool isNumber(char32_t cp) { return charClass(cp) == CharClass::Number; }
/// The White_Space property: the regex's \s and Rust's char::is_whitespace.
inline bool isWhiteSpace(char32_t cp) {
  return charClass(cp) == CharClass::WhiteSpace;
}

/// Canonical combining class (0 for starters and unassigned code points).
uint8_t combiningClass(char32_t cp);

//===----------------------------------------------------------------------===//
// NFC.
//===----------------------------------------------------------------------===//

/// Canonical composition of the canonical decomposition (UAX #15): full
/// recursive decomposition (Hangul algorithmically), canonical reordering by
/// combining class, then composition of primary composites (composition
/// exclusions, singletons and non-starter decompositions never recompose).
std::u32string nfc(std::u32string_view text);
/// NFC of UTF-8 text (invalid sequences are first replaced by U+FFFD).
std::string nfcUtf8(std::string_view utf8);
/// The NFC quick check answered "yes": `utf8` is valid UTF-8 and NFC leaves
/// it unchanged. True for all ASCII and for most text in practice, so callers
/// can skip nfcUtf8. False means "maybe not"; nfcUtf8 decides.
bool isNfcQuick(std::string_view utf8);

//===----------------------------------------------------------------------===//
// UTF-8.
//===----------------------------------------------------------------------===//

/// Decodes the code point that starts at utf8[pos] and advances pos past it.
/// An ill-formed sequence yields U+FFFD and advances past its maximal subpart
/// (at least one byte), so every byte of the input is consumed exactly once.
/// Requires pos < utf8.size().
char32_t decodeUtf8(std::string_view utf8, size_t &pos);
/// Appends the UTF-8 encoding of `cp`; surrogates and values above U+10FFFF
/// (which have no encoding) are written as U+FFFD.
void appendUtf8(char32_t cp, std::string &out);

/// Whole-string conversions; decoding is lossy as decodeUtf8 describes.
std::u32string utf8ToUtf32(std::string_view utf8);
std::string utf32ToUtf8(std::u32string_view text);

bool isValidUtf8(std::string_view bytes);
/// `bytes` with every maximal ill-formed subpart replaced by U+FFFD (EF BF BD);
/// valid input is returned unchanged.
std::string toValidUtf8(std::string_view bytes);

/// For streaming output: the length of the longest prefix of `bytes` that
/// does not end inside a UTF-8 sequence that later bytes could still
/// complete. Printing bytes[0, n) now and holding back the rest never splits
/// a character; ill-formed bytes are not held back (they can never become
/// valid), so the held-back tail is at most 3 bytes.
size_t completeUtf8Prefix(std::string_view bytes);

} // namespace quamba::unicode
