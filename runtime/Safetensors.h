//===- Safetensors.h - safetensors reader and writer -----------*- C++ -*-===//
//
// The whole safetensors format (shared/reference/formats.md §3.4): every
// dtype, the 100 MB header limit, offsets that must tile the data buffer
// exactly, 0-d and empty tensors, `__metadata__`. Files are memory-mapped for
// reading; sharded checkpoints are read through model.safetensors.index.json.
// The writer is atomic (temporary file, then rename).
//
// MLIR-free: the runtime and the compiler share this one parser.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Status.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quamba::safetensors {

enum class DType : uint8_t {
  BOOL, U8, I8, I16, U16, I32, U32, I64, U64,
  F16, BF16, F32, F64,
  F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ,
  F4, F6_E2M3, F6_E3M2,
  C64,
};

/// The name the format uses ("F32", "BF16", "F8_E4M3", ...).
std::string_view dtypeName(DType dtype);
/// Inverse of dtypeName; nullopt for an unknown name.
std::optional<DType> parseDType(std::string_view name);
/// Size of one element in bits (4 for F4, 6 for the F6 types, 64 for C64).
unsigned dtypeBits(DType dtype);

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<uint64_t> shape; // empty for a 0-d tensor
  uint64_t begin = 0;          // offsets into the data buffer, end exclusive
  uint64_t end = 0;

  uint64_t numel() const;      // 1 for a 0-d tensor, 0 if any dim is 0
  uint64_t byteSize() const { return end - begin; }
};

/// The NaN and infinite elements of a float tensor.
struct NonFinite {
  uint64_t first = 0; ///< flat (row-major) index of the first one
  uint64_t count = 0; ///< how many the tensor holds
  double value = 0;   ///< the first one: NaN, +inf or -inf
};
/// Scans the `info.numel()` elements at `data` (any alignment) for NaN and
/// infinities. nullopt when there are none, or when the dtype is not F16,
/// BF16, F32 or F64.
std::optional<NonFinite> findNonFinite(const TensorInfo &info, const uint8_t *data);

/// One memory-mapped, fully validated safetensors file.
class File {
public:
  /// Maps and validates `path`. Every violation of the format is an error
  /// naming the file and, where there is one, the tensor.
  static Result<std::shared_ptr<const File>> open(const std::string &path);
  /// Validates an in-memory image (same rules as open; the bytes are copied).
  static Result<std::shared_ptr<const File>> fromBuffer(std::string bytes,
                                                        std::string name);

  ~File();
  File(const File &) = delete;
  File &operator=(const File &) = delete;

  const std::string &path() const { return path_; }
  /// Tensors sorted by name.
  const std::vector<TensorInfo> &tensors() const { return tensors_; }
  const TensorInfo *find(std::string_view name) const;
  const std::map<std::string, std::string> &metadata() const { return metadata_; }

  /// The tensor's bytes, pointing into the mapping (valid while the File is).
  const uint8_t *data(const TensorInfo &info) const;
  /// Whether data(info) is aligned for its element type, so that it can be
  /// used in place (MLX writes unpadded headers; others may too).
  bool isAligned(const TensorInfo &info) const;
  /// Size of the whole file in bytes.
  uint64_t fileSize() const { return size_; }

private:
  File() = default;
  std::string path_;
  const uint8_t *base_ = nullptr; // start of the file image
  uint64_t size_ = 0;
  uint64_t dataStart_ = 0;        // 8 + header length
  bool mapped_ = false;           // base_ is an mmap (else owned_ holds it)
  std::string owned_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;

  friend class FileParser;
};

/// A tensor of a checkpoint, with the file that holds it.
struct TensorRef {
  const TensorInfo *info = nullptr;
  std::shared_ptr<const File> file;
  const uint8_t *data() const { return file->data(*info); }
};

/// A checkpoint's weights: one model.safetensors, or the shards listed by
/// model.safetensors.index.json.
class Checkpoint {
public:
  /// `dir` holds model.safetensors.index.json (preferred when present) or
  /// model.safetensors. Validates every shard; a tensor listed in the index
  /// must be in the file the index names, and appear in no other shard.
  static Result<Checkpoint> open(const std::string &dir);

  std::optional<TensorRef> find(std::string_view name) const;
  /// All tensor names, sorted.
  std::vector<std::string> names() const;
  const std::vector<std::shared_ptr<const File>> &files() const { return files_; }

private:
  std::vector<std::shared_ptr<const File>> files_;
  std::map<std::string, TensorRef, std::less<>> index_;
};

/// Builds a safetensors file: tensors sorted by dtype alignment (largest
/// first), then by name, as the reference writer does; header padded with
/// spaces so the data starts at an 8-byte boundary.
class Writer {
public:
  void setMetadata(std::string key, std::string value);
  /// Copies `bytes`; its size must equal numel × element size.
  Status add(std::string name, DType dtype, std::vector<uint64_t> shape,
             const void *bytes, uint64_t byteSize);
  /// The serialized file.
  Result<std::string> serialize() const;
  /// Writes to a temporary file beside `path`, then renames it over `path`:
  /// a reader never sees a half-written file.
  Status write(const std::string &path) const;

private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<uint64_t> shape;
    std::string bytes;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

/// Writes `path` atomically: `write` fills a temporary file beside it
/// (".<name>.tmp-<pid>-XXXXXX", given as a file descriptor), which is then
/// synced and renamed over `path`. A writer that fails, or is killed at any
/// point, leaves `path` as it was (absent, or the previous file): it holds
/// either nothing or the complete new file. A killed writer cannot remove
/// its temporary file; the next write of the same path removes every one
/// whose process no longer runs. Shared by every writer of the project.
Status writeFileAtomically(const std::string &path,
                           const std::function<Status(int fd)> &write);
/// The same with the whole contents in memory.
Status writeFileAtomically(const std::string &path, std::string_view contents);

} // namespace quamba::safetensors
