//===- Kernels.h - reference kernels: the semantics of every op -*- C++ -*-===//
//
// One function per primitive, plain C++ in fp32. These define what the mamba
// dialect's ops mean (DESIGN.md §2): the IR interpreter calls them op by op,
// the CPU backend launch by launch, and every GPU kernel is tested against
// them. The math is shared/reference/formats.md §4 (mamba_ssm semantics).
//
// Conventions: tensors are dense, row-major, fp32; shapes are given by the
// arguments; outputs never alias inputs unless a parameter says "in/out".
// Batch and sequence dimensions are outermost ([B, L, ...]).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Status.h"

#include <cstdint>

namespace quamba::ref {

/// softplus(v) = log(1 + exp(v)), and v itself for v > 20 (as mamba_ssm).
float softplus(float v);
/// silu(v) = v * sigmoid(v).
float silu(float v);

/// out[i, :] = table[tokens[i], :] for i < count. A token outside [0, vocab)
/// is an error naming it and its position.
Status embedding(const float *table, int64_t vocab, int64_t dim,
                 const int32_t *tokens, int64_t count, float *out);

/// out[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight, per row.
void rmsNorm(const float *x, const float *weight, float *out, int64_t rows,
             int64_t dim, float eps);

/// Fused residual add + RMSNorm: residualOut = x + residualIn;
/// out = rmsNorm(residualOut). residualOut may alias residualIn.
void addRmsNorm(const float *x, const float *residualIn, const float *weight,
                float *out, float *residualOut, int64_t rows, int64_t dim,
                float eps);

/// out[r, n] = sum_k x[r, k] * weight[n, k] + (bias ? bias[n] : 0).
/// weight is [outFeatures, inFeatures] (PyTorch layout). Uses BLAS.
void linear(const float *x, const float *weight, const float *bias, float *out,
            int64_t rows, int64_t inFeatures, int64_t outFeatures);

/// Depthwise causal conv over a sequence. x, y: [B, L, C]; weight: [C, K];
/// bias: [C] or null. y[b,t,c] = act(bias[c] + sum_k weight[c,k] *
/// x[b, t-K+1+k, c]) with x before the start = 0; act = SiLU if `silu`.
/// stateOut [B, C, K] (may be null) receives the last K inputs (zero-padded
/// on the left), the state a decode step continues from.
void causalConv1d(const float *x, const float *weight, const float *bias,
                  float *y, float *stateOut, int64_t batch, int64_t seqlen,
                  int64_t channels, int64_t kernel, bool silu);

/// One-token conv update. x, y: [B, C]; state: [B, C, K] in/out (rolled left
/// by one, x written to the last column, then the dot product).
void causalConv1dStep(const float *x, float *state, const float *weight,
                      const float *bias, float *y, int64_t batch,
                      int64_t channels, int64_t kernel, bool silu);

struct SSDShape {
  int64_t batch = 1, seqlen = 1;
  int64_t nheads = 1, headdim = 1, ngroups = 1, dstate = 1;
  bool dHasHdim = false; // D is [H * P] instead of [H]
};

/// The chunk length of the chunked SSD scan (ssdScan and its stages). A
/// numerics choice of quamba's, like the warp order: mamba_ssm's chunk_size
/// (the op's attribute, 256 in the checkpoints) reassociates the same sums
/// differently; 64 gives the GPU kernels enough blocks at 1k tokens.
inline constexpr int64_t kSSDChunk = 64;
/// Chunks of a sequence of `seqlen` tokens.
inline int64_t ssdChunks(int64_t seqlen) { return (seqlen + kSSDChunk - 1) / kSSDChunk; }

/// Mamba2 SSD scan from a zero state. x, y: [B, L, H*P]; dt: [B, L, H];
/// Bm, Cm: [B, L, G*N]; A_log, dtBias: [H]; D: [H] or [H*P]; stateOut:
/// [B, H, P, N], the final state. dt' = clamp(softplus(dt + dtBias), dtMin,
/// dtMax); head h uses group h / (H / G).
///
/// Computed in chunks of kSSDChunk tokens (mamba_ssm's ssd_combined, the
/// recurrence h_t = exp(dt_t A) h_{t-1} + dt_t B_t x_t reassociated): exactly
/// ssdChunkState, ssdStatePassing, ssdChunkCB and ssdChunkScan in turn, the
/// four launches a compiled plan runs (LaunchOps.h), so every backend reproduces
/// it bit for bit. It equals the token-by-token recurrence (ssdStep L times)
/// up to fp32 rounding.
void ssdScan(const SSDShape &shape, float dtMin, float dtMax, const float *x,
             const float *dt, const float *Bm, const float *Cm, const float *A_log,
             const float *D, const float *dtBias, float *y, float *stateOut);

/// Chunked SSD, stage 1, per (batch, chunk c, head): dt' (as ssdScan) and
/// cum_i = a_0 + ... + a_i (a_i = dt'_i A, in order) for the chunk's tokens
/// i, written to dtOut and cumOut [B, H, L]; and the chunk's state from a
/// zero start, chunkStates[b, c, h, p, n] [B, nchunks, H, P, N]:
///   sum_i (ascending) B[i, n] * (w_i * x[i, p]),  w_i = exp(cum_last - cum_i) * dt'_i.
void ssdChunkState(const SSDShape &shape, float dtMin, float dtMax, const float *x,
                   const float *dt, const float *Bm, const float *A_log,
                   const float *dtBias, float *dtOut, float *cumOut, float *chunkStates);

/// Chunked SSD, stage 2, per (batch, head, state element e): the state each
/// chunk starts from, s_0 = 0, s_{c+1} = s_c * exp(cum_last(c)) + chunkStates[c],
/// into initStates [B, nchunks, H, P, N] (chunk c gets s_c), and the final
/// state s_nchunks into stateOut [B, H, P, N].
void ssdStatePassing(const SSDShape &shape, const float *cum, const float *chunkStates,
                     float *initStates, float *stateOut);

/// Chunked SSD, stage 3, per (batch, chunk, group): C_i . B_j of the chunk's
/// tokens (over n ascending), shared by the group's heads, into cb [B,
/// nchunks, G, kSSDChunk, kSSDChunk] at [i][j] for j <= i < the chunk's
/// length, 0 elsewhere.
void ssdChunkCB(const SSDShape &shape, const float *Bm, const float *Cm, float *cb);

/// Chunked SSD, stage 4, per (batch, chunk, head): y of the chunk's tokens,
///   y[i, p] = sum_{j <= i} m_ij x[j, p]  then  + sum_n (exp(cum_i) C[i, n]) init[p, n]
///             (one accumulator, j then n ascending), then + D x[i, p],
///   m_ij = (cb[i][j] * exp(cum_i - cum_j)) * dt'_j.
void ssdChunkScan(const SSDShape &shape, const float *x, const float *dtOut,
                  const float *cum, const float *Cm, const float *cb, const float *D,
                  const float *initStates, float *y);

/// Mamba2 one-token step (shape.seqlen is ignored; x, y: [B, H*P], dt: [B, H],
/// Bm, Cm: [B, G*N]); state [B, H, P, N] in/out. No dt limit (as mamba_ssm's
/// selective_state_update).
void ssdStep(const SSDShape &shape, const float *x, const float *dt,
             const float *Bm, const float *Cm, const float *A_log,
             const float *D, const float *dtBias, float *state, float *y);

struct SelectiveShape {
  int64_t batch = 1, seqlen = 1, dinner = 1, dstate = 1;
};

/// Mamba1 selective scan from a zero state, gated by z.
/// x, dt, z, y: [B, L, E]; Bm, Cm: [B, L, N]; A_log: [E, N]; D, dtBias: [E];
/// stateOut: [B, E, N]. dt' = softplus(dt + dtBias);
/// y = (sum_n h[c,n] C[n] + D[c] x[c]) * silu(z[c]).
void selectiveScan(const SelectiveShape &shape, const float *x,
                   const float *dt, const float *Bm, const float *Cm,
                   const float *z, const float *A_log, const float *D,
                   const float *dtBias, float *y, float *stateOut);

/// Mamba1 one-token step: x, dt, z, y: [B, E]; Bm, Cm: [B, N];
/// state [B, E, N] in/out.
void selectiveStep(const SelectiveShape &shape, const float *x,
                   const float *dt, const float *Bm, const float *Cm,
                   const float *z, const float *A_log, const float *D,
                   const float *dtBias, float *state, float *y);

/// Grouped gated RMSNorm (norm_before_gate = false): v = y * silu(z); each
/// contiguous group of groupSize channels of a row is divided by
/// sqrt(mean(v_g^2) + eps); out = v * weight. y, z, out: [rows, dim];
/// groupSize must divide dim.
void gatedRmsNorm(const float *y, const float *z, const float *weight,
                  float *out, int64_t rows, int64_t dim, int64_t groupSize,
                  float eps);

/// Whether n is 2^k, 12 * 2^k or 40 * 2^k.
bool isHadamardSize(int64_t n);
/// In place, each row x of length n = m * 2^k (m in {1, 12, 40}):
///   x <- H_n x / sqrt(n), H_n = H_m kron W_2^k, an orthonormal transform,
/// with x as a column viewed as [m][2^k] (index c * 2^k + r, m outer):
///   out[c*2^k + r] = sum_{c', r'} H_m[c][c'] W[r][r'] x[c'*2^k + r'] / sqrt(n).
/// As a row vector that is x * H_n^T / sqrt(n). W is Sylvester's matrix in
/// natural order, W[r][r'] = (-1)^popcount(r & r'). H_12 is Paley II (q = 5),
/// symmetric; H_40 = [[P, P], [P, -P]] with P Paley I (q = 19), not
/// symmetric. These are the matrices and the convention of Dao-AILab's
/// fast-hadamard-transform (had_12_paley, had_40_tpal), which Quamba uses
/// offline and online, so Quamba-rotated weights stay consistent. For
/// m in {1, 12} the transform is its own inverse; for m = 40 the inverse is
/// the transpose. Returns an error for an unsupported n.
Status hadamard(float *x, int64_t rows, int64_t n);

/// The m x m factor of H_n (m = the odd part of n: 1, 12 or 40), row-major,
/// entries +-1; nullptr for an unsupported n. GPU kernels take it as an
/// operand rather than rebuilding the Paley constructions.
const float *hadamardFactor(int64_t n, int64_t *m);

/// The same transform without the 1 / sqrt(n) scale, in double, on one
/// vector of n values: for offline weight rotations (quamba-rotate), which
/// apply the sign sums exactly and the scale once per element.
Status hadamardUnnormalized(double *x, int64_t n);

/// One random sampling step (LaunchOps.h "sample"; its params buffer holds
/// these as i32 words: sampleParamsToWords).
struct SampleParams {
  float temperature = 1.0f; ///< > 0 (greedy decoding uses argmax instead)
  int64_t topK = 0;         ///< keep the k largest logits (ties kept); 0: all
  float topP = 1.0f;        ///< nucleus mass; >= 1: all
  int64_t allowed = 0;      ///< only ids [0, allowed) can be drawn (vocab padding)
  uint64_t seed = 0;
  uint64_t step = 0;        ///< the caller's counter: one draw per step
};
constexpr int kSampleParamWords = 8;
void sampleParamsToWords(const SampleParams &p, int32_t words[kSampleParamWords]);
SampleParams sampleParamsFromWords(const int32_t words[kSampleParamWords]);

/// Draws a token from softmax(logits[0, allowed) / temperature) restricted to
/// the top-k logits and then to the top-p nucleus; `sequence` is the row of
/// the batch. Defined so that a GPU warp reproduces it bit for bit
/// (Sampling.cpp states the algorithm): integer-exact thresholds, quamba's
/// own exp/log, Gumbel-max with a counter-based hash of (seed, step,
/// sequence, id). The same inputs always draw the same token.
int32_t sampleToken(const float *logits, const SampleParams &p, uint64_t sequence);

/// sampleToken's noise: splitmix64's finalizer over the counters mixed by
/// odd multipliers (the GPU kernel emits the same integer operations).
namespace sample_hash {
constexpr uint64_t kStep = 0x9E3779B97F4A7C15ull, kSequence = 0xC2B2AE3D27D4EB4Full,
                   kId = 0x165667B19E3779F9ull, kMix1 = 0xBF58476D1CE4E5B9ull,
                   kMix2 = 0x94D049BB133111EBull;
} // namespace sample_hash
uint64_t sampleHash(uint64_t seed, uint64_t step, uint64_t sequence, uint64_t id);

} // namespace quamba::ref
