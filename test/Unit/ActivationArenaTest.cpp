//===- ActivationArenaTest.cpp - activation buffers sharing memory --------===//
//
// Oracles: the arena's contract (buffers alive at the same launch never
// share a byte; pinned buffers stay out), checked exhaustively on random
// plans, and layouts of small plans worked out by hand.
//
//===----------------------------------------------------------------------===//
#include "runtime/exec/ActivationArena.h"

#include <gtest/gtest.h>

#include <array>
#include <random>

using quamba::exec::ActivationArena;
namespace plan = quamba::plan;

namespace {

plan::ShapeExpr expr(const std::string &text) { return *plan::ShapeExpr::parse(text); }

int addBuffer(plan::Plan &p, std::vector<plan::ShapeExpr> shape,
              plan::BufferKind kind = plan::BufferKind::Activation) {
  plan::Buffer b;
  b.name = "b" + std::to_string(p.buffers.size());
  b.kind = kind;
  b.shape = std::move(shape);
  p.buffers.push_back(b);
  return static_cast<int>(p.buffers.size()) - 1;
}

plan::Launch launch(std::vector<int> operands) {
  plan::Launch l;
  l.op = "quantize";
  l.operands = std::move(operands);
  return l;
}

constexpr size_t kAlign = ActivationArena::kAlignment;

TEST(ActivationArena, ChainReusesTheFirstBufferForTheThird) {
  // t -> a -> b -> c -> out: a lives over launches 0-1, b 1-2, c 2-3, so a
  // and c may share; 1000 floats round up to 4096 bytes.
  plan::Plan p;
  int t = addBuffer(p, {plan::ShapeExpr(1000)});
  int a = addBuffer(p, {plan::ShapeExpr(1000)});
  int b = addBuffer(p, {plan::ShapeExpr(1000)});
  int c = addBuffer(p, {plan::ShapeExpr(1000)});
  int out = addBuffer(p, {plan::ShapeExpr(1000)});
  plan::EntryPoint e;
  e.name = "prefill";
  e.inputs = {t};
  e.outputs = {out};
  e.launches = {launch({t, a}), launch({a, b}), launch({b, c}), launch({c, out})};
  p.entries.push_back(e);
  ActivationArena arena(p);
  EXPECT_FALSE(arena.contains(t));
  EXPECT_FALSE(arena.contains(out));
  EXPECT_TRUE(arena.contains(a) && arena.contains(b) && arena.contains(c));
  ActivationArena::Layout layout = arena.layout(1, 1);
  EXPECT_EQ(layout.bytes, 2 * 4096u);
  EXPECT_EQ(layout.offsets[a], layout.offsets[c]);
  EXPECT_NE(layout.offsets[a], layout.offsets[b]);
}

TEST(ActivationArena, PinsEntryInputsOutputsSamplerOperandsSharedAndWeights) {
  plan::Plan p;
  int tokens = addBuffer(p, {expr("B"), expr("L")});
  int weight = addBuffer(p, {plan::ShapeExpr(8)}, plan::BufferKind::Weight);
  int shared = addBuffer(p, {plan::ShapeExpr(8)});
  int logits = addBuffer(p, {expr("B"), expr("L"), plan::ShapeExpr(8)});
  int params = addBuffer(p, {plan::ShapeExpr(8)});
  int next = addBuffer(p, {expr("B")});
  int inner = addBuffer(p, {expr("B"), expr("L"), plan::ShapeExpr(8)});
  int decodeTokens = addBuffer(p, {expr("B"), plan::ShapeExpr(1)});
  int decodeLogits = addBuffer(p, {expr("B"), plan::ShapeExpr(1), plan::ShapeExpr(8)});
  plan::EntryPoint prefill;
  prefill.name = "prefill";
  prefill.inputs = {tokens};
  prefill.outputs = {logits};
  prefill.launches = {launch({tokens, weight, inner}), launch({inner, shared, logits})};
  prefill.randomSampler = launch({logits, params, next});
  plan::EntryPoint decode;
  decode.name = "decode";
  decode.inputs = {decodeTokens};
  decode.outputs = {decodeLogits};
  decode.launches = {launch({decodeTokens, weight, shared, decodeLogits})};
  p.entries = {prefill, decode};
  ActivationArena arena(p);
  for (int pinned : {tokens, weight, shared, logits, params, next, decodeTokens, decodeLogits})
    EXPECT_FALSE(arena.contains(pinned)) << "buffer " << pinned;
  EXPECT_TRUE(arena.contains(inner));
  // [B, L, 8] floats at B = 3, L = 5: 480 bytes, one aligned slot.
  EXPECT_EQ(arena.layout(3, 5).bytes, kAlign * 2);
}

TEST(ActivationArena, BuffersAliveTogetherNeverShareAByteOnRandomPlans) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    plan::Plan p;
    int entries = 1 + trial % 2;
    for (int e = 0; e < entries; ++e) {
      plan::EntryPoint entry;
      entry.name = e == 0 ? "prefill" : "decode";
      entry.inputs = {addBuffer(p, {expr("B"), expr("L")})};
      std::vector<int> live = entry.inputs;
      int launches = 1 + rng() % 40;
      for (int l = 0; l < launches; ++l) {
        std::vector<int> operands;
        for (int r = 0; r < 1 + static_cast<int>(rng() % 3); ++r)
          operands.push_back(live[rng() % live.size()]);
        int fresh = addBuffer(p, {expr("B"), expr("L"), plan::ShapeExpr(1 + rng() % 3000)});
        operands.push_back(fresh);
        live.push_back(fresh);
        entry.launches.push_back(launch(operands));
      }
      entry.outputs = {live.back()};
      p.entries.push_back(entry);
    }
    ActivationArena arena(p);
    // The oracle's lifetimes: (entry, first launch, last launch) by scan.
    std::vector<std::array<int, 3>> life(p.buffers.size(), {-1, -1, -1});
    for (int e = 0; e < entries; ++e)
      for (int l = 0; l < static_cast<int>(p.entries[e].launches.size()); ++l)
        for (int operand : p.entries[e].launches[l].operands) {
          if (life[operand][0] < 0)
            life[operand] = {e, l, l};
          life[operand][2] = l;
        }
    auto aliveTogether = [&](int i, int j) {
      return life[i][0] == life[j][0] && life[i][1] <= life[j][2] && life[j][1] <= life[i][2];
    };
    for (auto [batch, seqlen] : {std::pair<int64_t, int64_t>{1, 1}, {4, 7}}) {
      ActivationArena::Layout layout = arena.layout(batch, seqlen);
      auto bytes = [&](int i) {
        return static_cast<size_t>(p.buffers[i].numel(batch, seqlen)) * 4;
      };
      for (int i = 0; i < static_cast<int>(p.buffers.size()); ++i) {
        if (!arena.contains(i))
          continue;
        EXPECT_EQ(layout.offsets[i] % kAlign, 0u);
        EXPECT_LE(layout.offsets[i] + bytes(i), layout.bytes);
        for (int j = i + 1; j < static_cast<int>(p.buffers.size()); ++j)
          if (arena.contains(j) && aliveTogether(i, j))
            EXPECT_TRUE(layout.offsets[i] + bytes(i) <= layout.offsets[j] ||
                        layout.offsets[j] + bytes(j) <= layout.offsets[i])
                << "trial " << trial << ": buffers " << i << " and " << j;
      }
    }
  }
}

} // namespace
