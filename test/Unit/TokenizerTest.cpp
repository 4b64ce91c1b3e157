//===- TokenizerTest.cpp - byte-level BPE, byte tokenizer, Unicode tests -===//
//
// The GPT-NeoX-20B cases compare against shared/tokenizers/gpt-neox-20b:
// golden_encodings.json was produced by the Hugging Face tokenizers Rust core
// (PROVENANCE.md), and the explicit cases are the verified examples of
// shared/reference/formats.md §2.2. The 2.4 MB tokenizer.json is read from
// the shared directory, never copied into the repository; those tests are
// skipped when it is absent. Everything else uses small hand-written
// tokenizer.json texts whose expected ids can be worked out by hand.
//
//===----------------------------------------------------------------------===//

#include "runtime/tokenizer/BpeTokenizer.h"
#include "runtime/tokenizer/Tokenizer.h"
#include "runtime/tokenizer/Unicode.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace quamba {
namespace {

using Ids = std::vector<int32_t>;

const std::string kNeoxDir =
    std::string(QUAMBA_SHARED_DIR) + "/tokenizers/gpt-neox-20b/";

bool fileExists(const std::string &path) { return std::ifstream(path).good(); }

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The NeoX tokenizer, loaded once for all tests (nullptr when the shared
/// directory is absent).
const BpeTokenizer *neox() {
  static const std::unique_ptr<BpeTokenizer> tokenizer = [] {
    std::unique_ptr<BpeTokenizer> result;
    if (!fileExists(kNeoxDir + "tokenizer.json"))
      return result;
    auto loaded = BpeTokenizer::load(kNeoxDir + "tokenizer.json");
    EXPECT_TRUE(loaded.ok()) << loaded.error();
    if (loaded)
      result = loaded.take();
    return result;
  }();
  return tokenizer.get();
}

#define REQUIRE_NEOX()                                                         \
  const BpeTokenizer *tok = neox();                                            \
  if (tok == nullptr)                                                          \
    GTEST_SKIP() << "no " << kNeoxDir << "tokenizer.json";

std::u32string u32(std::string_view utf8) { return unicode::utf8ToUtf32(utf8); }
std::string u8(std::u32string_view text) { return unicode::utf32ToUtf8(text); }

//===----------------------------------------------------------------------===//
// GPT-NeoX-20B against the Rust core.
//===----------------------------------------------------------------------===//

TEST(NeoxTokenizer, GoldenEncodings) {
  REQUIRE_NEOX();
  const std::string goldenPath = kNeoxDir + "golden_encodings.json";
  ASSERT_TRUE(fileExists(goldenPath));
  const nlohmann::json golden = nlohmann::json::parse(readFile(goldenPath));
  const auto &cases = golden.at("cases");
  ASSERT_EQ(cases.size(), 19u);
  int matched = 0;
  for (const auto &c : cases) {
    const std::string text = c.at("text").get<std::string>();
    const Ids expected = c.at("ids").get<Ids>();
    const Ids ids = tok->encode(text);
    EXPECT_EQ(ids, expected) << "text: " << text.substr(0, 80);
    matched += ids == expected;
    // The tokens' spellings, through the vocabulary.
    const auto tokens = c.at("tokens").get<std::vector<std::string>>();
    ASSERT_EQ(tokens.size(), expected.size());
    for (size_t i = 0; i < tokens.size(); ++i)
      EXPECT_EQ(tok->tokenToId(tokens[i]), expected[i]) << tokens[i];
    // decode(encode(x)) == x, up to NFC (one case is decomposed on purpose).
    EXPECT_EQ(tok->decode(ids), unicode::nfcUtf8(text));
    if (unicode::isNfcQuick(text)) {
      EXPECT_EQ(tok->decode(ids), text);
    }
  }
  EXPECT_EQ(matched, 19);
}

TEST(NeoxTokenizer, VerifiedExamplesOfFormatsMd) {
  REQUIRE_NEOX();
  EXPECT_EQ(tok->vocabSize(), 50277);
  EXPECT_EQ(tok->encode("Hello  world"), (Ids{12092, 50276, 10186}));
  EXPECT_EQ(tok->encode("Hello world"), (Ids{12092, 1533}));
  EXPECT_EQ(tok->encode("    "), (Ids{50274}));
  EXPECT_EQ(tok->encode(std::string(35, ' ')), (Ids{50254, 50267}));
  EXPECT_EQ(tok->encode("<|endoftext|>The end<|padding|>"), (Ids{0, 510, 990, 1}));
  // Case-sensitive contractions: 'LL is not 'll.
  EXPECT_EQ(tok->encode("I'LL"), (Ids{42, 8, 2293}));
  // Space -> Ġ (id 209), newline -> Ċ (187).
  EXPECT_EQ(tok->encode(" "), (Ids{209}));
  EXPECT_EQ(tok->encode("\n"), (Ids{187}));
  EXPECT_EQ(tok->encode(""), Ids{});
}

TEST(NeoxTokenizer, NfcBeforeBpe) {
  REQUIRE_NEOX();
  const Ids precomposed = tok->encode("caf\xC3\xA9");   // U+00E9
  const Ids decomposed = tok->encode("cafe\xCC\x81");   // e + U+0301
  EXPECT_EQ(decomposed, precomposed);
  EXPECT_EQ(tok->encode("\xC3\xA9"), (Ids{860}));
  EXPECT_EQ(tok->encode("e\xCC\x81"), (Ids{860}));
  // Decoding gives the normalised text.
  EXPECT_EQ(tok->decode(decomposed), "caf\xC3\xA9");
}

TEST(NeoxTokenizer, PartialUtf8DecodesToReplacementCharacter) {
  REQUIRE_NEOX();
  // 語 = E8 AA 9E is split into 'èª' (E8 AA, id 19119) and 'ŀ' (9E, id 241).
  EXPECT_EQ(tok->encode("\xE8\xAA\x9E"), (Ids{19119, 241}));
  EXPECT_EQ(tok->tokenBytes(19119), "\xE8\xAA");
  EXPECT_EQ(tok->tokenBytes(241), "\x9E");
  EXPECT_EQ(tok->decode({19119}), "\xEF\xBF\xBD");        // one U+FFFD
  EXPECT_EQ(tok->decode({241}), "\xEF\xBF\xBD");
  EXPECT_EQ(tok->decode({19119, 241}), "\xE8\xAA\x9E");
  EXPECT_EQ(tok->decode({241, 19119}), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(tok->decode({12092, 19119}), "Hello\xEF\xBF\xBD");
}

TEST(NeoxTokenizer, StreamingEmitsOnlyCompleteCharacters) {
  REQUIRE_NEOX();
  const std::string text = "日本語テキスト 🙂 ok";
  std::string pending, printed;
  for (int32_t id : tok->encode(text)) {
    tok->appendBytes(id, pending);
    const size_t n = unicode::completeUtf8Prefix(pending);
    EXPECT_TRUE(unicode::isValidUtf8(std::string_view(pending).substr(0, n)));
    printed += pending.substr(0, n);
    pending.erase(0, n);
  }
  EXPECT_EQ(pending, "");
  EXPECT_EQ(printed, text);
}

TEST(NeoxTokenizer, AddedTokensAndSpecialIds) {
  REQUIRE_NEOX();
  EXPECT_EQ(tok->decode({0}), "<|endoftext|>");
  EXPECT_EQ(tok->decode({1}), "<|padding|>");
  EXPECT_EQ(tok->decode({50276}), "  ");
  EXPECT_EQ(tok->decode({50254}), std::string(24, ' '));
  // Padded embedding rows and negative ids decode to nothing.
  EXPECT_EQ(tok->decode({50277, 50279, -1, 12092}), "Hello");
  // Added tokens split words: "x<|endoftext|>y" never merges across.
  EXPECT_EQ(tok->encode("a<|endoftext|>b"),
            (Ids{tok->encode("a")[0], 0, tok->encode("b")[0]}));
  // A partial special token is ordinary text.
  const Ids partial = tok->encode("<|endoftext|");
  EXPECT_EQ(std::count(partial.begin(), partial.end(), 0), 0);
  EXPECT_EQ(tok->decode(partial), "<|endoftext|");
}

TEST(NeoxTokenizer, InvalidUtf8InputIsReplacedFirst) {
  REQUIRE_NEOX();
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(tok->encode("a\xFF" "b"), tok->encode("a" + fffd + "b"));
  // A truncated sequence at the end is one maximal subpart: one U+FFFD.
  EXPECT_EQ(tok->encode("ok\xE2\x82"), tok->encode("ok" + fffd));
  // An encoded surrogate (ED A0 80) is ill-formed at A0: ED, A0 and 80 are
  // three maximal subparts, three U+FFFD.
  EXPECT_EQ(tok->encode("\xED\xA0\x80"), tok->encode(fffd + fffd + fffd));
  EXPECT_EQ(tok->decode(tok->encode("x\xC0\xAFy")), "x" + fffd + fffd + "y");
}

TEST(NeoxTokenizer, RoundTripsCorpusText) {
  REQUIRE_NEOX();
  const std::string text =
      "Tab\there, CRLF\r\nunicode: Ελληνικά, русский, العربية, हिन्दी, 한국어, "
      "emoji 👩‍👩‍👧 and ZWJ; numbers ١٢٣ Ⅻ ½; nbsp\xC2\xA0here; "
      "ideographic\xE3\x80\x80space; trailing spaces   \n\n  \t ";
  EXPECT_EQ(tok->decode(tok->encode(text)), text);
}

TEST(NeoxTokenizer, ConcurrentEncodeAgrees) {
  REQUIRE_NEOX();
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "word" + std::to_string(i) + " and more words, " +
            std::to_string(i * 7919) + "\n";
  const Ids expected = tok->encode(text);
  std::vector<std::thread> threads;
  std::vector<Ids> results(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] { results[t] = tok->encode(text); });
  for (auto &thread : threads)
    thread.join();
  for (const Ids &ids : results)
    EXPECT_EQ(ids, expected);
}

//===----------------------------------------------------------------------===//
// Small hand-written tokenizer.json texts.
//===----------------------------------------------------------------------===//

/// A tokenizer.json with every byte as a symbol (byte-level spelled) plus
/// `extraVocab` (JSON members, byte-level spelled), `merges` (a JSON array)
/// and `addedTokens` (a JSON array).
std::string tinyJson(const std::string &extraVocab, const std::string &merges,
                     const std::string &addedTokens = "[]",
                     const std::string &normalizer = R"({"type": "NFC"})",
                     const std::string &preTokenizer =
                         R"({"type": "ByteLevel", "add_prefix_space": false})",
                     const std::string &modelExtra = "") {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) {
    std::string spelled;
    unicode::appendUtf8(byteToUnicode(static_cast<uint8_t>(b)), spelled);
    vocab[spelled] = b;
  }
  std::string vocabText = vocab.dump();
  if (!extraVocab.empty())
    vocabText = vocabText.substr(0, vocabText.size() - 1) + ", " + extraVocab + "}";
  return R"({"version": "1.0", "added_tokens": )" + addedTokens +
         R"(, "normalizer": )" + normalizer + R"(, "pre_tokenizer": )" +
         preTokenizer +
         R"(, "post_processor": null, "decoder": {"type": "ByteLevel"},
            "model": {"type": "BPE", "dropout": null, "unk_token": null,)" +
         modelExtra + R"( "vocab": )" + vocabText + R"(, "merges": )" + merges +
         "}}";
}

std::unique_ptr<BpeTokenizer> tinyOk(const std::string &json) {
  auto result = BpeTokenizer::fromJson(json, "tiny.json");
  EXPECT_TRUE(result.ok()) << result.error();
  return result ? result.take() : nullptr;
}

/// Ids of ASCII text in the tiny tokenizers: the byte values.
Ids bytesOf(std::string_view text) { return ByteTokenizer().encode(text); }

TEST(TinyBpe, MergesByRankAndBothSpellings) {
  // "ab" = 256, "abc" = 257, "bc" = 258; "b c" ranks above "a b".
  const std::string vocab = R"("ab": 256, "abc": 257, "bc": 258)";
  auto strings = tinyOk(tinyJson(vocab, R"(["b c", "a b", "ab c"])"));
  auto pairs = tinyOk(tinyJson(vocab, R"([["b", "c"], ["a", "b"], ["ab", "c"]])"));
  ASSERT_TRUE(strings && pairs);
  for (const BpeTokenizer *t : {strings.get(), pairs.get()}) {
    EXPECT_EQ(t->encode("abc"), (Ids{'a', 258}));  // "bc" first, then no "a bc"
    EXPECT_EQ(t->encode("ab"), (Ids{256}));
    EXPECT_EQ(t->encode("abab"), (Ids{256, 256}));
    EXPECT_EQ(t->encode("x abc"), (Ids{'x', ' ', 'a', 258}));
  }
  // With "a b" first, "ab c" applies.
  auto other = tinyOk(tinyJson(vocab, R"(["a b", "b c", "ab c"])"));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->encode("abc"), (Ids{257}));
  EXPECT_EQ(other->decode({257}), "abc");
  // Overlapping equal pairs merge leftmost first: "aaa" -> "aa" "a".
  auto aa = tinyOk(tinyJson(R"("aa": 256)", R"(["a a"])"));
  ASSERT_TRUE(aa);
  EXPECT_EQ(aa->encode("aaa"), (Ids{256, 'a'}));
  EXPECT_EQ(aa->encode("aaaa"), (Ids{256, 256}));
}

TEST(TinyBpe, SymbolsMissingFromTheVocabAreDropped) {
  // Drop 'b' from the vocabulary (unk_token null): it vanishes, and its
  // neighbours become adjacent for merging.
  nlohmann::json root = nlohmann::json::parse(tinyJson(R"("ac": 256)", R"(["a c"])"));
  root["model"]["vocab"].erase("b");
  auto t = tinyOk(root.dump());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->encode("abc"), (Ids{256}));
  EXPECT_EQ(t->encode("b"), Ids{});
}

TEST(TinyBpe, UnkTokenAndFuseUnk) {
  nlohmann::json root = nlohmann::json::parse(tinyJson(R"("<unk>": 256)", "[]"));
  root["model"]["vocab"].erase("b");
  root["model"]["unk_token"] = "<unk>";
  auto plain = tinyOk(root.dump());
  root["model"]["fuse_unk"] = true;
  auto fused = tinyOk(root.dump());
  ASSERT_TRUE(plain && fused);
  EXPECT_EQ(plain->encode("abbc"), (Ids{'a', 256, 256, 'c'}));
  EXPECT_EQ(fused->encode("abbc"), (Ids{'a', 256, 'c'}));
}

TEST(TinyBpe, AddedTokensLeftmostLongestAndNormalization) {
  const std::string added = R"([
    {"id": 300, "content": "<s>", "special": true, "normalized": false},
    {"id": 301, "content": "<s>x", "special": true, "normalized": false},
    {"id": 302, "content": "caf\u00e9", "special": false, "normalized": true},
    {"id": 303, "content": "cafe\u0301", "special": false, "normalized": false}
  ])";
  auto t = tinyOk(tinyJson("", "[]", added));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->vocabSize(), 304);
  EXPECT_EQ(t->encode("<s>y"), (Ids{300, 'y'}));
  EXPECT_EQ(t->encode("<s>xy"), (Ids{301, 'y'}));   // longest
  EXPECT_EQ(t->encode("a<s><s>"), (Ids{'a', 300, 300}));
  // The raw (non-normalized) token matches the raw decomposed text first.
  EXPECT_EQ(t->encode("cafe\xCC\x81"), (Ids{303}));
  // The normalized token matches the NFC text.
  EXPECT_EQ(t->encode("caf\xC3\xA9!"), (Ids{302, '!'}));
  EXPECT_EQ(t->decode({300, 302}), "<s>caf\xC3\xA9");
}

TEST(TinyBpe, AddedTokensStripAndSingleWord) {
  const std::string added = R"([
    {"id": 300, "content": "<L>", "lstrip": true, "normalized": false},
    {"id": 301, "content": "<R>", "rstrip": true, "normalized": false},
    {"id": 302, "content": "cat", "single_word": true, "normalized": false}
  ])";
  auto t = tinyOk(tinyJson("", "[]", added));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->encode("a  <L>b"), (Ids{'a', 300, 'b'}));
  EXPECT_EQ(t->encode("a<R> \t b"), (Ids{'a', 301, 'b'}));
  EXPECT_EQ(t->encode("cat"), (Ids{302}));
  EXPECT_EQ(t->encode("a cat."), (Ids{'a', ' ', 302, '.'}));
  EXPECT_EQ(t->encode("cats"), bytesOf("cats"));
  EXPECT_EQ(t->encode("bobcat"), bytesOf("bobcat"));
}

TEST(TinyBpe, PrefixSpaceAndNoRegex) {
  auto prefixed = tinyOk(tinyJson("", "[]", "[]", "null",
                                  R"({"type": "ByteLevel", "add_prefix_space": true})"));
  ASSERT_TRUE(prefixed);
  EXPECT_EQ(prefixed->encode("hi"), bytesOf(" hi"));
  EXPECT_EQ(prefixed->encode(" hi"), bytesOf(" hi"));
  // Without the regex the whole piece is one word: "a b" merges across the
  // space.
  auto whole = tinyOk(tinyJson(R"("a\u0120b": 256, "a\u0120": 257)",
                               R"(["a \u0120", "a\u0120 b"])", "[]", "null",
                               R"({"type": "ByteLevel", "add_prefix_space": false,
                                   "use_regex": false})"));
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->encode("a b"), (Ids{256}));
}

//===----------------------------------------------------------------------===//
// tokenizer.json validation.
//===----------------------------------------------------------------------===//

/// Expects fromJson to fail with a message containing every one of `parts`.
void expectError(const std::string &json, std::initializer_list<const char *> parts) {
  auto result = BpeTokenizer::fromJson(json, "bad/tokenizer.json");
  ASSERT_FALSE(result.ok()) << json.substr(0, 200);
  EXPECT_NE(result.error().find("bad/tokenizer.json"), std::string::npos)
      << result.error();
  for (const char *part : parts)
    EXPECT_NE(result.error().find(part), std::string::npos)
        << "'" << part << "' not in: " << result.error();
}

TEST(TokenizerJson, Errors) {
  expectError("{\"model\": ", {"invalid JSON"});
  expectError("[1, 2]", {"object"});
  expectError(R"({"pre_tokenizer": {"type": "ByteLevel"}, "decoder": {"type": "ByteLevel"}})",
              {"model", "missing"});

  nlohmann::json good = nlohmann::json::parse(tinyJson(R"("ab": 256)", R"(["a b"])"));
  auto variant = [&](auto edit) {
    nlohmann::json copy = good;
    edit(copy);
    return copy.dump();
  };
  expectError(variant([](auto &j) { j["model"]["type"] = "WordPiece"; }),
              {"model.type", "WordPiece"});
  expectError(variant([](auto &j) { j["model"]["type"] = "Unigram"; }),
              {"model.type", "BPE"});
  expectError(variant([](auto &j) { j["model"].erase("vocab"); }), {"model.vocab"});
  expectError(variant([](auto &j) { j["model"]["vocab"]["zz"] = "x"; }),
              {"model.vocab[\"zz\"]"});
  expectError(variant([](auto &j) { j["model"]["vocab"]["zz"] = -3; }),
              {"model.vocab[\"zz\"]"});
  expectError(variant([](auto &j) { j["model"]["vocab"]["zz"] = 1 << 30; }),
              {"model.vocab[\"zz\"]", "2^24"});
  expectError(variant([](auto &j) { j["model"].erase("merges"); }), {"model.merges"});
  expectError(variant([](auto &j) { j["model"]["merges"] = "a b"; }),
              {"model.merges", "array"});
  expectError(variant([](auto &j) { j["model"]["merges"].push_back("a b c"); }),
              {"model.merges[1]", "one space"});
  expectError(variant([](auto &j) { j["model"]["merges"].push_back("ab"); }),
              {"model.merges[1]"});
  expectError(variant([](auto &j) { j["model"]["merges"].push_back(42); }),
              {"model.merges[1]"});
  expectError(variant([](auto &j) {
                j["model"]["merges"].push_back(nlohmann::json::array({"a"}));
              }),
              {"model.merges[1]"});
  expectError(variant([](auto &j) { j["model"]["merges"].push_back("b c"); }),
              {"model.merges[1]", "\"bc\" is not in model.vocab"});
  expectError(variant([](auto &j) { j["model"]["unk_token"] = "<unk>"; }),
              {"model.unk_token"});
  expectError(variant([](auto &j) { j["model"]["dropout"] = 0.1; }),
              {"model.dropout"});
  expectError(variant([](auto &j) { j["model"]["continuing_subword_prefix"] = "##"; }),
              {"model.continuing_subword_prefix"});
  expectError(variant([](auto &j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; }),
              {"pre_tokenizer.type", "Whitespace", "ByteLevel"});
  expectError(variant([](auto &j) { j["pre_tokenizer"] = nullptr; }),
              {"pre_tokenizer", "missing"});
  expectError(variant([](auto &j) { j["decoder"] = {{"type", "WordPiece"}}; }),
              {"decoder.type"});
  expectError(variant([](auto &j) { j["normalizer"] = {{"type", "Lowercase"}}; }),
              {"normalizer.type", "Lowercase"});
  expectError(variant([](auto &j) { j["added_tokens"] = {{{"content", "x"}}}; }),
              {"added_tokens[0].id"});
  expectError(variant([](auto &j) { j["added_tokens"] = {{{"id", 5}, {"content", 7}}}; }),
              {"added_tokens[0].content"});
  expectError(variant([](auto &j) {
                j["added_tokens"] = {{{"id", 5}, {"content", "x"}, {"lstrip", "yes"}}};
              }),
              {"added_tokens[0].lstrip"});
  // The unmodified text loads.
  EXPECT_TRUE(BpeTokenizer::fromJson(good.dump(), "good.json").ok());
}

TEST(TokenizerJson, LoadErrorsNameTheFile) {
  auto missing = loadTokenizerJson("/nonexistent/dir/tokenizer.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("/nonexistent/dir/tokenizer.json"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// Factory and byte tokenizer.
//===----------------------------------------------------------------------===//

class TempDir {
public:
  TempDir() {
    char pattern[] = "/tmp/quamba-tokenizer-test-XXXXXX";
    path_ = ::mkdtemp(pattern) ? pattern : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

TEST(LoadTokenizer, PicksTokenizerJsonOrBytes) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  // No tokenizer.json: bytes for a 256-row model, an error otherwise.
  auto bytes = loadTokenizer(dir.path(), 256);
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  EXPECT_EQ((*bytes)->vocabSize(), 256);
  auto none = loadTokenizer(dir.path(), 50280);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().find(dir.path()), std::string::npos) << none.error();

  std::ofstream(dir.path() + "/tokenizer.json")
      << tinyJson(R"("ab": 256)", R"(["a b"])");
  auto bpe = loadTokenizer(dir.path(), 512);
  ASSERT_TRUE(bpe.ok()) << bpe.error();
  EXPECT_EQ((*bpe)->vocabSize(), 257);
  EXPECT_EQ((*bpe)->encode("ab"), (Ids{256}));
  // The tokenizer.json wins even for a 256-row model, and is then too big.
  auto tooBig = loadTokenizer(dir.path(), 256);
  ASSERT_FALSE(tooBig.ok());
  EXPECT_NE(tooBig.error().find("257"), std::string::npos) << tooBig.error();

  std::ofstream(dir.path() + "/tokenizer.json") << "{not json";
  auto broken = loadTokenizer(dir.path(), 512);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().find(dir.path() + "/tokenizer.json"), std::string::npos);
}

TEST(ByteTokenizer, RoundTrips) {
  ByteTokenizer t;
  EXPECT_EQ(t.vocabSize(), 256);
  EXPECT_EQ(t.encode("Hi \xC3\xA9"), (Ids{72, 105, 32, 0xC3, 0xA9}));
  EXPECT_EQ(t.encode(""), Ids{});
  for (const std::string &text :
       {std::string("plain ascii"), std::string("日本語 🙂 é"),
        std::string("nul\0inside", 10), std::string("\t\r\n")}) {
    EXPECT_EQ(t.decode(t.encode(text)), text);
  }
  // Invalid UTF-8 encodes to its bytes and decodes with U+FFFD.
  EXPECT_EQ(t.encode("\xFF"), (Ids{255}));
  EXPECT_EQ(t.decode({0xE2, 0x82}), "\xEF\xBF\xBD");
  EXPECT_EQ(t.decode({0xE2, 0x82, 0xAC}), "\xE2\x82\xAC");
  EXPECT_EQ(t.tokenBytes(0xE2), "\xE2");
  EXPECT_EQ(t.decode({-1, 256, 'o', 'k'}), "ok");
}

//===----------------------------------------------------------------------===//
// Unicode.
//===----------------------------------------------------------------------===//

TEST(Unicode, Classes) {
  using unicode::isLetter;
  using unicode::isNumber;
  using unicode::isWhiteSpace;
  EXPECT_STREQ(unicode::tableVersion(), "15.0.0");
  for (char32_t cp : {U'a', U'Z', U'\u00E9', U'\u00AA', U'\u4E00', U'\uAC00',
                      U'\u03A9', U'\u05D0', U'\u02B0' /* Lm */, U'\U00020000'})
    EXPECT_TRUE(isLetter(cp)) << std::hex << uint32_t(cp);
  for (char32_t cp : {U'0', U'9', U'\u0660', U'\u00BD' /* No */, U'\u2167' /* Nl */,
                      U'\u00B2', U'\U0001D7CE'})
    EXPECT_TRUE(isNumber(cp)) << std::hex << uint32_t(cp);
  for (char32_t cp : {U' ', U'\t', U'\n', U'\v', U'\f', U'\r', U'\u0085', U'\u00A0',
                      U'\u1680', U'\u2000', U'\u200A', U'\u2028', U'\u2029',
                      U'\u202F', U'\u205F', U'\u3000'})
    EXPECT_TRUE(isWhiteSpace(cp)) << std::hex << uint32_t(cp);
  for (char32_t cp : {U'_', U'\'', U'-', U'\u0301' /* Mn */, U'\u200B' /* Cf */,
                      U'\u180E', U'\U0001F642', U'\uFFFD', U'\u0378' /* unassigned */,
                      U'\U0010FFFF', char32_t(0x110000), U'\0'}) {
    EXPECT_FALSE(isLetter(cp) || isNumber(cp) || isWhiteSpace(cp))
        << std::hex << uint32_t(cp);
  }
  EXPECT_EQ(unicode::combiningClass(U'\u0301'), 230);
  EXPECT_EQ(unicode::combiningClass(U'\u0323'), 220);
  EXPECT_EQ(unicode::combiningClass(U'a'), 0);
}

TEST(Unicode, NfcHangul) {
  // L + V -> LV, LV + T -> LVT, L + V + T -> LVT.
  EXPECT_EQ(unicode::nfc(U"\u1100\u1161"), U"\uAC00");
  EXPECT_EQ(unicode::nfc(U"\uAC00\u11A8"), U"\uAC01");
  EXPECT_EQ(unicode::nfc(U"\u1100\u1161\u11A8"), U"\uAC01");
  EXPECT_EQ(unicode::nfc(U"\uD55C\uAD6D\uC5B4"), U"\uD55C\uAD6D\uC5B4");
  // An LVT syllable takes no second T; T alone (U+11A7 is not a T) stays.
  EXPECT_EQ(unicode::nfc(U"\uAC01\u11A8"), U"\uAC01\u11A8");
  EXPECT_EQ(unicode::nfc(U"\uAC00\u11A7"), U"\uAC00\u11A7");
}

TEST(Unicode, NfcExclusionsAndSingletons) {
  // DEVANAGARI LETTER QA is a composition exclusion: NFC decomposes it.
  EXPECT_EQ(unicode::nfc(U"\u0958"), U"\u0915\u093C");
  EXPECT_EQ(unicode::nfc(U"\u0915\u093C"), U"\u0915\u093C");
  // Singletons: ANGSTROM SIGN -> Å, OHM SIGN -> Ω.
  EXPECT_EQ(unicode::nfc(U"\u212B"), U"\u00C5");
  EXPECT_EQ(unicode::nfc(U"\u2126"), U"\u03A9");
  // Non-starter decomposition: COMBINING GREEK DIALYTIKA TONOS.
  EXPECT_EQ(unicode::nfc(U"\u0344"), U"\u0308\u0301");
  // Composition: e + acute -> é, A + ring -> Å.
  EXPECT_EQ(unicode::nfc(U"e\u0301"), U"\u00E9");
  EXPECT_EQ(unicode::nfc(U"A\u030A"), U"\u00C5");
}

TEST(Unicode, NfcCanonicalReordering) {
  // s + dot above (230) + dot below (220): reordered to dot below first,
  // then both compose: U+1E69.
  EXPECT_EQ(unicode::nfc(U"s\u0307\u0323"), U"\u1E69");
  EXPECT_EQ(unicode::nfc(U"s\u0323\u0307"), U"\u1E69");
  // q has no precomposed forms: only the reordering shows.
  EXPECT_EQ(unicode::nfc(U"q\u0307\u0323"), U"q\u0323\u0307");
  // A second acute is blocked by the first (same class): á + U+0301.
  EXPECT_EQ(unicode::nfc(U"a\u0301\u0301"), U"\u00E1\u0301");
  // A leading combining mark stays.
  EXPECT_EQ(unicode::nfc(U"\u0301e"), U"\u0301e");
  // Already-NFC text and the UTF-8 front end.
  EXPECT_EQ(unicode::nfcUtf8("plain"), "plain");
  EXPECT_EQ(unicode::nfcUtf8("e\xCC\x81"), "\xC3\xA9");
  EXPECT_TRUE(unicode::isNfcQuick("caf\xC3\xA9 \xE6\x97\xA5"));
  EXPECT_FALSE(unicode::isNfcQuick("e\xCC\x81"));
  EXPECT_FALSE(unicode::isNfcQuick("\xFF"));
}

TEST(Unicode, Utf8DecodingReplacesMaximalSubparts) {
  const std::u32string r = U"\uFFFD";
  EXPECT_EQ(u32("a\xC3\xA9z"), U"a\u00E9z");
  EXPECT_EQ(u32("\xF0\x9F\x99\x82"), U"\U0001F642");
  EXPECT_EQ(u32("\xE2\x82"), r);                       // truncated: one
  EXPECT_EQ(u32("\xE2\x82x"), r + U"x");
  EXPECT_EQ(u32("\xC0\xAF"), r + r);                   // overlong lead
  EXPECT_EQ(u32("\xE0\x80\x80"), r + r + r);           // overlong 3-byte
  EXPECT_EQ(u32("\xED\xA0\x80"), r + r + r);           // surrogate
  EXPECT_EQ(u32("\xF4\x90\x80\x80"), r + r + r + r);   // above U+10FFFF
  EXPECT_EQ(u32("\xF0\x9F\x99"), r);
  EXPECT_EQ(u32("\x80\xBF"), r + r);
  EXPECT_EQ(u32(std::string("\0", 1)), std::u32string(1, U'\0'));
  EXPECT_FALSE(unicode::isValidUtf8("\xE2\x82"));
  EXPECT_TRUE(unicode::isValidUtf8("\xEF\xBF\xBD"));
  EXPECT_EQ(unicode::toValidUtf8("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(u8(U"\U0010FFFF"), "\xF4\x8F\xBF\xBF");
  EXPECT_EQ(u8(std::u32string(1, char32_t(0xD800))), "\xEF\xBF\xBD");
}

TEST(Unicode, CompleteUtf8Prefix) {
  using unicode::completeUtf8Prefix;
  EXPECT_EQ(completeUtf8Prefix(""), 0u);
  EXPECT_EQ(completeUtf8Prefix("abc"), 3u);
  EXPECT_EQ(completeUtf8Prefix("ab\xE8"), 2u);
  EXPECT_EQ(completeUtf8Prefix("ab\xE8\xAA"), 2u);
  EXPECT_EQ(completeUtf8Prefix("ab\xE8\xAA\x9E"), 5u);
  EXPECT_EQ(completeUtf8Prefix("\xF0\x9F\x99"), 0u);
  EXPECT_EQ(completeUtf8Prefix("\xF0\x9F\x99\x82"), 4u);
  // Bytes that can never become valid are not held back.
  EXPECT_EQ(completeUtf8Prefix("a\xFF"), 2u);
  EXPECT_EQ(completeUtf8Prefix("a\xC0"), 2u);
  EXPECT_EQ(completeUtf8Prefix("a\xE0\x80"), 3u);
  EXPECT_EQ(completeUtf8Prefix("a\x80"), 2u);
}

TEST(PreSplit, Gpt2Regex) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(gpt2PreSplit("Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(gpt2PreSplit("Hello  world"), (V{"Hello", " ", " world"}));
  // "\n\n" before a letter: \s+(?!\S) takes one, \s+ the other.
  EXPECT_EQ(gpt2PreSplit("a\n\nb   c"), (V{"a", "\n", "\n", "b", "  ", " c"}));
  EXPECT_EQ(gpt2PreSplit("a\n\n"), (V{"a", "\n\n"}));
  EXPECT_EQ(gpt2PreSplit("x\ty"), (V{"x", "\t", "y"}));
  EXPECT_EQ(gpt2PreSplit("end  "), (V{"end", "  "}));
  EXPECT_EQ(gpt2PreSplit("it's I'LL we'll 'sand"),
            (V{"it", "'s", " I", "'", "LL", " we", "'ll", " '", "sand"}));
  EXPECT_EQ(gpt2PreSplit("x''s"), (V{"x", "''", "s"}));
  EXPECT_EQ(gpt2PreSplit("3.14 pi2"), (V{"3", ".", "14", " pi", "2"}));
  EXPECT_EQ(gpt2PreSplit(" !!? ok"), (V{" !!?", " ok"}));
  EXPECT_EQ(gpt2PreSplit("日本語 🙂"), (V{"日本語", " 🙂"}));
  // A no-break space is White_Space, not a ' ' prefix.
  EXPECT_EQ(gpt2PreSplit("a\xC2\xA0" "b"), (V{"a", "\xC2\xA0", "b"}));
  EXPECT_EQ(gpt2PreSplit(""), V{});
}

} // namespace
} // namespace quamba
