//===- ArtifactFuzzer.cpp - fuzz the model.qmb reader ---------------------===//
//
// Feeds the bytes to plan::Artifact::fromBuffer, the validation that
// Artifact::open runs on a model.qmb: safetensors framing, format marker and
// version, plan, weights against their plan buffers, kernels' PTX. A rejected
// file is fine; for an accepted one the accessors a session uses must stay
// inside the file: every weight's bytes, as many as its plan buffer needs,
// and every launch's PTX.
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/Artifact.h"

#include <cstdio>
#include <cstdlib>

using namespace quamba;
using namespace quamba::plan;

namespace {

[[noreturn]] void violated(const char *what, const std::string &name) {
  std::fprintf(stderr, "model.qmb fuzzer: accepted artifact breaks '%s' (%s)\n", what,
               name.c_str());
  std::abort();
}

/// Reads the first and last byte: ASan reports a range outside the image.
void touch(const uint8_t *data, uint64_t size) {
  if (size == 0)
    return;
  volatile uint8_t edges = data[0] ^ data[size - 1];
  (void)edges;
}

void checkAccepted(const Artifact &artifact) {
  const Plan &plan = artifact.plan();
  if (artifact.vocabSize() <= 0)
    violated("a positive vocabulary", "");
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    const Buffer &buffer = plan.buffers[i];
    const uint8_t *data = artifact.weightData(static_cast<int>(i));
    if (buffer.kind != BufferKind::Weight || !artifact.hasWeights()) {
      if (data)
        violated("only stored weights have data", buffer.name);
      continue;
    }
    if (!data)
      violated("every weight buffer has its tensor", buffer.name);
    uint64_t elementSize = artifact.weightIsBf16(static_cast<int>(i)) ? 2 : dtypeSize(buffer.dtype);
    touch(data, static_cast<uint64_t>(buffer.numel(1, 1)) * elementSize);
  }
  for (const EntryPoint &entry : plan.entries)
    for (const Launch &launch : entry.launches) {
      std::string_view ptx = artifact.ptx(launch.kernel);
      if (ptx.empty())
        violated("every launch has PTX", launch.kernel);
      touch(reinterpret_cast<const uint8_t *>(ptx.data()), ptx.size());
      std::string_view cubin = artifact.cubin(launch.kernel);
      touch(reinterpret_cast<const uint8_t *>(cubin.data()), cubin.size());
    }
  (void)artifact.checkDevice(9, 0);
  (void)artifact.checkDevice(8, 6);
  (void)artifact.metadata("model_config");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Result<std::shared_ptr<const Artifact>> artifact =
      Artifact::fromBuffer(std::string(reinterpret_cast<const char *>(data), size), "fuzz.qmb");
  if (artifact)
    checkAccepted(**artifact);
  return 0;
}
