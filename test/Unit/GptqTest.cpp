//===- GptqTest.cpp - GPTQ weight quantization ----------------------------===//
//
// Oracles are independent of Gptq.cpp: the RTN routine for Hessians that
// allow no compensation, a textbook OBS implementation (Gauss-Jordan inverse,
// one elimination step per quantized column, no Cholesky, no blocking),
// naive double loops, and the OBS identity loss = 1/2 sum_r d_r (H + lambda I)
// d_r^T for the rounding error d = W - What.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/Gptq.h"
#include "runtime/reference/QuantizedKernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace quamba::ref;

namespace {

std::vector<float> randomUniform(size_t n, std::mt19937 &rng, float lo = -1.0f,
                                 float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto &x : v)
    x = d(rng);
  return v;
}

std::vector<float> randomNormal(size_t n, std::mt19937 &rng) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto &x : v)
    x = d(rng);
  return v;
}

/// Correlated inputs x_t = A z_t: x [tokens, cols], z and A standard normal.
std::vector<float> correlatedInputs(int64_t tokens, int64_t cols,
                                    std::mt19937 &rng) {
  std::vector<float> z = randomNormal(static_cast<size_t>(tokens * cols), rng);
  std::vector<float> a = randomNormal(static_cast<size_t>(cols * cols), rng);
  std::vector<float> x(static_cast<size_t>(tokens * cols));
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t i = 0; i < cols; ++i) {
      double acc = 0.0;
      for (int64_t k = 0; k < cols; ++k)
        acc += double(a[i * cols + k]) * z[t * cols + k];
      x[t * cols + i] = static_cast<float>(acc / std::sqrt(double(cols)));
    }
  return x;
}

/// H = X^T X by a naive double loop.
std::vector<double> naiveHessian(const std::vector<float> &x, int64_t tokens,
                                 int64_t cols) {
  std::vector<double> h(static_cast<size_t>(cols * cols), 0.0);
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      double acc = 0.0;
      for (int64_t t = 0; t < tokens; ++t)
        acc += double(x[t * cols + i]) * double(x[t * cols + j]);
      h[i * cols + j] = acc;
    }
  return h;
}

/// The value of element i of a packed row, decoded by hand.
int nibbleValue(const uint8_t *packed, int64_t i) {
  int byte = packed[i / 2];
  int code = (i % 2 == 0) ? (byte & 15) : (byte >> 4);
  return code - 8;
}

struct Quantized {
  std::vector<uint8_t> packed;
  std::vector<float> scales;
  double loss = 0.0;
};

Quantized runGptq(const std::vector<float> &w, int64_t rows, int64_t cols,
                  const std::vector<double> &h, const GptqOptions &options) {
  Quantized out;
  out.packed.assign(static_cast<size_t>(rows * cols / 2), 0);
  out.scales.assign(static_cast<size_t>(rows * cols / options.groupSize), 0.f);
  quamba::Status s =
      gptqQuantizeInt4(w.data(), rows, cols, h.data(), options,
                       out.packed.data(), out.scales.data(), &out.loss);
  EXPECT_TRUE(s.ok()) << s.error();
  return out;
}

Quantized runRtn(const std::vector<float> &w, int64_t rows, int64_t cols,
                 int64_t groupSize, bool fp16Scales) {
  Quantized out;
  out.packed.assign(static_cast<size_t>(rows * cols / 2), 0);
  out.scales.assign(static_cast<size_t>(rows * cols / groupSize), 0.f);
  quamba::Status s =
      quantizeWeightInt4(w.data(), rows, cols, groupSize, out.packed.data(),
                         out.scales.data(), fp16Scales);
  EXPECT_TRUE(s.ok()) << s.error();
  return out;
}

/// What[r, k] = v * s, decoded by hand, in double.
std::vector<double> dequantize(const Quantized &q, int64_t rows, int64_t cols,
                               int64_t groupSize) {
  std::vector<double> w(static_cast<size_t>(rows * cols));
  int64_t groups = cols / groupSize;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k)
      w[r * cols + k] = nibbleValue(q.packed.data() + r * (cols / 2), k) *
                        double(q.scales[r * groups + k / groupSize]);
  return w;
}

/// The damped Hessian of the spec (dead columns set to 1, then + lambda I),
/// and the matching weights (dead columns zeroed).
void dampHessian(std::vector<double> &h, std::vector<double> &w, int64_t rows,
                 int64_t cols, double damping) {
  for (int64_t i = 0; i < cols; ++i)
    if (h[i * cols + i] == 0.0) {
      h[i * cols + i] = 1.0;
      for (int64_t r = 0; r < rows; ++r)
        w[r * cols + i] = 0.0;
    }
  double mean = 0.0;
  for (int64_t i = 0; i < cols; ++i)
    mean += h[i * cols + i];
  mean /= double(cols);
  for (int64_t i = 0; i < cols; ++i)
    h[i * cols + i] += damping * mean;
}

/// Inverse of a [n, n] by Gauss-Jordan elimination with partial pivoting.
std::vector<double> invert(std::vector<double> a, int64_t n) {
  std::vector<double> inv(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    inv[i * n + i] = 1.0;
  for (int64_t c = 0; c < n; ++c) {
    int64_t p = c;
    for (int64_t r = c + 1; r < n; ++r)
      if (std::fabs(a[r * n + c]) > std::fabs(a[p * n + c]))
        p = r;
    for (int64_t k = 0; k < n; ++k) {
      std::swap(a[c * n + k], a[p * n + k]);
      std::swap(inv[c * n + k], inv[p * n + k]);
    }
    double pivot = a[c * n + c];
    for (int64_t k = 0; k < n; ++k) {
      a[c * n + k] /= pivot;
      inv[c * n + k] /= pivot;
    }
    for (int64_t r = 0; r < n; ++r) {
      if (r == c || a[r * n + c] == 0.0)
        continue;
      double f = a[r * n + c];
      for (int64_t k = 0; k < n; ++k) {
        a[r * n + k] -= f * a[c * n + k];
        inv[r * n + k] -= f * inv[c * n + k];
      }
    }
  }
  return inv;
}

/// Textbook GPTQ in the OBS form, unblocked: when column j is quantized,
/// G = (H restricted to the columns >= j)^-1 is known and the remaining
/// weights move by -(w_j - q_j) / G[j, j] * G[j, :], adding
/// (w_j - q_j)^2 / G[j, j] to the objective. G for the next column is one
/// Gaussian elimination step on G (removing j). No Cholesky, no batching.
Quantized textbookGptq(const std::vector<float> &w, int64_t rows, int64_t cols,
                       std::vector<double> h, const GptqOptions &options) {
  const int64_t groupSize = options.groupSize, groups = cols / groupSize;
  std::vector<double> wd(w.begin(), w.end());
  dampHessian(h, wd, rows, cols, options.damping);
  std::vector<double> g = invert(h, cols);
  // OBS rows: obs[j, k] = G_j[j, k] for k >= j.
  std::vector<double> obs(static_cast<size_t>(cols * cols), 0.0);
  for (int64_t j = 0; j < cols; ++j) {
    for (int64_t k = j; k < cols; ++k)
      obs[j * cols + k] = g[j * cols + k];
    double pivot = g[j * cols + j];
    for (int64_t a = j + 1; a < cols; ++a)
      for (int64_t b = j + 1; b < cols; ++b)
        g[a * cols + b] -= g[a * cols + j] * g[j * cols + b] / pivot;
  }

  Quantized out;
  std::vector<int8_t> values(static_cast<size_t>(rows * cols));
  out.scales.assign(static_cast<size_t>(rows * groups), 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    double *row = wd.data() + r * cols;
    float s = 0.0f;
    for (int64_t j = 0; j < cols; ++j) {
      if (j % groupSize == 0) {
        double amax = 0.0;
        for (int64_t k = j; k < j + groupSize; ++k)
          amax = std::max(amax, std::fabs(row[k]));
        s = float(amax) * 2.0f / 15.0f;
        if (options.fp16Scales)
          s = roundToFp16(s);
        out.scales[r * groups + j / groupSize] = s;
      }
      int v = 0;
      if (s != 0.0f)
        v = int(std::clamp(std::nearbyint(float(row[j]) / s), -8.0f, 7.0f));
      values[r * cols + j] = static_cast<int8_t>(v);
      double delta = row[j] - double(v) * double(s);
      double pivot = obs[j * cols + j];
      out.loss += delta * delta / pivot / 2.0;
      for (int64_t k = j + 1; k < cols; ++k)
        row[k] -= delta / pivot * obs[j * cols + k];
    }
  }
  out.packed.assign(static_cast<size_t>(rows * cols / 2), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) {
      unsigned code = static_cast<unsigned>(values[r * cols + k] + 8);
      out.packed[(r * cols + k) / 2] |= (k % 2 == 0) ? code : code << 4;
    }
  return out;
}

void expectBitIdentical(const Quantized &a, const Quantized &b) {
  ASSERT_EQ(a.packed.size(), b.packed.size());
  ASSERT_EQ(a.scales.size(), b.scales.size());
  size_t codeMismatches = 0;
  for (size_t i = 0; i < a.packed.size(); ++i)
    codeMismatches += a.packed[i] != b.packed[i];
  EXPECT_EQ(codeMismatches, 0u) << "of " << a.packed.size() << " bytes";
  EXPECT_EQ(std::memcmp(a.scales.data(), b.scales.data(),
                        a.scales.size() * sizeof(float)),
            0);
}

/// sum_r ||(W - What)[r] X^T||^2 over the calibration tokens.
double outputError(const std::vector<float> &w, const std::vector<double> &wHat,
                   const std::vector<float> &x, int64_t rows, int64_t cols,
                   int64_t tokens) {
  double total = 0.0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < tokens; ++t) {
      double y = 0.0;
      for (int64_t k = 0; k < cols; ++k)
        y += (double(w[r * cols + k]) - wHat[r * cols + k]) *
             double(x[t * cols + k]);
      total += y * y;
    }
  return total;
}

std::string gptqError(const std::vector<float> &w, int64_t rows, int64_t cols,
                      const std::vector<double> &h,
                      const GptqOptions &options = {}) {
  std::vector<uint8_t> packed(static_cast<size_t>(rows * cols / 2 + 1));
  std::vector<float> scales(static_cast<size_t>(rows * cols + 1));
  quamba::Status s = gptqQuantizeInt4(w.data(), rows, cols, h.data(), options,
                                      packed.data(), scales.data());
  EXPECT_FALSE(s.ok());
  return s.ok() ? std::string() : s.error();
}

std::vector<double> identity(int64_t n, double value = 1.0) {
  std::vector<double> h(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    h[i * n + i] = value;
  return h;
}

} // namespace

// A diagonal H (after damping still diagonal) gives a diagonal inverse
// factor U: every update W[:, k] -= e * U[j, k] subtracts an exact zero, the
// weights stay the fp32 inputs, and each group's scale and codes are RTN's.
// Equal entries (H ~ I) are the case the spec names; unequal positive ones
// change only the loss.
TEST(GptqTest, DiagonalHessianMatchesRtn) {
  std::mt19937 rng(1);
  const int64_t rows = 9, cols = 256;
  std::vector<float> w = randomUniform(rows * cols, rng);
  w[3 * cols + 17] = 4.5f; // an outlier group
  std::vector<double> randomDiagonal = identity(cols);
  std::uniform_real_distribution<double> d(0.1, 10.0);
  for (int64_t i = 0; i < cols; ++i)
    randomDiagonal[i * cols + i] = d(rng);
  for (const std::vector<double> &h :
       {identity(cols), identity(cols, 3.0), randomDiagonal})
    for (int64_t groupSize : {int64_t(128), int64_t(64)})
      for (bool fp16Scales : {true, false}) {
        SCOPED_TRACE("groupSize " + std::to_string(groupSize) + " fp16 " +
                     std::to_string(fp16Scales));
        GptqOptions options;
        options.groupSize = groupSize;
        options.fp16Scales = fp16Scales;
        Quantized gptq = runGptq(w, rows, cols, h, options);
        expectBitIdentical(gptq, runRtn(w, rows, cols, groupSize, fp16Scales));
        // loss = 1/2 sum (w - What)^2 (h_ii + lambda).
        std::vector<double> wHat = dequantize(gptq, rows, cols, groupSize);
        double mean = 0.0;
        for (int64_t i = 0; i < cols; ++i)
          mean += h[i * cols + i];
        double lambda = 0.01 * mean / double(cols), expected = 0.0;
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t k = 0; k < cols; ++k) {
            double delta = double(w[r * cols + k]) - wHat[r * cols + k];
            expected += 0.5 * delta * delta * (h[k * cols + k] + lambda);
          }
        EXPECT_NEAR(gptq.loss, expected, 1e-12 * expected);
      }
}

// The blocked, lazily updated, Cholesky-based routine against the textbook
// OBS form, for block/group layouts: one group per block, several groups
// per block, several blocks, a partial last block, fp32 scales and another
// damping.
TEST(GptqTest, MatchesTextbookGptq) {
  struct Config {
    int64_t cols, groupSize, blockSize;
    bool fp16Scales;
    double damping;
  };
  const Config configs[] = {
      {256, 128, 128, true, 0.01}, {256, 64, 64, true, 0.01},
      {320, 64, 128, true, 0.01},  {256, 32, 128, true, 0.01},
      {256, 64, 256, false, 0.05}, {192, 64, 64, true, 0.0},
  };
  std::mt19937 rng(2);
  const int64_t rows = 12;
  for (const Config &c : configs) {
    SCOPED_TRACE("cols " + std::to_string(c.cols) + " group " +
                 std::to_string(c.groupSize) + " block " +
                 std::to_string(c.blockSize));
    int64_t tokens = 2 * c.cols;
    std::vector<float> x = correlatedInputs(tokens, c.cols, rng);
    std::vector<double> h = naiveHessian(x, tokens, c.cols);
    std::vector<float> w = randomUniform(rows * c.cols, rng);
    GptqOptions options;
    options.groupSize = c.groupSize;
    options.blockSize = c.blockSize;
    options.fp16Scales = c.fp16Scales;
    options.damping = c.damping;
    Quantized blocked = runGptq(w, rows, c.cols, h, options);
    Quantized textbook = textbookGptq(w, rows, c.cols, h, options);
    expectBitIdentical(blocked, textbook);
    EXPECT_NEAR(blocked.loss, textbook.loss, 1e-9 * textbook.loss);
    // Not vacuous: compensation moved many codes away from RTN's.
    Quantized rtn = runRtn(w, rows, c.cols, c.groupSize, c.fp16Scales);
    size_t moved = 0;
    for (size_t i = 0; i < rtn.packed.size(); ++i)
      moved += rtn.packed[i] != blocked.packed[i];
    EXPECT_GT(moved, rtn.packed.size() / 4);
  }
}

// What GPTQ is for: on correlated inputs it reduces the layer's output
// error ||(W - What) X^T||^2 well below RTN's on the same grid. Also checks
// the reported loss against the OBS identity
// loss = 1/2 sum_r d_r (H + lambda I) d_r^T, d = W - What.
TEST(GptqTest, BeatsRtnOnCorrelatedInputs) {
  std::mt19937 rng(3);
  const int64_t rows = 32, cols = 256, tokens = 1024;
  std::vector<float> x = correlatedInputs(tokens, cols, rng);
  std::vector<double> h = naiveHessian(x, tokens, cols);
  std::vector<float> w = randomUniform(rows * cols, rng);
  GptqOptions options;
  Quantized gptq = runGptq(w, rows, cols, h, options);
  Quantized rtn = runRtn(w, rows, cols, options.groupSize, true);
  std::vector<double> gptqHat = dequantize(gptq, rows, cols, 128);
  double gptqError = outputError(w, gptqHat, x, rows, cols, tokens);
  double rtnError =
      outputError(w, dequantize(rtn, rows, cols, 128), x, rows, cols, tokens);
  // Measured: about 0.51 of RTN's error; assert a clear margin.
  EXPECT_LT(gptqError, 0.75 * rtnError)
      << "GPTQ " << gptqError << " RTN " << rtnError;

  std::vector<double> damped = h, wd(w.begin(), w.end());
  dampHessian(damped, wd, rows, cols, options.damping);
  double expected = 0.0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j)
        expected += 0.5 * (wd[r * cols + i] - gptqHat[r * cols + i]) *
                    damped[i * cols + j] *
                    (wd[r * cols + j] - gptqHat[r * cols + j]);
  EXPECT_NEAR(gptq.loss, expected, 1e-9 * expected);
}

// A channel that is never active (zero row and column of H): its weights are
// zeroed before anything else, so its codes are 0 and it does not inflate its
// group's scale.
TEST(GptqTest, DeadColumnsAreZeroed) {
  std::mt19937 rng(4);
  const int64_t rows = 6, cols = 128, tokens = 256, dead = 5;
  std::vector<float> x = correlatedInputs(tokens, cols, rng);
  for (int64_t t = 0; t < tokens; ++t)
    x[t * cols + dead] = 0.0f;
  std::vector<double> h = naiveHessian(x, tokens, cols);
  ASSERT_EQ(h[dead * cols + dead], 0.0);
  std::vector<float> w = randomUniform(rows * cols, rng);
  for (int64_t r = 0; r < rows; ++r)
    w[r * cols + dead] = 100.0f;
  GptqOptions options;
  Quantized q = runGptq(w, rows, cols, h, options);
  for (int64_t r = 0; r < rows; ++r) {
    EXPECT_EQ(nibbleValue(q.packed.data() + r * (cols / 2), dead), 0);
    EXPECT_LT(q.scales[r], 1.0f); // |w| <= 1 elsewhere, compensated
  }
  // The same as quantizing with the column already zeroed.
  std::vector<float> zeroed = w;
  for (int64_t r = 0; r < rows; ++r)
    zeroed[r * cols + dead] = 0.0f;
  Quantized reference = runGptq(zeroed, rows, cols, h, options);
  expectBitIdentical(q, reference);
  EXPECT_EQ(q.loss, reference.loss);
}

// Integer inputs make every product and sum exact, so any summation order
// must give the naive loop's value bit for bit. Two calls accumulate.
TEST(GptqTest, AccumulateHessianMatchesNaiveLoop) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> d(-8, 8);
  const int64_t cols = 40, tokens1 = 300, tokens2 = 7;
  std::vector<float> x1(tokens1 * cols), x2(tokens2 * cols);
  for (auto &v : x1)
    v = float(d(rng));
  for (auto &v : x2)
    v = float(d(rng));
  std::vector<double> h(cols * cols, 0.0);
  accumulateHessian(x1.data(), tokens1, cols, h.data());
  accumulateHessian(x2.data(), tokens2, cols, h.data());
  std::vector<double> e1 = naiveHessian(x1, tokens1, cols);
  std::vector<double> e2 = naiveHessian(x2, tokens2, cols);
  for (int64_t i = 0; i < cols * cols; ++i)
    ASSERT_EQ(h[i], e1[i] + e2[i])
        << "at [" << i / cols << ", " << i % cols << "]";

  // General fp32 inputs: double products are exact, only the summation
  // order differs; the result is exactly symmetric.
  std::vector<float> x3 = randomNormal(tokens1 * cols, rng);
  std::vector<double> h3(cols * cols, 0.0);
  accumulateHessian(x3.data(), tokens1, cols, h3.data());
  std::vector<double> e3 = naiveHessian(x3, tokens1, cols);
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      EXPECT_EQ(h3[i * cols + j], h3[j * cols + i]);
      EXPECT_NEAR(h3[i * cols + j], e3[i * cols + j], 1e-12 * tokens1 * 16);
    }
}

TEST(GptqTest, Errors) {
  std::vector<float> w(4 * 256, 0.5f);
  GptqOptions options;

  options.groupSize = 5;
  options.blockSize = 5;
  EXPECT_NE(
      gptqError(w, 2, 5, identity(5), options).find("cols 5 must be even"),
      std::string::npos);

  EXPECT_NE(gptqError(w, 2, 192, identity(192))
                .find("groupSize 128 must divide cols 192"),
            std::string::npos);

  options = {};
  options.groupSize = 64;
  options.blockSize = 96;
  EXPECT_NE(gptqError(w, 2, 128, identity(128), options)
                .find("blockSize 96 must be a multiple of groupSize 64"),
            std::string::npos);

  options = {};
  options.damping = -0.1;
  EXPECT_NE(gptqError(w, 2, 128, identity(128), options)
                .find("damping -0.1 must be finite and non-negative"),
            std::string::npos);

  std::vector<float> nanW = w;
  nanW[1 * 128 + 2] = std::numeric_limits<float>::quiet_NaN();
  std::string message = gptqError(nanW, 2, 128, identity(128));
  EXPECT_NE(message.find("non-finite weight"), std::string::npos) << message;
  EXPECT_NE(message.find("at [1, 2]"), std::string::npos) << message;

  std::vector<double> nanH = identity(128);
  nanH[3 * 128 + 4] = std::numeric_limits<double>::infinity();
  message = gptqError(w, 2, 128, nanH);
  EXPECT_NE(message.find("non-finite Hessian entry inf at [3, 4]"),
            std::string::npos)
      << message;

  // mean(diag) is about 10, lambda about 0.1: the -1 stays negative.
  std::vector<double> indefinite = identity(128, 10.0);
  indefinite[2 * 128 + 2] = -1.0;
  message = gptqError(w, 2, 128, indefinite);
  EXPECT_NE(message.find("gptqQuantizeInt4: the Hessian is not positive "
                         "definite even after damping"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("failed at column 2"), std::string::npos) << message;
}

TEST(GptqTest, Deterministic) {
  std::mt19937 rng(6);
  const int64_t rows = 16, cols = 512, tokens = 1024;
  std::vector<float> x = correlatedInputs(tokens, cols, rng);
  std::vector<double> h(cols * cols, 0.0);
  accumulateHessian(x.data(), tokens, cols, h.data());
  std::vector<float> w = randomNormal(rows * cols, rng);
  GptqOptions options;
  Quantized a = runGptq(w, rows, cols, h, options);
  Quantized b = runGptq(w, rows, cols, h, options);
  expectBitIdentical(a, b);
  EXPECT_EQ(std::memcmp(&a.loss, &b.loss, sizeof(double)), 0);
}
