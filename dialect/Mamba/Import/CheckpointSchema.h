//===- CheckpointSchema.h - the tensors a model config implies -*- C++ -*-===//
//
// Which tensors a Mamba1 / Mamba2 checkpoint must hold for its config.json,
// with their shapes, in the canonical (Hugging Face) naming. The importer
// checks a checkpoint against this list, so a file that contradicts its
// config is an error naming the tensor, never a silently different model.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/ModelConfig.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::mamba {

struct ExpectedTensor {
  std::string name;           // canonical name, e.g. backbone.layers.0.mixer.D
  std::vector<int64_t> shape; // as stored in the checkpoint
  std::string why;            // the config relation behind the shape
  bool upcastToF32 = false;   // A_log, D, dt_bias: fp32 as mamba_ssm keeps them
};

/// Every tensor `config` implies, in model order. A tied lm_head is absent.
std::vector<ExpectedTensor> expectedTensors(const quamba::ModelConfig &config);

/// The canonical name of a checkpoint tensor: mamba_ssm's
/// `backbone.embedding.` becomes `backbone.embeddings.` (the rename
/// transformers' load hook does); every other name is kept.
std::string canonicalTensorName(const std::string &name);

/// Canonical names of layer `layer`'s tensors, shared by the schema and the IR
/// builder so the two cannot drift apart.
std::string layerTensorName(int64_t layer, const char *suffix);

} // namespace mlir::mamba
