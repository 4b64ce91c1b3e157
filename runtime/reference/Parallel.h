//===- Parallel.h - A minimal parallel-for for the reference kernels -*- C++ -*-===//
//
// The reference kernels are the semantics every backend is tested against, so
// their results must not depend on how many threads ran them. parallelFor
// therefore only splits independent items: each f(i) writes the outputs that
// belong to item i, computed in a fixed order by one thread. Threads are
// started per call (no pool): the kernels that use this do milliseconds of
// work per call, and small calls stay serial.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace quamba::ref {

/// Below this much total work (rough multiply-adds) a parallelFor runs
/// serially: starting a thread costs tens of microseconds.
inline constexpr int64_t kParallelWorkThreshold = int64_t(1) << 16;

namespace detail {
inline std::atomic<int> &threadLimit() {
  static std::atomic<int> limit{0};
  return limit;
}
// Nested parallelFor calls run serially instead of multiplying threads.
inline bool &insideParallelFor() {
  thread_local bool inside = false;
  return inside;
}
} // namespace detail

/// Caps the threads parallelFor uses; 0 restores the default,
/// std::thread::hardware_concurrency(). Meant for benchmarks and tests.
inline void setMaxThreads(int threads) {
  detail::threadLimit().store(std::max(threads, 0));
}

inline int maxThreads() {
  int limit = detail::threadLimit().load();
  if (limit > 0)
    return limit;
  unsigned hardware = std::thread::hardware_concurrency();
  return hardware == 0 ? 1 : static_cast<int>(hardware);
}

/// Calls f(i) for every i in [0, n), each thread taking one contiguous block.
/// workPerItem is the rough cost of one f(i), used only to stay serial when
/// the whole loop is too small to pay for threads.
template <typename F> void parallelFor(int64_t n, int64_t workPerItem, F &&f) {
  if (n <= 0)
    return;
  int64_t totalWork = n * std::max<int64_t>(workPerItem, 1);
  int64_t threads = std::min<int64_t>(maxThreads(), n);
  threads = std::min<int64_t>(threads, totalWork / kParallelWorkThreshold);
  if (threads <= 1 || detail::insideParallelFor()) {
    for (int64_t i = 0; i < n; ++i)
      f(i);
    return;
  }
  auto runBlock = [&](int64_t t) {
    bool &inside = detail::insideParallelFor();
    bool saved = inside;
    inside = true;
    for (int64_t i = n * t / threads, e = n * (t + 1) / threads; i < e; ++i)
      f(i);
    inside = saved;
  };
  std::vector<std::thread> workers;
  workers.reserve(threads - 1);
  for (int64_t t = 1; t < threads; ++t) {
#if defined(__cpp_exceptions)
    try {
      workers.emplace_back(runBlock, t);
    } catch (const std::system_error &) {
      // No thread to be had: this block runs here instead, same result.
      runBlock(t);
    }
#else
    workers.emplace_back(runBlock, t);
#endif
  }
  runBlock(0);
  for (std::thread &worker : workers)
    worker.join();
}

/// parallelFor for items each heavy enough to be worth a thread.
template <typename F> void parallelFor(int64_t n, F &&f) {
  parallelFor(n, kParallelWorkThreshold, std::forward<F>(f));
}

} // namespace quamba::ref
