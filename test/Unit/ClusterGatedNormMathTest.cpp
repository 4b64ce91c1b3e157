//===- ClusterGatedNormMathTest.cpp - the cluster gated norm's order -------===//
//
// Decode's gated norm + Hadamard + quantize over a cluster of 8 blocks
// (codegen/kernels/Norms.cpp, emitClusterGatedNormBody) claims the reference
// kernels' bits for a one-group row of n = 40 * 2^k values although no block
// holds the row. Two arguments carry that claim; this checks them on the CPU
// by following the kernel's data flow and comparing with ref::gatedRmsNorm,
// ref::hadamard and ref::quantizeInt8Value, bit for bit:
//   1. the sum of squares: thread t of each block adds the squares of value
//      t of blocks 0..7 in block order, then the butterfly and the warp
//      totals, which is ref::blockOrderSum with normThreads(n) = n / 8
//      threads (value t + 640 j is in block j);
//   2. the m-point factor: output c of a column adds the column's values in
//      j order with bit j of HadamardRow::signMasks()[c] as the sign (the
//      kernel flips the float's sign bit, x + (-v) being x - v), which is
//      the reference's add-or-subtract by H_m's entries.
// The butterflies of each block's own chunks of p values are the
// reference's step 2 unchanged (whole chunks, same stages). Rows hold
// signed zeros and subnormals besides random values over 2^-12 .. 2^7.
//
//===----------------------------------------------------------------------===//

#include "codegen/kernels/HadamardRow.h"
#include "runtime/reference/FloatSemantics.h"
#include "runtime/reference/Kernels.h"
#include "runtime/reference/QuantizedKernels.h"

#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace {

using mlir::quamba::codegen::HadamardRow;
namespace ref = quamba::ref;

constexpr int64_t kClusterBlocks = 8;
constexpr float kEps = 1e-5f;

/// A row of n values: uniform in [-range, range], with every 97th value
/// replaced by one of the awkward ones (none larger than the range: a few
/// huge squares would absorb the rest of the sum and hide its order).
std::vector<float> row(int64_t n, float range, std::mt19937 &rng) {
  std::uniform_real_distribution<float> uniform(-range, range);
  const float awkward[] = {0.0f, -0.0f, std::numeric_limits<float>::denorm_min(),
                           -1e-41f, range, -range, range / 3.0f, -range / 7.0f};
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = i % 97 == 5 ? awkward[(i / 97) % 8] : uniform(rng);
  return v;
}

struct ClusterResult {
  float sumOfSquares = 0.0f;
  std::vector<float> transformed; ///< before the quantize
  std::vector<int8_t> codes;
};

/// The kernel's data flow for one row, on the CPU.
ClusterResult clusterKernel(const HadamardRow &h, const std::vector<float> &y,
                            const std::vector<float> &z, const std::vector<float> &weight,
                            float quantScale) {
  ClusterResult result;
  const int64_t n = h.n, p = h.p, T = n / kClusterBlocks;
  std::vector<float> g(n);
  for (int64_t e = 0; e < n; ++e)
    g[e] = y[e] * ref::silu(z[e]);
  // 1. Thread t's partial: the squares of value t of blocks 0..7, in order;
  //    then a warp's butterfly and the warp totals in warp order.
  float total = 0.0f;
  for (int64_t w = 0; w * ref::kWarpLanes < T; ++w) {
    float lane[ref::kWarpLanes];
    for (int64_t l = 0; l < ref::kWarpLanes; ++l) {
      const int64_t t = w * ref::kWarpLanes + l;
      float acc = 0.0f;
      for (int64_t block = 0; block < kClusterBlocks; ++block) {
        const float v = g[block * T + t];
        acc = acc + v * v;
      }
      lane[l] = acc;
    }
    const float warp = ref::butterflySum(lane);
    total = w == 0 ? warp : total + warp;
  }
  result.sumOfSquares = total;
  const float scale = 1.0f / std::sqrt(total / static_cast<float>(n) + kEps);
  std::vector<float> work(n);
  for (int64_t e = 0; e < n; ++e)
    work[e] = g[e] * scale * weight[e];
  // Each block's chunks of p: the reference's butterflies, stage by stage.
  for (int64_t chunk = 0; chunk < n / p; ++chunk)
    for (int64_t half = 1; half < p; half *= 2)
      for (int64_t i = 0; i < p; ++i)
        if ((i & half) == 0) {
          float &lo = work[chunk * p + i], &hi = work[chunk * p + i + half];
          const float a = lo, b = hi;
          lo = a + b;
          hi = a - b;
        }
  // 2. The factor with the sign masks, the sign flipped on the float's bits.
  const std::vector<int64_t> masks(h.signMasks().begin(), h.signMasks().end());
  result.transformed.resize(n);
  result.codes.resize(n);
  for (int64_t c = 0; c < h.m; ++c)
    for (int64_t r = 0; r < p; ++r) {
      float acc = 0.0f;
      for (int64_t j = 0; j < h.m; ++j) {
        uint32_t bits;
        const float v = work[j * p + r];
        std::memcpy(&bits, &v, sizeof bits);
        bits ^= static_cast<uint32_t>((masks[c] >> j) & 1) << 31;
        float signedValue;
        std::memcpy(&signedValue, &bits, sizeof bits);
        acc = acc + signedValue;
      }
      result.transformed[c * p + r] = acc * h.scale;
      result.codes[c * p + r] = ref::quantizeInt8Value(acc * h.scale, quantScale);
    }
  return result;
}

/// ref::gatedRmsNorm then ref::hadamard: the row before the quantize.
std::vector<float> reference(int64_t n, const std::vector<float> &y, const std::vector<float> &z,
                             const std::vector<float> &weight) {
  std::vector<float> out(n);
  ref::gatedRmsNorm(y.data(), z.data(), weight.data(), out.data(), 1, n, n, kEps);
  EXPECT_TRUE(static_cast<bool>(ref::hadamard(out.data(), 1, n)));
  return out;
}

/// Elements whose bits differ.
template <typename T> int64_t bitDifferences(const std::vector<T> &a, const std::vector<T> &b) {
  int64_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i)
    differ += std::memcmp(&a[i], &b[i], sizeof(T)) != 0;
  return differ;
}

class ClusterGatedNormMath : public ::testing::TestWithParam<int64_t> {};

TEST_P(ClusterGatedNormMath, EqualsTheReferenceKernelsBitForBit) {
  const int64_t n = GetParam();
  mlir::MLIRContext context;
  mlir::FailureOr<HadamardRow> h = HadamardRow::get(n, mlir::UnknownLoc::get(&context));
  ASSERT_TRUE(mlir::succeeded(h));
  ASSERT_EQ(h->m, 40);
  ASSERT_EQ(ref::normThreads(n) * kClusterBlocks, n) << "value t + T j must be in block j";
  std::mt19937 rng(static_cast<unsigned>(n));
  for (int trial = 0; trial < 20; ++trial) {
    // Ranges from tiny rows (the sum near eps) to large ones.
    const float range = std::ldexp(1.0f, -12 + trial);
    const std::vector<float> y = row(n, range, rng), z = row(n, 8.0f, rng),
                             weight = row(n, 2.0f, rng);
    const float quantScale = 0.02f + 0.01f * static_cast<float>(trial);
    const ClusterResult got = clusterKernel(*h, y, z, weight, quantScale);
    // The sum of squares the reference normalises with.
    std::vector<float> g(n);
    for (int64_t e = 0; e < n; ++e)
      g[e] = y[e] * ref::silu(z[e]);
    const float sum = ref::blockOrderSum(n, ref::normThreads(n), [&](int64_t i) { return g[i] * g[i]; });
    EXPECT_EQ(std::memcmp(&got.sumOfSquares, &sum, sizeof sum), 0)
        << "n = " << n << ", trial " << trial << ": " << got.sumOfSquares << " vs " << sum;
    const std::vector<float> expected = reference(n, y, z, weight);
    EXPECT_EQ(bitDifferences(got.transformed, expected), 0) << "n = " << n << ", trial " << trial;
    std::vector<int8_t> codes(n);
    for (int64_t i = 0; i < n; ++i)
      codes[i] = ref::quantizeInt8Value(expected[i], quantScale);
    EXPECT_EQ(bitDifferences(got.codes, codes), 0) << "n = " << n << ", trial " << trial;
  }
}

INSTANTIATE_TEST_SUITE_P(RowsOf40TimesPowersOfTwo, ClusterGatedNormMath,
                         ::testing::Values(int64_t{2560}, int64_t{5120}));

} // namespace
