//===- Artifact.cpp - read and validate model.qmb -------------------------===//
#include "runtime/plan/Artifact.h"

namespace quamba::plan {

const std::string &Artifact::metadata(const std::string &key) const {
  static const std::string empty;
  auto it = file_->metadata().find(key);
  return it == file_->metadata().end() ? empty : it->second;
}

std::string_view Artifact::bytes(const std::string &tensor) const {
  const safetensors::TensorInfo *info = file_->find(tensor);
  if (!info)
    return {};
  return {reinterpret_cast<const char *>(file_->data(*info)), info->byteSize()};
}

const uint8_t *Artifact::weightData(int index) const {
  return weights_[index] ? file_->data(*weights_[index]) : nullptr;
}

bool Artifact::weightIsBf16(int index) const {
  return weights_[index] && weights_[index]->dtype == safetensors::DType::BF16;
}

std::string_view Artifact::ptx(const std::string &kernel) const {
  return bytes(kKernelPrefix + kernel + ".ptx");
}

std::string_view Artifact::cubin(const std::string &kernel) const {
  return bytes(kKernelPrefix + kernel + ".cubin");
}

Result<std::shared_ptr<const Artifact>> Artifact::open(const std::string &path) {
  Result<std::shared_ptr<const safetensors::File>> file = safetensors::File::open(path);
  if (!file)
    return makeError(file.error());
  return fromFile(file.take());
}

Result<std::shared_ptr<const Artifact>> Artifact::fromBuffer(std::string bytes,
                                                             std::string name) {
  Result<std::shared_ptr<const safetensors::File>> file =
      safetensors::File::fromBuffer(std::move(bytes), std::move(name));
  if (!file)
    return makeError(file.error());
  return fromFile(file.take());
}

Result<std::shared_ptr<const Artifact>>
Artifact::fromFile(std::shared_ptr<const safetensors::File> file) {
  const std::string &path = file->path();
  auto artifact = std::make_shared<Artifact>();
  artifact->file_ = std::move(file);
  auto fail = [&](const std::string &what) { return makeError(path + ": " + what); };
  const auto &meta = artifact->file_->metadata();
  auto get = [&](const char *key) -> const std::string * {
    auto it = meta.find(key);
    return it == meta.end() ? nullptr : &it->second;
  };
  const std::string *format = get("format");
  if (!format || *format != kArtifactFormat)
    return fail("not a quamba model.qmb (safetensors metadata has no format = \"" +
                std::string(kArtifactFormat) +
                "\"); make one with quamba-compile ... -o model.qmb");
  const std::string *version = get("qmb_version");
  if (!version || *version != std::to_string(kArtifactVersion))
    return fail("model.qmb version " + (version ? *version : std::string("(missing)")) +
                ", this runtime reads version " + std::to_string(kArtifactVersion) +
                "; recompile the model with this quamba-compile");
  const std::string *planJson = get("plan");
  if (!planJson)
    return fail("no launch plan in the metadata");
  Result<Plan> plan = Plan::fromJson(*planJson, path);
  if (!plan)
    return makeError(plan.error());
  artifact->plan_ = plan.take();
  const std::string *target = get("target");
  if (!target || *target != artifact->plan_.target)
    return fail("metadata target and plan target disagree");
  const std::string *vocab = get("vocab_size");
  try {
    artifact->vocabSize_ = vocab ? std::stoll(*vocab) : 0;
  } catch (...) {
    artifact->vocabSize_ = 0;
  }
  if (artifact->vocabSize_ <= 0)
    return fail("metadata vocab_size is missing or not a positive integer");
  if (const std::string *tokenizer = get("tokenizer"))
    artifact->tokenizer_ = *tokenizer;

  const Plan &p = artifact->plan_;
  artifact->weights_.assign(p.buffers.size(), nullptr);
  const std::string &weights = artifact->metadata(kWeightsKey);
  if (!weights.empty() && weights != kRandomWeights)
    return fail("metadata weights = \"" + weights + "\" is not understood (only \"" +
                kRandomWeights + "\")");
  artifact->hasWeights_ = weights.empty();
  for (size_t i = 0; i < p.buffers.size() && artifact->hasWeights_; ++i) {
    const Buffer &buffer = p.buffers[i];
    if (buffer.kind != BufferKind::Weight)
      continue;
    std::string name = kWeightPrefix + buffer.name;
    const safetensors::TensorInfo *info = artifact->file_->find(name);
    if (!info)
      return fail("weight tensor '" + name + "' is missing");
    safetensors::DType want = buffer.dtype == DType::F32   ? safetensors::DType::F32
                              : buffer.dtype == DType::F16 ? safetensors::DType::F16
                                                           : safetensors::DType::I8;
    bool widened = buffer.dtype == DType::F32 && info->dtype == safetensors::DType::BF16;
    if (info->dtype != want && !widened)
      return fail("weight tensor '" + name + "' has dtype " +
                  std::string(safetensors::dtypeName(info->dtype)) + ", the plan expects " +
                  std::string(safetensors::dtypeName(want)) +
                  (buffer.dtype == DType::F32 ? " (or BF16)" : ""));
    // Plan::fromJson admits no negative weight dimension: a negative numel
    // is an overflow.
    int64_t numel = buffer.numel(1, 1);
    uint64_t expected = 0;
    if (numel < 0 || __builtin_mul_overflow(static_cast<uint64_t>(numel),
                                            uint64_t(widened ? 2 : dtypeSize(buffer.dtype)),
                                            &expected))
      return fail("weight tensor '" + name + "' has more bytes than a 64-bit size holds");
    if (info->byteSize() != expected)
      return fail("weight tensor '" + name + "' holds " + std::to_string(info->byteSize()) +
                  " bytes, the plan expects " + std::to_string(expected));
    if (!artifact->file_->isAligned(*info))
      return fail("weight tensor '" + name + "' is not aligned for its dtype");
    artifact->weights_[i] = info;
  }
  for (const KernelInfo &kernel : p.kernels)
    if (artifact->ptx(kernel.name).empty())
      return fail("kernel '" + kernel.name + "' has no PTX (" + kKernelPrefix + kernel.name +
                  ".ptx)");
  return std::shared_ptr<const Artifact>(std::move(artifact));
}

Status Artifact::checkDevice(int major, int minor) const {
  const std::string &target = plan_.target;
  int cc = major * 10 + minor;
  if (target == "sm_90a") {
    if (cc != 90)
      return makeError(path() + ": built for sm_90a (Hopper, compute capability 9.0), this GPU is " +
                       std::to_string(major) + "." + std::to_string(minor) +
                       "; recompile with quamba-compile --target sm_80");
    return Status::success();
  }
  if (target == "sm_80") {
    if (cc < 80)
      return makeError(path() + ": built for sm_80 (compute capability 8.0 or newer), this GPU is " +
                       std::to_string(major) + "." + std::to_string(minor));
    return Status::success();
  }
  return makeError(path() + ": unknown target '" + target + "'");
}

} // namespace quamba::plan
