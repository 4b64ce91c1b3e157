//===- PlanJsonFuzzer.cpp - fuzz the launch plan of model.qmb -------------===//
//
// Feeds the bytes to Plan::fromJson, the plan JSON that model.qmb carries in
// its metadata (ArtifactFuzzer reaches it only through the safetensors
// framing and a JSON string escape, so it is fuzzed directly here too). An
// accepted plan must keep the promises of Plan.h that the backends rely on:
// every buffer index in range, every launch's kernel listed; its shape
// expressions evaluate (UBSan sees any overflow) and it round-trips through
// toJson.
//
//===----------------------------------------------------------------------===//
#include "runtime/plan/Plan.h"

#include <cstdio>
#include <cstdlib>

using namespace quamba;
using namespace quamba::plan;

namespace {

[[noreturn]] void violated(const char *what) {
  std::fprintf(stderr, "plan fuzzer: accepted plan breaks '%s'\n", what);
  std::abort();
}

void evaluate(const ShapeExpr &e) {
  for (auto [batch, seqlen] : {std::pair<int64_t, int64_t>{1, 1}, {3, 7}, {64, 4096}})
    (void)e.evaluate(batch, seqlen);
}

void checkLaunch(const Plan &plan, const Launch &launch) {
  for (int operand : launch.operands)
    if (operand < 0 || operand >= static_cast<int>(plan.buffers.size()))
      violated("operands name buffers");
  if (expectedOperandCount(launch) != static_cast<int>(launch.operands.size()))
    violated("the op's operand count");
  if (!plan.kernel(launch.kernel))
    violated("launch kernels are listed");
  for (const ShapeExpr &e : launch.scalars)
    evaluate(e);
  for (const ShapeExpr &e : launch.grid)
    evaluate(e);
}

void checkAccepted(const Plan &plan) {
  if (!plan.entry("prefill") || !plan.entry("decode"))
    violated("prefill and decode exist");
  for (const Buffer &buffer : plan.buffers) {
    for (const ShapeExpr &e : buffer.shape)
      evaluate(e);
    if (buffer.kind == BufferKind::Weight)
      (void)buffer.numel(1, 1);
  }
  for (const EntryPoint &entry : plan.entries) {
    for (const std::vector<int> *list : {&entry.inputs, &entry.outputs})
      for (int index : *list)
        if (index < 0 || index >= static_cast<int>(plan.buffers.size()))
          violated("inputs and outputs name buffers");
    for (const Launch &launch : entry.launches)
      checkLaunch(plan, launch);
    if (entry.sampler)
      checkLaunch(plan, *entry.sampler);
    if (entry.randomSampler)
      checkLaunch(plan, *entry.randomSampler);
  }
  std::string json = plan.toJson();
  Result<Plan> again = Plan::fromJson(json, "rewritten");
  if (!again) {
    std::fprintf(stderr, "%s\n", again.error().c_str());
    violated("toJson gives a plan fromJson accepts");
  }
  if (again->toJson() != json)
    violated("toJson round-trips");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Result<Plan> plan =
      Plan::fromJson(std::string(reinterpret_cast<const char *>(data), size), "fuzz.qmb");
  if (plan)
    checkAccepted(*plan);
  return 0;
}
