//===- ArtifactWriter.cpp - write model.qmb -------------------------------===//
#include "codegen/ArtifactWriter.h"

#include "runtime/Safetensors.h"
#include "runtime/plan/Artifact.h"

namespace mlir::quamba::codegen {

namespace st = ::quamba::safetensors;

static ::quamba::Status addBytes(st::Writer &writer, const std::string &name,
                                 const std::string &bytes) {
  return writer.add(name, st::DType::U8, {bytes.size()}, bytes.data(), bytes.size());
}

::quamba::Status writeArtifact(const std::string &path,
                               const LaunchPlanResult &result,
                               const std::vector<CompiledKernel> &kernels,
                               const ArtifactInfo &info) {
  st::Writer writer;
  const ::quamba::plan::Plan &plan = result.plan;
  for (const WeightData &weight : result.weights) {
    if (info.omitWeights)
      break;
    const ::quamba::plan::Buffer &buffer = plan.buffers[weight.buffer];
    std::vector<uint64_t> shape;
    for (const auto &d : buffer.shape)
      shape.push_back(static_cast<uint64_t>(d.evaluate(0, 0)));
    using ::quamba::plan::DType;
    st::DType dtype = buffer.dtype == DType::F16   ? st::DType::F16
                      : buffer.dtype != DType::F32 ? st::DType::I8
                      : weight.bf16                ? st::DType::BF16
                                                   : st::DType::F32;
    if (::quamba::Status s = writer.add(::quamba::plan::kWeightPrefix + buffer.name, dtype,
                                        shape, weight.bytes.data(), weight.bytes.size());
        !s)
      return s;
  }
  for (const CompiledKernel &kernel : kernels) {
    std::string base = ::quamba::plan::kKernelPrefix + kernel.name;
    if (::quamba::Status s = addBytes(writer, base + ".ptx", kernel.ptx); !s)
      return s;
    if (::quamba::Status s = addBytes(writer, base + ".json", kernel.metadataJson); !s)
      return s;
    if (!kernel.cubin.empty())
      if (::quamba::Status s = addBytes(writer, base + ".cubin", kernel.cubin); !s)
        return s;
  }
  writer.setMetadata("format", ::quamba::plan::kArtifactFormat);
  writer.setMetadata("qmb_version", std::to_string(::quamba::plan::kArtifactVersion));
  writer.setMetadata("target", plan.target);
  writer.setMetadata("plan", plan.toJson());
  writer.setMetadata("vocab_size", std::to_string(info.vocabSize));
  writer.setMetadata("model_config", info.modelConfigJson);
  writer.setMetadata("tokenizer", info.tokenizerJson);
  writer.setMetadata("compile_options", info.compileOptionsJson);
  if (info.omitWeights)
    writer.setMetadata(::quamba::plan::kWeightsKey, ::quamba::plan::kRandomWeights);
  return writer.write(path);
}

} // namespace mlir::quamba::codegen
