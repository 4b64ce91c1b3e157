//===- BackendCheck.cpp - one backend against another, launch by launch ---===//
#include "runtime/exec/BackendCheck.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

namespace quamba::exec {

bool isExactLaunch(const plan::Launch &launch) {
  const std::string &op = launch.op;
  if (op == "linear_w4a16")
    return launch.attrs.count("exact") != 0;
  return op != "linear" && op != "linear_bias";
}

int outputCount(const plan::Launch &launch) {
  const std::string &op = launch.op;
  if (op == "split")
    return static_cast<int>(launch.operands.size()) - 1;
  // A conv-step epilogue: the linear's outputs, then the step's.
  if (std::optional<plan::ConvStepEpilogue> fused = plan::convStepEpilogue(launch))
    return outputCount(fused->linear) + outputCount(fused->conv);
  // A split epilogue makes the first output one operand per part.
  auto split = launch.attrs.find("split_sizes");
  int parts = split == launch.attrs.end() ? 1 : static_cast<int>(split->second.size());
  if (op == "add_rms_norm" || op == "causal_conv1d" || op == "causal_conv1d_step" ||
      op == "ssd_step" || op == "selective_scan" || op == "selective_step" ||
      op == "ssd_state_passing")
    return 1 + parts;
  if (op == "ssd_chunk_state")
    return 3;
  return parts;
}

namespace {

size_t bufferBytes(const plan::Buffer &b, int64_t batch, int64_t seqlen) {
  return static_cast<size_t>(b.numel(batch, seqlen)) * plan::dtypeSize(b.dtype);
}

/// Random bytes valid for a buffer's dtype: floats in [-2, 2), any int8,
/// token ids in [0, vocab).
std::vector<uint8_t> randomBytes(const plan::Buffer &b, size_t bytes, int64_t vocab,
                                 std::mt19937_64 &rng) {
  std::vector<uint8_t> out(bytes);
  if (b.dtype == plan::DType::F32) {
    std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
    for (size_t i = 0; i + 4 <= bytes; i += 4) {
      float v = dist(rng);
      std::memcpy(&out[i], &v, 4);
    }
  } else if (b.dtype == plan::DType::I32) {
    std::uniform_int_distribution<int32_t> dist(0, static_cast<int32_t>(vocab - 1));
    for (size_t i = 0; i + 4 <= bytes; i += 4) {
      int32_t v = dist(rng);
      std::memcpy(&out[i], &v, 4);
    }
  } else {
    std::uniform_int_distribution<int> dist(0, 255);
    for (uint8_t &v : out)
      v = static_cast<uint8_t>(dist(rng));
  }
  return out;
}

LaunchCheck checkOne(Session &candidate, Session &reference, const std::string &entryName,
                     size_t index, int64_t batch, int64_t seqlen, std::mt19937_64 &rng,
                     double tolerance) {
  const plan::Plan &p = reference.artifact().plan();
  const plan::EntryPoint &entry = *p.entry(entryName);
  // Index launches.size() is the entry's greedy sampler, the next one its
  // random sampler.
  const bool sampler = index >= entry.launches.size();
  const bool random = index > entry.launches.size();
  const plan::Launch &launch = !sampler ? entry.launches[index]
                               : random ? *entry.randomSampler
                                        : *entry.sampler;
  LaunchCheck check;
  check.entry = entryName;
  check.index = index;
  check.op = launch.op;
  check.kernel = launch.kernel;
  check.exact = isExactLaunch(launch);
  const int outputs = outputCount(launch);
  const size_t first = launch.operands.size() - outputs;
  auto fail = [&](const std::string &error) {
    check.error = error;
    return check;
  };
  for (size_t i = 0; i < launch.operands.size(); ++i) {
    int buffer = launch.operands[i];
    const plan::Buffer &b = p.buffers[buffer];
    if (b.kind == plan::BufferKind::Weight)
      continue;
    size_t bytes = bufferBytes(b, batch, seqlen);
    Result<void *> c = candidate.buffer(buffer, batch, seqlen);
    Result<void *> r = reference.buffer(buffer, batch, seqlen);
    if (!c || !r)
      return fail(!c ? c.error() : r.error());
    if (i < first) {
      std::vector<uint8_t> data = randomBytes(b, bytes, reference.vocabSize(), rng);
      if (random && i == 1) {
        // The sampling parameters: a typical draw (temperature, top-k and
        // top-p all active), fresh seed and step.
        ref::SampleParams params;
        params.temperature = 0.8f;
        params.topK = 40;
        params.topP = 0.9f;
        params.allowed = reference.vocabSize();
        params.seed = rng();
        params.step = rng() % 1000;
        int32_t words[ref::kSampleParamWords];
        ref::sampleParamsToWords(params, words);
        std::memcpy(data.data(), words, sizeof(words));
      }
      if (Status s = candidate.backend().upload(*c, data.data(), bytes); !s)
        return fail(s.error());
      if (Status s = reference.backend().upload(*r, data.data(), bytes); !s)
        return fail(s.error());
    } else {
      // Poison: 0xFF bytes are NaN floats and -1 int8s.
      if (Status s = candidate.backend().fill(*c, 0xFF, bytes); !s)
        return fail(s.error());
    }
  }
  auto runOn = [&](Session &session) {
    return sampler ? session.runSampler(entryName, batch, seqlen, random)
                   : session.runLaunch(entryName, index, batch, seqlen);
  };
  if (Status s = runOn(candidate); !s)
    return fail(s.error());
  if (Status s = runOn(reference); !s)
    return fail("reference: " + s.error());

  double diff2 = 0, ref2 = 0;
  for (size_t i = first; i < launch.operands.size(); ++i) {
    const plan::Buffer &b = p.buffers[launch.operands[i]];
    size_t bytes = bufferBytes(b, batch, seqlen);
    std::vector<uint8_t> got(bytes), want(bytes);
    if (Status s = candidate.backend().download(got.data(), *candidate.buffer(launch.operands[i], batch, seqlen), bytes); !s)
      return fail(s.error());
    if (Status s = reference.backend().download(want.data(), *reference.buffer(launch.operands[i], batch, seqlen), bytes); !s)
      return fail(s.error());
    if (b.dtype != plan::DType::F32) {
      for (size_t k = 0; k < bytes; ++k)
        check.mismatches += got[k] != want[k];
      continue;
    }
    for (size_t k = 0; k + 4 <= bytes; k += 4) {
      float g, w;
      std::memcpy(&g, &got[k], 4);
      std::memcpy(&w, &want[k], 4);
      uint32_t gBits;
      std::memcpy(&gBits, &got[k], 4);
      if (gBits == 0xFFFFFFFFu && !std::isnan(w))
        ++check.unwritten;
      // Random finite inputs give finite outputs for every op: a non-finite
      // value on either side is a mismatch, unless both hold the same bits.
      bool sameBits = std::memcmp(&got[k], &want[k], 4) == 0;
      if (check.exact ? !sameBits : (!std::isfinite(w) || !std::isfinite(g)) && !sameBits)
        ++check.mismatches;
      if (std::isfinite(g) && std::isfinite(w)) {
        diff2 += static_cast<double>(g - w) * (g - w);
        ref2 += static_cast<double>(w) * w;
      }
    }
  }
  check.relError = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  check.passed = check.error.empty() && check.mismatches == 0 && check.unwritten == 0 &&
                 (check.exact || check.relError <= tolerance);
  return check;
}

} // namespace

std::vector<LaunchCheck> checkLaunches(Session &candidate, Session &reference, int64_t batch,
                                       int64_t seqlen, uint64_t seed, double tolerance) {
  std::mt19937_64 rng(seed);
  std::vector<LaunchCheck> out;
  const plan::Plan &p = reference.artifact().plan();
  for (const plan::EntryPoint &entry : p.entries) {
    int64_t len = entry.singleToken ? 1 : seqlen;
    size_t count = entry.launches.size() + (entry.sampler ? 1 : 0) +
                   (entry.sampler && entry.randomSampler ? 1 : 0);
    for (size_t i = 0; i < count; ++i)
      out.push_back(checkOne(candidate, reference, entry.name, i, batch, len, rng, tolerance));
  }
  return out;
}

/// |a - b|, infinite when either is not finite (NaN must not hide in a max).
static double absDiff(float a, float b) {
  if (!std::isfinite(a) || !std::isfinite(b))
    return std::memcmp(&a, &b, sizeof(float)) == 0 ? 0.0 : INFINITY;
  return std::fabs(static_cast<double>(a) - b);
}

static size_t argmax(const float *v, int64_t n) {
  return static_cast<size_t>(std::max_element(v, v + n) - v);
}

Result<ModelComparison> compareModels(Session &candidate, Session &reference,
                                      const std::vector<int32_t> &prompt, int64_t steps) {
  ModelComparison out;
  const int64_t vocab = reference.vocabSize();
  const int64_t len = static_cast<int64_t>(prompt.size());
  Result<std::vector<float>> c = candidate.prefill(prompt, 1, len);
  Result<std::vector<float>> r = reference.prefill(prompt, 1, len);
  if (!c || !r)
    return makeError(!c ? c.error() : "reference: " + r.error());
  for (size_t i = 0; i < c->size(); ++i)
    out.prefillMaxAbs = std::max(out.prefillMaxAbs, absDiff((*c)[i], (*r)[i]));
  std::vector<float> cLast(c->end() - vocab, c->end()), rLast(r->end() - vocab, r->end());
  for (int64_t s = 0; s < steps; ++s) {
    int32_t cNext = static_cast<int32_t>(argmax(cLast.data(), vocab));
    int32_t rNext = static_cast<int32_t>(argmax(rLast.data(), vocab));
    out.candidateTokens.push_back(cNext);
    out.referenceTokens.push_back(rNext);
    if (s + 1 == steps)
      break;
    Result<std::vector<float>> cs = candidate.decode({cNext});
    Result<std::vector<float>> rs = reference.decode({rNext});
    if (!cs || !rs)
      return makeError(!cs ? cs.error() : "reference: " + rs.error());
    if (cNext == rNext)
      for (int64_t i = 0; i < vocab; ++i)
        out.decodeMaxAbs = std::max(out.decodeMaxAbs, absDiff((*cs)[i], (*rs)[i]));
    cLast = cs.take();
    rLast = rs.take();
  }
  return out;
}

} // namespace quamba::exec
