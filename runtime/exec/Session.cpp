//===- Session.cpp - run a compiled model on a backend --------------------===//
#include "runtime/exec/Session.h"

#include "runtime/Float16.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

namespace quamba::exec {

using plan::Buffer;
using plan::BufferKind;

namespace {

/// `bytes` of pseudo-random weights of `dtype` (xorshift64*, seeded by the
/// buffer index): floats with a random sign and mantissa and an exponent
/// fixed to [2^-6, 2^-5); integers any bit pattern.
std::vector<uint32_t> randomWeightWords(size_t bytes, plan::DType dtype, size_t buffer) {
  std::vector<uint32_t> words((bytes + 3) / 4);
  uint64_t state = 0x9E3779B97F4A7C15ull * (buffer + 1);
  for (uint32_t &w : words) {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    uint32_t r = static_cast<uint32_t>((state * 0x2545F4914F6CDD1Dull) >> 32);
    if (dtype == plan::DType::F32)
      w = (r & 0x807fffffu) | (121u << 23);
    else if (dtype == plan::DType::F16)
      w = (r & 0x83ff83ffu) | 0x24002400u; // both halves: exponent 9
    else
      w = r;
  }
  return words;
}

/// The bytes of buffer `b` at (batch, seqlen); nullopt when a dimension is
/// negative or the size does not fit a size_t.
std::optional<size_t> bufferBytes(const Buffer &b, int64_t batch, int64_t seqlen) {
  uint64_t bytes = plan::dtypeSize(b.dtype);
  for (int64_t d : b.dims(batch, seqlen))
    if (d < 0 || __builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes))
      return std::nullopt;
  if (bytes > std::numeric_limits<size_t>::max() / 2)
    return std::nullopt;
  return static_cast<size_t>(bytes);
}

} // namespace

Session::~Session() {
  if (!backend_)
    return;
  for (Allocation &a : buffers_)
    if (a.ptr)
      backend_->release(a.ptr);
  if (arenaMemory_.ptr)
    backend_->release(arenaMemory_.ptr);
}

/// Decode's state input i paired with its state output i (DESIGN.md §2:
/// inputs 1.. and outputs 1.. correspond), both ways; empty (no ping-pong)
/// unless every pair has the same element type and shape.
static std::vector<int> pairDecodeStates(const plan::Plan &p) {
  const plan::EntryPoint *decode = p.entry("decode");
  if (!decode || decode->inputs.size() != decode->outputs.size())
    return {};
  std::vector<int> partner(p.buffers.size(), -1);
  for (size_t i = 1; i < decode->inputs.size(); ++i) {
    int in = decode->inputs[i], out = decode->outputs[i];
    const Buffer &a = p.buffers[in], &b = p.buffers[out];
    if (in == out || partner[in] >= 0 || partner[out] >= 0 || a.dtype != b.dtype ||
        a.shape.size() != b.shape.size())
      return {};
    for (size_t d = 0; d < a.shape.size(); ++d)
      if (a.shape[d].text() != b.shape[d].text())
        return {};
    partner[in] = out;
    partner[out] = in;
  }
  return partner;
}

Result<std::unique_ptr<Session>> Session::create(std::shared_ptr<const plan::Artifact> artifact,
                                                 std::unique_ptr<Backend> backend) {
  std::unique_ptr<Session> session(new Session());
  session->artifact_ = std::move(artifact);
  session->backend_ = std::move(backend);
  if (Status s = session->backend_->prepare(*session->artifact_); !s)
    return makeError(s.error());
  const plan::Plan &p = session->artifact_->plan();
  session->buffers_.resize(p.buffers.size());
  session->arena_ = std::make_unique<ActivationArena>(p);
  session->statePartner_ = pairDecodeStates(p);
  for (size_t i = 0; i < p.buffers.size(); ++i) {
    const Buffer &b = p.buffers[i];
    if (b.kind != BufferKind::Weight)
      continue;
    // f16 weights are widened for backends that compute in fp32 only.
    const bool widenF16 =
        b.dtype == plan::DType::F16 && !session->backend_->readsF16Weights();
    size_t bytes = static_cast<size_t>(b.numel(1, 1)) *
                   (widenF16 ? sizeof(float) : plan::dtypeSize(b.dtype));
    Result<void *> ptr = session->backend_->allocate(bytes);
    if (!ptr)
      return makeError("weight '" + b.name + "': " + ptr.error());
    session->buffers_[i] = {*ptr, bytes};
    session->weightBytes_ += bytes;
    session->held(static_cast<ptrdiff_t>(bytes));
    const uint8_t *data = session->artifact_->weightData(static_cast<int>(i));
    std::vector<uint32_t> random, widened;
    if (!data) {
      // An artifact without weights (speed measurements): random values of
      // the buffer's dtype, floats of magnitude in [2^-6, 2^-5) so that no
      // op overflows. Seeded by the buffer: every session, on every backend
      // (f16 widened below like stored f16), sees the same weights.
      random = randomWeightWords(static_cast<size_t>(b.numel(1, 1)) * plan::dtypeSize(b.dtype),
                                 b.dtype, i);
      data = reinterpret_cast<const uint8_t *>(random.data());
    }
    if (session->artifact_->weightIsBf16(static_cast<int>(i))) {
      // bf16 -> f32 is exact: the bf16 bits become the high half.
      widened.resize(bytes / 4);
      for (size_t k = 0; k < widened.size(); ++k)
        widened[k] = static_cast<uint32_t>(data[2 * k] | (data[2 * k + 1] << 8)) << 16;
      data = reinterpret_cast<const uint8_t *>(widened.data());
    } else if (widenF16) {
      widened.resize(bytes / 4);
      for (size_t k = 0; k < widened.size(); ++k) {
        float value = halfToFloat(
            static_cast<uint16_t>(data[2 * k] | (data[2 * k + 1] << 8)));
        std::memcpy(&widened[k], &value, sizeof(value));
      }
      data = reinterpret_cast<const uint8_t *>(widened.data());
    }
    if (Status s = session->backend_->upload(*ptr, data, bytes); !s)
      return makeError("weight '" + b.name + "': " + s.error());
  }
  return session;
}

Result<void *> Session::buffer(int index, int64_t batch, int64_t seqlen) {
  if (statesSwapped_ && statePartner_[index] >= 0)
    index = statePartner_[index];
  const Buffer &b = artifact_->plan().buffers[index];
  Allocation &a = buffers_[index];
  if (b.kind == BufferKind::Weight)
    return a.ptr;
  std::optional<size_t> checkedBytes = bufferBytes(b, batch, seqlen);
  if (!checkedBytes)
    return makeError("buffer '" + b.name + "' has no valid size for batch " +
                     std::to_string(batch) + ", length " + std::to_string(seqlen));
  if (arena_->contains(index)) {
    if (!layout_ || layoutKey_ != std::make_pair(batch, seqlen)) {
      layoutKey_ = {batch, seqlen};
      auto found = layouts_.find(layoutKey_);
      if (found == layouts_.end()) {
        if (layouts_.size() >= kLayoutsKept)
          layouts_.clear();
        found = layouts_.emplace(layoutKey_, arena_->layout(batch, seqlen)).first;
      }
      layout_ = &found->second;
    }
    const ActivationArena::Layout &layout = *layout_;
    if (arenaMemory_.bytes < layout.bytes) {
      // Nothing in the arena outlives an entry point's run: no copy.
      if (arenaMemory_.ptr) {
        backend_->invalidateGraphs();
        backend_->release(arenaMemory_.ptr);
        held(-static_cast<ptrdiff_t>(arenaMemory_.bytes));
      }
      arenaMemory_ = {};
      Result<void *> ptr = backend_->allocate(layout.bytes);
      if (!ptr)
        return makeError("activation arena for batch " + std::to_string(batch) +
                         " x length " + std::to_string(seqlen) + " (" +
                         std::to_string(layout.bytes) + " bytes, for buffer '" + b.name +
                         "'): " + ptr.error());
      arenaMemory_ = {*ptr, layout.bytes};
      held(static_cast<ptrdiff_t>(layout.bytes));
    }
    return static_cast<void *>(static_cast<char *>(arenaMemory_.ptr) + layout.offsets[index]);
  }
  size_t bytes = *checkedBytes;
  if (a.ptr && a.bytes >= bytes)
    return a.ptr;
  if (a.ptr) {
    // Captured graphs may point at the old allocation.
    backend_->invalidateGraphs();
    backend_->release(a.ptr);
    held(-static_cast<ptrdiff_t>(a.bytes));
  }
  a = {};
  Result<void *> ptr = backend_->allocate(std::max<size_t>(bytes, 1));
  if (!ptr)
    return makeError("buffer '" + b.name + "' for batch " + std::to_string(batch) +
                     " x length " + std::to_string(seqlen) + ": " + ptr.error());
  a = {*ptr, bytes};
  held(static_cast<ptrdiff_t>(bytes));
  return a.ptr;
}

void Session::held(ptrdiff_t delta) {
  heldBytes_ = static_cast<size_t>(static_cast<ptrdiff_t>(heldBytes_) + delta);
  peakBytes_ = std::max(peakBytes_, heldBytes_);
}

size_t Session::decodeStepBytes(int64_t batch) const {
  const plan::Plan &p = artifact_->plan();
  const plan::EntryPoint &decode = *p.entry("decode");
  std::vector<bool> weight(p.buffers.size(), false);
  for (const plan::Launch &launch : decode.launches)
    for (int operand : launch.operands)
      if (p.buffers[operand].kind == BufferKind::Weight)
        weight[operand] = true;
  size_t bytes = 0;
  for (size_t i = 0; i < weight.size(); ++i)
    if (weight[i])
      bytes += buffers_[i].bytes;
  // States: every input but the tokens (read), every output but the logits
  // (written).
  auto add = [&](const std::vector<int> &list) {
    for (size_t k = 1; k < list.size(); ++k) {
      const Buffer &b = p.buffers[list[k]];
      bytes += static_cast<size_t>(b.numel(batch, 1)) * plan::dtypeSize(b.dtype);
    }
  };
  add(decode.inputs);
  add(decode.outputs);
  return bytes;
}

Result<BoundLaunch> Session::bind(const plan::Launch &launch, int64_t batch, int64_t seqlen) {
  BoundLaunch bound;
  bound.launch = &launch;
  for (int index : launch.operands) {
    Result<void *> ptr = buffer(index, batch, seqlen);
    if (!ptr)
      return makeError(ptr.error());
    bound.operands.push_back(*ptr);
    bound.dims.push_back(artifact_->plan().buffers[index].dims(batch, seqlen));
  }
  for (const plan::ShapeExpr &s : launch.scalars) {
    int64_t v = s.evaluate(batch, seqlen);
    if (v < 0 || v > INT32_MAX)
      return makeError(launch.op + ": scalar " + s.text() + " = " + std::to_string(v) +
                       " does not fit the kernel's i32 argument");
    bound.scalars.push_back(static_cast<int32_t>(v));
  }
  for (int d = 0; d < 3; ++d) {
    int64_t v = launch.grid[d].evaluate(batch, seqlen);
    if (v < 0 || v > INT32_MAX)
      return makeError(launch.op + ": grid " + launch.grid[d].text() + " = " + std::to_string(v));
    bound.grid[d] = static_cast<uint32_t>(v);
  }
  return bound;
}

Status Session::runEntry(const plan::EntryPoint &entry, int64_t batch, int64_t seqlen,
                         Pick pick, bool wait) {
  const std::optional<plan::Launch> &sampler =
      pick == Pick::Random ? entry.randomSampler : entry.sampler;
  if (pick != Pick::Logits && !sampler)
    return makeError("@" + entry.name + " has no " +
                     (pick == Pick::Random ? "random " : "") +
                     "sampler; recompile with this quamba-compile");
  std::vector<const plan::Launch *> launches;
  for (const plan::Launch &launch : entry.launches)
    if (launch.runsFor(batch))
      launches.push_back(&launch);
  if (pick != Pick::Logits)
    launches.push_back(&*sampler);
  // The launch's buffers and sizes; nullopt for an empty grid (zero tokens),
  // which launches nothing.
  auto bindLaunch = [&](const plan::Launch &launch) -> Result<std::optional<BoundLaunch>> {
    Result<BoundLaunch> b = bind(launch, batch, seqlen);
    if (!b)
      return makeError(b.error());
    if (b->grid[0] == 0 || b->grid[1] == 0 || b->grid[2] == 0)
      return std::optional<BoundLaunch>();
    return std::optional<BoundLaunch>(b.take());
  };
  auto runBound = [&](const BoundLaunch &b) -> Status {
    if (Status s = backend_->run(b); !s)
      return makeError("@" + entry.name + " " + b.launch->op + " (" + b.launch->kernel +
                       "): " + s.error());
    return Status::success();
  };
  Status ran = Status::success();
  if (!entry.singleToken) {
    // Prefill lengths vary: launched, each bound just before it runs, so
    // that the device starts on the first launch while the host binds the
    // rest (binding all 700 launches of a 64-layer model first left it idle
    // for milliseconds).
    for (const plan::Launch *launch : launches) {
      Result<std::optional<BoundLaunch>> b = bindLaunch(*launch);
      if (!b)
        return makeError(b.error());
      if (!*b)
        continue;
      if (ran = runBound(**b); !ran)
        break;
    }
  } else {
    // Decode runs the same launches on the same buffers every token: one
    // graph per batch size (DESIGN.md §6). Everything is bound (and
    // allocated) first: a graph capture must see only launches, on buffers
    // that stay where they are. A graph already captured is replayed
    // without binding (a buffer that moved dropped every graph).
    const std::string key = entry.name +
                            (pick == Pick::Greedy   ? "+argmax"
                             : pick == Pick::Random ? "+sample"
                                                    : "") +
                            "/B=" + std::to_string(batch) + (statesSwapped_ ? "/swapped" : "");
    std::vector<BoundLaunch> bound;
    if (!backend_->hasGraph(key))
      for (const plan::Launch *launch : launches) {
        Result<std::optional<BoundLaunch>> b = bindLaunch(*launch);
        if (!b)
          return makeError(b.error());
        if (*b)
          bound.push_back(std::move(**b));
      }
    ran = backend_->runGraph(key, [&]() -> Status {
      for (const BoundLaunch &b : bound)
        if (Status s = runBound(b); !s)
          return s;
      return Status::success();
    });
  }
  if (!ran || !wait)
    return ran;
  return backend_->synchronize();
}

Status Session::runLaunch(const std::string &entryName, size_t index, int64_t batch,
                          int64_t seqlen) {
  const plan::EntryPoint *entry = artifact_->plan().entry(entryName);
  if (!entry || index >= entry->launches.size())
    return makeError("no launch " + std::to_string(index) + " in @" + entryName);
  if (Status s = checkShape(*entry, batch, seqlen); !s)
    return s;
  Result<BoundLaunch> bound = bind(entry->launches[index], batch, seqlen);
  if (!bound)
    return makeError(bound.error());
  if (Status s = backend_->run(*bound); !s)
    return s;
  return backend_->synchronize();
}

Status Session::runSampler(const std::string &entryName, int64_t batch, int64_t seqlen,
                           bool random) {
  const plan::EntryPoint *entry = artifact_->plan().entry(entryName);
  if (!entry || !(random ? entry->randomSampler : entry->sampler))
    return makeError("@" + entryName + " has no " + (random ? "random " : "") + "sampler");
  if (Status s = checkShape(*entry, batch, seqlen); !s)
    return s;
  Result<BoundLaunch> bound = bind(random ? *entry->randomSampler : *entry->sampler, batch, seqlen);
  if (!bound)
    return makeError(bound.error());
  if (Status s = backend_->run(*bound); !s)
    return s;
  return backend_->synchronize();
}

Status Session::checkTokens(const std::vector<int32_t> &tokens) const {
  int64_t vocab = artifact_->vocabSize();
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= vocab)
      return makeError("token " + std::to_string(tokens[i]) + " at position " + std::to_string(i) +
                       " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
  return Status::success();
}

Status Session::checkShape(const plan::EntryPoint &entry, int64_t batch,
                           int64_t seqlen) const {
  const std::string what = "@" + entry.name + ": batch " + std::to_string(batch) +
                           " x length " + std::to_string(seqlen);
  if (batch < 1 || seqlen < 1)
    return makeError(what + ": both must be >= 1");
  int64_t tokens = 0;
  if (__builtin_mul_overflow(batch, seqlen, &tokens) || tokens > kMaxTokens)
    return makeError(what + " is more than the " + std::to_string(kMaxTokens) +
                     " tokens one call can take");
  // With B x L bounded, the expressions of any plan quamba-compile writes
  // (products of B, L and model sizes far below 2^32) cannot overflow.
  const plan::Plan &p = artifact_->plan();
  std::vector<const plan::Launch *> launches;
  for (const plan::Launch &launch : entry.launches)
    if (launch.runsFor(batch))
      launches.push_back(&launch);
  for (const std::optional<plan::Launch> *sampler : {&entry.sampler, &entry.randomSampler})
    if (*sampler)
      launches.push_back(&**sampler);
  for (const plan::Launch *launch : launches) {
    auto tooLarge = [&](const std::string &detail) {
      return makeError(what + " is too large for this model: " + launch->op + " (" +
                       launch->kernel + ") " + detail);
    };
    for (const plan::ShapeExpr &s : launch->scalars)
      if (int64_t v = s.evaluate(batch, seqlen); v < 0 || v > INT32_MAX)
        return tooLarge("takes " + s.text() + " = " + std::to_string(v) +
                        " as a 32-bit kernel argument");
    for (const plan::ShapeExpr &g : launch->grid)
      if (int64_t v = g.evaluate(batch, seqlen); v < 0 || v > INT32_MAX)
        return tooLarge("needs a grid of " + g.text() + " = " + std::to_string(v) + " blocks");
    for (int operand : launch->operands)
      if (!bufferBytes(p.buffers[operand], batch, seqlen))
        return tooLarge("operand '" + p.buffers[operand].name + "' has no representable size");
  }
  return Status::success();
}

/// Copies the state outputs of `from` into the state inputs of `to`
/// (outputs 1.. and inputs 1.. correspond, DESIGN.md §2).
static Status carryStates(Session &session, Backend &backend, const plan::Plan &p,
                          const plan::EntryPoint &from, const plan::EntryPoint &to,
                          int64_t batch, int64_t fromLen) {
  if (from.outputs.size() != to.inputs.size())
    return makeError("@" + from.name + " returns " + std::to_string(from.outputs.size() - 1) +
                     " states, @" + to.name + " takes " + std::to_string(to.inputs.size() - 1));
  for (size_t i = 1; i < from.outputs.size(); ++i) {
    const Buffer &src = p.buffers[from.outputs[i]];
    const Buffer &dst = p.buffers[to.inputs[i]];
    size_t bytes = static_cast<size_t>(src.numel(batch, fromLen)) * plan::dtypeSize(src.dtype);
    size_t want = static_cast<size_t>(dst.numel(batch, 1)) * plan::dtypeSize(dst.dtype);
    if (bytes != want)
      return makeError("state " + std::to_string(i) + ": @" + from.name + " gives " +
                       std::to_string(bytes) + " bytes, @" + to.name + " takes " +
                       std::to_string(want));
    Result<void *> s = session.buffer(from.outputs[i], batch, fromLen);
    Result<void *> d = session.buffer(to.inputs[i], batch, 1);
    if (!s || !d)
      return makeError(!s ? s.error() : d.error());
    if (*s != *d)
      if (Status st = backend.copy(*d, *s, bytes); !st)
        return st;
  }
  return Status::success();
}

static Result<std::vector<float>> readLogits(Session &session, Backend &backend,
                                             const plan::Plan &p, const plan::EntryPoint &entry,
                                             int64_t batch, int64_t seqlen) {
  const Buffer &logits = p.buffers[entry.outputs[0]];
  if (logits.dtype != plan::DType::F32)
    return makeError("@" + entry.name + " result 0 is not f32 logits");
  std::vector<float> out(static_cast<size_t>(logits.numel(batch, seqlen)));
  Result<void *> ptr = session.buffer(entry.outputs[0], batch, seqlen);
  if (!ptr)
    return makeError(ptr.error());
  if (Status s = backend.download(out.data(), *ptr, out.size() * sizeof(float)); !s)
    return makeError(s.error());
  return out;
}

Status Session::startEntry(const plan::EntryPoint &entry, const std::vector<int32_t> &tokens,
                           int64_t batch, int64_t seqlen, Pick pick,
                           const ref::SampleParams *params, bool wait) {
  const std::string what = "@" + entry.name + ": ";
  if (Status s = checkShape(entry, batch, seqlen); !s)
    return s;
  if (static_cast<int64_t>(tokens.size()) != batch * seqlen)
    return makeError(what + std::to_string(tokens.size()) + " tokens do not form a [" +
                     std::to_string(batch) + ", " + std::to_string(seqlen) + "] batch");
  if (entry.singleToken) {
    if (stateBatch_ == 0)
      return makeError(what + "no state; run prefill first");
    if (batch != stateBatch_)
      return makeError(what + std::to_string(batch) + " tokens for a batch of " +
                       std::to_string(stateBatch_));
  }
  if (Status s = checkTokens(tokens); !s)
    return makeError(what + s.error());
  Result<void *> in = buffer(entry.inputs[0], batch, seqlen);
  if (!in)
    return makeError(in.error());
  if (Status s = backend_->upload(*in, tokens.data(), tokens.size() * sizeof(int32_t)); !s)
    return makeError(s.error());
  if (pick == Pick::Random) {
    if (!entry.randomSampler)
      return makeError(what + "no random sampler; recompile with this quamba-compile");
    int32_t words[ref::kSampleParamWords];
    ref::sampleParamsToWords(*params, words);
    Result<void *> ptr = buffer(entry.randomSampler->operands[1], batch, seqlen);
    if (!ptr)
      return makeError(ptr.error());
    if (Status s = backend_->upload(*ptr, words, sizeof(words)); !s)
      return makeError(s.error());
  }
  if (Status s = runEntry(entry, batch, seqlen, pick, wait); !s)
    return s;
  return advanceStates(entry, batch, seqlen);
}

Status Session::advanceStates(const plan::EntryPoint &entry, int64_t batch, int64_t seqlen) {
  const plan::Plan &p = artifact_->plan();
  // After a decode step its outputs are the next step's inputs: exchange
  // the buffers rather than copy every state (decode is graphed per
  // parity). Prefill's states are copied into decode's current inputs.
  if (entry.singleToken && !statePartner_.empty())
    statesSwapped_ = !statesSwapped_;
  else if (Status s = carryStates(*this, *backend_, p, entry, *p.entry("decode"), batch, seqlen);
           !s)
    return s;
  stateBatch_ = batch;
  return Status::success();
}

Result<std::vector<int32_t>> Session::readTokens(const plan::EntryPoint &entry, int64_t batch) {
  std::vector<int32_t> out(static_cast<size_t>(batch));
  Result<void *> ptr = buffer(entry.sampler->operands[1], batch, 1);
  if (!ptr)
    return makeError(ptr.error());
  if (Status s = backend_->download(out.data(), *ptr, out.size() * sizeof(int32_t)); !s)
    return makeError(s.error());
  return out;
}

Result<std::vector<float>> Session::prefill(const std::vector<int32_t> &tokens, int64_t batch,
                                            int64_t seqlen) {
  const plan::EntryPoint &entry = *artifact_->plan().entry("prefill");
  stateBatch_ = 0;
  if (Status s = startEntry(entry, tokens, batch, seqlen, Pick::Logits); !s)
    return makeError(s.error());
  return readLogits(*this, *backend_, artifact_->plan(), entry, batch, seqlen);
}

Result<std::vector<float>> Session::decode(const std::vector<int32_t> &tokens) {
  const plan::EntryPoint &entry = *artifact_->plan().entry("decode");
  int64_t batch = static_cast<int64_t>(tokens.size());
  if (Status s = startEntry(entry, tokens, batch, 1, Pick::Logits); !s)
    return makeError(s.error());
  return readLogits(*this, *backend_, artifact_->plan(), entry, batch, 1);
}

Result<std::vector<int32_t>> Session::prefillGreedy(const std::vector<int32_t> &tokens,
                                                    int64_t batch, int64_t seqlen) {
  const plan::EntryPoint &entry = *artifact_->plan().entry("prefill");
  stateBatch_ = 0;
  if (Status s = startEntry(entry, tokens, batch, seqlen, Pick::Greedy); !s)
    return makeError(s.error());
  return readTokens(entry, batch);
}

Result<std::vector<int32_t>> Session::decodeGreedySteps(const std::vector<int32_t> &tokens,
                                                        int64_t steps) {
  const plan::EntryPoint &entry = *artifact_->plan().entry("decode");
  const int64_t batch = static_cast<int64_t>(tokens.size());
  if (steps < 1)
    return makeError("@decode: " + std::to_string(steps) + " steps: need at least one");
  if (!entry.sampler)
    return makeError("@decode has no sampler; recompile with this quamba-compile");
  const size_t stepBytes = static_cast<size_t>(batch) * sizeof(int32_t);
  size_t historyBytes = 0;
  if (__builtin_mul_overflow(stepBytes, static_cast<size_t>(steps), &historyBytes))
    return makeError("@decode: " + std::to_string(steps) + " steps of " + std::to_string(batch) +
                     " tokens overflow a buffer size");
  Result<void *> history = backend_->allocate(historyBytes);
  if (!history)
    return makeError(history.error());
  struct Release {
    Backend &backend;
    void *ptr;
    ~Release() { backend.release(ptr); }
  } release{*backend_, *history};
  auto record = [&](int64_t step) -> Status {
    Result<void *> next = buffer(entry.sampler->operands[1], batch, 1);
    if (!next)
      return makeError(next.error());
    return backend_->copy(static_cast<char *>(*history) + static_cast<size_t>(step) * stepBytes,
                          *next, stepBytes);
  };
  if (Status s = startEntry(entry, tokens, batch, 1, Pick::Greedy, nullptr, /*wait=*/false); !s)
    return makeError(s.error());
  if (Status s = record(0); !s)
    return makeError(s.error());
  for (int64_t step = 1; step < steps; ++step) {
    Result<void *> in = buffer(entry.inputs[0], batch, 1);
    Result<void *> next = buffer(entry.sampler->operands[1], batch, 1);
    if (!in || !next)
      return makeError(!in ? in.error() : next.error());
    Status s = backend_->copy(*in, *next, stepBytes);
    if (s)
      s = runEntry(entry, batch, 1, Pick::Greedy, /*wait=*/false);
    if (s)
      s = advanceStates(entry, batch, 1);
    if (s)
      s = record(step);
    if (!s)
      return makeError(s.error());
  }
  if (Status s = backend_->synchronize(); !s)
    return makeError(s.error());
  std::vector<int32_t> out(static_cast<size_t>(batch * steps));
  if (Status s = backend_->download(out.data(), *history, historyBytes); !s)
    return makeError(s.error());
  return out;
}

Result<std::vector<int32_t>> Session::decodeGreedy(const std::vector<int32_t> &tokens) {
  const plan::EntryPoint &entry = *artifact_->plan().entry("decode");
  int64_t batch = static_cast<int64_t>(tokens.size());
  if (Status s = startEntry(entry, tokens, batch, 1, Pick::Greedy); !s)
    return makeError(s.error());
  return readTokens(entry, batch);
}

Result<std::vector<int32_t>> Session::prefillSample(const std::vector<int32_t> &tokens,
                                                    int64_t batch, int64_t seqlen,
                                                    const ref::SampleParams &params) {
  const plan::EntryPoint &entry = *artifact_->plan().entry("prefill");
  stateBatch_ = 0;
  if (Status s = startEntry(entry, tokens, batch, seqlen, Pick::Random, &params); !s)
    return makeError(s.error());
  return readTokens(entry, batch);
}

Result<std::vector<int32_t>> Session::decodeSample(const std::vector<int32_t> &tokens,
                                                   const ref::SampleParams &params) {
  const plan::EntryPoint &entry = *artifact_->plan().entry("decode");
  int64_t batch = static_cast<int64_t>(tokens.size());
  if (Status s = startEntry(entry, tokens, batch, 1, Pick::Random, &params); !s)
    return makeError(s.error());
  return readTokens(entry, batch);
}

} // namespace quamba::exec
