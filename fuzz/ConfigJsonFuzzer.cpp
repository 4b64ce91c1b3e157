//===- ConfigJsonFuzzer.cpp - fuzz config.json parsing --------------------===//
//
// Feeds the bytes to parseModelConfig as config.json text (both conventions,
// the bare Infinity/NaN tokens included). A rejected file is fine; an
// accepted one must describe a model the importer can size: positive sizes,
// and for Mamba2 heads that tile d_inner and groups that divide the heads.
// The derived row counts are computed so that UBSan sees any overflow.
//
//===----------------------------------------------------------------------===//
#include "runtime/ModelConfig.h"

#include <cstdio>
#include <cstdlib>

using namespace quamba;

namespace {

[[noreturn]] void violated(const char *what) {
  std::fprintf(stderr, "config.json fuzzer: accepted config breaks '%s'\n", what);
  std::abort();
}

void checkAccepted(const ModelConfig &c) {
  if (c.dModel <= 0 || c.nLayer <= 0 || c.vocabSize <= 0 || c.dState <= 0 || c.dConv <= 0 ||
      c.dInner <= 0)
    violated("every size is positive");
  if (c.arch == Arch::Mamba1 && c.dtRank <= 0)
    violated("Mamba1 has a positive dt_rank");
  if (c.arch == Arch::Mamba2) {
    if (c.headdim <= 0 || c.ngroups <= 0 || c.nheads <= 0 || c.chunkSize <= 0)
      violated("Mamba2 head sizes are positive");
    if (c.nheads * c.headdim != c.dInner)
      violated("heads tile d_inner");
    if (c.nheads % c.ngroups != 0)
      violated("groups divide the heads");
  }
  if (c.convDim() <= 0 || c.inProjRows() <= 0)
    violated("derived row counts are positive");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Result<ModelConfig> config = parseModelConfig(
      std::string_view(reinterpret_cast<const char *>(data), size), "fuzz/config.json");
  if (config)
    checkAccepted(*config);
  return 0;
}
