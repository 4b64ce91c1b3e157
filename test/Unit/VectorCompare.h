//===- VectorCompare.h - tolerance helpers for unit tests -------*- C++ -*-===//
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace quamba::test {

/// max_i |v[i]|
inline float maxAbs(const std::vector<float> &v) {
  float m = 0.0f;
  for (float x : v)
    m = std::max(m, std::fabs(x));
  return m;
}

/// max_i |a[i] - b[i]|; a size mismatch is a test failure.
inline float maxAbsDiff(const std::vector<float> &a,
                        const std::vector<float> &b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0.0f;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

} // namespace quamba::test
