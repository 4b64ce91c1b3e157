//===- SafetensorsFuzzer.cpp - fuzz the safetensors reader ----------------===//
//
// Feeds the bytes to safetensors::File::fromBuffer (the validation File::open
// runs on a mapped file). A rejected file is fine; an accepted one must keep
// the reader's promises, checked here: every tensor's bytes lie inside the
// file and match its dtype and shape, and the Writer reproduces a file the
// reader accepts again with the same tensors.
//
//===----------------------------------------------------------------------===//
#include "runtime/Safetensors.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

using namespace quamba;
using namespace quamba::safetensors;

namespace {

[[noreturn]] void violated(const char *what, const std::string &tensor) {
  std::fprintf(stderr, "safetensors fuzzer: accepted file breaks '%s' (tensor '%s')\n", what,
               tensor.c_str());
  std::abort();
}

/// numel × bits / 8 rounded up, or nullopt on overflow.
std::optional<uint64_t> expectedBytes(const TensorInfo &info) {
  for (uint64_t dim : info.shape)
    if (dim == 0)
      return 0;
  uint64_t numel = 1;
  for (uint64_t dim : info.shape)
    if (__builtin_mul_overflow(numel, dim, &numel))
      return std::nullopt;
  uint64_t bits;
  if (__builtin_mul_overflow(numel, uint64_t(dtypeBits(info.dtype)), &bits))
    return std::nullopt;
  return bits / 8 + (bits % 8 != 0);
}

void checkAccepted(const File &file) {
  std::string previousName;
  Writer writer;
  for (const TensorInfo &info : file.tensors()) {
    if (!previousName.empty() && !(previousName < info.name))
      violated("tensors sorted by unique name", info.name);
    previousName = info.name;
    if (file.find(info.name) != &info)
      violated("find returns the tensor", info.name);
    std::optional<uint64_t> bytes = expectedBytes(info);
    if (!bytes || *bytes != info.byteSize())
      violated("byte size = numel x element size", info.name);
    if (info.begin > info.end || info.end > file.fileSize())
      violated("offsets inside the file", info.name);
    const uint8_t *data = file.data(info);
    // Read the first and last byte: ASan reports a tensor outside the image.
    if (info.byteSize() > 0) {
      volatile uint8_t edges = data[0] ^ data[info.byteSize() - 1];
      (void)edges;
    }
    (void)file.isAligned(info);
    if (!writer.add(info.name, info.dtype, info.shape, data, info.byteSize()).ok())
      violated("the writer takes every accepted tensor", info.name);
  }
  for (const auto &[key, value] : file.metadata())
    writer.setMetadata(key, value);
  Result<std::string> image = writer.serialize();
  if (!image)
    violated("the writer serializes every accepted file", image.error());
  Result<std::shared_ptr<const File>> again = File::fromBuffer(image.take(), "rewritten");
  if (!again)
    violated("the reader accepts what the writer wrote", again.error());
  if ((*again)->tensors().size() != file.tensors().size() ||
      (*again)->metadata() != file.metadata())
    violated("a rewrite keeps every tensor and the metadata", "");
  for (const TensorInfo &info : file.tensors()) {
    const TensorInfo *copy = (*again)->find(info.name);
    if (!copy || copy->dtype != info.dtype || copy->shape != info.shape ||
        std::memcmp((*again)->data(*copy), file.data(info), info.byteSize()) != 0)
      violated("a rewrite keeps every tensor's bytes", info.name);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Result<std::shared_ptr<const File>> file =
      File::fromBuffer(std::string(reinterpret_cast<const char *>(data), size), "fuzz.safetensors");
  if (file)
    checkAccepted(**file);
  return 0;
}
