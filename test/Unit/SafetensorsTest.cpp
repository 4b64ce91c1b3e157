//===- SafetensorsTest.cpp - safetensors reader/writer tests --------------===//
//
// The reader is tested against images built here by hand (length prefix +
// JSON text + data), independently of the Writer, so that a bug shared by
// both sides cannot hide.
//
//===----------------------------------------------------------------------===//
#include "runtime/Safetensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace st = quamba::safetensors;
namespace fs = std::filesystem;

namespace {

//===- An independent encoder ---------------------------------------------===//

std::string le64(uint64_t value) {
  std::string out;
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return out;
}

/// The file image: 8-byte little-endian length, header text, data.
std::string image(const std::string &header, const std::string &data = "") {
  return le64(header.size()) + header + data;
}

/// One header entry: "name":{"dtype":...,"shape":...,"data_offsets":[b,e]}.
std::string entry(const std::string &name, const std::string &dtype, const std::string &shape,
                  uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

std::string bytesOf(const std::vector<float> &values) {
  return std::string(reinterpret_cast<const char *>(values.data()),
                     values.size() * sizeof(float));
}

/// Parses an image that must be rejected; returns the error message.
std::string rejectImage(const std::string &bytes) {
  auto file = st::File::fromBuffer(bytes, "bad.safetensors");
  EXPECT_FALSE(file.ok()) << "accepted an invalid image";
  return file.ok() ? std::string() : file.error();
}

std::string rejectHeader(const std::string &header, const std::string &data = "") {
  return rejectImage(image(header, data));
}

#define EXPECT_HAS(message, needle)                                                    \
  EXPECT_NE(std::string(message).find(needle), std::string::npos)                      \
      << "message: " << (message) << "\nexpected to contain: " << (needle)

//===- A unique temporary directory per test ------------------------------===//

class SafetensorsFiles : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "quamba-st-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string &name) const { return (dir_ / name).string(); }
  void writeRaw(const std::string &name, const std::string &bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
  }
  /// A shard with one F32 tensor per name, each [2] = {i, i+0.5}.
  void writeShard(const std::string &name, const std::vector<std::string> &tensors) const {
    st::Writer writer;
    float i = 0;
    for (const std::string &tensor : tensors) {
      std::vector<float> values{i, i + 0.5f};
      ASSERT_TRUE(writer.add(tensor, st::DType::F32, {2}, values.data(), 8).ok());
      ++i;
    }
    ASSERT_TRUE(writer.write(path(name)).ok());
  }
  void writeIndex(const std::string &weightMap) const {
    writeRaw("model.safetensors.index.json",
             "{\"metadata\":{\"total_size\":32},\"weight_map\":{" + weightMap + "}}");
  }
  fs::path dir_;
};

//===----------------------------------------------------------------------===//
// DType table
//===----------------------------------------------------------------------===//

const std::vector<st::DType> kAllDTypes = {
    st::DType::BOOL,        st::DType::U8,          st::DType::I8,      st::DType::I16,
    st::DType::U16,         st::DType::I32,         st::DType::U32,     st::DType::I64,
    st::DType::U64,         st::DType::F16,         st::DType::BF16,    st::DType::F32,
    st::DType::F64,         st::DType::F8_E5M2,     st::DType::F8_E4M3, st::DType::F8_E8M0,
    st::DType::F8_E4M3FNUZ, st::DType::F8_E5M2FNUZ, st::DType::F4,      st::DType::F6_E2M3,
    st::DType::F6_E3M2,     st::DType::C64,
};

TEST(SafetensorsDType, NamesRoundTrip) {
  for (st::DType dtype : kAllDTypes) {
    auto parsed = st::parseDType(st::dtypeName(dtype));
    ASSERT_TRUE(parsed.has_value()) << st::dtypeName(dtype);
    EXPECT_EQ(*parsed, dtype);
  }
  EXPECT_FALSE(st::parseDType("F128").has_value());
  EXPECT_FALSE(st::parseDType("f32").has_value());
}

TEST(SafetensorsDType, Bits) {
  EXPECT_EQ(st::dtypeBits(st::DType::BOOL), 8u);
  EXPECT_EQ(st::dtypeBits(st::DType::BF16), 16u);
  EXPECT_EQ(st::dtypeBits(st::DType::F32), 32u);
  EXPECT_EQ(st::dtypeBits(st::DType::F8_E4M3), 8u);
  EXPECT_EQ(st::dtypeBits(st::DType::F4), 4u);
  EXPECT_EQ(st::dtypeBits(st::DType::F6_E2M3), 6u);
  EXPECT_EQ(st::dtypeBits(st::DType::C64), 64u);
  EXPECT_EQ(st::dtypeName(st::DType::F8_E5M2FNUZ), "F8_E5M2FNUZ");
}

//===----------------------------------------------------------------------===//
// Reading hand-built images
//===----------------------------------------------------------------------===//

TEST(SafetensorsRead, HandBuiltImage) {
  std::string data = bytesOf({1, 2, 3, 4, 5, 6}) + std::string("\x07\x08", 2);
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}," +
                       entry("w", "F32", "[2,3]", 0, 24) + "," +
                       entry("b", "U8", "[2]", 24, 26) + "}";
  auto file = st::File::fromBuffer(image(header, data), "mem");
  ASSERT_TRUE(file.ok()) << file.error();
  const auto &f = **file;
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors()[0].name, "b"); // sorted by name
  EXPECT_EQ(f.tensors()[1].name, "w");
  const st::TensorInfo *w = f.find("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, st::DType::F32);
  EXPECT_EQ(w->shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(w->numel(), 6u);
  EXPECT_EQ(w->byteSize(), 24u);
  float values[6];
  std::memcpy(values, f.data(*w), sizeof(values));
  EXPECT_EQ(values[5], 6.0f);
  EXPECT_EQ(f.data(*f.find("b"))[1], 8);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(f.find("missing"), nullptr);
  EXPECT_EQ(f.fileSize(), 8 + header.size() + data.size());
}

TEST(SafetensorsRead, ScalarEmptyAndSpacePadding) {
  std::string header = "{" + entry("scalar", "F64", "[]", 0, 8) + "," +
                       entry("empty", "F32", "[0,5]", 8, 8) + "," +
                       entry("none", "I64", "[3,0]", 8, 8) + "}     ";
  auto file = st::File::fromBuffer(image(header, std::string(8, '\0')), "mem");
  ASSERT_TRUE(file.ok()) << file.error();
  const st::TensorInfo *scalar = (*file)->find("scalar");
  ASSERT_NE(scalar, nullptr);
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_EQ(scalar->numel(), 1u);
  EXPECT_EQ((*file)->find("empty")->numel(), 0u);
  EXPECT_EQ((*file)->find("none")->byteSize(), 0u);
}

TEST(SafetensorsRead, EmptyFileWithOnlyHeader) {
  auto file = st::File::fromBuffer(image("{}"), "mem");
  ASSERT_TRUE(file.ok()) << file.error();
  EXPECT_TRUE((*file)->tensors().empty());
}

TEST(SafetensorsRead, SubByteTypes) {
  // F4 [2,3] = 24 bits = 3 bytes; F6 [4] = 24 bits = 3 bytes.
  std::string header = "{" + entry("a", "F4", "[2,3]", 0, 3) + "," +
                       entry("b", "F6_E2M3", "[4]", 3, 6) + "}";
  auto file = st::File::fromBuffer(image(header, "abcdef"), "mem");
  ASSERT_TRUE(file.ok()) << file.error();
  EXPECT_TRUE((*file)->isAligned(*(*file)->find("b")));
}

TEST(SafetensorsRead, AlignmentOfUnpaddedHeader) {
  // An MLX-style unpadded header: the data of the F32 tensor starts at an odd
  // file offset, so it cannot be aligned whatever the buffer's address.
  std::string header = "{" + entry("u", "U8", "[1]", 0, 1) + "," +
                       entry("f", "F32", "[1]", 1, 5) + "}";
  auto file = st::File::fromBuffer(image(header, std::string(5, '\0')), "mem");
  ASSERT_TRUE(file.ok()) << file.error();
  const auto &f = **file;
  EXPECT_TRUE(f.isAligned(*f.find("u")));
  auto address = reinterpret_cast<uintptr_t>(f.data(*f.find("f")));
  EXPECT_EQ(f.isAligned(*f.find("f")), address % 4 == 0);
}

TEST(SafetensorsRead, RealFixture) {
  auto file = st::File::open(QUAMBA_TEST_FIXTURES_DIR "/tiny_mamba2_g2_hf/model.safetensors");
  ASSERT_TRUE(file.ok()) << file.error();
  const auto &f = **file;
  const st::TensorInfo *emb = f.find("backbone.embeddings.weight");
  ASSERT_NE(emb, nullptr);
  EXPECT_EQ(emb->dtype, st::DType::F32);
  EXPECT_EQ(emb->shape, (std::vector<uint64_t>{256, 64}));
  EXPECT_EQ(emb->byteSize(), 256u * 64u * 4u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_TRUE(std::is_sorted(
      f.tensors().begin(), f.tensors().end(),
      [](const st::TensorInfo &a, const st::TensorInfo &b) { return a.name < b.name; }));
  EXPECT_TRUE(f.isAligned(*emb)); // mmap is page-aligned, the header padded
}

//===----------------------------------------------------------------------===//
// Non-finite values
//===----------------------------------------------------------------------===//

/// Little-endian words as bytes, after `offset` bytes of padding (so that the
/// scan is also tried on misaligned data).
template <typename Word>
std::string wordBytes(const std::vector<Word> &words, size_t offset = 0) {
  std::string out(offset, 'x');
  for (Word w : words)
    for (size_t i = 0; i < sizeof(Word); ++i)
      out.push_back(static_cast<char>((w >> (8 * i)) & 0xff));
  return out;
}

st::TensorInfo info1d(st::DType dtype, uint64_t n) {
  return st::TensorInfo{"t", dtype, {n}, 0, n * st::dtypeBits(dtype) / 8};
}

std::optional<st::NonFinite> scan(st::DType dtype, const std::string &bytes, size_t offset,
                                  uint64_t n) {
  return st::findNonFinite(info1d(dtype, n),
                           reinterpret_cast<const uint8_t *>(bytes.data()) + offset);
}

TEST(SafetensorsNonFinite, EachFloatEncoding) {
  // The bit patterns are written out (IEEE 754 / bfloat16), not computed by
  // the code under test.
  // F32: 1.0, -inf, max finite, NaN, +inf.
  std::string f32 = wordBytes<uint32_t>(
      {0x3f800000u, 0xff800000u, 0x7f7fffffu, 0x7fc00000u, 0x7f800000u}, 1);
  auto a = scan(st::DType::F32, f32, 1, 5);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->first, 1u);
  EXPECT_EQ(a->count, 3u);
  EXPECT_TRUE(std::isinf(a->value) && a->value < 0);
  // F16: 65504 (max finite), -65504, then NaN with only a low mantissa bit.
  auto h = scan(st::DType::F16, wordBytes<uint16_t>({0x7bff, 0xfbff, 0x7c01}), 0, 3);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->first, 2u);
  EXPECT_EQ(h->count, 1u);
  EXPECT_TRUE(std::isnan(h->value));
  // BF16: max finite, +inf.
  auto b = scan(st::DType::BF16, wordBytes<uint16_t>({0x7f7f, 0x7f80}, 3), 3, 2);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->first, 1u);
  EXPECT_TRUE(std::isinf(b->value) && b->value > 0);
  // F64: -0.0, then a negative NaN.
  auto d = scan(st::DType::F64, wordBytes<uint64_t>({0x8000000000000000ull, 0xfff8000000000000ull}),
                0, 2);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->first, 1u);
  EXPECT_TRUE(std::isnan(d->value));
}

TEST(SafetensorsNonFinite, FiniteAndNonFloatTensors) {
  // Subnormals, zeros and the largest finite values are finite.
  EXPECT_FALSE(scan(st::DType::F32, wordBytes<uint32_t>({0x00000001u, 0x80000000u, 0xff7fffffu}), 0, 3));
  EXPECT_FALSE(scan(st::DType::F16, wordBytes<uint16_t>({0x0001, 0x7bff}), 0, 2));
  EXPECT_FALSE(scan(st::DType::F32, "", 0, 0));
  // Integer data with the same bits is not scanned.
  EXPECT_FALSE(scan(st::DType::I32, wordBytes<uint32_t>({0x7fc00000u}), 0, 1));
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

TEST(SafetensorsWriter, ExactBytes) {
  st::Writer writer;
  writer.setMetadata("format", "pt");
  std::vector<float> values{1.5f, -2.0f};
  ASSERT_TRUE(writer.add("a", st::DType::F32, {2}, values.data(), 8).ok());
  auto bytes = writer.serialize();
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}," + entry("a", "F32", "[2]", 0, 8) +
                       "}";
  header.append((8 - (8 + header.size()) % 8) % 8, ' ');
  EXPECT_EQ(*bytes, image(header, bytesOf(values)));
}

TEST(SafetensorsWriter, NoMetadataKeyWhenEmptyAndPadding) {
  st::Writer writer;
  uint8_t byte = 7;
  ASSERT_TRUE(writer.add("x", st::DType::U8, {}, &byte, 1).ok());
  auto bytes = writer.serialize();
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  EXPECT_EQ(bytes->find("__metadata__"), std::string::npos);
  uint64_t length = 0;
  std::memcpy(&length, bytes->data(), 8);
  EXPECT_EQ((8 + length) % 8, 0u);
  EXPECT_EQ(bytes->size(), 8 + length + 1);
  EXPECT_EQ(bytes->at(8 + length - 1), ' ');
}

TEST(SafetensorsWriter, SortedByAlignmentThenName) {
  st::Writer writer;
  std::vector<uint8_t> zeros(64, 0);
  ASSERT_TRUE(writer.add("a", st::DType::U8, {3}, zeros.data(), 3).ok());
  ASSERT_TRUE(writer.add("z", st::DType::F32, {1}, zeros.data(), 4).ok());
  ASSERT_TRUE(writer.add("m", st::DType::F64, {1}, zeros.data(), 8).ok());
  ASSERT_TRUE(writer.add("b", st::DType::F32, {2}, zeros.data(), 8).ok());
  ASSERT_TRUE(writer.add("h", st::DType::BF16, {1}, zeros.data(), 2).ok());
  auto bytes = writer.serialize();
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  auto file = st::File::fromBuffer(*bytes, "mem");
  ASSERT_TRUE(file.ok()) << file.error();
  auto beginOf = [&](const char *name) { return (*file)->find(name)->begin; };
  EXPECT_EQ(beginOf("m"), 0u);
  EXPECT_EQ(beginOf("b"), 8u);
  EXPECT_EQ(beginOf("z"), 16u);
  EXPECT_EQ(beginOf("h"), 20u);
  EXPECT_EQ(beginOf("a"), 22u);
  // Order in the header text follows the data.
  EXPECT_LT(bytes->find("\"m\""), bytes->find("\"b\""));
  EXPECT_LT(bytes->find("\"z\""), bytes->find("\"a\""));
}

TEST(SafetensorsWriter, RoundTripEveryDType) {
  st::Writer writer;
  writer.setMetadata("format", "pt");
  writer.setMetadata("note", "round trip");
  std::vector<std::string> payloads;
  for (st::DType dtype : kAllDTypes) {
    // [2,4] = 8 elements: a whole number of bytes for the 4- and 6-bit types.
    uint64_t size = 8 * st::dtypeBits(dtype) / 8;
    std::string payload;
    for (uint64_t i = 0; i < size; ++i)
      payload.push_back(static_cast<char>(i * 7 + static_cast<int>(dtype)));
    payloads.push_back(payload);
    ASSERT_TRUE(writer.add(std::string(st::dtypeName(dtype)), dtype, {2, 4}, payload.data(),
                           size).ok());
  }
  uint16_t one = 0x3f80; // BF16 1.0
  ASSERT_TRUE(writer.add("scalar", st::DType::BF16, {}, &one, 2).ok());
  ASSERT_TRUE(writer.add("empty", st::DType::F16, {0, 3}, nullptr, 0).ok());

  auto bytes = writer.serialize();
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  auto file = st::File::fromBuffer(*bytes, "mem");
  ASSERT_TRUE(file.ok()) << file.error();
  const auto &f = **file;
  EXPECT_EQ(f.tensors().size(), kAllDTypes.size() + 2);
  for (size_t i = 0; i < kAllDTypes.size(); ++i) {
    const st::TensorInfo *info = f.find(st::dtypeName(kAllDTypes[i]));
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->dtype, kAllDTypes[i]);
    EXPECT_EQ(info->shape, (std::vector<uint64_t>{2, 4}));
    EXPECT_EQ(std::string(reinterpret_cast<const char *>(f.data(*info)), info->byteSize()),
              payloads[i]);
    EXPECT_TRUE(f.isAligned(*info)) << info->name;
  }
  const st::TensorInfo *scalar = f.find("scalar");
  ASSERT_NE(scalar, nullptr);
  EXPECT_TRUE(scalar->shape.empty());
  uint16_t read = 0;
  std::memcpy(&read, f.data(*scalar), 2);
  EXPECT_EQ(read, one);
  EXPECT_EQ(f.find("empty")->byteSize(), 0u);
  EXPECT_EQ(f.metadata().size(), 2u);
  EXPECT_EQ(f.metadata().at("note"), "round trip");
}

TEST(SafetensorsWriter, RejectsWrongSize) {
  st::Writer writer;
  float values[3] = {};
  auto status = writer.add("w", st::DType::F32, {3}, values, 8);
  ASSERT_FALSE(status.ok());
  EXPECT_HAS(status.error(), "tensor 'w': got 8 bytes, but F32 [3] needs 12");
}

TEST(SafetensorsWriter, RejectsDuplicateName) {
  st::Writer writer;
  uint8_t byte = 0;
  ASSERT_TRUE(writer.add("w", st::DType::U8, {1}, &byte, 1).ok());
  auto status = writer.add("w", st::DType::U8, {1}, &byte, 1);
  ASSERT_FALSE(status.ok());
  EXPECT_HAS(status.error(), "tensor 'w': added twice");
}

TEST(SafetensorsWriter, RejectsPartialByteSubByteTensor) {
  st::Writer writer;
  uint8_t bytes[2] = {};
  auto status = writer.add("q", st::DType::F4, {3}, bytes, 2);
  ASSERT_FALSE(status.ok());
  EXPECT_HAS(status.error(), "F4 [3] is 12 bits, not a whole number of bytes");
}

TEST_F(SafetensorsFiles, AtomicWriteLeavesOnlyTheTarget) {
  st::Writer writer;
  uint8_t byte = 1;
  ASSERT_TRUE(writer.add("x", st::DType::U8, {1}, &byte, 1).ok());
  ASSERT_TRUE(writer.write(path("out.safetensors")).ok());
  ASSERT_TRUE(writer.write(path("out.safetensors")).ok()); // over an existing file
  std::vector<std::string> entries;
  for (const auto &item : fs::directory_iterator(dir_))
    entries.push_back(item.path().filename().string());
  EXPECT_EQ(entries, std::vector<std::string>{"out.safetensors"});
  auto file = st::File::open(path("out.safetensors"));
  ASSERT_TRUE(file.ok()) << file.error();
  EXPECT_EQ((*file)->data(*(*file)->find("x"))[0], 1);
}

TEST_F(SafetensorsFiles, AtomicWriteReportsMissingDirectory) {
  std::string target = path("no/such/dir/out.bin");
  auto status = st::writeFileAtomically(target, "data");
  ASSERT_FALSE(status.ok());
  EXPECT_HAS(status.error(), target);
  EXPECT_HAS(status.error(), "No such file or directory");
}

/// The names in the test's directory, sorted.
std::vector<std::string> listDir(const fs::path &dir) {
  std::vector<std::string> names;
  for (const auto &item : fs::directory_iterator(dir))
    names.push_back(item.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(SafetensorsFiles, AtomicWriteNeverExposesAPartialFile) {
  writeRaw("out.bin", "previous");
  // While the new contents are being written, the target still holds the
  // previous file and the data goes to one hidden, named temporary file.
  std::vector<std::string> during;
  std::string before;
  auto status = st::writeFileAtomically(path("out.bin"), [&](int fd) {
    EXPECT_EQ(::write(fd, "new ", 4), 4);
    during = listDir(dir_);
    before = readAll(path("out.bin"));
    EXPECT_EQ(::write(fd, "contents", 8), 8);
    return quamba::Status::success();
  });
  ASSERT_TRUE(status.ok()) << status.error();
  ASSERT_EQ(during.size(), 2u);
  EXPECT_EQ(during[0], ".out.bin.tmp-" + std::to_string(::getpid()) + "-" +
                           during[0].substr(during[0].size() - 6));
  EXPECT_EQ(during[1], "out.bin");
  EXPECT_EQ(before, "previous");
  EXPECT_EQ(readAll(path("out.bin")), "new contents");
  EXPECT_EQ(listDir(dir_), std::vector<std::string>{"out.bin"});
}

TEST_F(SafetensorsFiles, AtomicWriteFailureLeavesThePreviousFile) {
  writeRaw("out.bin", "previous");
  auto status = st::writeFileAtomically(path("out.bin"), [](int fd) {
    EXPECT_EQ(::write(fd, "partial", 7), 7);
    return quamba::Status(quamba::makeError("disk full"));
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error(), "disk full");
  EXPECT_EQ(readAll(path("out.bin")), "previous");
  EXPECT_EQ(listDir(dir_), std::vector<std::string>{"out.bin"});
}

TEST_F(SafetensorsFiles, AtomicWriteRemovesTemporariesOfDeadWriters) {
  // A pid that no longer runs: a child that has exited and been reaped.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0)
    ::_exit(0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  const std::string dead = std::to_string(child), alive = std::to_string(::getpid());
  writeRaw(".out.bin.tmp-" + dead + "-a1B2c3", "left by a killed writer");
  writeRaw(".out.bin.tmp-" + alive + "-d4E5f6", "a live writer's");
  writeRaw(".other.bin.tmp-" + dead + "-g7H8i9", "another target's");
  writeRaw(".out.bin.tmp-notapid", "not one of ours");
  ASSERT_TRUE(st::writeFileAtomically(path("out.bin"), "data").ok());
  EXPECT_EQ(listDir(dir_),
            (std::vector<std::string>{".other.bin.tmp-" + dead + "-g7H8i9",
                                      ".out.bin.tmp-" + alive + "-d4E5f6",
                                      ".out.bin.tmp-notapid", "out.bin"}));
}

//===----------------------------------------------------------------------===//
// Bad input: each rule with its own message
//===----------------------------------------------------------------------===//

TEST(SafetensorsBad, FileShorterThanLengthPrefix) {
  EXPECT_HAS(rejectImage(std::string("\x02\0\0\0\0", 5)),
             "bad.safetensors: file is 5 bytes, too short for the 8-byte header length");
}

TEST_F(SafetensorsFiles, BadTruncatedDataOnDisk) {
  std::string header = "{" + entry("w", "F32", "[4]", 0, 16) + "}";
  writeRaw("t.safetensors", image(header, std::string(8, '\0')));
  auto file = st::File::open(path("t.safetensors"));
  ASSERT_FALSE(file.ok());
  EXPECT_HAS(file.error(), path("t.safetensors"));
  EXPECT_HAS(file.error(), "tensor 'w': data_offsets [0, 16] extend past the end of the data "
                           "buffer (8 bytes");
}

TEST_F(SafetensorsFiles, BadMissingFile) {
  auto file = st::File::open(path("absent.safetensors"));
  ASSERT_FALSE(file.ok());
  EXPECT_HAS(file.error(), "cannot open: No such file or directory");
}

TEST_F(SafetensorsFiles, BadDirectoryAsFile) {
  auto file = st::File::open(dir_.string());
  ASSERT_FALSE(file.ok());
  EXPECT_HAS(file.error(), dir_.string() + ": not a regular file");
}

TEST(SafetensorsBad, HeaderLongerThanFile) {
  EXPECT_HAS(rejectImage(le64(100) + "{}"),
             "header length 100 runs past the end of the file (8 + 100 > 10 bytes)");
}

TEST(SafetensorsBad, HeaderOverLimit) {
  EXPECT_HAS(rejectImage(le64(100'000'001) + "{}"),
             "header length 100000001 exceeds the limit of 100000000 bytes");
  // A garbage length (e.g. a pickle passed by mistake) must not overflow 8+N.
  EXPECT_HAS(rejectImage(le64(~uint64_t(0)) + "{}"), "exceeds the limit");
}

TEST(SafetensorsBad, NotStartingWithBrace) {
  EXPECT_HAS(rejectHeader(" {}"), "header does not start with '{'");
}

TEST(SafetensorsBad, InvalidJson) {
  std::string message = rejectHeader("{\"a\":");
  EXPECT_HAS(message, "bad.safetensors: header: not valid JSON");
  EXPECT_HAS(message, "parse error");
}

TEST(SafetensorsBad, InvalidUtf8) {
  EXPECT_HAS(rejectHeader("{\"\xff\":1}"), "ill-formed UTF-8");
}

TEST(SafetensorsBad, NonObjectHeader) {
  EXPECT_HAS(rejectHeader("[1,2]"), "header is a JSON array, not an object");
}

TEST(SafetensorsBad, GarbageAfterObject) {
  EXPECT_HAS(rejectHeader("{} x"), "expected end of input");
  EXPECT_HAS(rejectHeader("{}\n  "), "bytes other than space padding after the JSON object");
}

TEST(SafetensorsBad, MetadataValueNotString) {
  EXPECT_HAS(rejectHeader("{\"__metadata__\":{\"format\":1}}"),
             "__metadata__ value of 'format' is a number, not a string");
}

TEST(SafetensorsBad, MetadataNotObject) {
  EXPECT_HAS(rejectHeader("{\"__metadata__\":[\"pt\"]}"),
             "__metadata__ is a array, not an object of strings");
}

TEST(SafetensorsBad, EntryNotObject) {
  EXPECT_HAS(rejectHeader("{\"w\":[1,2]}"), "tensor 'w': entry is a array, not an object");
}

TEST(SafetensorsBad, MissingDType) {
  EXPECT_HAS(rejectHeader("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "abcd"),
             "tensor 'w': missing \"dtype\"");
}

TEST(SafetensorsBad, MissingShapeAndOffsets) {
  EXPECT_HAS(rejectHeader("{\"w\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", "a"),
             "tensor 'w': missing \"shape\"");
  EXPECT_HAS(rejectHeader("{\"w\":{\"dtype\":\"U8\",\"shape\":[1]}}", "a"),
             "tensor 'w': missing \"data_offsets\"");
}

TEST(SafetensorsBad, DTypeNotString) {
  EXPECT_HAS(rejectHeader("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}"),
             "tensor 'w': \"dtype\" is a number, not a string");
}

TEST(SafetensorsBad, UnknownDType) {
  EXPECT_HAS(rejectHeader("{" + entry("w", "F128", "[1]", 0, 16) + "}", std::string(16, 'x')),
             "tensor 'w': unknown dtype 'F128'");
}

TEST(SafetensorsBad, NegativeOrFractionalShape) {
  EXPECT_HAS(rejectHeader("{" + entry("w", "U8", "[-1]", 0, 0) + "}"),
             "tensor 'w': \"shape\" must be an array of non-negative integers, found [-1]");
  EXPECT_HAS(rejectHeader("{" + entry("w", "U8", "[1.5]", 0, 0) + "}"),
             "\"shape\" must be an array of non-negative integers, found [1.5]");
  EXPECT_HAS(rejectHeader("{" + entry("w", "U8", "3", 0, 0) + "}"),
             "\"shape\" must be an array of non-negative integers, found 3");
}

TEST(SafetensorsBad, BadOffsets) {
  EXPECT_HAS(rejectHeader("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,-1]}}"),
             "\"data_offsets\" must be [begin, end] of non-negative integers, found [0,-1]");
  EXPECT_HAS(rejectHeader("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}",
                          "ab"),
             "\"data_offsets\" has 3 elements, expected [begin, end]");
}

TEST(SafetensorsBad, BeginAfterEnd) {
  EXPECT_HAS(rejectHeader("{" + entry("w", "U8", "[4]", 8, 4) + "}", std::string(8, 'x')),
             "tensor 'w': data_offsets [8, 4]: begin 8 > end 4");
}

TEST(SafetensorsBad, SizeMismatch) {
  EXPECT_HAS(rejectHeader("{" + entry("w", "F32", "[3]", 0, 8) + "}", std::string(8, 'x')),
             "tensor 'w': data_offsets [0, 8] hold 8 bytes, but F32 [3] needs 12");
}

TEST(SafetensorsBad, SubByteNotWholeBytes) {
  EXPECT_HAS(rejectHeader("{" + entry("q", "F6_E3M2", "[3]", 0, 2) + "}", "xx"),
             "tensor 'q': F6_E3M2 [3] is 18 bits, not a whole number of bytes");
}

TEST(SafetensorsBad, ElementCountOverflow) {
  EXPECT_HAS(rejectHeader("{" + entry("w", "F32", "[4294967296,4294967296,16]", 0, 4) + "}",
                          "xxxx"),
             "tensor 'w': F32 [4294967296, 4294967296, 16]: the element count overflows");
  // numel fits, numel × 32 bits does not.
  EXPECT_HAS(rejectHeader("{" + entry("w", "F32", "[1152921504606846976]", 0, 4) + "}", "xxxx"),
             "the size in bits overflows 64 bits");
}

TEST(SafetensorsBad, GapBetweenTensors) {
  std::string header =
      "{" + entry("a", "U8", "[4]", 0, 4) + "," + entry("b", "U8", "[4]", 6, 10) + "}";
  EXPECT_HAS(rejectHeader(header, std::string(10, 'x')),
             "gap of 2 bytes between tensor 'a' (ends at 4) and tensor 'b' (begins at 6)");
}

TEST(SafetensorsBad, GapBeforeFirstTensor) {
  EXPECT_HAS(rejectHeader("{" + entry("a", "U8", "[4]", 2, 6) + "}", std::string(6, 'x')),
             "gap of 2 bytes before the first tensor 'a'");
}

TEST(SafetensorsBad, OverlappingTensors) {
  std::string header =
      "{" + entry("a", "U8", "[4]", 0, 4) + "," + entry("b", "U8", "[4]", 2, 6) + "}";
  EXPECT_HAS(rejectHeader(header, std::string(6, 'x')),
             "tensor 'b' (begins at 2) overlaps tensor 'a' (ends at 4)");
}

TEST(SafetensorsBad, TrailingBytes) {
  EXPECT_HAS(rejectHeader("{" + entry("a", "U8", "[4]", 0, 4) + "}", std::string(7, 'x')),
             "3 trailing bytes after the last tensor 'a' (data buffer is 7 bytes)");
  EXPECT_HAS(rejectHeader("{}", "zz"), "2 trailing bytes after the header");
}

TEST(SafetensorsBad, DuplicateTensorName) {
  std::string header =
      "{" + entry("a", "U8", "[4]", 0, 4) + "," + entry("a", "U8", "[4]", 4, 8) + "}";
  EXPECT_HAS(rejectHeader(header, std::string(8, 'x')), "duplicate key 'a' at the top level");
}

TEST(SafetensorsBad, DuplicateFieldInEntry) {
  EXPECT_HAS(rejectHeader("{\"w\":{\"dtype\":\"U8\",\"dtype\":\"F32\",\"shape\":[1],"
                          "\"data_offsets\":[0,1]}}",
                          "x"),
             "duplicate key 'dtype' inside 'w'");
}

//===----------------------------------------------------------------------===//
// Checkpoint
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsFiles, CheckpointSingleFile) {
  writeShard("model.safetensors", {"x", "y"});
  auto checkpoint = st::Checkpoint::open(dir_.string());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error();
  EXPECT_EQ(checkpoint->names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(checkpoint->files().size(), 1u);
  auto y = checkpoint->find("y");
  ASSERT_TRUE(y.has_value());
  float values[2];
  std::memcpy(values, y->data(), 8);
  EXPECT_EQ(values[1], 1.5f);
  EXPECT_FALSE(checkpoint->find("z").has_value());
}

TEST_F(SafetensorsFiles, CheckpointSharded) {
  writeShard("model-00001-of-00002.safetensors", {"a", "b"});
  writeShard("model-00002-of-00002.safetensors", {"c"});
  writeIndex("\"a\":\"model-00001-of-00002.safetensors\","
             "\"b\":\"model-00001-of-00002.safetensors\","
             "\"c\":\"model-00002-of-00002.safetensors\"");
  // The index wins over a stale single file.
  writeShard("model.safetensors", {"stale"});
  auto checkpoint = st::Checkpoint::open(dir_.string());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error();
  EXPECT_EQ(checkpoint->names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(checkpoint->files().size(), 2u);
  auto c = checkpoint->find("c");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->file->path(), path("model-00002-of-00002.safetensors"));
  float values[2];
  std::memcpy(values, c->data(), 8);
  EXPECT_EQ(values[0], 0.0f);
  EXPECT_EQ(checkpoint->find("b")->info->name, "b");
}

TEST_F(SafetensorsFiles, BadCheckpointMissingShard) {
  writeShard("s1.safetensors", {"a"});
  writeIndex("\"a\":\"s1.safetensors\",\"b\":\"s2.safetensors\"");
  auto checkpoint = st::Checkpoint::open(dir_.string());
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_HAS(checkpoint.error(), path("model.safetensors.index.json"));
  EXPECT_HAS(checkpoint.error(), "names shard 's2.safetensors', which does not exist");
}

TEST_F(SafetensorsFiles, BadCheckpointTensorNotInShard) {
  writeShard("s1.safetensors", {"a"});
  writeIndex("\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\"");
  auto checkpoint = st::Checkpoint::open(dir_.string());
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_HAS(checkpoint.error(),
             "places tensor 'b' in shard 's1.safetensors', which does not contain it");
}

TEST_F(SafetensorsFiles, BadCheckpointTensorInTwoShards) {
  writeShard("s1.safetensors", {"a", "b"});
  writeShard("s2.safetensors", {"b", "c"});
  writeIndex("\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\",\"c\":\"s2.safetensors\"");
  auto checkpoint = st::Checkpoint::open(dir_.string());
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_HAS(checkpoint.error(), "tensor 'b' is in shard 's2.safetensors' as well as in shard "
                                 "'s1.safetensors' where the index places it");
}

TEST_F(SafetensorsFiles, BadCheckpointShardTensorNotInIndex) {
  writeShard("s1.safetensors", {"a", "extra"});
  writeIndex("\"a\":\"s1.safetensors\"");
  auto checkpoint = st::Checkpoint::open(dir_.string());
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_HAS(checkpoint.error(), "shard 's1.safetensors' contains tensor 'extra', which the "
                                 "index does not list");
}

TEST_F(SafetensorsFiles, BadCheckpointShardOutsideDirectory) {
  writeIndex("\"a\":\"../elsewhere.safetensors\"");
  auto checkpoint = st::Checkpoint::open(dir_.string());
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_HAS(checkpoint.error(), "weight_map entry 'a' must be a shard file name in the same "
                                 "directory");
}

TEST_F(SafetensorsFiles, BadCheckpointInvalidIndexJson) {
  writeRaw("model.safetensors.index.json", "{\"weight_map\":");
  auto checkpoint = st::Checkpoint::open(dir_.string());
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_HAS(checkpoint.error(), path("model.safetensors.index.json") + ": not valid JSON");
}

TEST_F(SafetensorsFiles, BadCheckpointIndexWithoutWeightMap) {
  writeRaw("model.safetensors.index.json", "{\"metadata\":{}}");
  auto checkpoint = st::Checkpoint::open(dir_.string());
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_HAS(checkpoint.error(), "expected an object with a \"weight_map\" object");
}

TEST_F(SafetensorsFiles, BadCheckpointNothingThere) {
  auto checkpoint = st::Checkpoint::open(dir_.string());
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_HAS(checkpoint.error(), dir_.string() + ": no checkpoint: neither "
                                                 "model.safetensors.index.json nor "
                                                 "model.safetensors exists");
}

TEST_F(SafetensorsFiles, BadCheckpointInvalidShard) {
  writeRaw("model.safetensors", image("{}", "junk"));
  auto checkpoint = st::Checkpoint::open(dir_.string());
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_HAS(checkpoint.error(), path("model.safetensors") + ": 4 trailing bytes");
}

} // namespace
