//===- Hadamard.cpp - orthonormal Hadamard transforms of sizes m * 2^k -----===//
//
// The matrices are those of Dao-AILab's fast-hadamard-transform, which
// Quamba uses both offline (rotating the embedding, lm_head and in/out_proj
// weights) and online (before out_proj). A checkpoint rotated by Quamba is
// only consistent with this transform if the matrices and the index
// convention are exactly the same, so both are fixed here (Kernels.h states
// the convention):
//   H_12 = Paley construction II with q = 5 (fast-hadamard-transform's
//          had_12_paley; symmetric).
//   H_40 = H_2 kron P_20, P_20 = Paley construction I with q = 19
//          (fast-hadamard-transform's had_40_tpal; not symmetric).
//   H_2^k = Sylvester, natural order: W[r][r'] = (-1)^popcount(r & r').
// Both are built from quadratic residues rather than typed in as tables.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/Kernels.h"
#include "runtime/reference/Parallel.h"

#include <cmath>
#include <string>
#include <vector>

namespace quamba::ref {
namespace {

bool isPowerOfTwo(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

/// The non-power-of-two factor m in {1, 12, 40} of n, or 0 if n is not
/// m * 2^k.
int64_t oddFactor(int64_t n) {
  if (isPowerOfTwo(n))
    return 1;
  for (int64_t m : {12, 40})
    if (n % m == 0 && isPowerOfTwo(n / m))
      return m;
  return 0;
}

/// Legendre symbol of a modulo the prime q: 0, +1 (a square) or -1.
int legendre(int64_t a, int64_t q) {
  a = ((a % q) + q) % q;
  if (a == 0)
    return 0;
  for (int64_t r = 1; r < q; ++r)
    if (r * r % q == a)
      return 1;
  return -1;
}

using SignMatrix = std::vector<std::vector<int>>;

/// Paley II for a prime q = 1 mod 4: the symmetric conference matrix
/// S = [[0, 1^T], [1, Q]] with Q[i][j] = legendre(j - i), each 0 entry
/// replaced by [[1, -1], [-1, -1]] and each +-1 by +-[[1, 1], [1, -1]].
SignMatrix paleyII(int64_t q) {
  int64_t n = q + 1;
  SignMatrix out(2 * n, std::vector<int>(2 * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int s = (i == 0 || j == 0) ? (i != j) : legendre(j - i, q);
      int block[2][2] = {{1, -1}, {-1, -1}};
      if (s != 0)
        block[0][0] = block[0][1] = block[1][0] = s, block[1][1] = -s;
      for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b)
          out[2 * i + a][2 * j + b] = block[a][b];
    }
  return out;
}

/// Paley I for a prime q = 3 mod 4: I + [[0, -1^T], [1, Q]] with the
/// antisymmetric Q[i][j] = legendre(i - j).
SignMatrix paleyI(int64_t q) {
  int64_t n = q + 1;
  SignMatrix out(n, std::vector<int>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      if (i == j)
        out[i][j] = 1;
      else if (i == 0)
        out[i][j] = -1;
      else if (j == 0)
        out[i][j] = 1;
      else
        out[i][j] = legendre(i - j, q);
    }
  return out;
}

/// H_2 kron M: [[M, M], [M, -M]].
SignMatrix doubled(const SignMatrix &m) {
  int64_t n = static_cast<int64_t>(m.size());
  SignMatrix out(2 * n, std::vector<int>(2 * n));
  for (int64_t i = 0; i < 2 * n; ++i)
    for (int64_t j = 0; j < 2 * n; ++j)
      out[i][j] = (i >= n && j >= n ? -1 : 1) * m[i % n][j % n];
  return out;
}

/// H_m (m = 12 or 40) row-major in T, built once (thread-safe static init).
template <typename T> const std::vector<T> &smallHadamard(int64_t m) {
  auto flatten = [](const SignMatrix &s) {
    std::vector<T> out;
    for (const std::vector<int> &row : s)
      out.insert(out.end(), row.begin(), row.end());
    return out;
  };
  static const std::vector<T> h12 = flatten(paleyII(5));
  static const std::vector<T> h40 = flatten(doubled(paleyI(19)));
  return m == 12 ? h12 : h40;
}

/// In-place unnormalised Walsh-Hadamard transform (Sylvester, natural
/// order) of n = 2^k contiguous values.
template <typename T> void walshHadamard(T *x, int64_t n) {
  for (int64_t half = 1; half < n; half *= 2)
    for (int64_t start = 0; start < n; start += 2 * half)
      for (int64_t i = start; i < start + half; ++i) {
        T a = x[i], b = x[i + half];
        x[i] = a + b;
        x[i + half] = a - b;
      }
}

/// x viewed as [m][p]: column r <- H_m * column r, for every r.
template <typename T>
void smallFactor(T *x, int64_t m, int64_t p, const T *h,
                 std::vector<T> &column) {
  for (int64_t r = 0; r < p; ++r) {
    for (int64_t c = 0; c < m; ++c)
      column[c] = x[c * p + r];
    for (int64_t c = 0; c < m; ++c) {
      T acc = 0;
      for (int64_t j = 0; j < m; ++j)
        acc += h[c * m + j] * column[j];
      x[c * p + r] = acc;
    }
  }
}

/// H_n x without the 1 / sqrt(n): the Walsh-Hadamard passes over each of the
/// m blocks, then the m-point factor across them.
template <typename T> void unnormalizedHadamard(T *v, int64_t n, int64_t m) {
  int64_t p = n / m;
  for (int64_t c = 0; c < m; ++c)
    walshHadamard(v + c * p, p);
  if (m > 1) {
    std::vector<T> column(m);
    smallFactor(v, m, p, smallHadamard<T>(m).data(), column);
  }
}

Error unsupportedSize(int64_t n) {
  return makeError("hadamard: size " + std::to_string(n) +
                   " is not 2^k, 12 * 2^k or 40 * 2^k");
}

} // namespace

bool isHadamardSize(int64_t n) { return oddFactor(n) != 0; }

const float *hadamardFactor(int64_t n, int64_t *m) {
  static const float one = 1.0f;
  *m = oddFactor(n);
  if (*m == 0)
    return nullptr;
  return *m == 1 ? &one : smallHadamard<float>(*m).data();
}

Status hadamard(float *x, int64_t rows, int64_t n) {
  int64_t m = oddFactor(n);
  if (m == 0)
    return unsupportedSize(n);
  float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(n)));
  int64_t work = n * (m + 16); // rough: m-point products plus log2(p) passes
  parallelFor(rows, work, [&](int64_t row) {
    float *v = x + row * n;
    unnormalizedHadamard(v, n, m);
    for (int64_t i = 0; i < n; ++i)
      v[i] *= scale;
  });
  return Status::success();
}

Status hadamardUnnormalized(double *x, int64_t n) {
  int64_t m = oddFactor(n);
  if (m == 0)
    return unsupportedSize(n);
  unnormalizedHadamard(x, n, m);
  return Status::success();
}

} // namespace quamba::ref
