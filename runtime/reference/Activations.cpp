//===- Activations.cpp - softplus and SiLU ---------------------------------===//

#include "runtime/reference/Kernels.h"

#include <cmath>

namespace quamba::ref {

float softplus(float v) {
  // mamba_ssm (ops/triton/softplus.py) and torch's threshold=20 return v
  // itself above 20, where log1p(exp(v)) equals v to fp32 precision anyway
  // but exp would head for overflow.
  if (v > 20.0f)
    return v;
  return std::log1p(std::exp(v));
}

float silu(float v) {
  // For v -> -inf, exp(-v) overflows to inf and v / inf is -0: the limit.
  return v / (1.0f + std::exp(-v));
}

} // namespace quamba::ref
