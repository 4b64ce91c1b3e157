//===- ModelConfig.h - Mamba1/Mamba2 model configuration -------*- C++ -*-===//
//
// Parses a checkpoint's config.json into one normalized description, for the
// two on-disk conventions (shared/reference/formats.md §3.1, §3.2):
//   - Hugging Face transformers: model_type "mamba" (MambaForCausalLM) or
//     "mamba2" (Mamba2ForCausalLM);
//   - state-spaces mamba_ssm: the MambaConfig dataclass with `ssm_cfg`.
// A configuration quamba does not support (attention layers, an MLP,
// norm_before_gate = true, ...) is an error, never a silently different model.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Status.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace quamba {

enum class Arch { Mamba1, Mamba2 };
enum class CheckpointFormat { HuggingFace, StateSpaces };

std::string_view archName(Arch arch); // "mamba1" / "mamba2"

struct ModelConfig {
  Arch arch = Arch::Mamba2;
  CheckpointFormat format = CheckpointFormat::HuggingFace;

  int64_t dModel = 0;     // hidden_size / d_model
  int64_t nLayer = 0;
  int64_t vocabSize = 0;  // rows of the embedding (padded, as stored)
  int64_t dState = 0;     // N
  int64_t dConv = 0;      // K
  int64_t expand = 0;
  int64_t dInner = 0;     // E = expand * dModel (HF Mamba1 writes it out)
  double normEps = 1e-5;
  bool tieEmbeddings = true;
  bool useBias = false;     // in_proj / out_proj bias
  bool useConvBias = true;

  // Mamba1 only.
  int64_t dtRank = 0;

  // Mamba2 only.
  int64_t headdim = 0;      // P
  int64_t nheads = 0;       // H = dInner / headdim
  int64_t ngroups = 0;      // G
  int64_t chunkSize = 0;
  double dtLimitMin = 0.0;  // time_step_limit / dt_limit; max may be +inf
  double dtLimitMax = 0.0;  // set to +infinity by the parser when absent
  bool dHasHdim = false;    // D is [dInner] instead of [nheads]

  /// Channels the depthwise conv runs over: E (Mamba1) or E + 2GN (Mamba2).
  int64_t convDim() const;
  /// Rows of in_proj.weight: 2E (Mamba1) or 2E + 2GN + H (Mamba2).
  int64_t inProjRows() const;
};

/// Parses config.json text. `source` names the file in error messages.
/// Accepts the three spellings of an infinite time_step_limit:
/// {"__float__": "Infinity"}, the bare (invalid JSON) `Infinity`, and
/// the string "Infinity" (likewise -Infinity and NaN).
Result<ModelConfig> parseModelConfig(std::string_view json,
                                     const std::string &source);
/// Reads and parses `path`.
Result<ModelConfig> loadModelConfig(const std::string &path);

} // namespace quamba
