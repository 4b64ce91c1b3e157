//===- Activations.cpp - softplus and SiLU ---------------------------------===//
//
// In quamba's own exp and log1p (FloatSemantics.h), which the GPU kernels
// reproduce bit for bit.
//
//===----------------------------------------------------------------------===//

#include "runtime/reference/FloatSemantics.h"
#include "runtime/reference/Kernels.h"

namespace quamba::ref {

float softplus(float v) {
  // mamba_ssm (ops/triton/softplus.py) and torch's threshold=20 return v
  // itself above 20, where log1p(exp(v)) equals v to fp32 precision anyway
  // but exp would head for overflow.
  if (v > 20.0f)
    return v;
  return ref::log1p(ref::exp(v));
}

float silu(float v) {
  // For v -> -inf, exp(-v) overflows to inf and v / inf is -0: the limit.
  return v / (1.0f + ref::exp(-v));
}

} // namespace quamba::ref
