//===- CApi.cpp - the C API (include/quamba/runtime.h) --------------------===//
#include "quamba/runtime.h"

#include "runtime/Logits.h"
#include "runtime/exec/Session.h"

#include <algorithm>
#include <cstring>
#include <string>

using namespace quamba;

struct quamba_session {
  std::unique_ptr<exec::Session> session;
  std::string device;
};

struct quamba_kernel {
  std::unique_ptr<exec::CudaKernel> kernel;
};

namespace {
thread_local std::string lastError;

int fail(const std::string &message) {
  lastError = message;
  return 1;
}

/// Runs `body`, turning a stray exception into an error code: none may
/// cross the C boundary.
template <typename Body> int guarded(Body body) {
  try {
    lastError.clear();
    return body();
  } catch (const std::exception &e) {
    return fail(std::string("internal error: ") + e.what());
  } catch (...) {
    return fail("internal error");
  }
}

/// A prompt of `count` tokens must hold one and fit one call; checked before
/// `count` tokens are read from the caller's array.
Status checkPromptLength(int64_t count) {
  if (count < 1)
    return makeError("empty prompt (count " + std::to_string(count) + ")");
  if (count > exec::Session::kMaxTokens)
    return makeError("a prompt of " + std::to_string(count) + " tokens is more than the " +
                     std::to_string(exec::Session::kMaxTokens) + " one call can take");
  return Status::success();
}
} // namespace

extern "C" {

const char *quamba_last_error(void) { return lastError.c_str(); }

int quamba_session_open(const char *path, const char *device, quamba_session **out) {
  return guarded([&] {
    if (!path || !out)
      return fail("quamba_session_open: null argument");
    std::string want = device ? device : "auto";
    if (want != "auto" && want != "cuda" && want != "cpu")
      return fail("device must be auto, cuda or cpu, got '" + want + "'");
    auto artifact = plan::Artifact::open(path);
    if (!artifact)
      return fail(artifact.error());
    std::unique_ptr<exec::Backend> backend;
    if (want != "cpu") {
      auto cuda = exec::createCudaBackend(0);
      if (cuda)
        backend = cuda.take();
      else if (want == "cuda")
        return fail(cuda.error());
    }
    if (!backend)
      backend = exec::createCpuBackend();
    auto session = exec::Session::create(artifact.take(), std::move(backend));
    if (!session)
      return fail(session.error());
    auto *handle = new quamba_session{session.take(), ""};
    handle->device = handle->session->backend().name();
    *out = handle;
    return 0;
  });
}

void quamba_session_close(quamba_session *session) { delete session; }

const char *quamba_session_device(const quamba_session *session) {
  return session ? session->device.c_str() : "";
}

int64_t quamba_session_vocab_size(const quamba_session *session) {
  return session ? session->session->vocabSize() : 0;
}

int quamba_prefill(quamba_session *session, const int32_t *tokens, int64_t count,
                   float *logits) {
  return guarded([&] {
    if (!session || !tokens || !logits)
      return fail("quamba_prefill: null argument");
    if (Status s = checkPromptLength(count); !s)
      return fail("quamba_prefill: " + s.error());
    auto out = session->session->prefill(std::vector<int32_t>(tokens, tokens + count), 1, count);
    if (!out)
      return fail(out.error());
    int64_t vocab = session->session->vocabSize();
    std::copy(out->end() - vocab, out->end(), logits);
    return 0;
  });
}

int quamba_decode(quamba_session *session, int32_t token, float *logits) {
  return guarded([&] {
    if (!session || !logits)
      return fail("quamba_decode: null argument");
    auto out = session->session->decode({token});
    if (!out)
      return fail(out.error());
    std::copy(out->begin(), out->end(), logits);
    return 0;
  });
}

int quamba_generate_greedy(quamba_session *session, const int32_t *prompt, int64_t count,
                           int64_t maxTokens, int32_t *out) {
  // Greedy is quamba_generate at temperature 0 (the argmax runs on the
  // device, inside decode's graph).
  return quamba_generate(session, prompt, count, maxTokens, 0.0f, 0, 1.0f, 0, out);
}

int quamba_generate(quamba_session *session, const int32_t *prompt, int64_t count,
                    int64_t maxTokens, float temperature, int64_t topK, float topP,
                    uint64_t seed, int32_t *out) {
  return guarded([&] {
    if (!session || !prompt || !out)
      return fail("quamba_generate: null argument");
    if (Status s = checkPromptLength(count); !s)
      return fail("quamba_generate: " + s.error());
    if (maxTokens < 0)
      return fail("quamba_generate: max_tokens must be >= 0, got " + std::to_string(maxTokens));
    if (Status s = checkSamplingOptions({temperature, topK, topP, seed}, ""); !s)
      return fail("quamba_generate: " + s.error());
    if (maxTokens == 0)
      return 0;
    exec::Session &s = *session->session;
    std::vector<int32_t> tokens(prompt, prompt + count);
    const bool greedy = temperature <= 0.0f;
    ref::SampleParams params;
    params.temperature = temperature;
    params.topK = topK;
    params.topP = topP;
    params.allowed = s.vocabSize();
    params.seed = seed;
    auto next = greedy ? s.prefillGreedy(tokens, 1, count) : s.prefillSample(tokens, 1, count, params);
    for (int64_t i = 0;; ++i) {
      if (!next)
        return fail(next.error());
      out[i] = (*next)[0];
      if (i + 1 == maxTokens)
        return 0;
      params.step = static_cast<uint64_t>(i + 1);
      next = greedy ? s.decodeGreedy({out[i]}) : s.decodeSample({out[i]}, params);
    }
  });
}

int quamba_kernel_load(const void *image, const char *name, quamba_kernel **kernel) {
  return guarded([&] {
    if (!image || !name || !kernel)
      return fail("quamba_kernel_load: null argument");
    auto loaded = exec::CudaKernel::load(image, name);
    if (!loaded)
      return fail(loaded.error());
    *kernel = new quamba_kernel{loaded.take()};
    return 0;
  });
}

int quamba_kernel_launch(quamba_kernel *kernel, const unsigned grid[3], int numWarps,
                         int shared, void **args, int numArgs) {
  return guarded([&] {
    if (!kernel || !grid || (numArgs > 0 && !args) || numWarps <= 0)
      return fail("quamba_kernel_launch: bad argument");
    Status s = kernel->kernel->launch({grid[0], grid[1], grid[2]}, numWarps, shared, args,
                                      static_cast<size_t>(numArgs));
    return s ? 0 : fail(s.error());
  });
}

void quamba_kernel_unload(quamba_kernel *kernel) { delete kernel; }

} // extern "C"
