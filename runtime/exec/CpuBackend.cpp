//===- CpuBackend.cpp - run a plan with the reference kernels -------------===//
//
// Each launch calls the reference kernel its op names (runtime/plan/
// LaunchOps.h): the CPU backend is the plan's semantics made executable, and
// the oracle every GPU kernel is checked against.
//
//===----------------------------------------------------------------------===//
#include "runtime/exec/Backend.h"

#include "runtime/reference/Kernels.h"
#include "runtime/reference/QuantizedKernels.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>

namespace quamba::exec {

namespace {

int64_t product(const std::vector<int64_t> &dims, size_t from = 0,
                size_t to = SIZE_MAX) {
  int64_t n = 1;
  for (size_t i = from; i < dims.size() && i < to; ++i)
    n *= dims[i];
  return n;
}

class CpuBackend final : public Backend {
public:
  std::string name() const override { return "cpu"; }
  Status prepare(const plan::Artifact &) override { return Status::success(); }

  Result<void *> allocate(size_t bytes) override {
    // The rounding below must not wrap around to a small allocation.
    if (bytes > std::numeric_limits<size_t>::max() / 2)
      return makeError("cpu: cannot allocate " + std::to_string(bytes) + " bytes");
    void *ptr = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (!ptr)
      return makeError("cpu: out of memory allocating " + std::to_string(bytes) + " bytes");
    return ptr;
  }
  void release(void *ptr) override { std::free(ptr); }
  Status upload(void *dst, const void *src, size_t bytes) override {
    std::memcpy(dst, src, bytes);
    return Status::success();
  }
  Status download(void *dst, const void *src, size_t bytes) override {
    std::memcpy(dst, src, bytes);
    return Status::success();
  }
  Status copy(void *dst, const void *src, size_t bytes) override {
    std::memmove(dst, src, bytes);
    return Status::success();
  }
  Status fill(void *dst, uint8_t value, size_t bytes) override {
    std::memset(dst, value, bytes);
    return Status::success();
  }
  Status synchronize() override { return Status::success(); }
  Status run(const BoundLaunch &bound) override;

private:
  /// The launch with its quantized output (if any) computed in f32, then
  /// quantized.
  Status runQuantizedOutput(const BoundLaunch &bound, plan::QuantizedOutputOperands q);
  /// The launch with its int8 state (if any) dequantized before the op and
  /// quantized after it.
  Status runInt8State(const BoundLaunch &bound);
  /// The launch with its split epilogue (if any) applied after the op.
  Status runSplit(const BoundLaunch &bound);
  /// The op of `bound`, its split epilogue (if any) not applied: operand
  /// `splitOutputOperand` is the whole output.
  Status runOp(const BoundLaunch &bound);
};

template <typename T> T *as(void *p) { return static_cast<T *>(p); }

Status CpuBackend::run(const BoundLaunch &bound) {
  if (std::optional<plan::ConvStepEpilogue> fused = plan::convStepEpilogue(*bound.launch)) {
    // A conv-step epilogue: the linear, then the step on its output part.
    for (auto [launch, positions] : {std::pair{&fused->linear, &fused->linearOperands},
                                     std::pair{&fused->conv, &fused->convOperands}}) {
      BoundLaunch part = bound;
      part.launch = launch;
      part.operands.clear();
      part.dims.clear();
      for (int i : *positions) {
        part.operands.push_back(bound.operands[i]);
        part.dims.push_back(bound.dims[i]);
      }
      if (Status s = run(part); !s)
        return s;
    }
    return Status::success();
  }
  if (std::optional<plan::QuantizedOutputOperands> q = plan::quantizedOutputOperands(*bound.launch))
    return runQuantizedOutput(bound, *q);
  std::vector<int> requantized = plan::requantizedParts(*bound.launch);
  if (requantized.empty())
    return runInt8State(bound);
  // Requantized output parts: the op without them, then each part rounded
  // to its int8 grid (quantize, dequantize: the launches codegen fused).
  const int out = plan::epilogueOutputOperand(*bound.launch);
  const int count = static_cast<int>(requantized.size());
  plan::Launch plain = *bound.launch;
  plain.attrs.erase("requantize_parts");
  plain.operands.erase(plain.operands.begin() + out - count, plain.operands.begin() + out);
  BoundLaunch inner = bound;
  inner.launch = &plain;
  inner.operands.erase(inner.operands.begin() + out - count, inner.operands.begin() + out);
  inner.dims.erase(inner.dims.begin() + out - count, inner.dims.begin() + out);
  if (Status s = runInt8State(inner); !s)
    return s;
  for (int i = 0; i < count; ++i) {
    const int part = out + requantized[i], scales = out - count + i;
    int64_t n = product(bound.dims[part]), width = product(bound.dims[scales]);
    if (width <= 0 || n % width != 0)
      return makeError("cpu backend: " + bound.launch->op + ": requantize scales of " +
                       std::to_string(width) + " for an output part of " + std::to_string(n));
    float *values = as<float>(bound.operands[part]);
    std::vector<int8_t> q(n);
    ref::quantizeInt8PerChannel(values, as<float>(bound.operands[scales]), q.data(), n / width,
                                width);
    ref::dequantizeInt8PerChannel(q.data(), as<float>(bound.operands[scales]), values,
                                  n / width, width);
  }
  return Status::success();
}

Status CpuBackend::runQuantizedOutput(const BoundLaunch &bound,
                                      plan::QuantizedOutputOperands q) {
  // The op into an f32 row, then quantize (the launch codegen fused).
  int64_t count = product(bound.dims[q.out]), inner = product(bound.dims[q.scales]);
  if (inner <= 0 || count % inner != 0)
    return makeError("cpu backend: " + bound.launch->op + ": quantized output of " +
                     std::to_string(count) + " elements, scales of " + std::to_string(inner));
  std::vector<float> values(static_cast<size_t>(count));
  plan::Launch f32Launch = *bound.launch;
  f32Launch.attrs.erase("quantize_output");
  f32Launch.operands.erase(f32Launch.operands.begin() + q.scales);
  BoundLaunch f32 = bound;
  f32.launch = &f32Launch;
  f32.operands[q.out] = values.data();
  f32.operands.erase(f32.operands.begin() + q.scales);
  f32.dims.erase(f32.dims.begin() + q.scales);
  if (Status s = runOp(f32); !s)
    return s;
  ref::quantizeInt8PerChannel(values.data(), as<float>(bound.operands[q.scales]),
                              as<int8_t>(bound.operands[q.out]), count / inner, inner);
  return Status::success();
}

Status CpuBackend::runInt8State(const BoundLaunch &bound) {
  std::optional<plan::Int8StateOperands> state = plan::int8StateOperands(*bound.launch);
  if (!state)
    return runSplit(bound);
  // An int8 state: dequantize it, run the f32 op, quantize its new state
  // (the launches codegen fused, LaunchOps.h).
  int64_t count = product(bound.dims[state->stateIn]);
  int64_t inner = product(bound.dims[state->scales]);
  if (inner <= 0 || count % inner != 0 || product(bound.dims[state->stateOut]) != count)
    return makeError("cpu backend: " + bound.launch->op + ": int8 state of " +
                     std::to_string(count) + " elements, scales of " + std::to_string(inner));
  const float *scales = as<float>(bound.operands[state->scales]);
  std::vector<float> stateIn(count), stateOut(count);
  ref::dequantizeInt8PerChannel(as<int8_t>(bound.operands[state->stateIn]), scales,
                                stateIn.data(), count / inner, inner);
  plan::Launch f32Launch = *bound.launch;
  f32Launch.attrs.erase("state_int8");
  BoundLaunch f32 = bound;
  f32.launch = &f32Launch;
  f32.operands[state->stateIn] = stateIn.data();
  f32.operands[state->stateOut] = stateOut.data();
  f32.operands.erase(f32.operands.begin() + state->scales);
  f32.dims.erase(f32.dims.begin() + state->scales);
  f32Launch.operands.erase(f32Launch.operands.begin() + state->scales);
  if (Status s = runSplit(f32); !s)
    return s;
  ref::quantizeInt8PerChannel(stateOut.data(), scales, as<int8_t>(bound.operands[state->stateOut]),
                              count / inner, inner);
  return Status::success();
}

Status CpuBackend::runSplit(const BoundLaunch &bound) {
  int at = plan::splitOutputOperand(*bound.launch);
  if (at < 0)
    return runOp(bound);
  // A split epilogue: the op into a whole [rows, W] output, then its
  // columns into the parts, as `split` would.
  const std::vector<double> &sizes = bound.launch->attrs.at("split_sizes");
  const size_t parts = sizes.size();
  int64_t width = 0;
  for (double size : sizes)
    width += static_cast<int64_t>(size);
  int64_t rows = product(bound.dims[at]) / static_cast<int64_t>(sizes[0]);
  std::vector<float> whole(static_cast<size_t>(rows * width));
  BoundLaunch joined = bound;
  joined.operands.erase(joined.operands.begin() + at, joined.operands.begin() + at + parts);
  joined.dims.erase(joined.dims.begin() + at, joined.dims.begin() + at + parts);
  joined.operands.insert(joined.operands.begin() + at, whole.data());
  std::vector<int64_t> wholeDims = bound.dims[at];
  wholeDims.back() = width;
  joined.dims.insert(joined.dims.begin() + at, wholeDims);
  if (Status s = runOp(joined); !s)
    return s;
  int64_t offset = 0;
  for (size_t i = 0; i < parts; ++i) {
    int64_t size = static_cast<int64_t>(sizes[i]);
    float *out = as<float>(bound.operands[at + i]);
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(out + r * size, whole.data() + r * width + offset, size * sizeof(float));
    offset += size;
  }
  return Status::success();
}

Status CpuBackend::runOp(const BoundLaunch &bound) {
  const plan::Launch &l = *bound.launch;
  const std::string &op = l.op;
  const auto &d = bound.dims;
  void *const *p = bound.operands.data();
  auto fail = [&](const std::string &what) {
    return makeError("cpu backend: " + op + ": " + what);
  };
  auto check = [&](Status s) { return s ? s : fail(s.error()); };
  const float *bias = nullptr;

  if (op == "embedding") {
    return check(ref::embedding(as<float>(p[0]), d[0][0], d[0][1], as<int32_t>(p[1]),
                                product(d[1]), as<float>(p[2])));
  }
  if (op == "quantized_embedding") {
    return check(ref::quantizedEmbedding(as<int8_t>(p[0]), as<float>(p[1]), d[0][0], d[0][1],
                                         d[3].back(), static_cast<int>(l.attr("bits")),
                                         as<int32_t>(p[2]), product(d[2]), as<float>(p[3])));
  }
  if (op == "rms_norm") {
    int64_t dim = d[0].back();
    ref::rmsNorm(as<float>(p[0]), as<float>(p[1]), as<float>(p[2]), product(d[0]) / dim, dim,
                 static_cast<float>(l.attr("eps")));
    return Status::success();
  }
  if (op == "add_rms_norm") {
    int64_t dim = d[0].back();
    ref::addRmsNorm(as<float>(p[0]), as<float>(p[1]), as<float>(p[2]), as<float>(p[3]),
                    as<float>(p[4]), product(d[0]) / dim, dim, static_cast<float>(l.attr("eps")));
    return Status::success();
  }
  if (op == "linear" || op == "linear_bias") {
    int64_t k = d[0].back(), n = d[1][0];
    bool hasBias = op == "linear_bias";
    ref::linear(as<float>(p[0]), as<float>(p[1]), hasBias ? as<float>(p[2]) : nullptr,
                as<float>(p[hasBias ? 3 : 2]), product(d[0]) / k, k, n);
    return Status::success();
  }
  if (op == "split") {
    int64_t width = d[0].back(), rows = product(d[0]) / width, offset = 0;
    const float *x = as<float>(p[0]);
    for (size_t i = 1; i < bound.operands.size(); ++i) {
      int64_t size = d[i].back();
      float *out = as<float>(p[i]);
      for (int64_t r = 0; r < rows; ++r)
        std::memcpy(out + r * size, x + r * width + offset, size * sizeof(float));
      offset += size;
    }
    return Status::success();
  }
  if (op == "causal_conv1d") {
    bias = l.flag("has_bias") ? as<float>(p[2]) : nullptr;
    ref::causalConv1d(as<float>(p[0]), as<float>(p[1]), bias, as<float>(p[3]), as<float>(p[4]),
                      d[0][0], d[0][1], d[0][2], d[1][1], l.flag("silu"));
    return Status::success();
  }
  if (op == "causal_conv1d_step") {
    bias = l.flag("has_bias") ? as<float>(p[3]) : nullptr;
    int64_t batch = d[0][0], channels = d[0].back(), kernel = d[2][1];
    std::memcpy(p[5], p[1], batch * channels * kernel * sizeof(float));
    ref::causalConv1dStep(as<float>(p[0]), as<float>(p[5]), as<float>(p[2]), bias,
                          as<float>(p[4]), batch, channels, kernel, l.flag("silu"));
    return Status::success();
  }
  if (op == "ssd_chunk_cb") {
    // B, C [B, L, G*N]
    ref::SSDShape shape;
    shape.batch = d[0][0], shape.seqlen = d[0][1];
    shape.ngroups = static_cast<int64_t>(l.attr("ngroups"));
    shape.dstate = d[0][2] / shape.ngroups;
    ref::ssdChunkCB(shape, as<float>(p[0]), as<float>(p[1]), as<float>(p[2]));
    return Status::success();
  }
  if (op == "ssd_chunk_state" || op == "ssd_state_passing" || op == "ssd_chunk_scan" ||
      op == "ssd_step") {
    // x [B, L, H*P] (step: [B, H*P]) and B [.., G*N], or for state passing
    // the chunk states [B, chunks, H, P, N].
    ref::SSDShape shape;
    shape.batch = d[0][0];
    if (op == "ssd_state_passing") {
      shape.seqlen = d[0][2]; // cum [B, H, L]
      shape.nheads = d[1][2], shape.headdim = d[1][3], shape.dstate = d[1][4];
      ref::ssdStatePassing(shape, as<float>(p[0]), as<float>(p[1]), as<float>(p[2]),
                           as<float>(p[3]));
      return Status::success();
    }
    const unsigned bArg = op == "ssd_chunk_scan" ? 3 : 2; // B, or C
    shape.seqlen = op == "ssd_step" ? 1 : d[0][1];
    shape.headdim = static_cast<int64_t>(l.attr("headdim"));
    shape.nheads = d[0].back() / shape.headdim;
    shape.ngroups = static_cast<int64_t>(l.attr("ngroups"));
    shape.dstate = d[bArg].back() / shape.ngroups;
    shape.dHasHdim = l.flag("d_has_hdim");
    if (op == "ssd_chunk_state") {
      ref::ssdChunkState(shape, static_cast<float>(l.attr("dt_min")),
                         l.attrs.count("dt_max") ? static_cast<float>(l.attr("dt_max"))
                                                 : std::numeric_limits<float>::infinity(),
                         as<float>(p[0]), as<float>(p[1]), as<float>(p[2]), as<float>(p[3]),
                         as<float>(p[4]), as<float>(p[5]), as<float>(p[6]), as<float>(p[7]));
    } else if (op == "ssd_chunk_scan") {
      ref::ssdChunkScan(shape, as<float>(p[0]), as<float>(p[1]), as<float>(p[2]),
                        as<float>(p[3]), as<float>(p[4]), as<float>(p[5]), as<float>(p[6]),
                        as<float>(p[7]));
    } else {
      std::memcpy(p[9], p[7], product(d[7]) * sizeof(float));
      ref::ssdStep(shape, as<float>(p[0]), as<float>(p[1]), as<float>(p[2]), as<float>(p[3]),
                   as<float>(p[4]), as<float>(p[5]), as<float>(p[6]), as<float>(p[9]),
                   as<float>(p[8]));
    }
    return Status::success();
  }
  if (op == "selective_scan" || op == "selective_step") {
    ref::SelectiveShape shape;
    shape.batch = d[0][0];
    shape.seqlen = op == "selective_scan" ? d[0][1] : 1;
    shape.dinner = d[5][0];
    shape.dstate = d[5][1];
    const float *args[8];
    for (int i = 0; i < 8; ++i)
      args[i] = as<float>(p[i]);
    if (op == "selective_scan") {
      ref::selectiveScan(shape, args[0], args[1], args[2], args[3], args[4], args[5], args[6],
                         args[7], as<float>(p[8]), as<float>(p[9]));
    } else {
      std::memcpy(p[10], p[8], product(d[8]) * sizeof(float));
      ref::selectiveStep(shape, args[0], args[1], args[2], args[3], args[4], args[5], args[6],
                         args[7], as<float>(p[10]), as<float>(p[9]));
    }
    return Status::success();
  }
  if (op == "gated_rms_norm") {
    // With a Hadamard epilogue the factor (for the GPU kernel) precedes out.
    const bool hadamard = plan::hasHadamardEpilogue(l);
    int64_t dim = d[0].back(), rows = product(d[0]) / dim;
    float *out = as<float>(p[hadamard ? 4 : 3]);
    ref::gatedRmsNorm(as<float>(p[0]), as<float>(p[1]), as<float>(p[2]), out, rows, dim,
                      static_cast<int64_t>(l.attr("group_size")),
                      static_cast<float>(l.attr("eps")));
    return hadamard ? check(ref::hadamard(out, rows, dim)) : Status::success();
  }
  if (op == "hadamard") {
    int64_t n = d[0].back(), count = product(d[0]);
    std::memcpy(p[2], p[0], count * sizeof(float));
    return check(ref::hadamard(as<float>(p[2]), count / n, n));
  }
  if (op == "quantize" || op == "dequantize" || op == "requantize") {
    int64_t inner = static_cast<int64_t>(l.attr("inner")), count = product(d[0]);
    if (inner <= 0 || count % inner != 0)
      return fail("scale block " + std::to_string(inner) + " does not tile " +
                  std::to_string(count) + " elements");
    if (op == "requantize") {
      std::vector<int8_t> q(count);
      ref::quantizeInt8PerChannel(as<float>(p[0]), as<float>(p[1]), q.data(), count / inner, inner);
      ref::dequantizeInt8PerChannel(q.data(), as<float>(p[1]), as<float>(p[2]), count / inner,
                                    inner);
    } else if (op == "quantize")
      ref::quantizeInt8PerChannel(as<float>(p[0]), as<float>(p[1]), as<int8_t>(p[2]),
                                  count / inner, inner);
    else
      ref::dequantizeInt8PerChannel(as<int8_t>(p[0]), as<float>(p[1]), as<float>(p[2]),
                                    count / inner, inner);
    return Status::success();
  }
  if (op == "linear_w8a8") {
    int64_t k = d[0].back(), n = d[2][0];
    bias = l.flag("has_bias") ? as<float>(p[4]) : nullptr;
    return check(ref::linearW8A8(as<int8_t>(p[0]), *as<float>(p[1]), as<int8_t>(p[2]),
                                 as<float>(p[3]), bias, as<float>(p[5]), product(d[0]) / k, k, n));
  }
  if (op == "linear_w4a8") {
    int64_t k = d[0].back(), n = d[2][0];
    bias = l.flag("has_bias") ? as<float>(p[5]) : nullptr;
    return check(ref::linearW4A8(as<int8_t>(p[0]), *as<float>(p[1]), as<uint8_t>(p[2]),
                                 as<float>(p[3]), as<float>(p[4]), bias, as<float>(p[6]),
                                 product(d[0]) / k, k, n,
                                 static_cast<int64_t>(l.attr("group_size"))));
  }
  if (op == "linear_w4a16") {
    int64_t k = d[0].back(), n = d[1][0];
    bias = l.flag("has_bias") ? as<float>(p[3]) : nullptr;
    return check(ref::linearW4A16(as<float>(p[0]), as<uint8_t>(p[1]), as<float>(p[2]), bias,
                                  as<float>(p[4]), product(d[0]) / k, k, n,
                                  static_cast<int64_t>(l.attr("group_size"))));
  }
  if (op == "argmax") {
    int64_t batch = d[0][0], seqlen = d[0][1], vocab = d[0][2];
    for (int64_t s = 0; s < batch; ++s) {
      const float *row = as<float>(p[0]) + ((s + 1) * seqlen - 1) * vocab;
      as<int32_t>(p[1])[s] = static_cast<int32_t>(std::max_element(row, row + vocab) - row);
    }
    return Status::success();
  }
  if (op == "sample") {
    int64_t batch = d[0][0], seqlen = d[0][1], vocab = d[0][2];
    ref::SampleParams params = ref::sampleParamsFromWords(as<int32_t>(p[1]));
    params.allowed = std::clamp<int64_t>(params.allowed, 1, vocab);
    for (int64_t s = 0; s < batch; ++s) {
      const float *row = as<float>(p[0]) + ((s + 1) * seqlen - 1) * vocab;
      as<int32_t>(p[2])[s] = ref::sampleToken(row, params, static_cast<uint64_t>(s));
    }
    return Status::success();
  }
  return fail("no reference kernel for this op");
}

} // namespace

std::unique_ptr<Backend> createCpuBackend() { return std::make_unique<CpuBackend>(); }

} // namespace quamba::exec
