//===- Backend.h - where a plan's launches run -----------------*- C++ -*-===//
//
// A backend owns device memory and runs one launch at a time. The CPU
// backend runs each launch's op with the reference kernels; the CUDA backend
// launches the artifact's kernel. Session (Session.h) drives either through
// this interface, so both execute the same plan the same way.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Status.h"
#include "runtime/plan/Artifact.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace quamba::exec {

/// One launch with its operands bound: device pointers and their dims, the
/// evaluated i32 scalars and grid.
struct BoundLaunch {
  const plan::Launch *launch = nullptr;
  std::vector<void *> operands;
  std::vector<std::vector<int64_t>> dims;
  std::vector<int32_t> scalars;
  std::array<uint32_t, 3> grid = {1, 1, 1};
};

class Backend {
public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  /// Whether launches read f16 weight buffers as f16 (the GPU kernels);
  /// otherwise (the reference kernels, fp32 only) the session widens them to
  /// f32 on upload, which is exact.
  virtual bool readsF16Weights() const { return false; }
  /// Loads what the artifact's launches need (kernels); checks that the
  /// artifact can run here.
  virtual Status prepare(const plan::Artifact &artifact) = 0;
  virtual Result<void *> allocate(size_t bytes) = 0;
  virtual void release(void *ptr) = 0;
  virtual Status upload(void *dst, const void *src, size_t bytes) = 0;
  virtual Status download(void *dst, const void *src, size_t bytes) = 0;
  virtual Status copy(void *dst, const void *src, size_t bytes) = 0;
  /// Fills `bytes` bytes with `value` (used to poison outputs in checks).
  virtual Status fill(void *dst, uint8_t value, size_t bytes) = 0;
  virtual Status run(const BoundLaunch &launch) = 0;
  virtual Status synchronize() = 0;

  /// Runs `body` (which calls run() for a fixed sequence of launches on
  /// fixed buffers) as the graph `key`: the CUDA backend captures it into a
  /// CUDA graph on first use and replays the graph afterwards; other
  /// backends just call body.
  virtual Status runGraph(const std::string &key, const std::function<Status()> &body) {
    (void)key;
    return body();
  }
  /// Whether runGraph(key, ...) would replay a captured graph without
  /// calling its body.
  virtual bool hasGraph(const std::string &key) const {
    (void)key;
    return false;
  }
  /// Forgets every captured graph (buffers they point at moved).
  virtual void invalidateGraphs() {}
};

/// One kernel image (cubin or PTX) loaded on its own, launched with
/// Triton's ABI (visible arguments, two null hidden scratch pointers; block
/// = 32 * numWarps): how a Triton-compiled kernel runs through our loader.
class CudaKernel {
public:
  virtual ~CudaKernel() = default;
  static Result<std::unique_ptr<CudaKernel>> load(const void *image, const std::string &name);
  /// `args` point at the visible argument values; synchronizes.
  virtual Status launch(const std::array<uint32_t, 3> &grid, int numWarps, int sharedBytes,
                        void *const *args, size_t count) = 0;
};

/// The reference-kernel backend (always available).
std::unique_ptr<Backend> createCpuBackend();

/// The CUDA backend over the driver API, or an error saying why there is
/// none (no libcuda, no GPU, built without the CUDA headers).
Result<std::unique_ptr<Backend>> createCudaBackend(int device = 0);

} // namespace quamba::exec
