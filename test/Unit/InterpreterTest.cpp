//===- InterpreterTest.cpp - the interpreter against outside oracles ------===//
//
// The oracles come from outside our code: the fixtures' reference logits
// (transformers / mamba_ssm in fp32), and invariances that must hold exactly
// in math (decode after prefill == full prefill; the SSD chunk size changes
// nothing beyond rounding).
//
//===----------------------------------------------------------------------===//
#include "VectorCompare.h"
#include "dialect/Mamba/IR/MambaOps.h"
#include "dialect/Mamba/Import/CheckpointImporter.h"
#include "passes/Interpreter/Interpreter.h"
#include "runtime/Safetensors.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

using namespace mlir;
using ::quamba::test::maxAbs;
using ::quamba::test::maxAbsDiff;
using namespace mlir::quamba;
namespace st = ::quamba::safetensors;

namespace {

struct Reference {
  std::vector<int64_t> idsShape;
  std::vector<int32_t> ids;
  std::vector<int64_t> logitsShape;
  std::vector<float> logits;
};

Reference loadReference(const std::string &dir) {
  auto file = st::File::open(dir + "/reference_logits.safetensors");
  EXPECT_TRUE(file.ok()) << file.error();
  Reference r;
  const st::TensorInfo *ids = (*file)->find("input_ids");
  const st::TensorInfo *logits = (*file)->find("logits");
  EXPECT_TRUE(ids && logits);
  EXPECT_EQ(ids->dtype, st::DType::I64);
  EXPECT_EQ(logits->dtype, st::DType::F32);
  r.idsShape.assign(ids->shape.begin(), ids->shape.end());
  r.logitsShape.assign(logits->shape.begin(), logits->shape.end());
  const int64_t *idData = reinterpret_cast<const int64_t *>((*file)->data(*ids));
  for (uint64_t i = 0; i < ids->numel(); ++i)
    r.ids.push_back(static_cast<int32_t>(idData[i]));
  r.logits.resize(logits->numel());
  std::memcpy(r.logits.data(), (*file)->data(*logits), logits->byteSize());
  return r;
}

class ModelTest : public ::testing::TestWithParam<const char *> {
protected:
  void SetUp() override {
    dir = std::string(QUAMBA_TEST_FIXTURES_DIR) + "/" + GetParam();
    auto imported = mamba::importCheckpoint(context, dir);
    ASSERT_TRUE(static_cast<bool>(imported))
        << llvm::toString(imported.takeError());
    module = std::move(*imported);
    reference = loadReference(dir);
  }

  /// Runs @prefill on tokens [batch, len] and returns all results.
  std::vector<HostTensor> prefill(Interpreter &interp, int64_t batch,
                                  int64_t begin, int64_t len) {
    std::vector<int32_t> ids;
    int64_t total = reference.idsShape[1];
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = begin; t < begin + len; ++t)
        ids.push_back(reference.ids[b * total + t]);
    auto out = interp.run("prefill", {HostTensor::tokens({batch, len}, ids)});
    EXPECT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
    return std::move(*out);
  }

  std::string dir;
  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  Reference reference;
};

TEST_P(ModelTest, PrefillReproducesReferenceLogits) {
  Interpreter interp(*module);
  int64_t batch = reference.idsShape[0], len = reference.idsShape[1];
  std::vector<HostTensor> out = prefill(interp, batch, 0, len);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].shape, reference.logitsShape);
  float error = maxAbsDiff(out[0].values, reference.logits);
  RecordProperty("max_abs_error", std::to_string(error));
  std::printf("%s: max |logit - reference| = %.3g\n", GetParam(), error);
  EXPECT_LE(error, 1e-3f);
}

TEST_P(ModelTest, DecodeAfterPrefillEqualsFullPrefill) {
  Interpreter interp(*module);
  int64_t batch = reference.idsShape[0], len = reference.idsShape[1];
  int64_t vocab = reference.logitsShape[2];
  std::vector<float> full = prefill(interp, batch, 0, len)[0].values;
  for (int64_t split : {1, 5, 17, 36}) {
    std::vector<HostTensor> state = prefill(interp, batch, 0, split);
    for (int64_t t = split; t < len; ++t) {
      std::vector<HostTensor> args = {HostTensor::tokens(
          {batch, 1}, {reference.ids[t], reference.ids[len + t]})};
      args.insert(args.end(), state.begin() + 1, state.end());
      auto out = interp.run("decode", std::move(args));
      ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
      for (int64_t b = 0; b < batch; ++b) {
        std::vector<float> got((*out)[0].values.begin() + b * vocab,
                               (*out)[0].values.begin() + (b + 1) * vocab);
        std::vector<float> want(full.begin() + (b * len + t) * vocab,
                                full.begin() + (b * len + t + 1) * vocab);
        EXPECT_LE(maxAbsDiff(got, want), 1e-4f * std::max(1.0f, maxAbs(want)))
            << "split " << split << " step " << t << " batch " << b;
      }
      state = std::move(*out);
    }
  }
}

TEST_P(ModelTest, PrefillIsInvariantToChunkSize) {
  bool hasScan = false;
  module->walk([&](mamba::SSDScanOp) { hasScan = true; });
  if (!hasScan)
    GTEST_SKIP() << "Mamba1: no chunked scan";
  int64_t batch = reference.idsShape[0], len = reference.idsShape[1];
  std::vector<float> baseline;
  for (int64_t chunk : {16, 1, 7, 64}) {
    module->walk([&](mamba::SSDScanOp op) {
      op.setChunkSize(chunk);
    });
    Interpreter interp(*module);
    std::vector<float> logits = prefill(interp, batch, 0, len)[0].values;
    if (baseline.empty()) {
      baseline = logits;
      continue;
    }
    EXPECT_LE(maxAbsDiff(logits, baseline), 1e-4f * maxAbs(baseline))
        << "chunk " << chunk;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ModelTest,
                         ::testing::Values("tiny_mamba1_hf",
                                           "tiny_mamba2_g2_hf",
                                           "tiny_mamba2_g2_state_spaces"));

} // namespace
