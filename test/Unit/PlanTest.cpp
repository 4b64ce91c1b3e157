//===- PlanTest.cpp - launch plans, shape expressions, model.qmb checks ---===//
#include "runtime/Safetensors.h"
#include "runtime/plan/Artifact.h"
#include "runtime/plan/Plan.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

using namespace quamba;
using namespace quamba::plan;

namespace {

TEST(ShapeExpr, EvaluatesProductsAndCeilDivision) {
  auto e = ShapeExpr::parse("cdiv(B*L*64, 128)");
  ASSERT_TRUE(e.ok()) << e.error();
  EXPECT_EQ(e->evaluate(3, 5), (3 * 5 * 64 + 127) / 128);
  EXPECT_EQ(ShapeExpr::parse("B*(L+2)-1")->evaluate(2, 3), 9);
  EXPECT_EQ(ShapeExpr::parse("L/2")->evaluate(1, 7), 3);
  EXPECT_FALSE(ShapeExpr::parse("B*L")->isConstant());
  EXPECT_TRUE(ShapeExpr::parse("4*(3+1)")->isConstant());
}

TEST(ShapeExpr, RejectsMalformedTextNamingIt) {
  for (const char *bad : {"", "B*", "cdiv(B", "X", "(L", "B L", "99999999999999999999"}) {
    auto e = ShapeExpr::parse(bad);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_NE(e.error().find("shape expression '" + std::string(bad) + "'"), std::string::npos)
        << e.error();
  }
}

TEST(ShapeExpr, OverflowEvaluatesToMinusOne) {
  // Plans are untrusted input: found by fuzz/PlanJsonFuzzer.cpp (UBSan,
  // signed overflow). No size, grid or scalar is negative, so -1 is refused.
  EXPECT_EQ(ShapeExpr::parse("4611686018427387904*B")->evaluate(3, 1), -1);
  EXPECT_EQ(ShapeExpr::parse("4611686018427387904*B")->evaluate(1, 1), 4611686018427387904);
  const std::string half = "4611686018427387904"; // 2^62
  EXPECT_EQ(ShapeExpr::parse(half + "+" + half + "*L")->evaluate(1, 1), -1);
  EXPECT_EQ(ShapeExpr::parse("0-" + half + "-" + half + "-L")->evaluate(1, 1), -1);
  EXPECT_EQ(ShapeExpr::parse("(0-" + half + "-" + half + ")/(0-L)")->evaluate(1, 1), -1);
  EXPECT_EQ(ShapeExpr::parse("cdiv(" + half + "+(" + half + "-1), B)")->evaluate(2, 1), -1);
  EXPECT_EQ(ShapeExpr::parse("cdiv(" + half + "+(" + half + "-1), B)")->evaluate(1, 1),
            INT64_MAX);
  EXPECT_EQ(ShapeExpr::parse("cdiv(B*L, 0)")->evaluate(2, 1), 0);
}

TEST(ShapeExpr, RejectsTextsLongerThan1024) {
  // Evaluation recurses over the tree; a 1 MB chain of "+1" overflowed the
  // stack (fuzz/PlanJsonFuzzer.cpp, ASan).
  std::string chain = "1";
  while (chain.size() <= 1024)
    chain += "+1";
  auto e = ShapeExpr::parse(chain);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().find("longer than the 1024 a plan may use"), std::string::npos) << e.error();
  EXPECT_EQ(ShapeExpr::parse(chain.substr(0, 1023))->evaluate(1, 1), 512);
}

TEST(Buffer, NumelOverflowIsMinusOne) {
  Buffer w{"w", DType::F32, BufferKind::Weight, {ShapeExpr(int64_t(1) << 32), ShapeExpr(int64_t(1) << 32)}};
  EXPECT_EQ(w.numel(1, 1), -1);
  Buffer x{"x", DType::F32, BufferKind::Activation, {*ShapeExpr::parse("B"), ShapeExpr(int64_t(1) << 62)}};
  EXPECT_EQ(x.numel(2, 1), -1);
  EXPECT_EQ(x.numel(1, 1), int64_t(1) << 62);
}

Plan tinyPlan() {
  Plan p;
  p.target = "sm_90a";
  Buffer tokens{"t", DType::I32, BufferKind::Activation, {*ShapeExpr::parse("B"), *ShapeExpr::parse("L")}};
  Buffer x{"x", DType::F32, BufferKind::Activation, {*ShapeExpr::parse("B"), *ShapeExpr::parse("L"), 4}};
  Buffer s{"s", DType::F32, BufferKind::Weight, {4}};
  Buffer q{"q", DType::I8, BufferKind::Activation, {*ShapeExpr::parse("B"), *ShapeExpr::parse("L"), 4}};
  p.buffers = {tokens, x, s, q};
  p.kernels = {{"quantize_inner4", 4, 0, {"*fp32", "*fp32", "*i8", "i32"}}};
  Launch l;
  l.op = "quantize";
  l.kernel = "quantize_inner4";
  l.operands = {1, 2, 3};
  l.scalars = {*ShapeExpr::parse("B*L*4")};
  l.attrs["inner"] = {4};
  for (const char *name : {"prefill", "decode"}) {
    EntryPoint e;
    e.name = name;
    e.inputs = {0, 1};
    e.outputs = {3};
    e.launches = {l};
    p.entries.push_back(e);
  }
  return p;
}

TEST(Plan, JsonRoundTripKeepsEverything) {
  Plan p = tinyPlan();
  auto back = Plan::fromJson(p.toJson(), "test");
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->toJson(), p.toJson());
  EXPECT_EQ(back->entry("decode")->launches[0].scalars[0].evaluate(2, 3), 24);
}

TEST(Plan, AwaitsPredecessorDefaultsToFalseAndRoundTrips) {
  Plan p = tinyPlan();
  // Artifacts written before the flag existed have no key: plain launches.
  std::string json = p.toJson();
  EXPECT_EQ(json.find("awaits_predecessor"), std::string::npos);
  auto old = Plan::fromJson(json, "test");
  ASSERT_TRUE(old.ok()) << old.error();
  EXPECT_FALSE(old->kernels[0].awaitsPredecessor);
  p.kernels[0].awaitsPredecessor = true;
  auto back = Plan::fromJson(p.toJson(), "test");
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_TRUE(back->kernels[0].awaitsPredecessor);
  std::string wrongType = p.toJson();
  wrongType.replace(wrongType.find("\"awaits_predecessor\":true"), 25, "\"awaits_predecessor\":\"yes\"");
  auto bad = Plan::fromJson(wrongType, "m.qmb");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("m.qmb"), std::string::npos) << bad.error();
}

TEST(Plan, BatchRangesSelectLaunchesAndRoundTrip) {
  Plan p = tinyPlan();
  Launch &few = p.entries[1].launches[0];
  EXPECT_TRUE(few.runsFor(1) && few.runsFor(1000)); // no range: every batch
  few.maxBatch = 3;
  Launch many = few;
  many.minBatch = 4;
  many.maxBatch = 0;
  EXPECT_TRUE(few.runsFor(3));
  EXPECT_FALSE(few.runsFor(4));
  p.entries[1].launches.push_back(many); // `few` dangles from here on
  EXPECT_FALSE(many.runsFor(3));
  EXPECT_TRUE(many.runsFor(4) && many.runsFor(1 << 20));
  auto back = Plan::fromJson(p.toJson(), "test");
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->toJson(), p.toJson());
  EXPECT_EQ(back->entries[1].launches[0].maxBatch, 3);
  EXPECT_EQ(back->entries[1].launches[1].minBatch, 4);
  std::string json = p.toJson();
  json.replace(json.find("\"batch\":[1,3]"), 13, "\"batch\":[5,3]");
  auto bad = Plan::fromJson(json, "m.qmb");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("batch range must be"), std::string::npos) << bad.error();
}

TEST(Plan, RejectsWrongVersionUnknownOpsAndBadIndices) {
  std::string json = tinyPlan().toJson();
  auto replaced = [&](const std::string &from, const std::string &to) {
    std::string s = json;
    s.replace(s.find(from), from.size(), to);
    return Plan::fromJson(s, "m.qmb");
  };
  auto version = replaced("\"version\":1", "\"version\":7");
  ASSERT_FALSE(version.ok());
  EXPECT_NE(version.error().find("version 7, this runtime reads version 1"), std::string::npos);
  auto op = replaced("\"op\":\"quantize\"", "\"op\":\"frobnicate\"");
  ASSERT_FALSE(op.ok());
  EXPECT_NE(op.error().find("unknown op 'frobnicate'"), std::string::npos) << op.error();
  auto index = replaced("\"operands\":[1,2,3]", "\"operands\":[1,2,9]");
  ASSERT_FALSE(index.ok());
  EXPECT_NE(index.error().find("names buffer 9 of 4"), std::string::npos) << index.error();
  auto count = replaced("\"operands\":[1,2,3]", "\"operands\":[1,2]");
  ASSERT_FALSE(count.ok());
  EXPECT_NE(count.error().find("takes 3 buffer operands"), std::string::npos) << count.error();
  auto kernel = replaced("\"kernel\":\"quantize_inner4\"", "\"kernel\":\"nope\"");
  ASSERT_FALSE(kernel.ok());
  EXPECT_NE(kernel.error().find("kernel 'nope' is not in the kernel list"), std::string::npos);
  auto epilogue = replaced("\"attrs\":{\"inner\":[4.0]}",
                           "\"attrs\":{\"inner\":[4.0],\"split_sizes\":[2.0,2.0]}");
  ASSERT_FALSE(epilogue.ok());
  EXPECT_NE(epilogue.error().find("op 'quantize' has no split epilogue"), std::string::npos)
      << epilogue.error();
  auto negative = replaced("\"shape\":[4]", "\"shape\":[-4]");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().find("weight 's' has a negative or overflowing dimension -4"),
            std::string::npos)
      << negative.error();
  // json's get<int> of 1e308 was undefined behaviour (fuzz/PlanJsonFuzzer.cpp,
  // UBSan); 2^32 + 3 wrapped to buffer 3.
  for (const char *index : {"1e308", "4294967299", "2.5"}) {
    auto bad = replaced("\"operands\":[1,2,3]", std::string("\"operands\":[1,2,") + index + "]");
    ASSERT_FALSE(bad.ok()) << index;
    EXPECT_NE(bad.error().find("expected an integer in [-2147483648, 2147483647], got"),
              std::string::npos)
        << bad.error();
  }
  auto garbage = Plan::fromJson("{\"format\": \"quamba-plan\", \"version\": ", "m.qmb");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().find("m.qmb: launch plan: malformed JSON"), std::string::npos);
}

TEST(Plan, SplitEpilogueTakesOneOutputOperandPerPart) {
  Launch l;
  l.op = "linear";
  EXPECT_EQ(expectedOperandCount(l), 3);
  EXPECT_EQ(splitOutputOperand(l), -1);
  l.attrs["split_sizes"] = {16, 8, 8};
  EXPECT_EQ(expectedOperandCount(l), 5);
  EXPECT_EQ(splitOutputOperand(l), 2);
  l.op = "causal_conv1d_step"; // y is operand 4, before state_out
  EXPECT_EQ(expectedOperandCount(l), 8);
  EXPECT_EQ(splitOutputOperand(l), 4);
  l.op = "rms_norm";
  EXPECT_EQ(splitOutputOperand(l), -2);
}

TEST(Plan, Int8StateAddsScalesAfterTheInputs) {
  Launch l;
  l.op = "ssd_step";
  l.operands = std::vector<int>(10);
  EXPECT_EQ(expectedOperandCount(l), 10);
  EXPECT_FALSE(int8StateOperands(l));
  l.attrs["state_int8"] = {1};
  l.operands.push_back(0);
  EXPECT_EQ(expectedOperandCount(l), 11);
  auto ssd = int8StateOperands(l);
  ASSERT_TRUE(ssd);
  EXPECT_EQ(ssd->stateIn, 7);
  EXPECT_EQ(ssd->scales, 8);
  EXPECT_EQ(ssd->stateOut, 10);
  // conv step: x, state_in, weight, bias, scales, y (3 parts), state_out.
  l.op = "causal_conv1d_step";
  l.attrs["split_sizes"] = {16, 8, 8};
  l.operands = std::vector<int>(9);
  EXPECT_EQ(expectedOperandCount(l), 9);
  EXPECT_EQ(splitOutputOperand(l), 5);
  auto conv = int8StateOperands(l);
  ASSERT_TRUE(conv);
  EXPECT_EQ(conv->stateIn, 1);
  EXPECT_EQ(conv->scales, 4);
  EXPECT_EQ(conv->stateOut, 8);
  l.op = "linear";
  EXPECT_FALSE(int8StateOperands(l));
}

TEST(Plan, RequantizedPartsAddTheirScalesBeforeTheOutputs) {
  Launch l;
  l.op = "linear_w8a8"; // x, x_scale, w, w_scales, bias, out
  l.attrs["split_sizes"] = {16, 8, 8};
  l.attrs["requantize_parts"] = {1, 0, 1};
  EXPECT_EQ(requantizedParts(l), (std::vector<int>{0, 2}));
  EXPECT_EQ(expectedOperandCount(l), 6 + 2 + 2);
  EXPECT_EQ(epilogueOutputOperand(l), 7);
  EXPECT_EQ(splitOutputOperand(l), 7);
  l.attrs.erase("split_sizes");
  l.attrs["requantize_parts"] = {1};
  EXPECT_EQ(expectedOperandCount(l), 7);
  EXPECT_EQ(splitOutputOperand(l), -1);
  EXPECT_EQ(epilogueOutputOperand(l), 6);
  l.op = "rms_norm";
  EXPECT_EQ(epilogueOutputOperand(l), -2);
}

TEST(Plan, QuantizedOutputTakesScalesAsTheLastInput) {
  Launch l;
  l.op = "add_rms_norm"; // x, residual, weight, [scales], out, residual_out
  EXPECT_EQ(expectedOperandCount(l), 5);
  EXPECT_FALSE(quantizedOutputOperands(l));
  l.attrs["quantize_output"] = {1};
  EXPECT_EQ(expectedOperandCount(l), 6);
  auto add = quantizedOutputOperands(l);
  ASSERT_TRUE(add);
  EXPECT_EQ(add->scales, 3);
  EXPECT_EQ(add->out, 4);
  l.op = "hadamard"; // x, factor, scales, out
  ASSERT_TRUE(quantizedOutputOperands(l));
  EXPECT_EQ(quantizedOutputOperands(l)->out, 3);
  EXPECT_EQ(expectedOperandCount(l), 4);
  // Ops without the epilogue ignore the flag (and count no scales).
  l.op = "linear";
  EXPECT_FALSE(quantizedOutputOperands(l));
  EXPECT_EQ(expectedOperandCount(l), 3);
}

TEST(Plan, HadamardEpilogueTakesTheFactorAfterTheWeight) {
  Launch l;
  l.op = "gated_rms_norm"; // y, z, weight, [factor], [scales], out
  l.attrs["hadamard"] = {1};
  EXPECT_TRUE(hasHadamardEpilogue(l));
  EXPECT_EQ(expectedOperandCount(l), 5);
  l.attrs["quantize_output"] = {1};
  EXPECT_EQ(expectedOperandCount(l), 6);
  auto q = quantizedOutputOperands(l);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->scales, 4);
  EXPECT_EQ(q->out, 5);
  l.op = "rms_norm";
  EXPECT_FALSE(hasHadamardEpilogue(l));
}

TEST(Plan, ConvStepEpilogueSplitsIntoTheLinearAndTheStep) {
  // linear_w4a8 (x, x_scale, w, group_scales, channel_scales, bias, 2
  // requantize scales, 3 parts) fused with a conv step (state_in, weight,
  // bias, state scales, 1 requantize scale, y, state_out) on part 1.
  Launch l;
  l.op = "linear_w4a8";
  l.attrs["split_sizes"] = {16, 24, 8};
  l.attrs["requantize_parts"] = {0, 1, 1};
  l.attrs["conv_step"] = {1};
  l.attrs["conv_step.state_int8"] = {1};
  l.attrs["conv_step.requantize_parts"] = {1};
  l.attrs["conv_step.silu"] = {1};
  const int count = (6 + 2 + 3) + (6 + 1 + 1) - 1;
  EXPECT_EQ(expectedOperandCount(l), count);
  for (int i = 0; i < count; ++i)
    l.operands.push_back(100 + i);
  l.scalars = {*ShapeExpr::parse("B")};
  auto f = convStepEpilogue(l);
  ASSERT_TRUE(f);
  // Fused order: linear inputs 0..7, step inputs but x 8..12, linear
  // outputs 13..15, step outputs 16..17.
  EXPECT_EQ(f->linearOperands, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 13, 14, 15}));
  EXPECT_EQ(f->convOperands, (std::vector<int>{14, 8, 9, 10, 11, 12, 16, 17}));
  EXPECT_EQ(f->linear.op, "linear_w4a8");
  EXPECT_EQ(f->linear.operands[8], 113);
  EXPECT_FALSE(f->linear.attrs.count("conv_step"));
  EXPECT_FALSE(f->linear.attrs.count("conv_step.silu"));
  EXPECT_EQ(requantizedParts(f->linear), (std::vector<int>{1, 2}));
  EXPECT_EQ(f->conv.op, "causal_conv1d_step");
  EXPECT_TRUE(f->conv.flag("silu"));
  EXPECT_EQ(expectedOperandCount(f->conv), 8);
  auto state = int8StateOperands(f->conv);
  ASSERT_TRUE(state);
  EXPECT_EQ(f->conv.operands[state->scales], 111);
  EXPECT_EQ(f->conv.operands[state->stateOut], 117);
  EXPECT_EQ(f->conv.scalars.size(), 1u);
  // A part the linear does not have, or a fused op that is no linear.
  l.attrs["conv_step"] = {3};
  EXPECT_FALSE(convStepEpilogue(l));
  l.attrs["conv_step"] = {1};
  l.operands.pop_back();
  EXPECT_FALSE(convStepEpilogue(l));
  l.op = "rms_norm";
  EXPECT_EQ(expectedOperandCount(l), -1);
}

TEST(Plan, RejectsAConvStepEpilogueOnAnythingButALinear) {
  std::string json = tinyPlan().toJson();
  std::string s = json;
  const std::string from = "\"attrs\":{\"inner\":[4.0]}";
  s.replace(s.find(from), from.size(), "\"attrs\":{\"inner\":[4.0],\"conv_step\":[0.0]}");
  auto bad = Plan::fromJson(s, "m.qmb");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("op 'quantize' has no conv-step epilogue"), std::string::npos)
      << bad.error();
}

/// A model.qmb holding `plan` (tinyPlan when null) with `target`.
std::string writeArtifact(const std::string &target, const std::string &version = "1",
                          const Plan *plan = nullptr) {
  Plan p = plan ? *plan : tinyPlan();
  p.target = target;
  safetensors::Writer w;
  float scales[4] = {1, 2, 3, 4};
  EXPECT_TRUE(w.add("weights/s", safetensors::DType::F32, {4}, scales, sizeof(scales)).ok());
  std::string ptx = ".version 9.0";
  EXPECT_TRUE(w.add("kernels/quantize_inner4.ptx", safetensors::DType::U8, {ptx.size()},
                    ptx.data(), ptx.size())
                  .ok());
  w.setMetadata("format", "quamba-qmb");
  w.setMetadata("qmb_version", version);
  w.setMetadata("target", target);
  w.setMetadata("plan", p.toJson());
  w.setMetadata("vocab_size", "256");
  std::string path = (std::filesystem::temp_directory_path() /
                      ("quamba-plan-test-" + std::to_string(::getpid()) + "-" + target + version + ".qmb"))
                         .string();
  EXPECT_TRUE(w.write(path).ok());
  return path;
}

TEST(Artifact, OpensAValidArtifact) {
  std::string path = writeArtifact("sm_90a");
  auto a = Artifact::open(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ((*a)->vocabSize(), 256);
  EXPECT_EQ((*a)->ptx("quantize_inner4"), ".version 9.0");
  EXPECT_TRUE((*a)->cubin("quantize_inner4").empty());
}

TEST(Artifact, RejectsAnotherArchitectureNamingBoth) {
  std::string hopper = writeArtifact("sm_90a"), ampere = writeArtifact("sm_80");
  auto h = Artifact::open(hopper);
  auto a = Artifact::open(ampere);
  std::filesystem::remove(hopper);
  std::filesystem::remove(ampere);
  ASSERT_TRUE(h.ok() && a.ok());
  EXPECT_TRUE((*h)->checkDevice(9, 0).ok());
  Status onAmpere = (*h)->checkDevice(8, 6);
  ASSERT_FALSE(onAmpere.ok());
  EXPECT_NE(onAmpere.error().find("built for sm_90a (Hopper, compute capability 9.0), this GPU is 8.6"),
            std::string::npos)
      << onAmpere.error();
  EXPECT_TRUE((*a)->checkDevice(8, 0).ok());
  EXPECT_TRUE((*a)->checkDevice(9, 0).ok()); // PTX JIT on newer GPUs
  EXPECT_FALSE((*a)->checkDevice(7, 5).ok());
}

TEST(Artifact, RejectsWrongVersionAndPlainSafetensors) {
  std::string path = writeArtifact("sm_90a", "2");
  auto a = Artifact::open(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().find("model.qmb version 2, this runtime reads version 1"), std::string::npos)
      << a.error();
  auto fixture = Artifact::open(std::string(QUAMBA_TEST_FIXTURES_DIR) +
                                "/tiny_mamba1_hf/model.safetensors");
  ASSERT_FALSE(fixture.ok());
  EXPECT_NE(fixture.error().find("not a quamba model.qmb"), std::string::npos) << fixture.error();
}

TEST(Artifact, RejectsATruncatedFile) {
  std::string path = writeArtifact("sm_90a");
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  auto a = Artifact::open(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().find(path), std::string::npos) << a.error();
}

TEST(Artifact, RejectsAWeightTooLargeToCount) {
  // numel overflowed int64_t (UBSan) before the byte count was compared.
  Plan p = tinyPlan();
  p.buffers[2].shape = {ShapeExpr(int64_t(1) << 32), ShapeExpr(int64_t(1) << 32)};
  std::string path = writeArtifact("sm_90a", "1", &p);
  auto a = Artifact::open(path);
  std::filesystem::remove(path);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().find("weight tensor 'weights/s' has more bytes than a 64-bit size holds"),
            std::string::npos)
      << a.error();
}

TEST(Artifact, FromBufferValidatesLikeOpen) {
  std::string path = writeArtifact("sm_90a");
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  auto a = Artifact::fromBuffer(bytes, "in-memory.qmb");
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ((*a)->path(), "in-memory.qmb");
  EXPECT_EQ((*a)->vocabSize(), 256);
  EXPECT_EQ((*a)->ptx("quantize_inner4"), ".version 9.0");
  auto cut = Artifact::fromBuffer(bytes.substr(0, bytes.size() - 3), "cut.qmb");
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().find("cut.qmb"), std::string::npos) << cut.error();
}

} // namespace
