//===- Safetensors.cpp - safetensors reader and writer --------------------===//
//
// One parser validates both memory-mapped files and in-memory images. Every
// rule of the reference reader (shared/reference/formats.md §3.4) is checked
// before any tensor is handed out, so callers may trust offsets and sizes.
// nlohmann-json throws; every public entry point catches, so no exception
// crosses the API.
//
//===----------------------------------------------------------------------===//
#include "runtime/Safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace quamba::safetensors {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
// The writer emits keys in data order (as the reference writer does), which
// the std::map-backed Json would reorder alphabetically.
using OrderedJson = nlohmann::ordered_json;

constexpr uint64_t kLengthPrefix = 8;
constexpr uint64_t kMaxHeaderSize = 100'000'000;
constexpr const char *kMetadataKey = "__metadata__";
constexpr const char *kIndexName = "model.safetensors.index.json";
constexpr const char *kSingleName = "model.safetensors";

struct DTypeDesc {
  DType dtype;
  std::string_view name;
  unsigned bits;
};

// Indexed by the enum's value; the static_assert below keeps them in step.
constexpr DTypeDesc kDTypes[] = {
    {DType::BOOL, "BOOL", 8},
    {DType::U8, "U8", 8},
    {DType::I8, "I8", 8},
    {DType::I16, "I16", 16},
    {DType::U16, "U16", 16},
    {DType::I32, "I32", 32},
    {DType::U32, "U32", 32},
    {DType::I64, "I64", 64},
    {DType::U64, "U64", 64},
    {DType::F16, "F16", 16},
    {DType::BF16, "BF16", 16},
    {DType::F32, "F32", 32},
    {DType::F64, "F64", 64},
    {DType::F8_E5M2, "F8_E5M2", 8},
    {DType::F8_E4M3, "F8_E4M3", 8},
    {DType::F8_E8M0, "F8_E8M0", 8},
    {DType::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8},
    {DType::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8},
    {DType::F4, "F4", 4},
    {DType::F6_E2M3, "F6_E2M3", 6},
    {DType::F6_E3M2, "F6_E3M2", 6},
    {DType::C64, "C64", 64},
};

constexpr bool tableMatchesEnum() {
  for (size_t i = 0; i < std::size(kDTypes); ++i)
    if (static_cast<size_t>(kDTypes[i].dtype) != i)
      return false;
  return static_cast<size_t>(DType::C64) + 1 == std::size(kDTypes);
}
static_assert(tableMatchesEnum(), "kDTypes must list DType in enum order");

/// Runs `fn`, turning any exception (nlohmann, bad_alloc, filesystem) into an
/// error value prefixed with `context`.
template <typename R, typename Fn> R guarded(const std::string &context, Fn &&fn) {
  try {
    return fn();
  } catch (const std::exception &e) {
    return makeError(context + ": " + e.what());
  } catch (...) {
    return makeError(context + ": unexpected exception");
  }
}

std::string singleQuoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string formatShape(const std::vector<uint64_t> &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

/// A JSON value for an error message, cut short: headers can be 100 MB.
std::string excerpt(const Json &value) {
  constexpr size_t kMax = 80;
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  return text.size() <= kMax ? text : text.substr(0, kMax) + "...";
}

std::string errnoText(int error) { return std::strerror(error); }

uint64_t readLittleEndian64(const uint8_t *bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i)
    value = (value << 8) | bytes[i];
  return value;
}

std::string littleEndian64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

/// numel × element size in bytes. Errors on uint64 overflow (a hostile header
/// can claim any shape) and on sub-byte tensors that do not fill whole bytes.
Result<uint64_t> denseBytes(DType dtype, const std::vector<uint64_t> &shape) {
  std::string what = std::string(dtypeName(dtype)) + " " + formatShape(shape);
  if (std::find(shape.begin(), shape.end(), 0) != shape.end())
    return uint64_t(0); // the product is 0, whatever the other dims are
  uint64_t numel = 1;
  for (uint64_t dim : shape)
    if (__builtin_mul_overflow(numel, dim, &numel))
      return makeError(what + ": the element count overflows 64 bits");
  uint64_t bits = 0;
  if (__builtin_mul_overflow(numel, uint64_t(dtypeBits(dtype)), &bits))
    return makeError(what + ": the size in bits overflows 64 bits");
  if (bits % 8 != 0)
    return makeError(what + " is " + std::to_string(bits) +
                     " bits, not a whole number of bytes");
  return bits / 8;
}

/// Parses JSON, rejecting duplicate keys at any depth: nlohmann would keep the
/// last one silently, and the format forbids them.
Result<Json> parseJsonNoDuplicates(std::string_view text) {
  struct Level {
    std::set<std::string> keys;
    std::string lastKey;
  };
  std::vector<Level> levels;
  std::optional<std::string> duplicate;
  auto callback = [&](int, Json::parse_event_t event, Json &parsed) {
    if (event == Json::parse_event_t::object_start) {
      levels.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      levels.pop_back();
    } else if (event == Json::parse_event_t::key) {
      Level &level = levels.back();
      std::string key = parsed.get<std::string>();
      if (!duplicate && !level.keys.insert(key).second)
        duplicate = "duplicate key " + singleQuoted(key) +
                    (levels.size() > 1 ? " inside " + singleQuoted(levels[levels.size() - 2].lastKey)
                                       : std::string(" at the top level"));
      level.lastKey = std::move(key);
    }
    return true;
  };
  Json root;
  try {
    root = Json::parse(text.begin(), text.end(), callback);
  } catch (const Json::parse_error &e) {
    return makeError(std::string("not valid JSON: ") + e.what());
  }
  if (duplicate)
    return makeError(*duplicate);
  return root;
}

bool isUnsignedArray(const Json &value) {
  return value.is_array() &&
         std::all_of(value.begin(), value.end(),
                     [](const Json &v) { return v.is_number_unsigned(); });
}

} // namespace

//===----------------------------------------------------------------------===//
// DType
//===----------------------------------------------------------------------===//

std::string_view dtypeName(DType dtype) {
  return kDTypes[static_cast<size_t>(dtype)].name;
}

std::optional<DType> parseDType(std::string_view name) {
  for (const DTypeDesc &desc : kDTypes)
    if (desc.name == name)
      return desc.dtype;
  return std::nullopt;
}

unsigned dtypeBits(DType dtype) { return kDTypes[static_cast<size_t>(dtype)].bits; }

uint64_t TensorInfo::numel() const {
  uint64_t product = 1;
  for (uint64_t dim : shape)
    product *= dim; // validated files cannot overflow (bytes were checked)
  return product;
}

namespace {

/// findNonFinite for one IEEE-style layout: an element is NaN or infinite
/// when its exponent bits are all ones (NaN when the mantissa is nonzero).
template <typename Word>
std::optional<NonFinite> scanNonFinite(const uint8_t *data, uint64_t count, Word exponent,
                                       Word mantissa, Word sign) {
  NonFinite found;
  for (uint64_t i = 0; i < count; ++i) {
    Word bits;
    std::memcpy(&bits, data + i * sizeof(Word), sizeof(Word));
    if ((bits & exponent) != exponent)
      continue;
    if (found.count++ == 0) {
      found.first = i;
      found.value = (bits & mantissa) ? std::numeric_limits<double>::quiet_NaN()
                    : (bits & sign)   ? -std::numeric_limits<double>::infinity()
                                      : std::numeric_limits<double>::infinity();
    }
  }
  if (found.count == 0)
    return std::nullopt;
  return found;
}

} // namespace

std::optional<NonFinite> findNonFinite(const TensorInfo &info, const uint8_t *data) {
  const uint64_t n = info.numel();
  switch (info.dtype) {
  case DType::F16:
    return scanNonFinite<uint16_t>(data, n, 0x7c00, 0x03ff, 0x8000);
  case DType::BF16:
    return scanNonFinite<uint16_t>(data, n, 0x7f80, 0x007f, 0x8000);
  case DType::F32:
    return scanNonFinite<uint32_t>(data, n, 0x7f800000u, 0x007fffffu, 0x80000000u);
  case DType::F64:
    return scanNonFinite<uint64_t>(data, n, 0x7ff0000000000000ull, 0x000fffffffffffffull,
                                   0x8000000000000000ull);
  default:
    return std::nullopt;
  }
}

//===----------------------------------------------------------------------===//
// FileParser: validation shared by File::open and File::fromBuffer
//===----------------------------------------------------------------------===//

class FileParser {
public:
  static Status map(File &file);
  static Result<std::shared_ptr<const File>> parse(std::shared_ptr<File> file);

private:
  explicit FileParser(File &file) : file_(file) {}
  Status run();
  Result<std::string_view> headerText();
  Result<Json> parseHeader(std::string_view text);
  Status parseMetadata(const Json &value);
  Status parseTensor(const std::string &name, const Json &entry);
  Result<std::vector<uint64_t>> unsignedArray(const std::string &name, const Json &entry,
                                              const char *key, const char *expected);
  Status checkTiling() const;

  uint64_t bufferSize() const { return file_.size_ - file_.dataStart_; }
  Error fail(const std::string &message) const {
    return makeError(file_.path_ + ": " + message);
  }
  Error failTensor(const std::string &name, const std::string &message) const {
    return fail("tensor " + singleQuoted(name) + ": " + message);
  }

  File &file_;
};

Status FileParser::map(File &file) {
  int fd = ::open(file.path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return makeError(file.path_ + ": cannot open: " + errnoText(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int error = errno;
    ::close(fd);
    return makeError(file.path_ + ": cannot stat: " + errnoText(error));
  }
  if (!S_ISREG(st.st_mode)) { // a directory or FIFO cannot be mapped
    ::close(fd);
    return makeError(file.path_ + ": not a regular file");
  }
  file.size_ = static_cast<uint64_t>(st.st_size);
  if (file.size_ == 0) { // mmap rejects length 0; the parser reports the size
    ::close(fd);
    return Status::success();
  }
  void *base = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
  int error = errno;
  ::close(fd); // the mapping keeps the file alive
  if (base == MAP_FAILED)
    return makeError(file.path_ + ": cannot map: " + errnoText(error));
  file.base_ = static_cast<const uint8_t *>(base);
  file.mapped_ = true;
  return Status::success();
}

Result<std::shared_ptr<const File>> FileParser::parse(std::shared_ptr<File> file) {
  if (Status status = FileParser(*file).run(); !status)
    return makeError(status.error());
  return std::shared_ptr<const File>(std::move(file));
}

Status FileParser::run() {
  Result<std::string_view> text = headerText();
  if (!text)
    return makeError(text.error());
  Result<Json> root = parseHeader(*text);
  if (!root)
    return makeError(root.error());
  for (const auto &[key, value] : root->items()) {
    Status status = key == kMetadataKey ? parseMetadata(value) : parseTensor(key, value);
    if (!status)
      return status;
  }
  if (Status status = checkTiling(); !status)
    return status;
  std::sort(file_.tensors_.begin(), file_.tensors_.end(),
            [](const TensorInfo &a, const TensorInfo &b) { return a.name < b.name; });
  return Status::success();
}

/// The N header bytes after the length prefix, bounds-checked.
Result<std::string_view> FileParser::headerText() {
  if (file_.size_ < kLengthPrefix)
    return fail("file is " + std::to_string(file_.size_) +
                " bytes, too short for the 8-byte header length");
  uint64_t length = readLittleEndian64(file_.base_);
  if (length > kMaxHeaderSize)
    return fail("header length " + std::to_string(length) + " exceeds the limit of " +
                std::to_string(kMaxHeaderSize) + " bytes");
  if (kLengthPrefix + length > file_.size_)
    return fail("header length " + std::to_string(length) +
                " runs past the end of the file (8 + " + std::to_string(length) + " > " +
                std::to_string(file_.size_) + " bytes)");
  file_.dataStart_ = kLengthPrefix + length;
  return std::string_view(reinterpret_cast<const char *>(file_.base_) + kLengthPrefix,
                          length);
}

/// Parses the header and checks its framing: a JSON object that starts at the
/// first byte and is followed by nothing but space padding.
Result<Json> FileParser::parseHeader(std::string_view text) {
  Result<Json> root = parseJsonNoDuplicates(text);
  if (!root)
    return fail("header: " + root.error());
  if (!root->is_object())
    return fail(std::string("header is a JSON ") + root->type_name() + ", not an object");
  if (text.front() != '{')
    return fail("header does not start with '{'");
  // Strict JSON parsing already allowed any whitespace after the object;
  // the format allows only spaces.
  size_t last = text.find_last_not_of(' ');
  if (text[last] != '}')
    return fail("header has bytes other than space padding after the JSON object");
  return root;
}

Status FileParser::parseMetadata(const Json &value) {
  if (!value.is_object())
    return fail(std::string(kMetadataKey) + " is a " + value.type_name() +
                ", not an object of strings");
  for (const auto &[key, item] : value.items()) {
    if (!item.is_string())
      return fail(std::string(kMetadataKey) + " value of " + singleQuoted(key) + " is a " +
                  item.type_name() + ", not a string");
    file_.metadata_[key] = item.get<std::string>();
  }
  return Status::success();
}

/// entry[key] as a list of non-negative integers.
Result<std::vector<uint64_t>> FileParser::unsignedArray(const std::string &name,
                                                        const Json &entry, const char *key,
                                                        const char *expected) {
  auto it = entry.find(key);
  if (it == entry.end())
    return failTensor(name, std::string("missing \"") + key + "\"");
  if (!isUnsignedArray(*it))
    return failTensor(name, std::string("\"") + key + "\" must be " + expected + ", found " +
                                excerpt(*it));
  return it->get<std::vector<uint64_t>>();
}

Status FileParser::parseTensor(const std::string &name, const Json &entry) {
  if (!entry.is_object())
    return failTensor(name, std::string("entry is a ") + entry.type_name() +
                                ", not an object");
  auto dtypeIt = entry.find("dtype");
  if (dtypeIt == entry.end())
    return failTensor(name, "missing \"dtype\"");
  if (!dtypeIt->is_string())
    return failTensor(name, std::string("\"dtype\" is a ") + dtypeIt->type_name() +
                                ", not a string");
  std::optional<DType> dtype = parseDType(dtypeIt->get<std::string>());
  if (!dtype)
    return failTensor(name, "unknown dtype " + singleQuoted(dtypeIt->get<std::string>()));

  Result<std::vector<uint64_t>> shape =
      unsignedArray(name, entry, "shape", "an array of non-negative integers");
  if (!shape)
    return makeError(shape.error());
  Result<std::vector<uint64_t>> offsets =
      unsignedArray(name, entry, "data_offsets", "[begin, end] of non-negative integers");
  if (!offsets)
    return makeError(offsets.error());
  if (offsets->size() != 2)
    return failTensor(name, "\"data_offsets\" has " + std::to_string(offsets->size()) +
                                " elements, expected [begin, end]");

  TensorInfo info{name, *dtype, shape.take(), (*offsets)[0], (*offsets)[1]};
  std::string range = "[" + std::to_string(info.begin) + ", " + std::to_string(info.end) + "]";
  if (info.begin > info.end)
    return failTensor(name, "data_offsets " + range + ": begin " +
                                std::to_string(info.begin) + " > end " +
                                std::to_string(info.end));
  Result<uint64_t> bytes = denseBytes(info.dtype, info.shape);
  if (!bytes)
    return failTensor(name, bytes.error());
  if (info.byteSize() != *bytes)
    return failTensor(name, "data_offsets " + range + " hold " +
                                std::to_string(info.byteSize()) + " bytes, but " +
                                std::string(dtypeName(info.dtype)) + " " +
                                formatShape(info.shape) + " needs " +
                                std::to_string(*bytes));
  if (info.end > bufferSize())
    return failTensor(name, "data_offsets " + range +
                                " extend past the end of the data buffer (" +
                                std::to_string(bufferSize()) +
                                " bytes; is the file truncated?)");
  file_.tensors_.push_back(std::move(info));
  return Status::success();
}

/// The tensors must cover the data buffer exactly: no holes and no trailing
/// bytes, so that nothing else can hide in the file (polyglot files).
Status FileParser::checkTiling() const {
  std::vector<const TensorInfo *> order;
  for (const TensorInfo &info : file_.tensors_)
    order.push_back(&info);
  std::sort(order.begin(), order.end(), [](const TensorInfo *a, const TensorInfo *b) {
    return std::tie(a->begin, a->end, a->name) < std::tie(b->begin, b->end, b->name);
  });
  uint64_t expected = 0;
  const TensorInfo *prev = nullptr;
  for (const TensorInfo *info : order) {
    if (info->begin > expected && !prev)
      return fail("gap of " + std::to_string(info->begin) + " bytes before the first tensor " +
                  singleQuoted(info->name) + " (data_offsets must start at 0)");
    if (info->begin > expected)
      return fail("gap of " + std::to_string(info->begin - expected) +
                  " bytes between tensor " + singleQuoted(prev->name) + " (ends at " +
                  std::to_string(expected) + ") and tensor " + singleQuoted(info->name) +
                  " (begins at " + std::to_string(info->begin) + ")");
    if (info->begin < expected)
      return fail("tensor " + singleQuoted(info->name) + " (begins at " +
                  std::to_string(info->begin) + ") overlaps tensor " + singleQuoted(prev->name) +
                  " (ends at " + std::to_string(expected) + ")");
    expected = info->end;
    prev = info;
  }
  if (expected != bufferSize())
    return fail(std::to_string(bufferSize() - expected) + " trailing bytes after " +
                (prev ? "the last tensor " + singleQuoted(prev->name) : std::string("the header")) +
                " (data buffer is " + std::to_string(bufferSize()) + " bytes)");
  return Status::success();
}

//===----------------------------------------------------------------------===//
// File
//===----------------------------------------------------------------------===//

Result<std::shared_ptr<const File>> File::open(const std::string &path) {
  using R = Result<std::shared_ptr<const File>>;
  return guarded<R>(path, [&]() -> R {
    std::shared_ptr<File> file(new File());
    file->path_ = path;
    if (Status status = FileParser::map(*file); !status)
      return makeError(status.error());
    return FileParser::parse(std::move(file));
  });
}

Result<std::shared_ptr<const File>> File::fromBuffer(std::string bytes, std::string name) {
  using R = Result<std::shared_ptr<const File>>;
  return guarded<R>(name, [&]() -> R {
    std::shared_ptr<File> file(new File());
    file->path_ = std::move(name);
    file->owned_ = std::move(bytes);
    file->base_ = reinterpret_cast<const uint8_t *>(file->owned_.data());
    file->size_ = file->owned_.size();
    return FileParser::parse(std::move(file));
  });
}

File::~File() {
  if (mapped_)
    ::munmap(const_cast<uint8_t *>(base_), size_);
}

const TensorInfo *File::find(std::string_view name) const {
  auto it = std::lower_bound(
      tensors_.begin(), tensors_.end(), name,
      [](const TensorInfo &info, std::string_view key) { return info.name < key; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

const uint8_t *File::data(const TensorInfo &info) const {
  return base_ + dataStart_ + info.begin;
}

bool File::isAligned(const TensorInfo &info) const {
  unsigned bits = dtypeBits(info.dtype);
  uintptr_t alignment = bits >= 8 ? bits / 8 : 1; // sub-byte types: any byte
  return reinterpret_cast<uintptr_t>(data(info)) % alignment == 0;
}

//===----------------------------------------------------------------------===//
// Checkpoint
//===----------------------------------------------------------------------===//

namespace {

using WeightMap = std::map<std::string, std::string>;
using ShardMap = std::map<std::string, std::shared_ptr<const File>>;

Result<std::string> readWholeFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return makeError(path + ": cannot open: " + errnoText(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad())
    return makeError(path + ": cannot read: " + errnoText(errno));
  return contents.str();
}

/// A shard must sit in the checkpoint directory: the index may not point
/// elsewhere on disk.
bool isPlainFileName(const std::string &name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == std::string::npos;
}

/// The index's weight_map: tensor name → shard file name.
Result<WeightMap> readWeightMap(const std::string &indexPath) {
  Result<std::string> text = readWholeFile(indexPath);
  if (!text)
    return makeError(text.error());
  Result<Json> root = parseJsonNoDuplicates(*text);
  if (!root)
    return makeError(indexPath + ": " + root.error());
  auto mapIt = root->is_object() ? root->find("weight_map") : root->end();
  if (!root->is_object() || mapIt == root->end() || !mapIt->is_object())
    return makeError(indexPath + ": expected an object with a \"weight_map\" object");
  WeightMap weights;
  for (const auto &[tensor, shard] : mapIt->items()) {
    if (!shard.is_string() || !isPlainFileName(shard.get<std::string>()))
      return makeError(indexPath + ": weight_map entry " + singleQuoted(tensor) +
                       " must be a shard file name in the same directory, found " +
                       excerpt(shard));
    weights[tensor] = shard.get<std::string>();
  }
  return weights;
}

Result<ShardMap> openShards(const std::string &indexPath, const fs::path &dir,
                            const WeightMap &weights) {
  ShardMap shards;
  for (const auto &entry : weights) {
    const std::string &shardName = entry.second;
    if (shards.count(shardName))
      continue;
    fs::path shardPath = dir / shardName;
    std::error_code ec;
    if (!fs::exists(shardPath, ec))
      return makeError(indexPath + ": names shard " + singleQuoted(shardName) +
                       ", which does not exist (" + shardPath.string() + ")");
    Result<std::shared_ptr<const File>> file = File::open(shardPath.string());
    if (!file)
      return makeError(file.error());
    shards[shardName] = file.take();
  }
  return shards;
}

/// The index and the shards must agree exactly, in both directions.
Status checkShardsMatchIndex(const std::string &indexPath, const WeightMap &weights,
                             const ShardMap &shards) {
  for (const auto &[tensor, shardName] : weights)
    if (!shards.at(shardName)->find(tensor))
      return makeError(indexPath + ": places tensor " + singleQuoted(tensor) + " in shard " +
                       singleQuoted(shardName) + ", which does not contain it");
  for (const auto &[shardName, file] : shards) {
    for (const TensorInfo &info : file->tensors()) {
      auto it = weights.find(info.name);
      if (it == weights.end())
        return makeError(indexPath + ": shard " + singleQuoted(shardName) + " contains tensor " +
                         singleQuoted(info.name) + ", which the index does not list");
      if (it->second != shardName)
        return makeError(indexPath + ": tensor " + singleQuoted(info.name) + " is in shard " +
                         singleQuoted(shardName) + " as well as in shard " +
                         singleQuoted(it->second) + " where the index places it");
    }
  }
  return Status::success();
}

Result<std::vector<std::shared_ptr<const File>>> openSharded(const fs::path &dir) {
  std::string indexPath = (dir / kIndexName).string();
  Result<WeightMap> weights = readWeightMap(indexPath);
  if (!weights)
    return makeError(weights.error());
  Result<ShardMap> shards = openShards(indexPath, dir, *weights);
  if (!shards)
    return makeError(shards.error());
  if (Status status = checkShardsMatchIndex(indexPath, *weights, *shards); !status)
    return makeError(status.error());
  std::vector<std::shared_ptr<const File>> files;
  for (auto &entry : *shards)
    files.push_back(entry.second);
  return files;
}

Result<std::vector<std::shared_ptr<const File>>> openCheckpointFiles(const std::string &dir) {
  fs::path root(dir);
  std::error_code ec;
  if (fs::exists(root / kIndexName, ec))
    return openSharded(root);
  if (fs::exists(root / kSingleName, ec)) {
    Result<std::shared_ptr<const File>> file = File::open((root / kSingleName).string());
    if (!file)
      return makeError(file.error());
    return std::vector<std::shared_ptr<const File>>{file.take()};
  }
  return makeError(dir + ": no checkpoint: neither " + kIndexName + " nor " + kSingleName +
                   " exists in this directory");
}

} // namespace

Result<Checkpoint> Checkpoint::open(const std::string &dir) {
  return guarded<Result<Checkpoint>>(dir, [&]() -> Result<Checkpoint> {
    Result<std::vector<std::shared_ptr<const File>>> files = openCheckpointFiles(dir);
    if (!files)
      return makeError(files.error());
    Checkpoint checkpoint;
    checkpoint.files_ = files.take();
    // Shards were checked to be disjoint, so every name is inserted once.
    for (const std::shared_ptr<const File> &file : checkpoint.files_)
      for (const TensorInfo &info : file->tensors())
        checkpoint.index_.emplace(info.name, TensorRef{&info, file});
    return checkpoint;
  });
}

std::optional<TensorRef> Checkpoint::find(std::string_view name) const {
  auto it = index_.find(name);
  if (it == index_.end())
    return std::nullopt;
  return it->second;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> names;
  names.reserve(index_.size());
  for (const auto &entry : index_)
    names.push_back(entry.first);
  return names;
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

void Writer::setMetadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

Status Writer::add(std::string name, DType dtype, std::vector<uint64_t> shape,
                   const void *bytes, uint64_t byteSize) {
  return guarded<Status>("safetensors writer", [&]() -> Status {
    std::string prefix = "safetensors writer: tensor " + singleQuoted(name) + ": ";
    if (name == kMetadataKey)
      return makeError(prefix + "the name is reserved for metadata");
    if (std::any_of(entries_.begin(), entries_.end(),
                    [&](const Entry &e) { return e.name == name; }))
      return makeError(prefix + "added twice");
    Result<uint64_t> expected = denseBytes(dtype, shape);
    if (!expected)
      return makeError(prefix + expected.error());
    if (byteSize != *expected)
      return makeError(prefix + "got " + std::to_string(byteSize) + " bytes, but " +
                       std::string(dtypeName(dtype)) + " " + formatShape(shape) +
                       " needs " + std::to_string(*expected));
    if (byteSize != 0 && !bytes)
      return makeError(prefix + "null data");
    std::string copy = byteSize ? std::string(static_cast<const char *>(bytes), byteSize)
                                : std::string();
    entries_.push_back(Entry{std::move(name), dtype, std::move(shape), std::move(copy)});
    return Status::success();
  });
}

Result<std::string> Writer::serialize() const {
  return guarded<Result<std::string>>("safetensors writer", [&]() -> Result<std::string> {
    // Widest elements first keeps every tensor aligned when the data buffer
    // starts 8-aligned; ties are broken by name for a deterministic file.
    std::vector<const Entry *> order;
    for (const Entry &entry : entries_)
      order.push_back(&entry);
    std::sort(order.begin(), order.end(), [](const Entry *a, const Entry *b) {
      unsigned bitsA = dtypeBits(a->dtype), bitsB = dtypeBits(b->dtype);
      return bitsA != bitsB ? bitsA > bitsB : a->name < b->name;
    });

    OrderedJson header = OrderedJson::object();
    if (!metadata_.empty())
      header[kMetadataKey] = metadata_;
    uint64_t offset = 0;
    for (const Entry *entry : order) {
      OrderedJson info = OrderedJson::object();
      info["dtype"] = std::string(dtypeName(entry->dtype));
      info["shape"] = entry->shape;
      info["data_offsets"] = {offset, offset + entry->bytes.size()};
      header[entry->name] = std::move(info);
      offset += entry->bytes.size();
    }

    std::string text = header.dump();
    text.append((8 - (kLengthPrefix + text.size()) % 8) % 8, ' ');
    if (text.size() > kMaxHeaderSize)
      return makeError("safetensors writer: header of " + std::to_string(text.size()) +
                       " bytes exceeds the limit of " + std::to_string(kMaxHeaderSize));
    std::string out = littleEndian64(text.size()) + text;
    out.reserve(out.size() + offset);
    for (const Entry *entry : order)
      out += entry->bytes;
    return out;
  });
}

Status Writer::write(const std::string &path) const {
  Result<std::string> bytes = serialize();
  if (!bytes)
    return makeError(path + ": " + bytes.error());
  return writeFileAtomically(path, *bytes);
}

//===----------------------------------------------------------------------===//
// Atomic file writes
//===----------------------------------------------------------------------===//

namespace {

Error ioError(const std::string &path, const char *what, int error) {
  return makeError(path + ": " + what + ": " + errnoText(error));
}

/// Writes all of `contents` to `fd`.
Status writeAll(int fd, std::string_view contents, const std::string &path) {
  const char *cursor = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t n = ::write(fd, cursor, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return ioError(path, "cannot write", errno);
    cursor += n;
    left -= static_cast<size_t>(n);
  }
  return Status::success();
}

/// Makes the rename durable; failure here does not undo the write.
void syncDirectory(const fs::path &dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

/// The temporary files of `target` are ".<name>.tmp-<pid>-XXXXXX" beside it:
/// hidden, named after the file they become and the process writing them.
std::string temporaryPrefix(const fs::path &target) {
  return "." + target.filename().string() + ".tmp-";
}

/// Removes the temporary files of `target` in `dir` whose writer no longer
/// runs: a process killed by SIGKILL (or a machine that lost power) had no
/// chance to remove its own. A live writer's file is left alone. (The pid is
/// this host's: on a directory shared by several hosts, a concurrent writer
/// of the same path on another host may lose its temporary file, and then
/// fails to rename it, leaving `target` intact.)
void removeStaleTemporaries(const fs::path &dir, const fs::path &target) {
  const std::string prefix = temporaryPrefix(target);
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0)
      continue;
    // "<pid>-XXXXXX": anything else is not one of ours.
    std::string rest = name.substr(prefix.size());
    size_t dash = rest.find('-');
    if (dash == 0 || dash == std::string::npos || dash > 9 || rest.size() != dash + 7 ||
        !std::all_of(rest.begin(), rest.begin() + dash,
                     [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    pid_t pid = static_cast<pid_t>(std::stol(rest.substr(0, dash)));
    std::error_code statusError;
    if (pid <= 0 || !fs::is_regular_file(fs::symlink_status(it->path(), statusError)))
      continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH)
      continue; // running (or not ours to signal): maybe still writing
    std::error_code removeError;
    fs::remove(it->path(), removeError);
  }
}

} // namespace

Status writeFileAtomically(const std::string &path,
                           const std::function<Status(int fd)> &write) {
  return guarded<Status>(path, [&]() -> Status {
    fs::path target(path);
    fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    removeStaleTemporaries(dir, target);
    // Same directory as the target, so that rename() is atomic.
    std::string pattern =
        (dir / (temporaryPrefix(target) + std::to_string(::getpid()) + "-XXXXXX")).string();
    std::vector<char> tempName(pattern.begin(), pattern.end());
    tempName.push_back('\0');
    int fd = ::mkstemp(tempName.data());
    if (fd < 0)
      return ioError(path, "cannot create a temporary file", errno);

    Status status = Status::success();
    try {
      status = write(fd);
    } catch (...) {
      ::close(fd);
      ::unlink(tempName.data());
      throw; // guarded() reports it
    }
    // mkstemp creates the file 0600; a checkpoint or artifact should be
    // readable like any file the user creates.
    if (status && ::fchmod(fd, 0644) != 0)
      status = ioError(path, "cannot set permissions", errno);
    if (status && ::fsync(fd) != 0)
      status = ioError(path, "cannot sync", errno);
    if (::close(fd) != 0 && status)
      status = ioError(path, "cannot close", errno);
    if (status && ::rename(tempName.data(), path.c_str()) != 0)
      status = ioError(path, "cannot rename the temporary file over it", errno);
    if (!status) {
      ::unlink(tempName.data());
      return status;
    }
    syncDirectory(dir);
    return Status::success();
  });
}

Status writeFileAtomically(const std::string &path, std::string_view contents) {
  return writeFileAtomically(path, [&](int fd) { return writeAll(fd, contents, path); });
}

} // namespace quamba::safetensors
