//===- Plan.h - the launch plan of a compiled model -------------*- C++ -*-===//
//
// What codegen writes and the backends execute (DESIGN.md §5): buffers whose
// shapes are expressions of the batch B and the sequence length L, and per
// entry point (prefill, decode) the ordered launches. The plan travels as
// JSON in model.qmb's metadata. The meaning of every launch is in
// LaunchOps.h.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Status.h"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace quamba::plan {

/// The version of the plan format; readers reject any other.
inline constexpr int kPlanVersion = 1;

/// An integer expression over the symbols B (batch) and L (sequence
/// length): integers, B, L, + - * /, parentheses and cdiv(a, b). Division
/// truncates; cdiv rounds up.
class ShapeExpr {
public:
  ShapeExpr() = default;
  /// A constant.
  ShapeExpr(int64_t value);
  /// Parses `text`; an error names the text and the position.
  static Result<ShapeExpr> parse(const std::string &text);

  /// The value at (batch, seqlen); -1 when it, or an intermediate value,
  /// overflows int64_t (no size, grid or scalar is negative).
  int64_t evaluate(int64_t batch, int64_t seqlen) const;
  /// The expression as written (a parse of it gives the same value).
  const std::string &text() const { return text_; }
  bool isConstant() const;

  struct Node;

private:
  std::string text_ = "0";
  std::shared_ptr<const Node> root_;
};

enum class DType { F32, F16, I8, U8, I32 };
const char *dtypeName(DType dtype);
size_t dtypeSize(DType dtype);

enum class BufferKind {
  Weight,     ///< bytes stored in the artifact as tensor "weights/<name>"
  Activation, ///< allocated per session, sized by B and L
};

struct Buffer {
  std::string name;
  DType dtype = DType::F32;
  BufferKind kind = BufferKind::Activation;
  std::vector<ShapeExpr> shape;

  /// The product of the dimensions; -1 when it overflows int64_t.
  int64_t numel(int64_t batch, int64_t seqlen) const;
  std::vector<int64_t> dims(int64_t batch, int64_t seqlen) const;
};

struct Launch {
  std::string op;     ///< a LaunchOps.h op
  std::string kernel; ///< the kernel in the artifact ("kernels/<kernel>.ptx")
  std::vector<int> operands;      ///< buffer indices, LaunchOps.h order
  std::vector<ShapeExpr> scalars; ///< i32 kernel arguments after them
  std::map<std::string, std::vector<double>> attrs;
  std::array<ShapeExpr, 3> grid = {ShapeExpr(1), ShapeExpr(1), ShapeExpr(1)};
  std::array<int, 3> block = {1, 1, 1};
  int sharedBytes = 0;
  /// The batch sizes this launch runs for, [minBatch, maxBatch] (maxBatch 0:
  /// no bound). Alternatives of one op (kernels tuned for few or many
  /// sequences, computing the same function) cover disjoint ranges; the
  /// session runs the one whose range holds the call's batch.
  int64_t minBatch = 1, maxBatch = 0;
  bool runsFor(int64_t batch) const {
    return batch >= minBatch && (maxBatch == 0 || batch <= maxBatch);
  }

  /// The one value of attribute `name` (0 when absent).
  double attr(const std::string &name) const;
  /// Whether an attribute is present and nonzero.
  bool flag(const std::string &name) const { return attr(name) != 0.0; }
};

struct EntryPoint {
  std::string name;         ///< "prefill" or "decode"
  std::vector<int> inputs;  ///< the function's arguments, in order
  std::vector<int> outputs; ///< its results, in order
  std::vector<Launch> launches;
  /// The greedy sampler run after the launches on demand (op "argmax" over
  /// outputs[0], the logits), so that only token ids leave the GPU.
  std::optional<Launch> sampler;
  /// The random sampler (op "sample": temperature, top-k, top-p from its
  /// params buffer), writing the same next-token buffer as `sampler`.
  std::optional<Launch> randomSampler;
  /// Whether this entry point's L is fixed at 1 (decode).
  bool singleToken = false;
};

/// One compiled kernel: its Triton-style metadata (DESIGN.md §5).
struct KernelInfo {
  std::string name;
  int numWarps = 4;
  int sharedBytes = 0;
  /// The Triton signature of the visible arguments ("*fp32", "i32", ...).
  std::vector<std::string> signature;
  /// The kernel's threads all execute `griddepcontrol.wait` (sm_90) before
  /// they touch memory other than weight buffers (which no launch writes;
  /// decode's GEMVs load theirs first): it may be launched with
  /// programmatic stream serialization, its blocks starting while the
  /// previous kernel drains, and still reads nothing that kernel writes
  /// before it has completed and flushed its memory.
  bool awaitsPredecessor = false;
};

struct Plan {
  int version = kPlanVersion;
  std::string target; ///< "sm_90a", "sm_80"
  std::vector<Buffer> buffers;
  std::vector<EntryPoint> entries;
  std::vector<KernelInfo> kernels;

  const EntryPoint *entry(const std::string &name) const;
  const KernelInfo *kernel(const std::string &name) const;

  std::string toJson() const;
  /// Parses and checks a plan: version, every buffer index in range, every
  /// op known with the operand count its LaunchOps.h row needs, every
  /// kernel named in kernels. `origin` names the file in messages.
  static Result<Plan> fromJson(const std::string &json,
                               const std::string &origin);
};

/// The number of buffer operands an op takes (LaunchOps.h), given its attrs
/// (split's count depends on its sizes, so does a split epilogue's); -1 for
/// an unknown op.
int expectedOperandCount(const Launch &launch);

/// For a launch with a split epilogue (attr split_sizes, LaunchOps.h): the
/// operand index of its first part; -1 without one, -2 for an op that has
/// no split epilogue.
int splitOutputOperand(const Launch &launch);

/// The operand index of the first output of an op with an epilogue (split
/// or requantized parts: linear*, causal_conv1d*), -2 for other ops.
int epilogueOutputOperand(const Launch &launch);

/// The parts (one, or one per split part) of an epilogue op's first output
/// that it stores requantized (attr requantize_parts, LaunchOps.h), in part
/// order; empty for other launches.
std::vector<int> requantizedParts(const Launch &launch);

/// For a step op with an int8 state (attr state_int8, LaunchOps.h): the
/// operand indices of its int8 state input, the state's scales and its
/// int8 new state; nothing for other launches.
struct Int8StateOperands {
  int stateIn = -1, scales = -1, stateOut = -1;
};
std::optional<Int8StateOperands> int8StateOperands(const Launch &launch);

/// Whether a launch applies ref::hadamard to its rows (gated_rms_norm with
/// the flag hadamard, LaunchOps.h).
bool hasHadamardEpilogue(const Launch &launch);

/// For a launch whose first output holds int8 codes (attr quantize_output:
/// rms_norm, add_rms_norm, gated_rms_norm, hadamard; LaunchOps.h): the
/// operand indices of the scales and of that output; nothing for other
/// launches.
struct QuantizedOutputOperands {
  int scales = -1, out = -1;
};
std::optional<QuantizedOutputOperands> quantizedOutputOperands(const Launch &launch);

/// Attr of a linear launch with a conv-step epilogue (LaunchOps.h): [j], the
/// output part the step reads; the step's own attrs carry kConvStepPrefix.
inline constexpr const char *kConvStepAttr = "conv_step";
inline constexpr const char *kConvStepPrefix = "conv_step.";

/// A linear launch with a conv-step epilogue as the two launches it fuses
/// (the linear, then causal_conv1d_step on its output part j), each with
/// its own attrs and operands, and where those operands sit among the fused
/// launch's. Nothing for other launches, or when the attrs and the operand
/// count do not describe such a pair (Plan::fromJson rejects those).
struct ConvStepEpilogue {
  Launch linear, conv;
  std::vector<int> linearOperands, convOperands;
};
std::optional<ConvStepEpilogue> convStepEpilogue(const Launch &launch);

} // namespace quamba::plan
