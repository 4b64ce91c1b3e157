//===- ScalarMath.h - scalar functions kernels share ------------*- C++ -*-===//
//
// The per-element functions of the reference kernels (runtime/reference/
// Activations.cpp, FloatSemantics.h, QuantizedKernels.h) as MLIR ops, written once for every
// kernel family, and the float spelling used in kernel names.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/KernelBuilder.h"

#include <string>

namespace mlir::quamba::codegen {

/// ref::exp and ref::log1p (runtime/reference/FloatSemantics.h), bit for
/// bit.
Value exp(KernelBuilder &k, Value v);
/// ref::log: for a normal, finite v > 0.
Value log(KernelBuilder &k, Value v);
Value log1p(KernelBuilder &k, Value v);
/// v / (1 + exp(-v)), as ref::silu.
Value silu(KernelBuilder &k, Value v);
/// v > 20 ? v : log1p(exp(v)), as ref::softplus.
Value softplus(KernelBuilder &k, Value v);
/// sat8(RNE(v)) with NaN -> 0, as ref::quantizeInt8Value after its division:
/// an integer-valued f32 in [-128, 127] converted to `intType` (i8 or i32).
/// minimumf/maximumf would propagate NaN: ordered compares clamp instead.
Value roundToInt8Saturating(KernelBuilder &k, Value v, Type intType);
/// sat8(RNE(v / scale)) as i8: ref::quantizeInt8Value (one IEEE division).
Value quantizeInt8(KernelBuilder &k, Value v, Value scale);
/// float(q) * scale for an i8 q: ref::dequantizeInt8PerChannel's element.
Value dequantizeInt8(KernelBuilder &k, Value q, Value scale);
/// The bits of an f32 in hex ("3727c5ac" for 1e-5): kernel names carry
/// float parameters exactly.
std::string floatBits(float value);

} // namespace mlir::quamba::codegen
