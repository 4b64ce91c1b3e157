//===- SessionLimitsTest.cpp - hostile batch and length on a Session ------===//
//
// A Session sizes its buffers for the largest batch x length it has been
// asked for. These tests give it shapes beyond anything it allocated, beyond
// what the plan's 32-bit kernel arguments can express, and shapes whose
// product overflows: each must be a clear error raised before anything is
// allocated, and the session must stay usable. Shapes larger than before
// but valid must give the logits a fresh session gives. (CPU backend; the
// checks are the Session's, so they hold on CUDA as well.)
//
//===----------------------------------------------------------------------===//
#include "codegen/ArtifactWriter.h"
#include "codegen/LaunchPlan.h"
#include "codegen/NvptxTarget.h"
#include "dialect/Mamba/IR/MambaOps.h"
#include "dialect/Mamba/Import/CheckpointImporter.h"
#include "runtime/exec/Session.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

using namespace mlir;
namespace codegen = mlir::quamba::codegen;
namespace exec = ::quamba::exec;
namespace qplan = ::quamba::plan;

namespace {

/// tiny_mamba2_g2_hf compiled (fp32) to a model.qmb, once for all tests.
std::shared_ptr<const qplan::Artifact> tinyArtifact() {
  static std::shared_ptr<const qplan::Artifact> artifact = [] {
    DialectRegistry registry;
    registry.insert<mamba::MambaDialect, arith::ArithDialect, func::FuncDialect>();
    MLIRContext context(registry);
    context.loadAllAvailableDialects();
    auto model = mamba::importCheckpoint(context, std::string(QUAMBA_TEST_FIXTURES_DIR) +
                                                      "/tiny_mamba2_g2_hf");
    if (!model) {
      ADD_FAILURE() << llvm::toString(model.takeError());
      return std::shared_ptr<const qplan::Artifact>();
    }
    OwningOpRef<ModuleOp> kernels = ModuleOp::create(UnknownLoc::get(&context));
    FailureOr<codegen::LaunchPlanResult> plan =
        codegen::buildLaunchPlan(**model, *kernels, "sm_90a");
    codegen::NvptxOptions nvptx;
    nvptx.cubin = false; // the CPU backend runs no kernel
    FailureOr<std::vector<codegen::CompiledKernel>> compiled =
        succeeded(plan) ? codegen::compileKernels(*kernels, nvptx)
                        : FailureOr<std::vector<codegen::CompiledKernel>>(failure());
    if (failed(compiled)) {
      ADD_FAILURE() << "codegen failed";
      return std::shared_ptr<const qplan::Artifact>();
    }
    std::string path = (std::filesystem::temp_directory_path() /
                        ("quamba-session-limits-" + std::to_string(::getpid()) + ".qmb"))
                           .string();
    codegen::ArtifactInfo info;
    info.vocabSize = 256;
    ::quamba::Status written = codegen::writeArtifact(path, *plan, *compiled, info);
    EXPECT_TRUE(written.ok()) << written.error();
    auto opened = qplan::Artifact::open(path);
    std::filesystem::remove(path);
    EXPECT_TRUE(opened.ok()) << opened.error();
    return opened.ok() ? opened.take() : std::shared_ptr<const qplan::Artifact>();
  }();
  return artifact;
}

std::unique_ptr<exec::Session> cpuSession() {
  std::shared_ptr<const qplan::Artifact> artifact = tinyArtifact();
  if (!artifact)
    return nullptr;
  auto session = exec::Session::create(artifact, exec::createCpuBackend());
  EXPECT_TRUE(session.ok()) << session.error();
  return session.ok() ? session.take() : nullptr;
}

std::vector<int32_t> byteTokens(const std::string &text, size_t count) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < count; ++i)
    ids.push_back(static_cast<unsigned char>(text[i % text.size()]));
  return ids;
}

#define EXPECT_ERROR(result, needle)                                                   \
  do {                                                                                 \
    auto &&r_ = (result);                                                              \
    ASSERT_FALSE(r_.ok()) << "expected an error containing: " << (needle);             \
    EXPECT_NE(r_.error().find(needle), std::string::npos)                              \
        << "message: " << r_.error() << "\nexpected to contain: " << (needle);         \
  } while (false)

TEST(SessionLimits, MoreTokensThanOneCallTakes) {
  auto session = cpuSession();
  ASSERT_TRUE(session);
  const size_t before = session->peakBytes();
  // 2^32 tokens: the check comes before the token count is compared, so a
  // one-token vector is enough to ask for it.
  EXPECT_ERROR(session->prefill({1}, 65536, 65536),
               "@prefill: batch 65536 x length 65536 is more than the 2147483647 tokens one "
               "call can take");
  // 2^62 + 1 sequences of 4 tokens: the product wraps to 4 in 64 bits, the
  // number of tokens given; it must not pass for a 4-token batch.
  const int64_t wraps = (int64_t(1) << 62) + 1;
  EXPECT_ERROR(session->prefill({1, 2, 3, 4}, wraps, 4),
               "@prefill: batch 4611686018427387905 x length 4 is more than the 2147483647 "
               "tokens one call can take");
  EXPECT_ERROR(session->prefillGreedy({1, 2, 3, 4}, wraps, 4), "is more than the 2147483647");
  EXPECT_EQ(session->peakBytes(), before) << "an oversized call allocated memory";
}

TEST(SessionLimits, ShapeBeyondTheModelsKernelArguments) {
  auto session = cpuSession();
  ASSERT_TRUE(session);
  const size_t before = session->peakBytes();
  // 2^31 - 1 tokens pass the token limit, but some kernel of this model
  // needs a grid or an argument of a multiple of them (the gated norm runs
  // a block per group of each token), beyond 32 bits.
  const int64_t length = ::quamba::exec::Session::kMaxTokens;
  auto result = session->prefill({1}, 1, length);
  const std::string prefix = "@prefill: batch 1 x length 2147483647 is too large for this model: ";
  EXPECT_ERROR(result, prefix);
  if (!result.ok()) {
    // The value it reports is one that does not fit an i32.
    const std::string &message = result.error();
    size_t at = message.rfind(" = ");
    ASSERT_NE(at, std::string::npos) << message;
    EXPECT_GT(std::stoll(message.substr(at + 3)), int64_t(INT32_MAX)) << message;
  }
  EXPECT_EQ(session->peakBytes(), before) << "an oversized call allocated memory";
  // Every launch is checked, so the kernel checks (--check-kernels) too.
  EXPECT_ERROR(session->runLaunch("prefill", 0, 1, length), prefix);
  EXPECT_ERROR(session->runSampler("prefill", 1, length), prefix);
  EXPECT_EQ(session->peakBytes(), before);
}

TEST(SessionLimits, MalformedCalls) {
  auto session = cpuSession();
  ASSERT_TRUE(session);
  EXPECT_ERROR(session->prefill({}, 0, 5), "@prefill: batch 0 x length 5: both must be >= 1");
  EXPECT_ERROR(session->prefill({1}, 1, -1), "@prefill: batch 1 x length -1: both must be >= 1");
  EXPECT_ERROR(session->prefill({1, 2, 3}, 2, 2), "@prefill: 3 tokens do not form a [2, 2] batch");
  EXPECT_ERROR(session->prefill({1, 256}, 1, 2),
               "token 256 at position 1 is outside the vocabulary [0, 256)");
  EXPECT_ERROR(session->prefill({-1}, 1, 1), "token -1 at position 0 is outside the vocabulary");
  EXPECT_ERROR(session->decode({1}), "@decode: no state; run prefill first");
  ASSERT_TRUE(session->prefill(byteTokens("ab", 4), 2, 2).ok());
  EXPECT_ERROR(session->decode({1, 2, 3}), "@decode: 3 tokens for a batch of 2");
  EXPECT_ERROR(session->decode({}), "@decode: batch 0 x length 1: both must be >= 1");
  // The errors changed nothing: decode continues the prefill's state.
  auto next = session->decode({5, 6});
  ASSERT_TRUE(next.ok()) << next.error();
  EXPECT_EQ(next->size(), 2u * 256u);
}

TEST(SessionLimits, GrowingBeyondWhatWasAllocated) {
  // A session that ran a small batch, then a much larger one, then a small
  // one again must give what fresh sessions give for each call.
  auto grown = cpuSession();
  ASSERT_TRUE(grown);
  const std::string text = "It is a truth universally acknowledged, that a single man";
  struct Call {
    int64_t batch, length;
  };
  for (Call call : {Call{1, 3}, Call{5, 97}, Call{2, 7}}) {
    std::vector<int32_t> tokens = byteTokens(text, call.batch * call.length);
    auto fresh = cpuSession();
    ASSERT_TRUE(fresh);
    auto want = fresh->prefill(tokens, call.batch, call.length);
    auto got = grown->prefill(tokens, call.batch, call.length);
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_EQ(*got, *want) << "prefill [" << call.batch << ", " << call.length << "]";
    std::vector<int32_t> step(call.batch, 'e');
    auto wantStep = fresh->decode(step);
    auto gotStep = grown->decode(step);
    ASSERT_TRUE(wantStep.ok() && gotStep.ok());
    EXPECT_EQ(*gotStep, *wantStep) << "decode after [" << call.batch << ", " << call.length << "]";
  }
}

TEST(SessionLimits, DecodeGreedyStepsEqualsOneCallPerStep) {
  // The device-side loop (each step's argmax copied into the next step's
  // input on the device) must pick what a host loop over decodeGreedy picks,
  // across both state parities and at batch 2.
  auto loop = cpuSession(), stepwise = cpuSession();
  ASSERT_TRUE(loop && stepwise);
  std::vector<int32_t> prompt = byteTokens("Whales are big", 18);
  auto a = loop->prefillGreedy(prompt, 2, static_cast<int64_t>(prompt.size() / 2));
  auto b = stepwise->prefillGreedy(prompt, 2, static_cast<int64_t>(prompt.size() / 2));
  ASSERT_TRUE(a.ok() && b.ok());
  auto steps = loop->decodeGreedySteps(*a, 7);
  ASSERT_TRUE(steps.ok()) << steps.error();
  std::vector<int32_t> want, next = *b;
  for (int step = 0; step < 7; ++step) {
    auto picked = stepwise->decodeGreedy(next);
    ASSERT_TRUE(picked.ok()) << picked.error();
    next = *picked;
    want.insert(want.end(), next.begin(), next.end());
  }
  EXPECT_EQ(*steps, want);
  // The states advanced as far: one more step agrees too.
  std::vector<int32_t> last(steps->end() - 2, steps->end());
  EXPECT_EQ(loop->decodeGreedy(last).take(), stepwise->decodeGreedy(next).take());
  EXPECT_ERROR(loop->decodeGreedySteps(last, 0), "@decode: 0 steps: need at least one");
}

} // namespace
