//===- SortClusterTest.cpp - quamba-sort-cluster is an exact permutation --===//
//
// On a fixture and the bundled Mamba2 model (weights widened to f32, as in
// ExactRewritesTest): calibrate (4 x 64 tokens), sort-cluster, and check
// that the prefill logits are unchanged, that decode continues the original
// prefill, that the recorded ranges partition heads and channels, that every
// scale is the block absmax / 127 recomputed from the (permuted) statistics,
// and determinism. Plus Ward / ordered KMeans on hand examples.
//
//===----------------------------------------------------------------------===//
#include "VectorCompare.h"
#include "dialect/Mamba/IR/MambaOps.h"
#include "dialect/Mamba/Import/CheckpointImporter.h"
#include "passes/Interpreter/Interpreter.h"
#include "passes/Passes.h"
#include "passes/SortCluster.h"
#include "passes/WeightRewrite.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

using namespace mlir;
using ::quamba::test::maxAbs;
using ::quamba::test::maxAbsDiff;
using namespace mlir::quamba;

namespace {

constexpr int64_t kBatch = 2, kLength = 37;

/// As ExactRewritesTest's helper, but one f32 resource per bf16 resource,
/// so @prefill and @decode keep sharing their weights.
void promoteWeightsToF32(ModuleOp module) {
  llvm::StringMap<DenseResourceElementsAttr> promoted;
  module.walk([&](arith::ConstantOp constant) {
    auto weight = dyn_cast<DenseResourceElementsAttr>(constant.getValue());
    if (!weight || weight.getType().getElementType().isF32())
      return;
    auto type = cast<ShapedType>(weight.getType().clone(
        Float32Type::get(module.getContext())));
    DenseResourceElementsAttr &f32 = promoted[weight.getRawHandle().getKey()];
    if (!f32) {
      FailureOr<std::vector<double>> values = readWeight(weight, constant);
      ASSERT_TRUE(succeeded(values));
      f32 = createWeight(type, weight.getRawHandle().getKey(), *values);
    }
    constant.setValueAttr(f32);
    constant.getResult().setType(type);
  });
}

std::string readText() {
  std::ifstream in(std::string(QUAMBA_SOURCE_DIR) + "/models/austen-heldout.txt",
                   std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::vector<float> floats(DenseElementsAttr attr) {
  std::vector<float> out;
  for (APFloat v : attr.getValues<APFloat>())
    out.push_back(v.convertToFloat());
  return out;
}

std::vector<int32_t> ints(DenseElementsAttr attr) {
  std::vector<int32_t> out;
  for (APInt v : attr.getValues<APInt>())
    out.push_back(static_cast<int32_t>(v.getSExtValue()));
  return out;
}

std::string printed(ModuleOp module) {
  std::string s;
  llvm::raw_string_ostream os(s);
  module.print(os);
  return s;
}

class SortClusterTest : public ::testing::TestWithParam<const char *> {
protected:
  void SetUp() override {
    static bool registered = (registerQuambaPasses(), true);
    (void)registered;
    context.loadDialect<mamba::MambaDialect, arith::ArithDialect,
                        func::FuncDialect>();
    auto imported = mamba::importCheckpoint(context, GetParam());
    ASSERT_TRUE(static_cast<bool>(imported))
        << llvm::toString(imported.takeError());
    original = std::move(*imported);
    promoteWeightsToF32(*original);
    std::string text = readText();
    ASSERT_GE(text.size(), 8192u);
    for (int64_t b = 0; b < kBatch; ++b)
      for (int64_t t = 0; t < kLength; ++t)
        tokens.push_back(static_cast<unsigned char>(text[500 * b + t]));
    dataPath = (std::filesystem::temp_directory_path() /
                ("quamba-sort-cluster-test-" + std::to_string(::getpid()) +
                 ".txt"))
                   .string();
    std::ofstream(dataPath, std::ios::binary) << text.substr(0, 8192);
    calibrated = original->clone();
    run(*calibrated, "quamba-calibrate{data=" + dataPath +
                         " samples=4 seqlen=64}");
  }
  void TearDown() override { std::filesystem::remove(dataPath); }

  void run(ModuleOp module, const std::string &pipeline) {
    auto pm = PassManager::on<ModuleOp>(&context);
    ASSERT_TRUE(succeeded(parsePassPipeline(pipeline, pm))) << pipeline;
    ASSERT_TRUE(succeeded(pm.run(module))) << pipeline;
  }

  OwningOpRef<ModuleOp> sorted() {
    OwningOpRef<ModuleOp> copy = calibrated->clone();
    run(*copy, "quamba-sort-cluster");
    return copy;
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

  MLIRContext context;
  OwningOpRef<ModuleOp> original, calibrated;
  std::vector<int32_t> tokens;
  std::string dataPath;
};

TEST_P(SortClusterTest, KeepsLogits) {
  std::vector<float> want = prefill(*original, kLength)[0].values;
  OwningOpRef<ModuleOp> module = sorted();
  std::vector<HostTensor> got = prefill(*module, kLength);
  ASSERT_FALSE(got.empty());
  float error = maxAbsDiff(got[0].values, want), scale = maxAbs(want);
  std::printf("%s [quamba-sort-cluster]: max |dlogit| = %.3g, max |logit| = "
              "%.3g, relative %.3g\n",
              GetParam(), error, scale, error / scale);
  RecordProperty("max_abs_error", std::to_string(error));
  EXPECT_LE(error, 1e-5f * scale);
  // The permutation is not the identity (the test would be vacuous).
  int changed = 0;
  module->walk([&](arith::ConstantOp c) {
    if (auto w = dyn_cast<DenseResourceElementsAttr>(c.getValue()))
      changed += w.getRawHandle().getKey().contains("in_proj");
  });
  EXPECT_GT(changed, 0);
}

TEST_P(SortClusterTest, DecodeContinuesPrefill) {
  std::vector<float> full = prefill(*original, kLength)[0].values;
  int64_t vocab = static_cast<int64_t>(full.size()) / (kBatch * kLength);
  OwningOpRef<ModuleOp> module = sorted();
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
      EXPECT_LE(maxAbsDiff(got, want), 1e-4f * std::max(1.0f, maxAbs(want)))
          << "step " << t << " batch " << b;
    }
    state = std::move(*out);
  }
}

TEST_P(SortClusterTest, GroupsPartitionAndScalesMatchStatistics) {
  OwningOpRef<ModuleOp> module = sorted();
  int checked = 0;
  module->walk([&](Operation *op) {
    if (!isa<mamba::SSDScanOp, mamba::SSDStepOp>(op))
      return;
    auto groups = op->getAttrOfType<DictionaryAttr>("mamba.x_groups");
    ASSERT_TRUE(groups);
    auto headEnd = groups.getAs<DenseElementsAttr>("head_group_end");
    auto dimEnd = groups.getAs<DenseElementsAttr>("dim_group_end");
    auto scales = groups.getAs<DenseElementsAttr>("scales");
    ASSERT_TRUE(headEnd && dimEnd && scales);
    int64_t P = op->getAttrOfType<IntegerAttr>("headdim").getInt();
    int64_t G = op->getAttrOfType<IntegerAttr>("ngroups").getInt();
    auto calib = op->getAttrOfType<DictionaryAttr>("mamba.calibration");
    std::vector<float> absmax = floats(
        calib.getAs<DictionaryAttr>("x").getAs<DenseElementsAttr>(
            "channel_absmax"));
    int64_t H = static_cast<int64_t>(absmax.size()) / P, HG = H / G;
    auto hs = headEnd.getType().getShape(), ds = dimEnd.getType().getShape();
    ASSERT_EQ(hs.size(), 2u);
    ASSERT_EQ(hs[0], G);
    EXPECT_EQ(hs[1], std::min<int64_t>(4, HG));
    ASSERT_EQ(ds.size(), 3u);
    EXPECT_EQ(ds[2], std::min<int64_t>(4, P));
    int64_t nHG = hs[1], nDG = ds[2];
    std::vector<int32_t> he = ints(headEnd), de = ints(dimEnd);
    std::vector<float> sc = floats(scales);
    for (int64_t g = 0; g < G; ++g)
      for (int64_t k = 0; k < nHG; ++k) {
        int32_t h0 = k ? he[g * nHG + k - 1] : 0, h1 = he[g * nHG + k];
        EXPECT_LT(h0, h1);
        if (k == nHG - 1)
          EXPECT_EQ(h1, HG);
        for (int64_t d = 0; d < nDG; ++d) {
          int64_t at = (g * nHG + k) * nDG + d;
          int32_t p0 = d ? de[at - 1] : 0, p1 = de[at];
          EXPECT_LT(p0, p1);
          if (d == nDG - 1)
            EXPECT_EQ(p1, P);
          float peak = 0.0f;
          for (int32_t j = h0; j < h1; ++j)
            for (int32_t p = p0; p < p1; ++p)
              peak = std::max(peak, absmax[(g * HG + j) * P + p]);
          EXPECT_EQ(sc[at], peak / 127.0f) << "g " << g << " hg " << k;
          EXPECT_GT(sc[at], 0.0f);
        }
      }
    // Within each head the permuted channel_mean_abs is ascending.
    std::vector<float> mean = floats(
        calib.getAs<DictionaryAttr>("x").getAs<DenseElementsAttr>(
            "channel_mean_abs"));
    for (int64_t h = 0; h < H; ++h)
      for (int64_t p = 1; p < P; ++p)
        EXPECT_LE(mean[h * P + p - 1], mean[h * P + p]);
    ++checked;
  });
  EXPECT_GT(checked, 0);
}

/// The permuted statistics the pass records are those of the permuted model:
/// calibrating the sorted model again reproduces them (up to rounding), so
/// the statistics and the weights were permuted consistently.
TEST_P(SortClusterTest, RecalibrationMatchesPermutedStatistics) {
  OwningOpRef<ModuleOp> module = sorted();
  OwningOpRef<ModuleOp> again = module->clone();
  run(*again, "quamba-calibrate{data=" + dataPath + " samples=4 seqlen=64}");
  SmallVector<mamba::SSDScanOp> a, b;
  module->walk([&](mamba::SSDScanOp op) { a.push_back(op); });
  again->walk([&](mamba::SSDScanOp op) { b.push_back(op); });
  ASSERT_EQ(a.size(), b.size());
  for (size_t l = 0; l < a.size(); ++l) {
    auto ca = a[l]->getAttrOfType<DictionaryAttr>("mamba.calibration");
    auto cb = b[l]->getAttrOfType<DictionaryAttr>("mamba.calibration");
    for (auto [entry, field] :
         {std::pair<const char *, const char *>{"x", "channel_absmax"},
          {"x", "channel_mean_abs"},
          {"state", "channel_absmax"}}) {
      std::vector<float> want = floats(
          ca.getAs<DictionaryAttr>(entry).getAs<DenseElementsAttr>(field));
      std::vector<float> got = floats(
          cb.getAs<DictionaryAttr>(entry).getAs<DenseElementsAttr>(field));
      EXPECT_LE(maxAbsDiff(got, want), 1e-4f * maxAbs(want))
          << "layer " << l << " " << entry << "." << field;
    }
  }
}

/// Import, widen, calibrate and sort-cluster in a fresh context (so resource
/// names are uniquified the same way), and print.
std::string sortedText(const std::string &model, const std::string &data) {
  MLIRContext ctx;
  ctx.loadDialect<mamba::MambaDialect, arith::ArithDialect, func::FuncDialect>();
  auto imported = mamba::importCheckpoint(ctx, model);
  EXPECT_TRUE(static_cast<bool>(imported));
  if (!imported) {
    llvm::consumeError(imported.takeError());
    return "";
  }
  OwningOpRef<ModuleOp> module = std::move(*imported);
  promoteWeightsToF32(*module);
  auto pm = PassManager::on<ModuleOp>(&ctx);
  EXPECT_TRUE(succeeded(parsePassPipeline(
      "quamba-calibrate{data=" + data + " samples=4 seqlen=64},"
      "quamba-sort-cluster", pm)));
  EXPECT_TRUE(succeeded(pm.run(*module)));
  return printed(*module);
}

TEST_P(SortClusterTest, Deterministic) {
  std::string a = sortedText(GetParam(), dataPath);
  EXPECT_FALSE(a.empty());
  EXPECT_TRUE(a == sortedText(GetParam(), dataPath));
  EXPECT_NE(a.find("mamba.x_groups"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Models, SortClusterTest,
    ::testing::Values(QUAMBA_TEST_FIXTURES_DIR "/tiny_mamba2_g2_hf",
                      QUAMBA_SOURCE_DIR "/models/mamba2-bytes-6m"),
    [](const ::testing::TestParamInfo<const char *> &info) {
      std::string name = info.param;
      name = name.substr(name.find_last_of('/') + 1);
      std::replace_if(
          name.begin(), name.end(), [](char c) { return !std::isalnum(c); },
          '_');
      return name;
    });

TEST(SortClusterKernels, WardOnALine) {
  std::vector<std::vector<double>> points = {{0.0}, {1.0}, {10.0}, {11.0}};
  EXPECT_EQ(wardClusters(points, 2), (std::vector<int64_t>{0, 0, 1, 1}));
  std::vector<std::vector<double>> mixed = {{10.0}, {0.0}, {11.0}, {1.0}};
  EXPECT_EQ(wardClusters(mixed, 2), (std::vector<int64_t>{0, 1, 0, 1}));
  EXPECT_EQ(wardClusters(points, 4), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(wardClusters(points, 1), (std::vector<int64_t>{0, 0, 0, 0}));
}

TEST(SortClusterKernels, WardUsesWardLinkage) {
  // {0, 1} merges first (d = 1); then Ward compares {0,1} with 4 (increase
  // 2 * 3.5^2 / 3 = 8.17) against 4 with 8 (8): 4 joins 8.
  std::vector<std::vector<double>> points = {{0.0}, {1.0}, {4.0}, {8.0}};
  EXPECT_EQ(wardClusters(points, 2), (std::vector<int64_t>{0, 0, 1, 1}));
}

TEST(SortClusterKernels, OrderedKMeans) {
  // Init rows 0, 2, 4 (centroids 0, 5, 9): three clean groups.
  std::vector<std::vector<double>> rows = {{0.0}, {0.1}, {5.0},
                                           {5.1}, {9.0}, {9.1}};
  EXPECT_EQ(orderedKMeans(rows, 3), (std::vector<int64_t>{2, 4, 6}));
  EXPECT_EQ(orderedKMeans(rows, 6), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(orderedKMeans(rows, 9), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(orderedKMeans(rows, 1), (std::vector<int64_t>{6}));
  // Lloyd moves a boundary: init rows 0, 2 (centroids 0, 1) give {0},
  // {1, 1, 9}; the centroids move to 0 and 11/3, and then {0, 1, 1}, {9}.
  std::vector<std::vector<double>> moving = {{0.0}, {1.0}, {1.0}, {9.0}};
  EXPECT_EQ(orderedKMeans(moving, 2), (std::vector<int64_t>{3, 4}));
  // Multi-dimensional rows (one column per clustered head).
  std::vector<std::vector<double>> wide = {{0.0, 0.0}, {0.1, 0.0}, {1.0, 1.0},
                                           {1.0, 1.1}};
  EXPECT_EQ(orderedKMeans(wide, 2), (std::vector<int64_t>{2, 4}));
}

} // namespace
