//===- Gptq.h - GPTQ 4-bit weight quantization ------------------*- C++ -*-===//
//
// GPTQ (Frantar et al., "GPTQ: Accurate Post-Training Quantization for
// Generative Pre-trained Transformers") as Quamba2 runs it (shared/reference/
// quamba2.md §7.1): the 4-bit, group-wise, symmetric grid of
// quantizeWeightInt4 (QuantizedKernels.h) with second-order error
// compensation from the layer-input Hessian H = sum_t x_t x_t^T.
//
// Algorithm, per weight matrix W [rows, cols] ([out, in]):
//  1. Dead columns: where H[i, i] == 0 the input channel was never active;
//     set H[i, i] = 1 (keeps H invertible) and W[:, i] = 0, before anything
//     else, as GPTQ does. The damping below sees the 1.
//  2. Damping: H += lambda * I with lambda = damping * mean(diag H).
//  3. U = upper Cholesky factor of H^-1 (H^-1 = U^T U), computed as GPTQ
//     does: H = L L^T, H^-1 from L, then the Cholesky factor of H^-1. Row j
//     of U is proportional to the OBS update of the columns > j once columns
//     <= j are fixed, and U[j, j]^2 = [(H restricted to columns >= j)^-1]_jj.
//  4. Columns in natural order (no act-order). For column j and each row r:
//     - if j starts a group, the group's scale is taken from the CURRENT,
//       error-compensated weights: s = fp16((float(max_{k in group} |W[r, k]|)
//       * 2) / 15) (fp16 rounding only if fp16Scales), all in fp32 exactly as
//       quantizeWeightInt4;
//     - v = clamp(RNE(float(W[r, j]) / s), -8, 7) (s == 0: v = 0), the fp32
//       division of quantizeWeightInt4 by the stored scale;
//     - e = (W[r, j] - v * s) / U[j, j] and W[r, k] -= e * U[j, k], k > j.
//     Loss (GPTQ's "Losses"): sum over r, j of e^2 / 2; in exact arithmetic
//     it equals 1/2 sum_r (W - What)[r] (H + lambda I) (W - What)[r]^T with
//     W after step 1.
//  5. The update of step 4 is applied lazily as in GPTQ: within a block of
//     blockSize columns immediately, to the columns after the block as one
//     GEMM once the block is done. This is only a reordering of the same
//     sums, so the result does not depend on blockSize beyond rounding.
//
// Choices:
//  - The quantization step (scale and code) is quantizeWeightInt4's fp32
//    arithmetic applied to the compensated weight rounded to fp32. With a
//    diagonal H no compensation happens (U is diagonal) and the output is
//    bit-identical to quantizeWeightInt4, so RTN and GPTQ outputs are
//    interchangeable and comparable. Everything else (H, U, the compensated
//    weights, the errors, the loss) is double: the weights are fp32 inputs
//    and K can be large, so fp32 compensation would accumulate error.
//  - Groups must not straddle blocks (blockSize a multiple of groupSize):
//    a group's scale needs its columns fully compensated when the group
//    starts, which the lazy update guarantees only within the current block.
//    (GPTQ reads the scale from the lazily updated W, which for a group that
//    starts inside a block misses that block's updates; with the default
//    groupSize == blockSize == 128 both are the same.)
//  - Layout exactly as quantizeWeightInt4: packed [rows, cols / 2] (packInt4
//    per row), scales [rows, cols / groupSize].
//  - Nothing here is parallelised: the routine is sequential apart from
//    OpenBLAS/LAPACK (Cholesky, GEMM, SYRK). Repeated calls on the same
//    machine with the same OpenBLAS thread count give bit-identical outputs;
//    another thread count may pick another factorization path and change
//    the double intermediates (and the loss) in the last bits, which can, in
//    rare near-tie cases, change a code.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Status.h"

#include <cstdint>

namespace quamba::ref {

struct GptqOptions {
  /// Consecutive input channels sharing one scale; must divide cols.
  int64_t groupSize = 128;
  /// Columns per lazy-update block (GPTQ's blocksize); must be a multiple of
  /// groupSize. Affects speed, not the result (up to rounding).
  int64_t blockSize = 128;
  /// lambda = damping * mean(diag H) (GPTQ's percdamp); finite, >= 0.
  double damping = 0.01;
  /// Round scales to fp16 (§7.2 stores them as fp16).
  bool fp16Scales = true;
};

/// hessian [cols, cols] += sum_t x[t]^T x[t] for x [tokens, cols] (fp32, each
/// product and sum in double). The upper triangle accumulates and the lower
/// one is then overwritten with its mirror, so the input must be symmetric
/// (zeros, or the output of a previous call) and the output is exactly
/// symmetric. Quamba's H = (2 / n) * sum: scaling is the caller's choice, only
/// the relative scale of H matters to gptqQuantizeInt4 (the loss scales).
void accumulateHessian(const float *x, int64_t tokens, int64_t cols,
                       double *hessian);

/// GPTQ-quantizes w [rows, cols] (row-major, [out, in]) with the Hessian
/// hessian [cols, cols] (symmetric; read, not modified) into packed
/// [rows, cols / 2] and scales [rows, cols / groupSize], the layout of
/// quantizeWeightInt4. If loss is not null it receives GPTQ's total loss.
/// Errors: non-positive sizes in options, negative or non-finite damping,
/// odd cols, groupSize not dividing cols, blockSize not a multiple of
/// groupSize, non-finite w or hessian entries, H + lambda I not positive
/// definite (the column where the Cholesky factorization failed is named).
/// On error the outputs are unspecified.
Status gptqQuantizeInt4(const float *w, int64_t rows, int64_t cols,
                        const double *hessian, const GptqOptions &options,
                        uint8_t *packed, float *scales, double *loss = nullptr);

} // namespace quamba::ref
