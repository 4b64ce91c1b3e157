//===- CheckpointSchema.cpp - the tensors a model config implies ----------===//
#include "dialect/Mamba/Import/CheckpointSchema.h"

namespace mlir::mamba {

std::string canonicalTensorName(const std::string &name) {
  static const std::string singular = "backbone.embedding.";
  if (name.rfind(singular, 0) == 0)
    return "backbone.embeddings." + name.substr(singular.size());
  return name;
}

std::string layerTensorName(int64_t layer, const char *suffix) {
  return "backbone.layers." + std::to_string(layer) + "." + suffix;
}

std::vector<ExpectedTensor> expectedTensors(const quamba::ModelConfig &c) {
  using quamba::Arch;
  const int64_t d = c.dModel, e = c.dInner, n = c.dState, k = c.dConv;
  const int64_t convDim = c.convDim(), inRows = c.inProjRows();
  std::vector<ExpectedTensor> out;
  auto add = [&](std::string name, std::vector<int64_t> shape, std::string why,
                 bool upcast = false) {
    out.push_back({std::move(name), std::move(shape), std::move(why), upcast});
  };
  const std::string inRowsWhy =
      c.arch == Arch::Mamba1
          ? "2 * d_inner"
          : "2 * d_inner + 2 * ngroups * d_state + nheads";
  const std::string convWhy =
      c.arch == Arch::Mamba1 ? "d_inner" : "d_inner + 2 * ngroups * d_state";

  add("backbone.embeddings.weight", {c.vocabSize, d}, "[vocab_size, d_model]");
  for (int64_t l = 0; l < c.nLayer; ++l) {
    auto name = [&](const char *suffix) { return layerTensorName(l, suffix); };
    add(name("norm.weight"), {d}, "[d_model]");
    add(name("mixer.in_proj.weight"), {inRows, d}, "[" + inRowsWhy + ", d_model]");
    if (c.useBias)
      add(name("mixer.in_proj.bias"), {inRows}, "[" + inRowsWhy + "]");
    add(name("mixer.conv1d.weight"), {convDim, 1, k}, "[" + convWhy + ", 1, d_conv]");
    if (c.useConvBias)
      add(name("mixer.conv1d.bias"), {convDim}, "[" + convWhy + "]");
    if (c.arch == Arch::Mamba1) {
      const int64_t r = c.dtRank;
      add(name("mixer.x_proj.weight"), {r + 2 * n, e}, "[dt_rank + 2 * d_state, d_inner]");
      add(name("mixer.dt_proj.weight"), {e, r}, "[d_inner, dt_rank]");
      add(name("mixer.dt_proj.bias"), {e}, "[d_inner]", /*upcast=*/true);
      add(name("mixer.A_log"), {e, n}, "[d_inner, d_state]", /*upcast=*/true);
      add(name("mixer.D"), {e}, "[d_inner]", /*upcast=*/true);
    } else {
      const int64_t h = c.nheads;
      add(name("mixer.dt_bias"), {h}, "[nheads]", /*upcast=*/true);
      add(name("mixer.A_log"), {h}, "[nheads]", /*upcast=*/true);
      if (c.dHasHdim)
        add(name("mixer.D"), {e}, "[d_inner] (D_has_hdim)", /*upcast=*/true);
      else
        add(name("mixer.D"), {h}, "[nheads]", /*upcast=*/true);
      add(name("mixer.norm.weight"), {e}, "[d_inner]");
    }
    add(name("mixer.out_proj.weight"), {d, e}, "[d_model, d_inner]");
    if (c.useBias)
      add(name("mixer.out_proj.bias"), {d}, "[d_model]");
  }
  add("backbone.norm_f.weight", {d}, "[d_model]");
  if (!c.tieEmbeddings)
    add("lm_head.weight", {c.vocabSize, d}, "[vocab_size, d_model]");
  return out;
}

} // namespace mlir::mamba
