//===- ExactRewritesTest.cpp - exact rewrites leave the logits unchanged --===//
//
// quamba-fuse-norm-gains and quamba-rotate are exact in real arithmetic
// (DESIGN.md §4): in fp32 the logits must stay within 1e-5 of the original
// relative to the largest logit. Checked on the three fixtures and the two
// bundled models (d_model 384 = 12*32 and 320 = 40*8, d_inner 768 and 640:
// the non-power-of-two Hadamards, where H is not symmetric for 40*2^k).
//
// The bundled models store bf16 weights; rewritten bf16 weights are rounded
// to bf16 (relative error 2^-9 per weight), which says nothing about the
// rewrite's exactness. So every model is first promoted to fp32 weights
// (promoteWeightsToF32, exact: bf16 -> f32 loses nothing) and the rewrites
// are compared against that fp32 original.
//
//===----------------------------------------------------------------------===//
#include "VectorCompare.h"
#include "dialect/Mamba/IR/MambaOps.h"
#include "dialect/Mamba/Import/CheckpointImporter.h"
#include "passes/Interpreter/Interpreter.h"
#include "passes/Passes.h"
#include "passes/WeightRewrite.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>

using namespace mlir;
using ::quamba::test::maxAbs;
using ::quamba::test::maxAbsDiff;
using namespace mlir::quamba;

namespace {

constexpr double kRelativeTolerance = 1e-5;
constexpr int64_t kBatch = 2, kLength = 37;

/// Rewrites every bf16 / f16 dense_resource constant to an f32 one holding
/// the same values (exactly), so the rewrites can be checked at fp32.
void promoteWeightsToF32(ModuleOp module) {
  module.walk([&](arith::ConstantOp constant) {
    auto weight = dyn_cast<DenseResourceElementsAttr>(constant.getValue());
    if (!weight || weight.getType().getElementType().isF32())
      return;
    FailureOr<std::vector<double>> values = readWeight(weight, constant);
    ASSERT_TRUE(succeeded(values));
    auto type = cast<ShapedType>(weight.getType().clone(
        Float32Type::get(module.getContext())));
    constant.setValueAttr(
        createWeight(type, weight.getRawHandle().getKey(), *values));
    constant.getResult().setType(type);
  });
}

/// 2 x 37 bytes of held-out text as token ids (all models are byte-level).
std::vector<int32_t> textTokens() {
  std::ifstream in(std::string(QUAMBA_SOURCE_DIR) + "/models/austen-heldout.txt",
                   std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_GE(text.size(), 1000u);
  std::vector<int32_t> ids;
  for (int64_t b = 0; b < kBatch; ++b)
    for (int64_t t = 0; t < kLength; ++t)
      ids.push_back(static_cast<unsigned char>(text[500 * b + t]));
  return ids;
}

class ExactRewritesTest : public ::testing::TestWithParam<const char *> {
protected:
  void SetUp() override {
    static bool registered = (registerQuambaPasses(), true);
    (void)registered;
    context.loadDialect<mamba::MambaDialect, arith::ArithDialect>();
    std::string dir = GetParam();
    auto imported = mamba::importCheckpoint(context, dir);
    ASSERT_TRUE(static_cast<bool>(imported))
        << llvm::toString(imported.takeError());
    original = std::move(*imported);
    promoteWeightsToF32(*original);
    tokens = textTokens();
  }

  /// A copy of the original with `pipeline` (passes on the module itself,
  /// no `builtin.module(...)` anchor, which would nest) applied.
  OwningOpRef<ModuleOp> rewritten(StringRef pipeline) {
    OwningOpRef<ModuleOp> copy = original->clone();
    auto pm = PassManager::on<ModuleOp>(&context);
    EXPECT_TRUE(succeeded(parsePassPipeline(pipeline, pm)));
    EXPECT_TRUE(succeeded(pm.run(*copy))) << pipeline.str();
    expectRewritten(*copy, pipeline);
    return copy;
  }

  /// Guards against a pipeline that silently ran nothing: the lm_head is
  /// untied, and a rotation put one mamba.hadamard before every out_proj.
  void expectRewritten(ModuleOp module, StringRef pipeline) {
    auto config = module->getAttrOfType<mamba::ModelConfigAttr>(
        mamba::MambaDialect::getConfigAttrName());
    ASSERT_TRUE(config);
    EXPECT_FALSE(config.getTieEmbeddings());
    int hadamards = 0;
    module.walk([&](mamba::HadamardOp) { ++hadamards; });
    int64_t expected =
        pipeline.contains("quamba-rotate") ? 2 * config.getNLayer() : 0;
    EXPECT_EQ(hadamards, expected) << "prefill + decode, one per layer";
  }

  std::vector<HostTensor> prefill(ModuleOp module, int64_t len) {
    std::vector<int32_t> ids;
    for (int64_t b = 0; b < kBatch; ++b)
      ids.insert(ids.end(), tokens.begin() + b * kLength,
                 tokens.begin() + b * kLength + len);
    Interpreter interp(module);
    auto out = interp.run("prefill", {HostTensor::tokens({kBatch, len}, ids)});
    EXPECT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
    return out ? std::move(*out) : std::vector<HostTensor>{};
  }

  /// Checks the logits of `pipeline` against the original's, and reports
  /// the measured error.
  void expectSameLogits(StringRef pipeline) {
    std::vector<float> want = prefill(*original, kLength)[0].values;
    OwningOpRef<ModuleOp> module = rewritten(pipeline);
    std::vector<HostTensor> got = prefill(*module, kLength);
    ASSERT_FALSE(got.empty());
    float error = maxAbsDiff(got[0].values, want);
    float scale = maxAbs(want);
    std::printf("%s [%s]: max |dlogit| = %.3g, max |logit| = %.3g, "
                "relative %.3g\n",
                GetParam(), pipeline.str().c_str(), error, scale,
                error / scale);
    RecordProperty(("max_abs_error:" + pipeline).str(), std::to_string(error));
    EXPECT_LE(error, kRelativeTolerance * scale) << pipeline.str();
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> original;
  std::vector<int32_t> tokens;
};

TEST_P(ExactRewritesTest, FuseNormGainsKeepsLogits) {
  expectSameLogits("quamba-fuse-norm-gains");
}

TEST_P(ExactRewritesTest, FuseNormGainsThenRotateKeepsLogits) {
  expectSameLogits("quamba-fuse-norm-gains,quamba-rotate");
}

/// The rewritten @decode agrees with the original @prefill token by token:
/// both entry functions were rewritten consistently.
TEST_P(ExactRewritesTest, RotatedDecodeMatchesOriginalPrefill) {
  std::vector<float> full = prefill(*original, kLength)[0].values;
  int64_t vocab = static_cast<int64_t>(full.size()) / (kBatch * kLength);
  OwningOpRef<ModuleOp> module =
      rewritten("quamba-fuse-norm-gains,quamba-rotate");
  Interpreter interp(*module);
  const int64_t split = 30;
  std::vector<HostTensor> state = prefill(*module, split);
  ASSERT_FALSE(state.empty());
  for (int64_t t = split; t < kLength; ++t) {
    std::vector<HostTensor> args = {HostTensor::tokens(
        {kBatch, 1}, {tokens[t], tokens[kLength + t]})};
    args.insert(args.end(), state.begin() + 1, state.end());
    auto out = interp.run("decode", std::move(args));
    ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
    for (int64_t b = 0; b < kBatch; ++b) {
      std::vector<float> got((*out)[0].values.begin() + b * vocab,
                             (*out)[0].values.begin() + (b + 1) * vocab);
      std::vector<float> want(full.begin() + (b * kLength + t) * vocab,
                              full.begin() + (b * kLength + t + 1) * vocab);
      // Decode vs chunked prefill differs by rounding: the interpreter
      // test's tolerance for that comparison.
      EXPECT_LE(maxAbsDiff(got, want), 1e-4f * std::max(1.0f, maxAbs(want)))
          << "step " << t << " batch " << b;
    }
    state = std::move(*out);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, ExactRewritesTest,
    ::testing::Values(QUAMBA_TEST_FIXTURES_DIR "/tiny_mamba1_hf",
                      QUAMBA_TEST_FIXTURES_DIR "/tiny_mamba2_g2_hf",
                      QUAMBA_TEST_FIXTURES_DIR "/tiny_mamba2_g2_state_spaces",
                      QUAMBA_SOURCE_DIR "/models/mamba2-bytes-6m",
                      QUAMBA_SOURCE_DIR "/models/mamba1-bytes-3m"),
    [](const ::testing::TestParamInfo<const char *> &info) {
      std::string name = info.param;
      name = name.substr(name.find_last_of('/') + 1);
      std::replace_if(
          name.begin(), name.end(), [](char c) { return !std::isalnum(c); },
          '_');
      return name;
    });

} // namespace
