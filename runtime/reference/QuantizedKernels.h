//===- QuantizedKernels.h - quantized reference kernels ---------*- C++ -*-===//
//
// The integer semantics of the Quamba2 quantized ops (shared/reference/
// quamba2.md §5, §7.2, §10.3), written so that a GPU kernel can match them
// bit for bit wherever the arithmetic is integer, and wherever the fp32 steps
// are performed in the order documented here.
//
// Conventions (as Kernels.h): plain functions, dense row-major tensors,
// outputs never alias inputs, errors as quamba::Status. Weights are in the
// PyTorch layout [outFeatures, inFeatures].
//
// Rounding. "RNE" is round-half-to-even, computed with std::nearbyint under
// the default floating-point environment (FE_TONEAREST; nothing here changes
// it). "Half-away" is std::round (CUDA roundf). Every fp32 operation is one
// IEEE-754 binary32 operation: no FMA contraction (the .cpp files are built
// with -ffp-contract=off, see runtime/CMakeLists.txt), each product and sum
// rounded to float on its own.
//
// int8 quantization of a value x with scale s > 0:
//   t = x / s                      (one fp32 division, not x * (1/s))
//   r = RNE(t)  (or half-away)     (exact integer-valued float)
//   q = NaN(t) ? 0 : clamp(r, -128, 127)
// so +-inf saturate to 127 / -128, 127.5 -> 127, -128.5 -> -128, NaN -> 0.
// A scale <= 0 or non-finite is the caller's error (not checked: the result
// follows the formula, e.g. s = 0 sends every nonzero x to +-saturation).
//
// int4 weights (§7.1/§7.2). A 4-bit value v is in [-8, 7]; it is stored as the
// unsigned code c = v + 8 in [0, 15] (the spec's q, dequantized as (q-8)*s).
// Packing: two codes per byte, element 2i in the LOW nibble and 2i+1 in the
// HIGH nibble of byte i, in the natural (logical) element order of each row.
// This is the reference layout; the Marlin / Marlin-QQQ tile permutations and
// the [0,2,4,6,1,3,5,7] nibble interleave are a backend's packing concern.
// Packed weights: [rows, cols / 2] bytes, row-major (cols must be even).
// Group scales: one per (output row, group of groupSize consecutive input
// channels), laid out [rows, cols / groupSize] (the transpose of the spec's
// [K/128, N] tensor). Scales are fp32 values that are fp16-representable
// where §7.2 stores fp16 (W4A16 s_g, W4A8 s~_g).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Status.h"

#include <cstdint>
#include <vector>

namespace quamba::ref {

enum class Rounding {
  HalfEven,     ///< rint / cvt.rni (Triton kernels, QQQ O8 epilogue)
  HalfAwayFromZero, ///< roundf (CUDA conv, scan-state, Hadamard, GEMV)
};

/// Largest inFeatures for which an int8 x int8 -> int32 dot product cannot
/// overflow: 131071 * 128 * 128 = 2^31 - 2^14 <= INT32_MAX. (At exactly 2^17
/// an all -128 row pair reaches 2^31, one past INT32_MAX.)
inline constexpr int64_t kMaxInt8DotLength = 131071;

/// fp32 -> nearest fp16 value (RNE, subnormals kept, overflow to +-inf, NaN
/// stays NaN), returned as a float. The rounding of __float2half_rn.
float roundToFp16(float v);

/// Quantizes one value as described above.
int8_t quantizeInt8Value(float x, float scale,
                         Rounding rounding = Rounding::HalfEven);

/// out[i] = q8(x[i]; scale), per-tensor.
void quantizeInt8(const float *x, float scale, int8_t *out, int64_t n,
                  Rounding rounding = Rounding::HalfEven);
/// out[i] = float(q[i]) * scale (one fp32 multiply; exact for fp16 scales).
void dequantizeInt8(const int8_t *q, float scale, float *out, int64_t n);

/// Per-channel scales over the last dimension: x, out [rows, dim];
/// channel c uses scales[c]. (Quamba2's non-uniform x groups, §4.4, are
/// expressed by expanding the group scales per channel.)
void quantizeInt8PerChannel(const float *x, const float *scales, int8_t *out,
                            int64_t rows, int64_t dim,
                            Rounding rounding = Rounding::HalfEven);
void dequantizeInt8PerChannel(const int8_t *q, const float *scales, float *out,
                              int64_t rows, int64_t dim);

/// Uniform contiguous groups over the last dimension: channel c of each row
/// uses scales[c / groupSize] (e.g. per SSD group B/C, §5.1). groupSize must
/// divide dim (error otherwise).
Status quantizeInt8Grouped(const float *x, const float *scales,
                           int64_t groupSize, int8_t *out, int64_t rows,
                           int64_t dim, Rounding rounding = Rounding::HalfEven);
Status dequantizeInt8Grouped(const int8_t *q, const float *scales,
                             int64_t groupSize, float *out, int64_t rows,
                             int64_t dim);

/// Quantized embedding lookup: row `tokens[t]` of `table` ([vocab, rowBytes]
/// int8 codes, or int4 packed as packInt4 when bits == 4) dequantized with
/// its row scale: out[t, :] = float(v) * scales[id], dim values per row. A
/// token outside [0, vocab) is an error naming it (nothing is written past
/// the rows before it).
Status quantizedEmbedding(const int8_t *table, const float *scales, int64_t vocab,
                          int64_t rowBytes, int64_t dim, int bits, const int32_t *tokens,
                          int64_t count, float *out);

/// The scales of a quantize / dequantize op, one per element of the trailing
/// `block` of the tensor they cover: `scales` has `scaleShape` (the block's
/// rank; a size-1 dimension broadcasts). Every scale must be positive and
/// finite (an error names the first that is not).
Result<std::vector<float>> broadcastScales(const float *scales,
                                           const std::vector<int64_t> &scaleShape,
                                           const std::vector<int64_t> &block);

/// int8 weight, one scale per output row: s[r] = absmax(w[r, :]) / 127
/// (fp32), q = q8(w; s) RNE. An all-zero row gets s = 0 and codes 0.
void quantizeWeightInt8PerChannel(const float *w, int64_t rows, int64_t cols,
                                  int8_t *q, float *scales);
/// int8 weight, one scale for the tensor (W8A8 per-tensor / per-segment:
/// call once per row block). Returns s = absmax / 127 (0 for all zeros).
float quantizeWeightInt8PerTensor(const float *w, int64_t n, int8_t *q);

/// values [n] in [-8, 7] -> packed [(n + 1) / 2] (an odd tail's high nibble
/// is code 8, i.e. value 0). Values outside [-8, 7] are an error.
Status packInt4(const int8_t *values, int64_t n, uint8_t *packed);
/// packed [(n + 1) / 2] -> values [n] in [-8, 7].
void unpackInt4(const uint8_t *packed, int64_t n, int8_t *values);

/// RTN 4-bit weight, the spec's GPTQ grid without error compensation:
/// per (row r, group g): s = (absmax * 2) / 15 in fp32, rounded to fp16 if
/// fp16Scales (§7.2: W4A16 scales are fp16); v = clamp(RNE(w / s), -8, 7)
/// with w / s divided by the stored scale (s = 0: v = 0). cols must be even
/// and a multiple of groupSize. packed [rows, cols/2]; scales [rows,
/// cols/groupSize].
Status quantizeWeightInt4(const float *w, int64_t rows, int64_t cols,
                          int64_t groupSize, uint8_t *packed, float *scales,
                          bool fp16Scales = true);

/// Dequantizes packed int4: w[r, k] = float(v) * scales[r, k / groupSize]
/// (one fp32 multiply: exact for fp16 scales).
Status dequantizeWeightInt4(const uint8_t *packed, const float *scales,
                            int64_t rows, int64_t cols, int64_t groupSize,
                            float *w);

/// The W4A8 two-level (Marlin-QQQ) weight of §7.2, from 4-bit values and
/// group scales s_g (GPTQ or RTN):
///   W_fq[r, k]  = fp16(v * s_g)                   (the fake-quantized weight)
///   s_c[r]      = max_k |W_fq[r, k]| / 127         (fp32 division)
///   s~_g[r, g]  = fp16(s_g / s_c[r]), non-finite -> 0  (fp32 division, then
///                 fp16; the spec sets NaN to 0; +-inf, only possible for an
///                 all-zero row, is set to 0 too)
/// channelScales [rows] (fp32), groupScalesTilde [rows, cols/groupSize]
/// (fp16-valued).
Status makeW4A8Weights(const uint8_t *packed, const float *groupScales,
                       int64_t rows, int64_t cols, int64_t groupSize,
                       float *channelScales, float *groupScalesTilde);

/// The in-kernel int4 -> int8 dequantization of Marlin-QQQ:
///   w8[r, k] = sat8(RNE(v * s~_g[r, k / groupSize]))
/// with one rounding of the exact product (the magic-number fp16 FMA
/// v * s~ + 1152 rounds once, half-even, at unit spacing). v * s~ is exact in
/// fp32 (4-bit times 11-bit significands). sat8 (clamp to [-128, 127]) never
/// triggers for weights made by makeW4A8Weights.
Status dequantizeW4ToInt8(const uint8_t *packed, const float *groupScalesTilde,
                          int64_t rows, int64_t cols, int64_t groupSize,
                          int8_t *w8);

/// W8A8: out[r, n] = float(acc[r, n]) * (xScale * wScale[n]) + bias[n]
/// with acc = sum_k int32(x[r, k]) * int32(w[n, k]) exact in int32, then
/// in fp32: t = xScale * wScale[n]; y = float(acc) * t; y = y + bias[n]
/// (bias may be null: no add). float(acc) rounds RNE (exact for |acc| <=
/// 2^24). Per-tensor weight scale: pass wScale filled with one value.
/// Error if inFeatures > kMaxInt8DotLength. x [rows, in], w [out, in].
Status linearW8A8(const int8_t *x, float xScale, const int8_t *w,
                  const float *wScale, const float *bias, float *out,
                  int64_t rows, int64_t inFeatures, int64_t outFeatures);

/// The int32 accumulators of linearW8A8 alone: acc [rows, out]. Same checks.
Status matmulInt8(const int8_t *x, const int8_t *w, int32_t *acc, int64_t rows,
                  int64_t inFeatures, int64_t outFeatures);

/// W4A8 (Marlin-QQQ, O16 semantics in fp32): w8 = dequantizeW4ToInt8(packed,
/// groupScalesTilde), then exactly linearW8A8(x, xScale, w8, channelScales,
/// bias): out = float(acc) * (xScale * s_c[n]) (+ bias[n]). The effective
/// weight is w8 * s_c. inFeatures must be even, a multiple of groupSize and
/// <= kMaxInt8DotLength.
Status linearW4A8(const int8_t *x, float xScale, const uint8_t *packed,
                  const float *groupScalesTilde, const float *channelScales,
                  const float *bias, float *out, int64_t rows,
                  int64_t inFeatures, int64_t outFeatures, int64_t groupSize);

/// Weights per lane chunk of the W4A16 warp order (16 bytes of int4).
constexpr int64_t kW4A16WarpChunk = 32;

/// W4A16 (Marlin): x holds fp16-representable floats (not checked). Each
/// weight is dequantized in fp32, w = float(v) * s_g (exact for fp16 s_g),
/// and out[r, n] = sum_k x[r,k]*w[n,k] in fp32, each product and sum
/// rounded to fp32, then + bias[n]. The order of the sum is the GPU decode
/// kernel's: when inFeatures and groupSize are multiples of
/// kW4A16WarpChunk, the warp order of FloatSemantics.h over chunks of
/// kW4A16WarpChunk (one 16-byte load of packed weights per lane); otherwise
/// k ascending. The output is fp32 (not rounded to fp16; a caller emulating
/// O16 applies roundToFp16). A tensor-core kernel (fp16 MMA, fp32
/// accumulate in its own order) would match only to accumulation rounding.
Status linearW4A16(const float *x, const uint8_t *packed,
                   const float *groupScales, const float *bias, float *out,
                   int64_t rows, int64_t inFeatures, int64_t outFeatures,
                   int64_t groupSize);

} // namespace quamba::ref
