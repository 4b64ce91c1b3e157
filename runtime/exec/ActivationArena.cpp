//===- ActivationArena.cpp - activation buffers that share memory ---------===//
#include "runtime/exec/ActivationArena.h"

#include <algorithm>
#include <optional>

namespace quamba::exec {

ActivationArena::ActivationArena(const plan::Plan &plan)
    : plan_(plan), lifetimes_(plan.buffers.size()) {
  const int kShared = -2; // used by several entry points, or pinned
  for (size_t e = 0; e < plan.entries.size(); ++e) {
    const plan::EntryPoint &entry = plan.entries[e];
    for (size_t l = 0; l < entry.launches.size(); ++l)
      for (int index : entry.launches[l].operands) {
        Lifetime &t = lifetimes_[index];
        if (t.entry == -1) {
          t = {static_cast<int>(e), static_cast<int>(l), static_cast<int>(l)};
        } else if (t.entry == static_cast<int>(e)) {
          t.last = static_cast<int>(l);
        } else {
          t.entry = kShared;
        }
      }
  }
  auto pin = [&](int index) { lifetimes_[index].entry = kShared; };
  for (const plan::EntryPoint &entry : plan.entries) {
    for (int index : entry.inputs)
      pin(index);
    for (int index : entry.outputs)
      pin(index);
    for (const std::optional<plan::Launch> *sampler : {&entry.sampler, &entry.randomSampler})
      if (*sampler)
        for (int index : (*sampler)->operands)
          pin(index);
  }
  for (size_t i = 0; i < plan.buffers.size(); ++i)
    if (plan.buffers[i].kind != plan::BufferKind::Activation || lifetimes_[i].entry < 0)
      lifetimes_[i].entry = -1;
}

bool ActivationArena::overlapInTime(int a, int b) const {
  const Lifetime &x = lifetimes_[a], &y = lifetimes_[b];
  return x.entry == y.entry && x.first <= y.last && y.first <= x.last;
}

ActivationArena::Layout ActivationArena::layout(int64_t batch, int64_t seqlen) const {
  Layout result;
  result.offsets.assign(plan_.buffers.size(), 0);
  std::vector<size_t> size(plan_.buffers.size(), 0);
  std::vector<int> order;
  for (size_t i = 0; i < plan_.buffers.size(); ++i) {
    if (!contains(static_cast<int>(i)))
      continue;
    const plan::Buffer &b = plan_.buffers[i];
    int64_t numel = std::max<int64_t>(b.numel(batch, seqlen), 0);
    size[i] = (static_cast<size_t>(numel) * plan::dtypeSize(b.dtype) + kAlignment - 1) /
              kAlignment * kAlignment;
    order.push_back(static_cast<int>(i));
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return size[a] > size[b]; });
  // Placed buffers by entry point; a new one goes to the lowest offset that
  // no placed buffer alive at the same time covers.
  std::vector<std::vector<int>> placed(plan_.entries.size());
  std::vector<std::pair<size_t, size_t>> taken;
  for (int i : order) {
    taken.clear();
    for (int other : placed[lifetimes_[i].entry])
      if (overlapInTime(i, other))
        taken.push_back({result.offsets[other], result.offsets[other] + size[other]});
    std::sort(taken.begin(), taken.end());
    size_t offset = 0;
    for (const auto &[begin, end] : taken) {
      if (offset + size[i] <= begin)
        break;
      offset = std::max(offset, end);
    }
    result.offsets[i] = offset;
    result.bytes = std::max(result.bytes, offset + size[i]);
    placed[lifetimes_[i].entry].push_back(i);
  }
  return result;
}

} // namespace quamba::exec
