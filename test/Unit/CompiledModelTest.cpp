//===- CompiledModelTest.cpp - model.qmb on the CPU backend ---------------===//
//
// The compiled path (codegen -> model.qmb -> Session on the CPU backend) runs
// the same reference kernels as the IR interpreter, launch by launch, so its
// logits must equal the interpreter's bit for bit, in prefill and in decode,
// for every mode on Mamba1 and Mamba2. (The GPU kernels are checked against
// this same backend on the GPU machine: scripts/gpu-check.sh.)
//
//===----------------------------------------------------------------------===//
#include "codegen/ArtifactWriter.h"
#include "codegen/LaunchPlan.h"
#include "codegen/NvptxTarget.h"
#include "dialect/Mamba/IR/MambaOps.h"
#include "dialect/Mamba/Import/CheckpointImporter.h"
#include "passes/Interpreter/Interpreter.h"
#include "passes/Passes.h"
#include "passes/Pipelines.h"
#include "runtime/exec/Session.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace mlir;
using namespace mlir::quamba;
namespace exec = ::quamba::exec;
namespace qplan = ::quamba::plan;

namespace {

struct Case {
  const char *fixture;
  const char *mode; // "fp32", "fp16" or a QuantMode name
};

std::string caseName(const testing::TestParamInfo<Case> &info) {
  std::string name = std::string(info.param.fixture) + "_" + info.param.mode;
  for (char &c : name)
    if (!isalnum(static_cast<unsigned char>(c)))
      c = '_';
  return name;
}

class CompiledModel : public testing::TestWithParam<Case> {};

std::optional<QuantMode> quantMode(const std::string &mode) {
  if (mode == "w8a8") return QuantMode::W8A8;
  if (mode == "w4a8") return QuantMode::W4A8;
  if (mode == "w4a16") return QuantMode::W4A16;
  if (mode == "w4ax") return QuantMode::W4AX;
  return std::nullopt;
}

TEST_P(CompiledModel, CpuBackendEqualsInterpreterBitForBit) {
  const Case &c = GetParam();
  // A registry, not just loaded dialects: quamba-select-w4ax re-reads the
  // module in trial contexts built from it.
  DialectRegistry registry;
  registry.insert<mamba::MambaDialect, arith::ArithDialect, func::FuncDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  auto imported = mamba::importCheckpoint(
      context, std::string(QUAMBA_TEST_FIXTURES_DIR) + "/" + c.fixture);
  ASSERT_TRUE(static_cast<bool>(imported)) << llvm::toString(imported.takeError());
  OwningOpRef<ModuleOp> model = std::move(*imported);
  if (std::optional<QuantMode> mode = quantMode(c.mode)) {
    QuambaPipelineOptions options;
    options.data = std::string(QUAMBA_SOURCE_DIR) + "/models/sotu-calibration.txt";
    options.samples = 2;
    options.seqlen = 64;
    options.groupSize = 64;
    auto pm = PassManager::on<ModuleOp>(&context);
    buildQuambaPipeline(pm, *mode, options);
    ASSERT_TRUE(succeeded(pm.run(*model)));
  } else if (std::string(c.mode) == "fp16") {
    auto pm = PassManager::on<ModuleOp>(&context);
    pm.addPass(createQuambaCastWeights({/*type=*/"f16"}));
    ASSERT_TRUE(succeeded(pm.run(*model)));
  }

  OwningOpRef<ModuleOp> kernels = ModuleOp::create(UnknownLoc::get(&context));
  FailureOr<codegen::LaunchPlanResult> plan =
      codegen::buildLaunchPlan(*model, *kernels, "sm_90a");
  ASSERT_TRUE(succeeded(plan));
  codegen::NvptxOptions nvptx;
  nvptx.cubin = false; // PTX is enough: the CPU backend runs no kernel.
  FailureOr<std::vector<codegen::CompiledKernel>> compiled =
      codegen::compileKernels(*kernels, nvptx);
  ASSERT_TRUE(succeeded(compiled));
  std::string path = (std::filesystem::temp_directory_path() /
                      ("quamba-compiled-" + std::to_string(::getpid()) + "-" + c.fixture +
                       "-" + c.mode + ".qmb"))
                         .string();
  codegen::ArtifactInfo info;
  info.vocabSize = 256;
  ::quamba::Status written = codegen::writeArtifact(path, *plan, *compiled, info);
  ASSERT_TRUE(written.ok()) << written.error();
  auto artifact = qplan::Artifact::open(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(artifact.ok()) << artifact.error();
  auto session = exec::Session::create(artifact.take(), exec::createCpuBackend());
  ASSERT_TRUE(session.ok()) << session.error();

  // Two sequences of 11 byte tokens, then 3 decode steps.
  const int64_t batch = 2, len = 11;
  std::string text = "The whale! The whale!! Call me Ishmael.";
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < batch * len; ++i)
    ids.push_back(static_cast<unsigned char>(text[i]));
  Interpreter interp(*model);
  auto reference = interp.run("prefill", {HostTensor::tokens({batch, len}, ids)});
  ASSERT_TRUE(static_cast<bool>(reference)) << llvm::toString(reference.takeError());
  // The session's prefill logits of `ids` against the interpreter's.
  auto expectPrefillLogits = [&](const char *what) {
    auto logits = (*session)->prefill(ids, batch, len);
    ASSERT_TRUE(logits.ok()) << logits.error();
    ASSERT_EQ(logits->size(), (*reference)[0].values.size());
    EXPECT_EQ(0, std::memcmp(logits->data(), (*reference)[0].values.data(),
                             logits->size() * sizeof(float)))
        << what;
  };
  expectPrefillLogits("prefill logits differ");

  std::vector<HostTensor> states(reference->begin() + 1, reference->end());
  for (int step = 0; step < 3; ++step) {
    std::vector<int32_t> next = {static_cast<int32_t>('a' + step), static_cast<int32_t>('k' + step)};
    std::vector<HostTensor> args = {HostTensor::tokens({batch, 1}, next)};
    args.insert(args.end(), states.begin(), states.end());
    auto out = interp.run("decode", std::move(args));
    ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
    auto got = (*session)->decode(next);
    ASSERT_TRUE(got.ok()) << got.error();
    ASSERT_EQ(got->size(), (*out)[0].values.size());
    EXPECT_EQ(0, std::memcmp(got->data(), (*out)[0].values.data(), got->size() * sizeof(float)))
        << "decode step " << step << " logits differ";
    states.assign(out->begin() + 1, out->end());
  }

  // A new prompt after an odd number of decode steps (the session's decode
  // states are then in the other buffer of their pair): prefill must start
  // the next decode from its own states, not from the previous sequence's.
  // Sixteen sequences: decode takes its launches for large batches (an
  // integer linear's tensor-core alternative, plan::Launch::runsFor).
  const int64_t batch2 = 16, len2 = 3;
  std::vector<int32_t> again;
  for (int64_t i = 0; i < batch2 * len2; ++i)
    again.push_back(static_cast<unsigned char>(text[text.size() - 1 - i % text.size()]));
  auto reference2 = interp.run("prefill", {HostTensor::tokens({batch2, len2}, again)});
  ASSERT_TRUE(static_cast<bool>(reference2)) << llvm::toString(reference2.takeError());
  ASSERT_TRUE((*session)->prefill(again, batch2, len2).ok());
  std::vector<int32_t> next;
  for (int64_t i = 0; i < batch2; ++i)
    next.push_back(static_cast<int32_t>('a' + i));
  std::vector<HostTensor> args = {HostTensor::tokens({batch2, 1}, next)};
  args.insert(args.end(), reference2->begin() + 1, reference2->end());
  auto out = interp.run("decode", std::move(args));
  ASSERT_TRUE(static_cast<bool>(out)) << llvm::toString(out.takeError());
  auto got = (*session)->decode(next);
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ(0, std::memcmp(got->data(), (*out)[0].values.data(), got->size() * sizeof(float)))
      << "decode after a second prefill differs";

  // The first prompt again: its activation layout is the one the session
  // kept for (2, 11), reused after three other shapes.
  expectPrefillLogits("prefill logits differ on a shape seen before");
}

INSTANTIATE_TEST_SUITE_P(
    EveryMode, CompiledModel,
    testing::Values(Case{"tiny_mamba2_g2_hf", "fp32"}, Case{"tiny_mamba2_g2_hf", "fp16"},
                    Case{"tiny_mamba2_g2_hf", "w8a8"},
                    Case{"tiny_mamba2_g2_hf", "w4a8"}, Case{"tiny_mamba2_g2_hf", "w4a16"},
                    Case{"tiny_mamba2_g2_hf", "w4ax"}, Case{"tiny_mamba1_hf", "fp32"},
                    Case{"tiny_mamba1_hf", "fp16"}, Case{"tiny_mamba1_hf", "w8a8"},
                    Case{"tiny_mamba1_hf", "w4a8"},
                    Case{"tiny_mamba1_hf", "w4a16"}, Case{"tiny_mamba2_g2_state_spaces", "w8a8"}),
    caseName);

} // namespace
