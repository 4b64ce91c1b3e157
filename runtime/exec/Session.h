//===- Session.h - run a compiled model on a backend -----------*- C++ -*-===//
//
// A session owns the weights (uploaded once), the activation buffers
// (allocated for the largest batch x length seen; those internal to an entry
// point share one arena, ActivationArena.h), and the recurrent states
// between calls: prefill(tokens) fills them, decode(token) continues from
// them. Both backends execute the plan through this one class.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/exec/ActivationArena.h"
#include "runtime/exec/Backend.h"
#include "runtime/reference/Kernels.h"

#include <cstdint>
#include <map>

namespace quamba::exec {

class Session {
public:
  /// The most tokens (batch × length) one call takes: the plan passes B, L
  /// and row counts to the kernels as i32 arguments. A model may allow
  /// fewer (an argument such as B*L*d_inner must fit too); every call is
  /// checked against its plan before anything is allocated.
  static constexpr int64_t kMaxTokens = INT32_MAX;

  static Result<std::unique_ptr<Session>>
  create(std::shared_ptr<const plan::Artifact> artifact, std::unique_ptr<Backend> backend);
  ~Session();

  Backend &backend() { return *backend_; }
  const plan::Artifact &artifact() const { return *artifact_; }
  int64_t vocabSize() const { return artifact_->vocabSize(); }

  /// Runs @prefill on tokens [batch, seqlen] (row-major) and returns the
  /// logits [batch, seqlen, vocab]; the final states are kept for decode.
  Result<std::vector<float>> prefill(const std::vector<int32_t> &tokens, int64_t batch,
                                     int64_t seqlen);
  /// Runs @decode on one token per sequence (the batch of the last prefill)
  /// and returns the logits [batch, vocab]; the states advance.
  Result<std::vector<float>> decode(const std::vector<int32_t> &tokens);

  /// prefill / decode that return the greedy next token of each sequence
  /// instead of the logits: the entry's argmax sampler runs on the device
  /// (inside decode's CUDA graph) and only B token ids are copied back.
  Result<std::vector<int32_t>> prefillGreedy(const std::vector<int32_t> &tokens, int64_t batch,
                                             int64_t seqlen);
  Result<std::vector<int32_t>> decodeGreedy(const std::vector<int32_t> &tokens);
  /// `steps` greedy decode steps from `tokens` (one per sequence), each step
  /// reading the previous one's argmax, without returning to the host in
  /// between: the token is copied on the device into the next step's input
  /// and into a history, which is read back once at the end. The same
  /// tokens as `steps` calls of decodeGreedy; returns [steps, batch].
  Result<std::vector<int32_t>> decodeGreedySteps(const std::vector<int32_t> &tokens,
                                                 int64_t steps);
  /// The same with a random draw (the entry's random sampler,
  /// ref::sampleToken; sequence b of the batch is row b). `params.step` is
  /// the caller's counter; the params are uploaded before the launches, so
  /// decode's graph samples with each step's values.
  Result<std::vector<int32_t>> prefillSample(const std::vector<int32_t> &tokens, int64_t batch,
                                             int64_t seqlen, const ref::SampleParams &params);
  Result<std::vector<int32_t>> decodeSample(const std::vector<int32_t> &tokens,
                                            const ref::SampleParams &params);

  /// Runs one launch of `entry` alone on the current buffers (used by the
  /// kernel checks); buffers of (batch, seqlen) are allocated as needed.
  Status runLaunch(const std::string &entry, size_t index, int64_t batch, int64_t seqlen);
  /// The same for an entry's greedy or random sampler.
  Status runSampler(const std::string &entry, int64_t batch, int64_t seqlen,
                    bool random = false);
  /// The device pointer of a buffer for (batch, seqlen) of an entry point,
  /// allocating it if needed.
  Result<void *> buffer(int index, int64_t batch, int64_t seqlen);

  /// Bytes the session holds on its device: the weights as stored there
  /// (f16 widened on the CPU), and the most held at once (weights plus
  /// activation and state buffers).
  size_t weightBytes() const { return weightBytes_; }
  size_t peakBytes() const { return peakBytes_; }
  /// The bytes one decode step of `batch` sequences must move at least: every
  /// weight its launches read, once, and its state inputs read and state
  /// outputs written (the floor of the memory roofline).
  size_t decodeStepBytes(int64_t batch) const;

private:
  Session() = default;
  /// Which sampler runs after an entry's launches.
  enum class Pick { Logits, Greedy, Random };
  /// Runs an entry's launches on the current buffers; `wait`: then waits
  /// for the device.
  Status runEntry(const plan::EntryPoint &entry, int64_t batch, int64_t seqlen,
                  Pick pick = Pick::Logits, bool wait = true);
  Status startEntry(const plan::EntryPoint &entry, const std::vector<int32_t> &tokens,
                    int64_t batch, int64_t seqlen, Pick pick,
                    const ref::SampleParams *params = nullptr, bool wait = true);
  /// After an entry ran: its final states become decode's next inputs.
  Status advanceStates(const plan::EntryPoint &entry, int64_t batch, int64_t seqlen);
  Result<std::vector<int32_t>> readTokens(const plan::EntryPoint &entry, int64_t batch);
  Result<BoundLaunch> bind(const plan::Launch &launch, int64_t batch, int64_t seqlen);
  Status checkTokens(const std::vector<int32_t> &tokens) const;
  /// Whether `entry` (with its samplers) can run on (batch, seqlen): both
  /// >= 1, at most kMaxTokens tokens, every kernel argument and grid size
  /// an i32 and every buffer's byte size representable. Checked before
  /// anything is allocated, so an oversized call fails with nothing changed.
  Status checkShape(const plan::EntryPoint &entry, int64_t batch, int64_t seqlen) const;

  std::shared_ptr<const plan::Artifact> artifact_;
  std::unique_ptr<Backend> backend_;
  struct Allocation {
    void *ptr = nullptr;
    size_t bytes = 0;
  };
  std::vector<Allocation> buffers_; // by plan buffer index (arena buffers: none)
  std::unique_ptr<ActivationArena> arena_;
  Allocation arenaMemory_;
  /// Arena layouts by (batch, seqlen): a layout is a first fit over every
  /// arena buffer (milliseconds for a large model), and prefill and decode
  /// alternate between two keys. At most kLayoutsKept, then started afresh.
  static constexpr size_t kLayoutsKept = 16;
  std::map<std::pair<int64_t, int64_t>, ActivationArena::Layout> layouts_;
  const ActivationArena::Layout *layout_ = nullptr;
  std::pair<int64_t, int64_t> layoutKey_{-1, -1};
  int64_t stateBatch_ = 0;          // batch of the states held (0: none)
  /// Decode's states ping-pong instead of being copied back after each
  /// step: statePartner_[i] is the decode state output paired with state
  /// input i (and the reverse; -1 elsewhere), and while statesSwapped_ the
  /// two exchange their memory. Empty when some pair differs in size.
  std::vector<int> statePartner_;
  bool statesSwapped_ = false;
  size_t weightBytes_ = 0, heldBytes_ = 0, peakBytes_ = 0;
  void held(ptrdiff_t delta);
};

} // namespace quamba::exec
