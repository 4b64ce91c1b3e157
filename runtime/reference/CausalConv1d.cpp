//===- CausalConv1d.cpp - depthwise causal conv, prefill and decode step ----===//
//
// Both paths sum bias first, then taps k = 0..K-1 (oldest input first), as
// causal_conv1d's kernels do; with the same order, a prefill followed by
// steps reproduces a longer prefill exactly.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/Kernels.h"
#include "runtime/reference/Parallel.h"

#include <vector>

namespace quamba::ref {
namespace {

float activate(float v, bool useSilu) { return useSilu ? silu(v) : v; }

/// weight [C, K] -> [K, C], so the prefill's inner loop runs over contiguous
/// channels.
std::vector<float> transposeWeight(const float *weight, int64_t channels,
                                   int64_t kernel) {
  std::vector<float> transposed(static_cast<size_t>(channels * kernel));
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t k = 0; k < kernel; ++k)
      transposed[k * channels + c] = weight[c * kernel + k];
  return transposed;
}

/// The last K inputs of each (batch, channel), zero-padded on the left.
void writeFinalState(const float *x, float *stateOut, int64_t batch,
                     int64_t seqlen, int64_t channels, int64_t kernel) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t k = 0; k < kernel; ++k) {
        int64_t t = seqlen - kernel + k;
        stateOut[(b * channels + c) * kernel + k] =
            t >= 0 ? x[(b * seqlen + t) * channels + c] : 0.0f;
      }
}

} // namespace

void causalConv1d(const float *x, const float *weight, const float *bias,
                  float *y, float *stateOut, int64_t batch, int64_t seqlen,
                  int64_t channels, int64_t kernel, bool silu) {
  std::vector<float> taps = transposeWeight(weight, channels, kernel);
  // One item per output token (b, t): each computes its C outputs alone.
  parallelFor(batch * seqlen, 2 * channels * kernel, [&](int64_t row) {
    int64_t b = row / seqlen, t = row % seqlen;
    float *out = y + row * channels;
    for (int64_t c = 0; c < channels; ++c)
      out[c] = bias ? bias[c] : 0.0f;
    for (int64_t k = 0; k < kernel; ++k) {
      int64_t source = t - kernel + 1 + k;
      if (source < 0)
        continue; // x before the start is 0
      const float *in = x + (b * seqlen + source) * channels;
      const float *tap = taps.data() + k * channels;
      for (int64_t c = 0; c < channels; ++c)
        out[c] += tap[c] * in[c];
    }
    for (int64_t c = 0; c < channels; ++c)
      out[c] = activate(out[c], silu);
  });
  if (stateOut)
    writeFinalState(x, stateOut, batch, seqlen, channels, kernel);
}

void causalConv1dStep(const float *x, float *state, const float *weight,
                      const float *bias, float *y, int64_t batch,
                      int64_t channels, int64_t kernel, bool silu) {
  parallelFor(batch * channels, 3 * kernel, [&](int64_t bc) {
    int64_t c = bc % channels;
    float *window = state + bc * kernel;
    for (int64_t k = 0; k + 1 < kernel; ++k)
      window[k] = window[k + 1];
    window[kernel - 1] = x[bc];
    const float *w = weight + c * kernel;
    float acc = bias ? bias[c] : 0.0f;
    for (int64_t k = 0; k < kernel; ++k)
      acc += w[k] * window[k];
    y[bc] = activate(acc, silu);
  });
}

} // namespace quamba::ref
