//===- QuantizedLinear.cpp - W8A8, W4A8 and W4A16 linear layers -----------===//
//
// Semantics in QuantizedKernels.h. Work is split into (row block, output
// block) items with parallelFor; each output element is computed by exactly
// one thread in a fixed order, so results do not depend on the thread count.
// Built with -ffp-contract=off.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/QuantizedKernels.h"

#include "runtime/reference/FloatSemantics.h"
#include "runtime/reference/Parallel.h"

#include <algorithm>
#include <string>
#include <vector>

namespace quamba::ref {

namespace detail {
void decodeW4RowToInt8(const uint8_t *prow, const float *tildeRow,
                       int64_t cols, int64_t groupSize, int8_t *w8);
void decodeW4RowToFloat(const uint8_t *prow, const float *scaleRow,
                        int64_t cols, int64_t groupSize, float *w);
} // namespace detail

namespace {

constexpr int64_t kRowBlock = 32;
constexpr int64_t kColBlock = 64;

Status checkLinearShape(const char *what, int64_t rows, int64_t in,
                        int64_t out) {
  if (rows < 0 || in < 0 || out < 0)
    return makeError(std::string(what) + ": negative shape");
  return Status::success();
}

Status checkInt8Reduction(const char *what, int64_t in) {
  if (in > kMaxInt8DotLength)
    return makeError(std::string(what) + ": inFeatures " + std::to_string(in) +
                     " exceeds " + std::to_string(kMaxInt8DotLength) +
                     ", beyond which the int32 accumulator could overflow");
  return Status::success();
}

Status checkInt4Shape(const char *what, int64_t in, int64_t groupSize) {
  if (in % 2 != 0)
    return makeError(std::string(what) + ": inFeatures " + std::to_string(in) +
                     " must be even (two int4 codes per byte)");
  if (groupSize <= 0 || in % groupSize != 0)
    return makeError(std::string(what) + ": groupSize " +
                     std::to_string(groupSize) +
                     " must be positive and divide inFeatures " +
                     std::to_string(in));
  return Status::success();
}

inline int32_t dotInt8(const int8_t *a, const int8_t *b, int64_t n) {
  // Exact: |partial sums| <= n * 2^14 < 2^31 for n <= kMaxInt8DotLength.
  int32_t acc = 0;
  for (int64_t k = 0; k < n; ++k)
    acc += static_cast<int32_t>(a[k]) * static_cast<int32_t>(b[k]);
  return acc;
}

inline float epilogue(int32_t acc, float xScale, float wScale,
                      const float *bias, int64_t n) {
  float t = xScale * wScale;
  float y = static_cast<float>(acc) * t;
  if (bias)
    y = y + bias[n];
  return y;
}

/// Calls item(r0, r1, n0, n1) over a (row block x output block) grid.
template <typename F>
void forEachBlock(int64_t rows, int64_t in, int64_t out, F &&item) {
  int64_t rowBlocks = (rows + kRowBlock - 1) / kRowBlock;
  int64_t colBlocks = (out + kColBlock - 1) / kColBlock;
  parallelFor(rowBlocks * colBlocks,
              std::min(rows, kRowBlock) * kColBlock * std::max<int64_t>(in, 1),
              [&](int64_t i) {
                int64_t rb = i / colBlocks, cb = i % colBlocks;
                int64_t r0 = rb * kRowBlock, r1 = std::min(rows, r0 + kRowBlock);
                int64_t n0 = cb * kColBlock, n1 = std::min(out, n0 + kColBlock);
                item(r0, r1, n0, n1);
              });
}

} // namespace

Status matmulInt8(const int8_t *x, const int8_t *w, int32_t *acc, int64_t rows,
                  int64_t in, int64_t out) {
  if (Status s = checkLinearShape("matmulInt8", rows, in, out); !s)
    return s;
  if (Status s = checkInt8Reduction("matmulInt8", in); !s)
    return s;
  forEachBlock(rows, in, out, [&](int64_t r0, int64_t r1, int64_t n0,
                                  int64_t n1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t n = n0; n < n1; ++n)
        acc[r * out + n] = dotInt8(x + r * in, w + n * in, in);
  });
  return Status::success();
}

Status linearW8A8(const int8_t *x, float xScale, const int8_t *w,
                  const float *wScale, const float *bias, float *out,
                  int64_t rows, int64_t in, int64_t outF) {
  if (Status s = checkLinearShape("linearW8A8", rows, in, outF); !s)
    return s;
  if (Status s = checkInt8Reduction("linearW8A8", in); !s)
    return s;
  forEachBlock(rows, in, outF, [&](int64_t r0, int64_t r1, int64_t n0,
                                   int64_t n1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t n = n0; n < n1; ++n)
        out[r * outF + n] = epilogue(dotInt8(x + r * in, w + n * in, in),
                                     xScale, wScale[n], bias, n);
  });
  return Status::success();
}

Status linearW4A8(const int8_t *x, float xScale, const uint8_t *packed,
                  const float *groupScalesTilde, const float *channelScales,
                  const float *bias, float *out, int64_t rows, int64_t in,
                  int64_t outF, int64_t groupSize) {
  if (Status s = checkLinearShape("linearW4A8", rows, in, outF); !s)
    return s;
  if (Status s = checkInt8Reduction("linearW4A8", in); !s)
    return s;
  if (Status s = checkInt4Shape("linearW4A8", in, groupSize); !s)
    return s;
  int64_t groups = in / groupSize;
  forEachBlock(rows, in, outF, [&](int64_t r0, int64_t r1, int64_t n0,
                                   int64_t n1) {
    std::vector<int8_t> w8(static_cast<size_t>((n1 - n0) * in));
    for (int64_t n = n0; n < n1; ++n)
      detail::decodeW4RowToInt8(packed + n * (in / 2),
                                groupScalesTilde + n * groups, in, groupSize,
                                w8.data() + (n - n0) * in);
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t n = n0; n < n1; ++n)
        out[r * outF + n] =
            epilogue(dotInt8(x + r * in, w8.data() + (n - n0) * in, in),
                     xScale, channelScales[n], bias, n);
  });
  return Status::success();
}

Status linearW4A16(const float *x, const uint8_t *packed,
                   const float *groupScales, const float *bias, float *out,
                   int64_t rows, int64_t in, int64_t outF, int64_t groupSize) {
  if (Status s = checkLinearShape("linearW4A16", rows, in, outF); !s)
    return s;
  if (Status s = checkInt4Shape("linearW4A16", in, groupSize); !s)
    return s;
  int64_t groups = in / groupSize;
  const bool warpOrder =
      in % kW4A16WarpChunk == 0 && groupSize % kW4A16WarpChunk == 0;
  forEachBlock(rows, in, outF, [&](int64_t r0, int64_t r1, int64_t n0,
                                   int64_t n1) {
    std::vector<float> wf(static_cast<size_t>((n1 - n0) * in));
    for (int64_t n = n0; n < n1; ++n)
      detail::decodeW4RowToFloat(packed + n * (in / 2),
                                 groupScales + n * groups, in, groupSize,
                                 wf.data() + (n - n0) * in);
    for (int64_t r = r0; r < r1; ++r) {
      const float *xr = x + r * in;
      for (int64_t n = n0; n < n1; ++n) {
        const float *wr = wf.data() + (n - n0) * in;
        auto term = [&](int64_t k) { return xr[k] * wr[k]; };
        float acc = 0.0f;
        if (warpOrder) {
          acc = warpOrderSum(in, kW4A16WarpChunk, term);
        } else {
          for (int64_t k = 0; k < in; ++k)
            acc = acc + term(k);
        }
        if (bias)
          acc = acc + bias[n];
        out[r * outF + n] = acc;
      }
    }
  });
  return Status::success();
}

} // namespace quamba::ref
