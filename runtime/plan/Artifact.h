//===- Artifact.h - read and validate model.qmb ----------------*- C++ -*-===//
//
// The runtime's view of a compiled model (codegen/ArtifactWriter.h writes
// it). Opening validates everything before anything runs: the safetensors
// container (a truncated or corrupted file fails there, naming the file),
// the format marker and version, the plan, every weight tensor's dtype and
// size against its plan buffer, and every kernel's PTX.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Safetensors.h"
#include "runtime/plan/Plan.h"

#include <memory>
#include <string>

namespace quamba::plan {

inline constexpr const char *kArtifactFormat = "quamba-qmb";
inline constexpr int kArtifactVersion = 1;
inline constexpr const char *kWeightPrefix = "weights/";
inline constexpr const char *kKernelPrefix = "kernels/";
/// Metadata key and value of a model.qmb written without its weights
/// (quamba-compile --no-weights): sessions run it on random weights.
inline constexpr const char *kWeightsKey = "weights";
inline constexpr const char *kRandomWeights = "random";

class Artifact {
public:
  static Result<std::shared_ptr<const Artifact>> open(const std::string &path);
  /// As open, from an in-memory image of the file (copied); `name` stands
  /// for the path in messages.
  static Result<std::shared_ptr<const Artifact>> fromBuffer(std::string bytes,
                                                            std::string name);

  const std::string &path() const { return file_->path(); }
  const Plan &plan() const { return plan_; }
  int64_t vocabSize() const { return vocabSize_; }
  /// tokenizer.json text; empty for the byte-level tokenizer.
  const std::string &tokenizerJson() const { return tokenizer_; }
  const std::string &metadata(const std::string &key) const;

  /// The stored bytes of weight buffer `index` (a Weight buffer of the
  /// plan): its dtype's, or bf16 for an f32 buffer when weightIsBf16.
  /// Null when !hasWeights().
  const uint8_t *weightData(int index) const;
  /// False for an artifact written without weights (speed measurements).
  bool hasWeights() const { return hasWeights_; }
  bool weightIsBf16(int index) const;
  /// A kernel's PTX / cubin (empty string_view when absent).
  std::string_view ptx(const std::string &kernel) const;
  std::string_view cubin(const std::string &kernel) const;

  /// Whether the artifact can run on a GPU of compute capability
  /// major.minor; an error explains why not (built for another
  /// architecture).
  Status checkDevice(int major, int minor) const;

private:
  /// The validation shared by open and fromBuffer.
  static Result<std::shared_ptr<const Artifact>>
  fromFile(std::shared_ptr<const safetensors::File> file);
  std::string_view bytes(const std::string &tensor) const;
  std::shared_ptr<const safetensors::File> file_;
  Plan plan_;
  int64_t vocabSize_ = 0;
  std::string tokenizer_;
  bool hasWeights_ = true;
  std::vector<const safetensors::TensorInfo *> weights_; // by buffer index
};

} // namespace quamba::plan
