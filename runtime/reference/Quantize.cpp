//===- Quantize.cpp - int8 / int4 quantization, packing, weight formats ----===//
//
// The semantics are documented in QuantizedKernels.h. Built with
// -ffp-contract=off: every fp32 operation rounds on its own.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/QuantizedKernels.h"

#include "runtime/reference/Parallel.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace quamba::ref {

namespace {

inline float roundIntegral(float t, Rounding rounding) {
  return rounding == Rounding::HalfEven ? std::nearbyint(t) : std::round(t);
}

inline int8_t saturateToInt8(float r) {
  if (std::isnan(r))
    return 0;
  if (r >= 127.0f)
    return 127;
  if (r <= -128.0f)
    return -128;
  return static_cast<int8_t>(r);
}

Status checkGroups(int64_t dim, int64_t groupSize, const char *what) {
  if (groupSize <= 0 || dim % groupSize != 0)
    return makeError(std::string(what) + ": groupSize " +
                     std::to_string(groupSize) + " must be positive and divide " +
                     std::to_string(dim));
  return Status::success();
}

Status checkInt4Shape(int64_t rows, int64_t cols, int64_t groupSize,
                      const char *what) {
  if (rows < 0 || cols < 0)
    return makeError(std::string(what) + ": negative shape");
  if (cols % 2 != 0)
    return makeError(std::string(what) + ": cols " + std::to_string(cols) +
                     " must be even (two int4 codes per byte)");
  return checkGroups(cols, groupSize, what);
}

inline int8_t nibble(const uint8_t *packed, int64_t i) {
  uint8_t byte = packed[i >> 1];
  uint8_t code = (i & 1) ? (byte >> 4) : (byte & 0x0F);
  return static_cast<int8_t>(static_cast<int>(code) - 8);
}

} // namespace

float roundToFp16(float v) {
  if (!std::isfinite(v) || v == 0.0f)
    return v;
  float a = std::fabs(v);
  // 65520 is halfway between 65504 (the largest fp16) and 65536; ties go to
  // the even significand, i.e. up, to infinity.
  if (a >= 65520.0f)
    return std::copysign(INFINITY, v);
  int e = 0;
  std::frexp(a, &e); // a = m * 2^e, m in [0.5, 1): the fp16 ulp is 2^(e-11)
  int quantumExp = std::max(e - 11, -24); // subnormal fp16 spacing is 2^-24
  // Scaling by powers of two is exact here; nearbyint rounds half to even.
  float r = std::ldexp(std::nearbyint(std::ldexp(a, -quantumExp)), quantumExp);
  return std::copysign(r, v);
}

int8_t quantizeInt8Value(float x, float scale, Rounding rounding) {
  float t = x / scale;
  return saturateToInt8(roundIntegral(t, rounding));
}

void quantizeInt8(const float *x, float scale, int8_t *out, int64_t n,
                  Rounding rounding) {
  parallelFor((n + 4095) / 4096, 4096 * 4, [&](int64_t b) {
    for (int64_t i = b * 4096, e = std::min(n, i + 4096); i < e; ++i)
      out[i] = quantizeInt8Value(x[i], scale, rounding);
  });
}

void dequantizeInt8(const int8_t *q, float scale, float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(q[i]) * scale;
}

void quantizeInt8PerChannel(const float *x, const float *scales, int8_t *out,
                            int64_t rows, int64_t dim, Rounding rounding) {
  parallelFor(rows, dim * 4, [&](int64_t r) {
    for (int64_t c = 0; c < dim; ++c)
      out[r * dim + c] = quantizeInt8Value(x[r * dim + c], scales[c], rounding);
  });
}

void dequantizeInt8PerChannel(const int8_t *q, const float *scales, float *out,
                              int64_t rows, int64_t dim) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < dim; ++c)
      out[r * dim + c] = static_cast<float>(q[r * dim + c]) * scales[c];
}

Status quantizeInt8Grouped(const float *x, const float *scales,
                           int64_t groupSize, int8_t *out, int64_t rows,
                           int64_t dim, Rounding rounding) {
  if (Status s = checkGroups(dim, groupSize, "quantizeInt8Grouped"); !s)
    return s;
  parallelFor(rows, dim * 4, [&](int64_t r) {
    for (int64_t c = 0; c < dim; ++c)
      out[r * dim + c] =
          quantizeInt8Value(x[r * dim + c], scales[c / groupSize], rounding);
  });
  return Status::success();
}

Status dequantizeInt8Grouped(const int8_t *q, const float *scales,
                             int64_t groupSize, float *out, int64_t rows,
                             int64_t dim) {
  if (Status s = checkGroups(dim, groupSize, "dequantizeInt8Grouped"); !s)
    return s;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < dim; ++c)
      out[r * dim + c] =
          static_cast<float>(q[r * dim + c]) * scales[c / groupSize];
  return Status::success();
}

static float absMax(const float *w, int64_t n) {
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i)
    m = std::max(m, std::fabs(w[i]));
  return m;
}

void quantizeWeightInt8PerChannel(const float *w, int64_t rows, int64_t cols,
                                  int8_t *q, float *scales) {
  parallelFor(rows, cols * 4, [&](int64_t r) {
    float s = absMax(w + r * cols, cols) / 127.0f;
    scales[r] = s;
    for (int64_t c = 0; c < cols; ++c)
      q[r * cols + c] =
          s == 0.0f ? 0 : quantizeInt8Value(w[r * cols + c], s, Rounding::HalfEven);
  });
}

float quantizeWeightInt8PerTensor(const float *w, int64_t n, int8_t *q) {
  float s = absMax(w, n) / 127.0f;
  for (int64_t i = 0; i < n; ++i)
    q[i] = s == 0.0f ? 0 : quantizeInt8Value(w[i], s, Rounding::HalfEven);
  return s;
}

Status packInt4(const int8_t *values, int64_t n, uint8_t *packed) {
  for (int64_t i = 0; i < n; ++i)
    if (values[i] < -8 || values[i] > 7)
      return makeError("packInt4: value " + std::to_string(values[i]) +
                       " at index " + std::to_string(i) +
                       " is outside [-8, 7]");
  for (int64_t i = 0; i < n; i += 2) {
    unsigned lo = static_cast<unsigned>(values[i] + 8);
    unsigned hi = i + 1 < n ? static_cast<unsigned>(values[i + 1] + 8) : 8u;
    packed[i >> 1] = static_cast<uint8_t>(lo | (hi << 4));
  }
  return Status::success();
}

void unpackInt4(const uint8_t *packed, int64_t n, int8_t *values) {
  for (int64_t i = 0; i < n; ++i)
    values[i] = nibble(packed, i);
}

Status quantizeWeightInt4(const float *w, int64_t rows, int64_t cols,
                          int64_t groupSize, uint8_t *packed, float *scales,
                          bool fp16Scales) {
  if (Status s = checkInt4Shape(rows, cols, groupSize, "quantizeWeightInt4");
      !s)
    return s;
  int64_t groups = cols / groupSize;
  parallelFor(rows, cols * 4, [&](int64_t r) {
    const float *row = w + r * cols;
    uint8_t *prow = packed + r * (cols / 2);
    for (int64_t c = 0; c < cols; c += 2)
      prow[c / 2] = 0x88; // value 0 everywhere, overwritten below
    for (int64_t g = 0; g < groups; ++g) {
      float amax = absMax(row + g * groupSize, groupSize);
      float s = (amax * 2.0f) / 15.0f;
      if (fp16Scales)
        s = roundToFp16(s);
      scales[r * groups + g] = s;
      for (int64_t k = g * groupSize; k < (g + 1) * groupSize; ++k) {
        int v = 0;
        if (s != 0.0f) {
          float t = std::nearbyint(row[k] / s);
          v = std::isnan(t) ? 0 : static_cast<int>(std::clamp(t, -8.0f, 7.0f));
        }
        unsigned code = static_cast<unsigned>(v + 8);
        uint8_t &byte = prow[k >> 1];
        byte = (k & 1) ? static_cast<uint8_t>((byte & 0x0F) | (code << 4))
                       : static_cast<uint8_t>((byte & 0xF0) | code);
      }
    }
  });
  return Status::success();
}

namespace detail {
// Row r of the W4A8 int8 weight (cols values), shared with QuantizedLinear.
void decodeW4RowToInt8(const uint8_t *prow, const float *tildeRow,
                       int64_t cols, int64_t groupSize, int8_t *w8) {
  for (int64_t k = 0; k < cols; ++k) {
    // Exact product (<= 4 + 11 significant bits), one RNE rounding.
    float p = static_cast<float>(nibble(prow, k)) * tildeRow[k / groupSize];
    w8[k] = saturateToInt8(std::nearbyint(p));
  }
}

void decodeW4RowToFloat(const uint8_t *prow, const float *scaleRow,
                        int64_t cols, int64_t groupSize, float *w) {
  for (int64_t k = 0; k < cols; ++k)
    w[k] = static_cast<float>(nibble(prow, k)) * scaleRow[k / groupSize];
}
} // namespace detail

Status dequantizeWeightInt4(const uint8_t *packed, const float *scales,
                            int64_t rows, int64_t cols, int64_t groupSize,
                            float *w) {
  if (Status s = checkInt4Shape(rows, cols, groupSize, "dequantizeWeightInt4");
      !s)
    return s;
  int64_t groups = cols / groupSize;
  for (int64_t r = 0; r < rows; ++r)
    detail::decodeW4RowToFloat(packed + r * (cols / 2), scales + r * groups,
                               cols, groupSize, w + r * cols);
  return Status::success();
}

Status makeW4A8Weights(const uint8_t *packed, const float *groupScales,
                       int64_t rows, int64_t cols, int64_t groupSize,
                       float *channelScales, float *groupScalesTilde) {
  if (Status s = checkInt4Shape(rows, cols, groupSize, "makeW4A8Weights"); !s)
    return s;
  int64_t groups = cols / groupSize;
  parallelFor(rows, cols * 2, [&](int64_t r) {
    const uint8_t *prow = packed + r * (cols / 2);
    float amax = 0.0f;
    for (int64_t k = 0; k < cols; ++k) {
      float wfq = roundToFp16(static_cast<float>(nibble(prow, k)) *
                              groupScales[r * groups + k / groupSize]);
      amax = std::max(amax, std::fabs(wfq));
    }
    float sc = amax / 127.0f;
    channelScales[r] = sc;
    for (int64_t g = 0; g < groups; ++g) {
      float t = roundToFp16(groupScales[r * groups + g] / sc);
      groupScalesTilde[r * groups + g] = std::isfinite(t) ? t : 0.0f;
    }
  });
  return Status::success();
}


Status dequantizeW4ToInt8(const uint8_t *packed, const float *groupScalesTilde,
                          int64_t rows, int64_t cols, int64_t groupSize,
                          int8_t *w8) {
  if (Status s = checkInt4Shape(rows, cols, groupSize, "dequantizeW4ToInt8");
      !s)
    return s;
  int64_t groups = cols / groupSize;
  for (int64_t r = 0; r < rows; ++r)
    detail::decodeW4RowToInt8(packed + r * (cols / 2),
                              groupScalesTilde + r * groups, cols, groupSize,
                              w8 + r * cols);
  return Status::success();
}

Status quantizedEmbedding(const int8_t *table, const float *scales, int64_t vocab,
                          int64_t rowBytes, int64_t dim, int bits, const int32_t *tokens,
                          int64_t count, float *out) {
  std::vector<int8_t> row(static_cast<size_t>(dim));
  for (int64_t t = 0; t < count; ++t) {
    int32_t id = tokens[t];
    if (id < 0 || id >= vocab)
      return makeError("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                       std::to_string(vocab) + ")");
    const int8_t *stored = table + id * rowBytes;
    if (bits == 4)
      unpackInt4(reinterpret_cast<const uint8_t *>(stored), dim, row.data());
    else
      std::copy(stored, stored + dim, row.begin());
    dequantizeInt8(row.data(), scales[id], out + t * dim, dim);
  }
  return Status::success();
}

Result<std::vector<float>> broadcastScales(const float *scales,
                                           const std::vector<int64_t> &scaleShape,
                                           const std::vector<int64_t> &block) {
  const size_t rank = scaleShape.size();
  int64_t inner = 1;
  for (int64_t d : block)
    inner *= d;
  std::vector<float> expanded(static_cast<size_t>(inner));
  for (int64_t i = 0; i < inner; ++i) {
    // Row-major index into `block`, mapped into the scales (size-1 dims
    // broadcast).
    int64_t rest = i, index = 0, stride = 1;
    for (size_t d = rank; d-- > 0;) {
      int64_t coordinate = rest % block[d];
      rest /= block[d];
      if (scaleShape[d] != 1)
        index += coordinate * stride;
      stride *= scaleShape[d];
    }
    float scale = scales[index];
    if (!(scale > 0.0f) || !std::isfinite(scale))
      return makeError("scale " + std::to_string(index) + " is " + std::to_string(scale) +
                       "; scales must be positive and finite");
    expanded[i] = scale;
  }
  return expanded;
}

} // namespace quamba::ref
