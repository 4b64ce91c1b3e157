//===- FloatSemantics.h - fp32 arithmetic every backend reproduces -*- C++ -*-===//
//
// Quantized models round floats to int8 codes; a value on a rounding boundary
// takes a different code if two backends disagree in its last bit, and a
// flipped code in the SSM state persists through decoding. So the float
// parts of the reference kernels are written in a form a GPU kernel can
// reproduce bit for bit:
//
//  * only correctly rounded IEEE fp32 operations (+ - * / sqrt, RNE
//    round-to-integer, int <-> float conversions of exact values, bit casts,
//    and fma where the reference writes std::fma: the chunked SSD scan's
//    products), never contracted to fma (the reference library is built
//    with -ffp-contract=off; the kernels emit arith ops without fastmath
//    flags, and math.fma only where the reference has std::fma);
//  * exp and log1p are quamba's own (below), not libm's or libdevice's;
//  * reductions of a row run in the warp order (warpOrderSum): 32 lane
//    partial sums, each over its interleaved share in ascending order, then
//    the xor butterfly with offsets 16, 8, 4, 2, 1; or in the block order
//    (blockOrderSum): the same over W warps of one block, whose W warp
//    totals are then added in warp order (the norms, with normThreads(n)).
//
// The elementary functions are templates over an arithmetic policy `Ops`
// (types F, I, B and the operations used below), instantiated once with
// plain floats (ref::exp, ref::log1p) and once with an MLIR builder
// (codegen/kernels/ScalarMath.cpp), so the algorithm exists in one place.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

namespace quamba::ref {

/// exp(x) within 1 ulp (normal results; below 1 unit of the last denormal
/// place otherwise): Cody-Waite reduction by ln 2, the
/// Cephes expf polynomial, scaling by 2^k as two exact power-of-two
/// products. exp(NaN) = NaN, exp(x < -104) = 0, exp(x > 89) = inf.
float exp(float x);
/// log(x) for a normal, finite x > 0 (the Cephes logf polynomial), within
/// 1 ulp.
float log(float x);
/// log1p(u) for u >= 0 (the softplus domain; NaN passes through), within
/// 2.5 ulp: w = 1 + u, log(w) by the Cephes logf polynomial, corrected by
/// u / (w - 1) (Goldberg's log1p).
float log1p(float u);

/// The bits of an fp32 and back.
inline uint32_t floatBits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return bits;
}
inline float bitsFloat(uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

/// Lanes of the warp order (a CUDA warp).
constexpr int64_t kWarpLanes = 32;

/// The value every lane holds after the xor butterfly (offsets 16, 8, 4,
/// 2, 1; lane = lane + lane ^ offset) over 32 lane partials.
inline float butterflySum(float (&lane)[kWarpLanes]) {
  for (int64_t offset = kWarpLanes / 2; offset >= 1; offset /= 2) {
    float next[kWarpLanes];
    for (int64_t l = 0; l < kWarpLanes; ++l)
      next[l] = lane[l] + lane[l ^ offset];
    for (int64_t l = 0; l < kWarpLanes; ++l)
      lane[l] = next[l];
  }
  return lane[0];
}

/// sum_i term(i) for i in [0, n) in the warp order: lane l accumulates the
/// chunks c = l, l + 32, ... of `chunk` consecutive terms (ascending, acc =
/// acc + term), then the lanes combine by the xor butterfly. Every lane of
/// a GPU warp computing the same partial sums ends with this value.
template <typename Term>
float warpOrderSum(int64_t n, int64_t chunk, Term &&term) {
  float lane[kWarpLanes];
  for (int64_t l = 0; l < kWarpLanes; ++l) {
    float acc = 0.0f;
    for (int64_t c = l; c * chunk < n; c += kWarpLanes)
      for (int64_t i = c * chunk; i < (c + 1) * chunk && i < n; ++i)
        acc = acc + term(i);
    lane[l] = acc;
  }
  return butterflySum(lane);
}

/// sum_i term(i) for i in [0, n) in the block order of `threads` (a
/// multiple of 32) threads: thread t accumulates the terms t, t + threads,
/// ... (ascending, acc = acc + term); each warp of 32 consecutive threads
/// combines its partials by the xor butterfly; the warp totals are then
/// added in ascending warp order (s = w0, s = s + w1, ...). threads = 32 is
/// warpOrderSum(n, 1, term).
template <typename Term>
float blockOrderSum(int64_t n, int64_t threads, Term &&term) {
  float total = 0.0f;
  for (int64_t w = 0; w * kWarpLanes < threads; ++w) {
    // The warp's lanes own the terms i with i % threads in
    // [32w, 32w + 32): lane l sums l' = 32w + l, l' + threads, ...
    float lane[kWarpLanes];
    for (int64_t l = 0; l < kWarpLanes; ++l) {
      float acc = 0.0f;
      for (int64_t i = w * kWarpLanes + l; i < n; i += threads)
        acc = acc + term(i);
      lane[l] = acc;
    }
    float warp = butterflySum(lane);
    total = w == 0 ? warp : total + warp;
  }
  return total;
}

/// Threads of the block that normalises one row (or group) of n values:
/// about 8 values a thread, 32 to 1024 threads (a multiple of 32). Shared
/// by ref::rmsNorm & co. and the norm kernels, whose sums run in
/// blockOrderSum(n, normThreads(n), ...).
constexpr int64_t normThreads(int64_t n) {
  int64_t perThread = 8;
  int64_t threads = (n + perThread - 1) / perThread;
  threads = (threads + kWarpLanes - 1) / kWarpLanes * kWarpLanes;
  return threads < kWarpLanes ? kWarpLanes : threads > 1024 ? 1024 : threads;
}

namespace semantics {

// Cody-Waite split of ln 2: kLn2Hi has 9 significant bits, so k * kLn2Hi is
// exact for |k| <= 150.
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
// e^r - 1 - r = r^2 (0.5 + r/6 + ...) on |r| <= ln2 / 2 (Cephes expf).
inline constexpr float kExpPoly[] = {1.9875691500e-4f, 1.3981999507e-3f,
                                     8.3334519073e-3f, 4.1665795894e-2f,
                                     1.6666665459e-1f, 5.0000001201e-1f};
// (log(1+x) - x + x^2/2) / x^3 on sqrt(1/2) - 1 <= x < sqrt(2) - 1
// (Cephes logf).
inline constexpr float kLogPoly[] = {
    7.0376836292e-2f,  -1.1514610310e-1f, 1.1676998740e-1f,
    -1.2420140846e-1f, 1.4249322787e-1f,  -1.6668057665e-1f,
    2.0000714765e-1f,  -2.4999993993e-1f, 3.3333331174e-1f};
inline constexpr float kSqrtHalf = 0.707106781186547524f;
inline constexpr float kInfinity = std::numeric_limits<float>::infinity();

/// Horner's rule, first coefficient highest: ((c0 x + c1) x + ...) + cn.
template <typename Ops, int N>
typename Ops::F horner(Ops &o, typename Ops::F x, const float (&c)[N]) {
  typename Ops::F p = o.c(c[0]);
  for (int i = 1; i < N; ++i)
    p = o.add(o.mul(p, x), o.c(c[i]));
  return p;
}

/// 2^k as an fp32 for an integer k in [-126, 127].
template <typename Ops> typename Ops::F powerOfTwo(Ops &o, typename Ops::I k) {
  return o.bitsToFloat(o.shl(o.addI(k, o.ci(127)), 23));
}

template <typename Ops> typename Ops::F exp(Ops &o, typename Ops::F x) {
  using F = typename Ops::F;
  using I = typename Ops::I;
  // Clamp first (NaN -> 0) so that k stays a small integer; the special
  // results are selected at the end.
  F xc = o.select(o.isNan(x), o.c(0.0f), x);
  xc = o.select(o.lt(xc, o.c(-104.0f)), o.c(-104.0f), xc);
  xc = o.select(o.gt(xc, o.c(89.0f)), o.c(89.0f), xc);
  F kf = o.roundEven(o.mul(xc, o.c(kLog2e))); // in [-150, 128]
  F r = o.sub(o.sub(xc, o.mul(kf, o.c(kLn2Hi))), o.mul(kf, o.c(kLn2Lo)));
  F p = o.add(o.add(o.mul(horner(o, r, kExpPoly), o.mul(r, r)), r), o.c(1.0f));
  // 2^k = 2^k1 * 2^k2 with both halves in the normal range.
  I k = o.toInt(kf);
  I k1 = o.ashr(k, 1);
  I k2 = o.subI(k, k1);
  F y = o.mul(o.mul(p, powerOfTwo(o, k1)), powerOfTwo(o, k2));
  y = o.select(o.lt(x, o.c(-104.0f)), o.c(0.0f), y);
  return o.select(o.isNan(x), x, y);
}

/// log(w) for a normal, finite w > 0.
template <typename Ops> typename Ops::F logNormal(Ops &o, typename Ops::F w) {
  using F = typename Ops::F;
  using I = typename Ops::I;
  // w = m * 2^e with m in [0.5, 1).
  I bits = o.floatToBits(w);
  I e = o.subI(o.andI(o.ashr(bits, 23), o.ci(255)), o.ci(126));
  F m = o.bitsToFloat(o.orI(o.andI(bits, o.ci(0x007fffff)), o.ci(0x3f000000)));
  // m < sqrt(1/2): use 2m and e - 1, so x = m' - 1 is in [-0.29, 0.41).
  auto small = o.lt(m, o.c(kSqrtHalf));
  e = o.selectI(small, o.subI(e, o.ci(1)), e);
  F x = o.select(small, o.sub(o.add(m, m), o.c(1.0f)), o.sub(m, o.c(1.0f)));
  F fe = o.toFloat(e);
  F z = o.mul(x, x);
  F y = o.mul(o.mul(horner(o, x, kLogPoly), x), z);
  y = o.add(y, o.mul(fe, o.c(kLn2Lo)));
  y = o.add(y, o.mul(o.c(-0.5f), z));
  F result = o.add(x, y);
  return o.add(result, o.mul(fe, o.c(kLn2Hi)));
}

template <typename Ops> typename Ops::F log1p(Ops &o, typename Ops::F u) {
  using F = typename Ops::F;
  F w = o.add(o.c(1.0f), u);
  // A NaN or infinite u would make w's exponent field meaningless: compute
  // with 1 instead and select u itself at the end.
  auto special = o.or_(o.isNan(u), o.eq(u, o.c(kInfinity)));
  F wSafe = o.select(special, o.c(2.0f), w);
  F corrected = o.mul(logNormal(o, wSafe),
                      o.div(u, o.sub(wSafe, o.c(1.0f))));
  // w == 1: u is below half an ulp of 1, and log1p(u) = u to fp32 precision.
  F y = o.select(o.eq(w, o.c(1.0f)), u, corrected);
  return o.select(special, u, y);
}

} // namespace semantics
} // namespace quamba::ref
