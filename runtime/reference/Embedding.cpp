//===- Embedding.cpp - token embedding lookup -------------------------------===//

#include "runtime/reference/Kernels.h"

#include <cstring>
#include <string>

namespace quamba::ref {

Status embedding(const float *table, int64_t vocab, int64_t dim,
                 const int32_t *tokens, int64_t count, float *out) {
  // Validate everything first so a bad token leaves `out` untouched rather
  // than half written.
  for (int64_t i = 0; i < count; ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab)
      return makeError("embedding: token " + std::to_string(tokens[i]) +
                       " at position " + std::to_string(i) +
                       " is outside the vocabulary [0, " +
                       std::to_string(vocab) + ")");
  }
  for (int64_t i = 0; i < count; ++i)
    std::memcpy(out + i * dim, table + static_cast<int64_t>(tokens[i]) * dim,
                static_cast<size_t>(dim) * sizeof(float));
  return Status::success();
}

} // namespace quamba::ref
