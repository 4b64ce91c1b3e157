//===- QuantizedModelTest.cpp - quantized models end to end ---------------===//
//
// The Quamba2 pipelines (passes/Pipelines.h) run on real checkpoints, and the
// quantized modules run through the CPU interpreter:
//
// * DecodeContinuesPrefill: on the tiny fixtures, in every mode, one @decode
//   step from the states @prefill returned gives the logits a longer
//   @prefill gives at that position. W4A16 keeps float states, so the two
//   agree to rounding (1e-4 relative). In W8A8 / W4A8 the SSM state crosses
//   the boundary as int8: the state @decode starts from must be @prefill's
//   float state rounded to the state scale, layer 0's scan output must stay
//   within the bound that rounding implies, and the logits within twice what
//   moving every state code by one step does to them (see the test).
// * AccuracyWithinBudget: bits/byte of held-out text for the bundled models,
//   fp32 (the oracle) against W8A8 and W4A8.
// * PipelineIsDeterministic: the W4A8 pipeline, run in two contexts, writes
//   the same bytecode.
//
//===----------------------------------------------------------------------===//
#include "VectorCompare.h"
#include "dialect/Mamba/IR/MambaOps.h"
#include "dialect/Mamba/Import/CheckpointImporter.h"
#include "passes/Interpreter/Interpreter.h"
#include "passes/Pipelines.h"
#include "runtime/Logits.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <tuple>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

using namespace mlir;
using ::quamba::test::maxAbs;
using ::quamba::test::maxAbsDiff;
using namespace mlir::quamba;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

const char *modeName(QuantMode mode) {
  switch (mode) {
  case QuantMode::W8A8:
    return "w8a8";
  case QuantMode::W4A8:
    return "w4a8";
  case QuantMode::W4A16:
    return "w4a16";
  case QuantMode::W4AX:
    return "w4ax";
  }
  return "?";
}

std::string readText(const std::string &path, size_t maxBytes) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  if (text.size() > maxBytes)
    text.resize(maxBytes);
  return text;
}

/// Byte-level token ids (every model here has the 256-row byte vocabulary).
std::vector<int32_t> byteTokens(const std::string &text) {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (char c : text)
    ids.push_back(static_cast<unsigned char>(c));
  return ids;
}

/// A file under the temp directory holding `text`, removed on destruction.
class TempTextFile {
public:
  TempTextFile(const std::string &tag, const std::string &text)
      : path((std::filesystem::temp_directory_path() /
              ("quamba-quantized-test-" + std::to_string(::getpid()) + "-" +
               tag + ".txt"))
                 .string()) {
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempTextFile() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
  const std::string path;
};

/// Imports the checkpoint at `dir` into `context` (null on failure, with a
/// test failure recorded).
OwningOpRef<ModuleOp> importModel(MLIRContext &context,
                                  const std::string &dir) {
  context.loadDialect<mamba::MambaDialect, arith::ArithDialect,
                      func::FuncDialect>();
  auto imported = mamba::importCheckpoint(context, dir);
  EXPECT_TRUE(static_cast<bool>(imported))
      << dir << ": " << llvm::toString(imported.takeError());
  return imported ? std::move(*imported) : OwningOpRef<ModuleOp>();
}

struct Calibration {
  std::string data;
  int64_t samples, seqlen, groupSize;
};

/// A copy of `original` with the Quamba2 pipeline of `mode` applied (null on
/// failure, with a test failure recorded).
OwningOpRef<ModuleOp> quantized(ModuleOp original, QuantMode mode,
                                const Calibration &calibration) {
  QuambaPipelineOptions options;
  options.data = calibration.data;
  options.samples = calibration.samples;
  options.seqlen = calibration.seqlen;
  options.groupSize = calibration.groupSize;
  OwningOpRef<ModuleOp> copy = original.clone();
  auto pm = PassManager::on<ModuleOp>(original.getContext());
  buildQuambaPipeline(pm, mode, options);
  bool ok = succeeded(pm.run(*copy));
  EXPECT_TRUE(ok) << modeName(mode);
  return ok ? std::move(copy) : OwningOpRef<ModuleOp>();
}

/// Runs `name` (failures recorded; an empty vector then).
std::vector<HostTensor> run(Interpreter &interp, StringRef name,
                            std::vector<HostTensor> args) {
  auto out = interp.run(name, std::move(args));
  EXPECT_TRUE(static_cast<bool>(out))
      << name.str() << ": " << llvm::toString(out.takeError());
  return out ? std::move(*out) : std::vector<HostTensor>{};
}

/// The batch rows of `ids` ([batch, stride] row-major) cut to [begin, end).
HostTensor tokenSlice(const std::vector<int32_t> &ids, int64_t batch,
                      int64_t stride, int64_t begin, int64_t end) {
  std::vector<int32_t> slice;
  for (int64_t b = 0; b < batch; ++b)
    slice.insert(slice.end(), ids.begin() + b * stride + begin,
                 ids.begin() + b * stride + end);
  return HostTensor::tokens({batch, end - begin}, std::move(slice));
}

/// The logits of the last position of every batch row, [batch, vocab].
std::vector<float> lastPositionLogits(const HostTensor &logits) {
  EXPECT_EQ(logits.shape.size(), 3u);
  int64_t batch = logits.shape[0], len = logits.shape[1],
          vocab = logits.shape[2];
  std::vector<float> last;
  for (int64_t b = 0; b < batch; ++b) {
    auto row = logits.values.begin() + (b * len + len - 1) * vocab;
    last.insert(last.end(), row, row + vocab);
  }
  return last;
}

/// Indices (into @prefill's results) of the SSM states: results produced by
/// a selective / SSD scan, through the mamba.quantize of int8-state modes.
std::vector<size_t> ssmStateResults(ModuleOp module) {
  std::vector<size_t> indices;
  auto prefill = module.lookupSymbol<func::FuncOp>("prefill");
  EXPECT_TRUE(prefill);
  if (!prefill)
    return indices;
  Operation *ret = prefill.getBody().front().getTerminator();
  for (auto [index, value] : llvm::enumerate(ret->getOperands())) {
    if (auto quantize = value.getDefiningOp<mamba::QuantizeOp>())
      value = quantize.getInput();
    Operation *def = value.getDefiningOp();
    if (def && isa<mamba::SSDScanOp, mamba::SelectiveScanOp>(def))
      indices.push_back(index);
  }
  return indices;
}

/// Mean negative log-likelihood in bits per byte of `text` (byte tokens),
/// scored in consecutive windows of `window` bytes, one @prefill each; the
/// first byte of each window has no context and is not scored (as quamba-interpret
/// --ppl). One token is one byte, so bytes = scored tokens.
double bitsPerByte(ModuleOp module, const std::string &text, int64_t window) {
  std::vector<int32_t> ids = byteTokens(text);
  Interpreter interp(module);
  double nll = 0.0;
  int64_t scored = 0;
  for (size_t begin = 0; begin + 1 < ids.size(); begin += window) {
    size_t end = std::min(ids.size(), begin + window);
    std::vector<int32_t> chunk(ids.begin() + begin, ids.begin() + end);
    int64_t len = static_cast<int64_t>(chunk.size());
    std::vector<HostTensor> out =
        run(interp, "prefill", {HostTensor::tokens({1, len}, chunk)});
    if (out.empty())
      return NAN;
    const HostTensor &logits = out[0];
    int64_t vocab = logits.shape[2];
    for (int64_t t = 1; t < len; ++t, ++scored)
      nll += ::quamba::negativeLogLikelihood(&logits.values[(t - 1) * vocab],
                                             vocab, chunk[t]);
  }
  return nll / std::log(2.0) / static_cast<double>(scored);
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

//===----------------------------------------------------------------------===//
// DecodeContinuesPrefill
//===----------------------------------------------------------------------===//

constexpr int64_t kBatch = 2, kPrompt = 40;
constexpr int64_t kTinySamples = 2, kTinySeqlen = 32;
constexpr size_t kTinyCalibrationBytes = 4096;
/// The held-out text the prompts start at: past the calibration bytes.
constexpr size_t kPromptOffset = 6000, kPromptStride = 3000;
/// Decode vs prefill with float states: rounding only (the chunked scan and
/// the step recurrence sum in different orders), the tolerance of the fp32
/// interpreter's own decode-vs-prefill test.
constexpr float kFloatStateTolerance = 1e-4f;

using DecodeParam = std::tuple<const char *, QuantMode>;

class QuantizedDecode : public ::testing::TestWithParam<DecodeParam> {
protected:
  void SetUp() override {
    dir = std::string(QUAMBA_TEST_FIXTURES_DIR) + "/" + std::get<0>(GetParam());
    if (!std::filesystem::exists(dir + "/config.json"))
      GTEST_SKIP() << dir << " is missing";
    std::string heldout =
        std::string(QUAMBA_SOURCE_DIR) + "/models/austen-heldout.txt";
    std::string text = readText(heldout, 1 << 20);
    ASSERT_GE(text.size(), kPromptOffset + kBatch * kPromptStride);
    calibrationFile = std::make_unique<TempTextFile>(
        std::get<0>(GetParam()) + std::string("-") +
            modeName(std::get<1>(GetParam())),
        text.substr(0, kTinyCalibrationBytes));
    for (int64_t b = 0; b < kBatch; ++b)
      for (int64_t t = 0; t < kPrompt; ++t)
        tokens.push_back(static_cast<unsigned char>(
            text[kPromptOffset + b * kPromptStride + t]));
  }

  std::string dir;
  std::unique_ptr<TempTextFile> calibrationFile;
  std::vector<int32_t> tokens; // [kBatch, kPrompt]
};

/// What the interpreter saw at the first scan op of a function (layer 0's
/// selective / SSD scan, or its step in @decode): copies of its operands and
/// results, and the scales of the mamba.quantize of its state, if any.
struct FirstScan {
  std::vector<HostTensor> operands, results;
  HostTensor stateScales;
};

/// Runs `name` like run(), also returning what the first scan saw.
FirstScan runObservingFirstScan(Interpreter &interp, StringRef name,
                                std::vector<HostTensor> args,
                                std::vector<HostTensor> &out) {
  FirstScan seen;
  Operation *scan = nullptr;
  interp.setObserver([&](Operation *op, ArrayRef<const HostTensor *> operands,
                         ArrayRef<const HostTensor *> results) {
    if (!scan && isa<mamba::SSDScanOp, mamba::SSDStepOp, mamba::SelectiveScanOp,
                     mamba::SelectiveStepOp>(op)) {
      scan = op;
      for (const HostTensor *t : operands)
        seen.operands.push_back(t ? *t : HostTensor());
      for (const HostTensor *t : results)
        seen.results.push_back(*t);
    } else if (auto quantize = dyn_cast<mamba::QuantizeOp>(op)) {
      if (scan && quantize.getInput() == scan->getResult(1))
        seen.stateScales = *operands[1];
    }
  });
  out = run(interp, name, std::move(args));
  interp.setObserver({});
  return seen;
}

/// Position `t` of a [B, L, W] float tensor, [B, W].
std::vector<float> position(const HostTensor &t, int64_t pos) {
  int64_t batch = t.shape[0], len = t.shape[1],
          width = t.numel() / (batch * len);
  std::vector<float> out;
  for (int64_t b = 0; b < batch; ++b) {
    auto row = t.values.begin() + (b * len + pos) * width;
    out.insert(out.end(), row, row + width);
  }
  return out;
}

/// Layer 0's scan output at the decoded position, where @decode's scan sees
/// exactly @prefill's inputs and differs only by the state it starts from.
///
/// `head`: the first scan of @prefill on tokens [0, n-1), with its float
/// final state h and the state scales s; `full`: the same on [0, n);
/// `step`: @decode's first step op, whose state operand is the dequantized
/// int8 state q·s. With e = q·s - h, the scan recurrence gives
///   Mamba2: y_dec - y_pre = sum_n C[g, n] · exp(dt·A) · e[h, p, n]
///   Mamba1: y_dec - y_pre = silu(z) · sum_n C[n] · exp(dt·A[c, n]) · e[c, n]
/// and exp(dt·A) <= 1 (A = -exp(A_log) < 0, dt >= 0), so
///   |y_dec - y_pre| <= sum_n |C_n| |e_n|   (Mamba1: times |silu(z)|).
/// Also checks that e is one rounding to the state grid, |e| <= s/2, where h
/// is inside the int8 range, and the clamp value where it is not.
void expectLayer0ScanWithinStateStep(mamba::ModelConfigAttr config,
                                     const FirstScan &head,
                                     const FirstScan &full,
                                     const FirstScan &step) {
  bool mamba2 = config.isMamba2();
  unsigned stateOperand = mamba2 ? 7 : 8;
  const HostTensor &h = head.results[1];
  const HostTensor &dequantized = step.operands[stateOperand];
  const HostTensor &scales = head.stateScales;
  EXPECT_EQ(h.numel(), dequantized.numel());
  EXPECT_GT(scales.numel(), 0) << "no mamba.quantize on the state";
  if (h.numel() != dequantized.numel() || scales.numel() == 0)
    return;

  // e, and the rounding check: q = clamp(round(h / s), -128, 127).
  int64_t perSample = h.numel() / h.shape[0], clipped = 0, badRounding = 0;
  std::vector<float> e(h.numel());
  for (int64_t i = 0; i < h.numel(); ++i) {
    float s = scales.values[(i % perSample) % scales.numel()];
    float ratio = h.values[i] / s;
    e[i] = dequantized.values[i] - h.values[i];
    if (ratio > 127.5f || ratio < -128.5f) {
      ++clipped;
      float end = (ratio > 0 ? 127.0f : -128.0f) * s;
      badRounding +=
          std::fabs(dequantized.values[i] - end) > 1e-6f * std::fabs(end);
      continue;
    }
    badRounding += std::fabs(e[i]) > 0.5f * s * (1.0f + 1e-5f);
  }
  EXPECT_EQ(badRounding, 0)
      << "the int8 state @decode starts from is not h rounded to the scale";

  // The scan inputs at the decoded position agree exactly: x, dt, B, C (and
  // z) come from in_proj and the conv, whose state holds inputs already on
  // their int8 grid, and the conv step sums in the prefill's order.
  int64_t last = full.operands[0].shape[1] - 1;
  for (unsigned i : mamba2 ? std::vector<unsigned>{0, 1, 2, 3}
                           : std::vector<unsigned>{0, 1, 2, 3, 4})
    EXPECT_EQ(maxAbsDiff(position(step.operands[i], 0),
                         position(full.operands[i], last)),
              0.0f)
        << "scan operand " << i << " differs between @decode and @prefill";

  std::vector<float> yPre = position(full.results[0], last);
  std::vector<float> yDec = position(step.results[0], 0);
  std::vector<float> c = position(full.operands[3], last);
  std::vector<float> z =
      mamba2 ? std::vector<float>{} : position(full.operands[4], last);
  int64_t batch = h.shape[0], channels = config.getDInner(),
          n = config.getDState();
  int64_t perGroup = mamba2 ? channels / config.getNgroups() : channels;
  float slack = 1e-5f * std::max(1.0f, maxAbs(yPre)); // fp32 rounding
  float worstRatio = 0.0f, worstDiff = 0.0f;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t ch = 0; ch < channels; ++ch) {
      // Mamba2 channel ch = head * P + p is in group ch / (E / G); the
      // state is [H, P, N] = [E, N] either way.
      int64_t group = ch / perGroup;
      double bound = 0.0;
      for (int64_t k = 0; k < n; ++k)
        bound += std::fabs(c[b * (c.size() / batch) + group * n + k]) *
                 std::fabs(e[(b * channels + ch) * n + k]);
      if (!mamba2) {
        float zv = z[b * channels + ch];
        bound *= std::fabs(zv / (1.0f + std::exp(-zv)));
      }
      float diff = std::fabs(yDec[b * channels + ch] - yPre[b * channels + ch]);
      worstDiff = std::max(worstDiff, diff);
      if (bound > 0)
        worstRatio = std::max(worstRatio, float(diff / bound));
      EXPECT_LE(diff, bound + slack) << "batch " << b << " channel " << ch;
    }
  std::printf("  layer 0 scan: max |dy| %.3g, max |dy| / bound %.3f, "
              "state elements clipped %lld / %lld\n",
              worstDiff, worstRatio, static_cast<long long>(clipped),
              static_cast<long long>(h.numel()));
}

/// One @decode step on `token` from @prefill's `results` (logits first,
/// then the states), with `edit` applied to each SSM state first; returns
/// the step's logits ([batch, vocab]).
std::vector<float>
decodeLogits(Interpreter &interp, const HostTensor &token,
             const std::vector<HostTensor> &results,
             const std::vector<size_t> &ssmIndices,
             const std::function<void(HostTensor &)> &edit = {}) {
  std::vector<HostTensor> args = {token};
  args.insert(args.end(), results.begin() + 1, results.end());
  if (edit)
    for (size_t index : ssmIndices)
      edit(args[index]);
  std::vector<HostTensor> out = run(interp, "decode", std::move(args));
  return out.empty() ? std::vector<float>{} : lastPositionLogits(out[0]);
}

/// The logits-level yardstick for int8-state modes: how far one state
/// quantization step moves the logits. Every code of every int8 SSM state is
/// moved by exactly one step s (+1 or -1, a pseudo-random sign; inward at
/// the ends of [-128, 127]), and the max |Δlogit| of the @decode step
/// against the unperturbed one is taken, the max over a few seeds.
float stateStepSensitivity(Interpreter &interp, const HostTensor &token,
                           const std::vector<HostTensor> &results,
                           const std::vector<size_t> &ssmIndices,
                           const std::vector<float> &unperturbed) {
  float worst = 0.0f;
  for (unsigned seed : {1u, 2u, 3u, 4u}) {
    std::mt19937 rng(seed);
    std::vector<float> moved =
        decodeLogits(interp, token, results, ssmIndices, [&](HostTensor &t) {
          EXPECT_TRUE(t.isInt8);
          for (int8_t &code : t.bytes) {
            int step = (rng() & 1) ? 1 : -1;
            if (code + step > 127 || code + step < -128)
              step = -step;
            code = static_cast<int8_t>(code + step);
          }
        });
    if (moved.empty())
      return NAN;
    worst = std::max(worst, maxAbsDiff(moved, unperturbed));
  }
  return worst;
}

TEST_P(QuantizedDecode, DecodeContinuesPrefill) {
  QuantMode mode = std::get<1>(GetParam());
  const char *fixture = std::get<0>(GetParam());
  MLIRContext context;
  OwningOpRef<ModuleOp> original = importModel(context, dir);
  ASSERT_TRUE(original);
  // Group 32 divides every 4-bit K of both fixtures (d_model 64, d_inner 128;
  // Mamba1's dt_proj, K = dt_rank = 4, is never 4-bit) and gives each row
  // several groups.
  OwningOpRef<ModuleOp> module = quantized(
      *original, mode, {calibrationFile->path, kTinySamples, kTinySeqlen, 32});
  ASSERT_TRUE(module);
  auto config = (*module)->getAttrOfType<mamba::ModelConfigAttr>(
      mamba::MambaDialect::getConfigAttrName());
  ASSERT_TRUE(config);
  bool int8States = mode != QuantMode::W4A16;
  std::vector<size_t> ssmIndices = ssmStateResults(*module);
  ASSERT_EQ(static_cast<int64_t>(ssmIndices.size()), config.getNLayer());

  Interpreter interp(*module);
  std::vector<HostTensor> full, head, step;
  FirstScan fullScan = runObservingFirstScan(
      interp, "prefill", {tokenSlice(tokens, kBatch, kPrompt, 0, kPrompt)},
      full);
  FirstScan headScan = runObservingFirstScan(
      interp, "prefill", {tokenSlice(tokens, kBatch, kPrompt, 0, kPrompt - 1)},
      head);
  ASSERT_FALSE(full.empty());
  ASSERT_EQ(head.size(), full.size());
  // Passes.td (quamba-quantize): the states cross the boundary as i8 in the
  // int8-activation modes, as float in W4A16.
  for (size_t i = 1; i < head.size(); ++i)
    EXPECT_EQ(head[i].isInt8, int8States) << "state result " << i;

  HostTensor last = tokenSlice(tokens, kBatch, kPrompt, kPrompt - 1, kPrompt);
  std::vector<HostTensor> args = {last};
  args.insert(args.end(), head.begin() + 1, head.end());
  FirstScan stepScan =
      runObservingFirstScan(interp, "decode", std::move(args), step);
  ASSERT_FALSE(step.empty());
  std::vector<float> want = lastPositionLogits(full[0]);
  std::vector<float> got = lastPositionLogits(step[0]);
  float error = maxAbsDiff(got, want);
  float scale = std::max(1.0f, maxAbs(want));
  RecordProperty("max_abs_error", std::to_string(error));
  std::printf("%s %s: max |dlogit| %.3g, max |logit| %.3g\n", fixture,
              modeName(mode), error, scale);
  if (!int8States) {
    // Float states: decode continues prefill up to rounding.
    EXPECT_LE(error, kFloatStateTolerance * scale);
    return;
  }

  // Why int8-state modes are not bit-identical: @prefill keeps the scan
  // state in float inside the scan op, so its last position continues from
  // the exact state h_{n-2}; @decode continues from the state @prefill
  // returned, q = clamp(round(h_{n-2} / s)) with s the state scale, i.e.
  // from h_{n-2} + e with |e| <= s/2 wherever h is inside the int8 range
  // (more where it is clipped). Everything else agrees exactly (the conv
  // state holds conv inputs, already on their int8 grid in both functions).
  //
  // 1. Layer 0, where that is the only difference: the scan output must be
  //    within the bound the state step implies (a tight, derived bound).
  ASSERT_EQ(headScan.results.size(), 2u);
  ASSERT_EQ(stepScan.operands.size(), config.isMamba2() ? 8u : 9u);
  expectLayer0ScanWithinStateStep(config, headScan, fullScan, stepScan);

  // 2. The logits. They do not respond to e in proportion to its size:
  //    every int8 activation downstream of the scan (the out_proj input, the
  //    next layer's in_proj input, ...) turns any change, however small,
  //    into whole-code flips of the codes near a rounding boundary. So the
  //    yardstick is measured on the model: the response to moving every
  //    state code by one full step s (stateStepSensitivity), at least twice
  //    e's amplitude where unclipped. e can match it (code flips dominate
  //    both) but not exceed it much: kStateStepMargin allows 2x (measured
  //    error / yardstick: 0.7-1.01 on these configurations).
  constexpr float kStateStepMargin = 2.0f;
  float sensitivity = stateStepSensitivity(interp, last, head, ssmIndices, got);
  float tolerance =
      kStateStepMargin * sensitivity + kFloatStateTolerance * scale;
  int64_t saturated = 0, codes = 0;
  for (size_t index : ssmIndices)
    for (int8_t code : head[index].bytes) {
      saturated += code == 127 || code == -128;
      ++codes;
    }
  std::printf("  logits: one-step yardstick %.3g, tolerance %.3g; "
              "saturated SSM state codes (all layers) %lld / %lld\n",
              sensitivity, tolerance, static_cast<long long>(saturated),
              static_cast<long long>(codes));
  RecordProperty("state_step_sensitivity", std::to_string(sensitivity));
  // The yardstick must itself be a small change of the logits, or it would
  // excuse anything.
  EXPECT_LE(sensitivity, 0.05f * scale);
  EXPECT_LE(error, tolerance)
      << "decode from the int8 state differs from prefill by more than a "
         "state quantization step explains";
}

INSTANTIATE_TEST_SUITE_P(
    QuantizedModel, QuantizedDecode,
    ::testing::Combine(::testing::Values("tiny_mamba2_g2_hf", "tiny_mamba1_hf"),
                       ::testing::Values(QuantMode::W8A8, QuantMode::W4A8,
                                         QuantMode::W4A16)),
    [](const ::testing::TestParamInfo<DecodeParam> &info) {
      return std::string(std::get<0>(info.param)) + "_" +
             modeName(std::get<1>(info.param));
    });

//===----------------------------------------------------------------------===//
// AccuracyWithinBudget
//===----------------------------------------------------------------------===//

constexpr size_t kEvalBytes = 4096;
constexpr int64_t kEvalWindow = 1024;
constexpr int64_t kBundledSamples = 4, kBundledSeqlen = 256;
/// Allowed bits/byte increase over fp32, relative.
constexpr double kW8A8Budget = 0.02, kW4A8Budget = 0.05;

class QuantizedAccuracy : public ::testing::TestWithParam<const char *> {
protected:
  static void SetUpTestSuite() {
#ifdef __GLIBC__
    // As quamba-interpret does: the interpreter allocates activations of megabytes
    // per op, and glibc would map, fault in and unmap each one (a third of
    // the time of these runs). Keep freed memory for reuse instead.
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  }
};

TEST_P(QuantizedAccuracy, AccuracyWithinBudget) {
  std::string dir = std::string(QUAMBA_SOURCE_DIR) + "/models/" + GetParam();
  if (!std::filesystem::exists(dir + "/config.json"))
    GTEST_SKIP() << dir << " is missing";
  std::string models = std::string(QUAMBA_SOURCE_DIR) + "/models/";
  std::string text = readText(models + "austen-heldout.txt", kEvalBytes);
  ASSERT_EQ(text.size(), kEvalBytes);
  // 4-bit groups: 128 divides Mamba2-6m's K (384, 768), not Mamba1-3m's
  // (320, 640); 64 divides both of those.
  bool mamba1 = StringRef(GetParam()).starts_with("mamba1");
  Calibration calibration{models + "sotu-calibration.txt", kBundledSamples,
                          kBundledSeqlen, mamba1 ? 64 : 128};

  MLIRContext context;
  OwningOpRef<ModuleOp> original = importModel(context, dir);
  ASSERT_TRUE(original);
  auto start = std::chrono::steady_clock::now();
  double fp32 = bitsPerByte(*original, text, kEvalWindow);
  std::printf("%s fp32: %.4f bits/byte (%.1f s)\n", GetParam(), fp32,
              secondsSince(start));
  RecordProperty("fp32_bits_per_byte", std::to_string(fp32));
  ASSERT_TRUE(std::isfinite(fp32));
  for (auto [mode, budget] : {std::pair{QuantMode::W8A8, kW8A8Budget},
                              std::pair{QuantMode::W4A8, kW4A8Budget}}) {
    start = std::chrono::steady_clock::now();
    OwningOpRef<ModuleOp> module = quantized(*original, mode, calibration);
    ASSERT_TRUE(module);
    double pipelineSeconds = secondsSince(start);
    start = std::chrono::steady_clock::now();
    double bits = bitsPerByte(*module, text, kEvalWindow);
    std::printf("%s %s: %.4f bits/byte, %+.2f %% over fp32 (pipeline %.1f s, "
                "eval %.1f s)\n",
                GetParam(), modeName(mode), bits, 100.0 * (bits / fp32 - 1.0),
                pipelineSeconds, secondsSince(start));
    RecordProperty(std::string(modeName(mode)) + "_bits_per_byte",
                   std::to_string(bits));
    EXPECT_LE(bits, fp32 * (1.0 + budget)) << modeName(mode);
  }
}

INSTANTIATE_TEST_SUITE_P(
    QuantizedModel, QuantizedAccuracy,
    ::testing::Values("mamba2-bytes-6m", "mamba1-bytes-3m"),
    [](const ::testing::TestParamInfo<const char *> &info) {
      std::string name = info.param;
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

//===----------------------------------------------------------------------===//
// PipelineIsDeterministic
//===----------------------------------------------------------------------===//

/// The W4A8 pipeline on the tiny Mamba2 fixture in a fresh context, as
/// bytecode (empty on failure).
std::string w4a8Bytecode(const std::string &dir, const std::string &data) {
  MLIRContext context;
  OwningOpRef<ModuleOp> original = importModel(context, dir);
  if (!original)
    return {};
  OwningOpRef<ModuleOp> module = quantized(
      *original, QuantMode::W4A8, {data, kTinySamples, kTinySeqlen, 32});
  if (!module)
    return {};
  std::string bytes;
  llvm::raw_string_ostream os(bytes);
  EXPECT_TRUE(succeeded(writeBytecodeToFile(*module, os)));
  os.flush();
  return bytes;
}

TEST(QuantizedModel, PipelineIsDeterministic) {
  std::string dir =
      std::string(QUAMBA_TEST_FIXTURES_DIR) + "/tiny_mamba2_g2_hf";
  if (!std::filesystem::exists(dir + "/config.json"))
    GTEST_SKIP() << dir << " is missing";
  TempTextFile data("determinism", readText(std::string(QUAMBA_SOURCE_DIR) +
                                                "/models/austen-heldout.txt",
                                            kTinyCalibrationBytes));
  std::string first = w4a8Bytecode(dir, data.path);
  std::string second = w4a8Bytecode(dir, data.path);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first.size(), second.size());
  EXPECT_TRUE(first == second) << "the two runs' bytecode differs";
}

} // namespace
