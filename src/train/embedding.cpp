// Embedding forward (row copies) and backward (row adds in token order, deterministic).
#include "train/embedding.h"

#include <cstring>

#include "core/error.h"

namespace moe::train {

void embedding_forward(float* out, std::span<const int32_t> tokens, const float* table, int64_t V, int64_t H) {
  for (size_t t = 0; t < tokens.size(); ++t) {
    MOE_CHECK(tokens[t] >= 0 && tokens[t] < V, UsageError, "token id ", tokens[t], " at position ", t,
              " is outside the vocabulary of ", V);
    std::memcpy(out + t * H, table + tokens[t] * H, H * sizeof(float));
  }
}

void embedding_backward(float* d_table, std::span<const int32_t> tokens, const float* dout, int64_t H) {
  for (size_t t = 0; t < tokens.size(); ++t) {
    float* dst = d_table + tokens[t] * H;
    for (int64_t i = 0; i < H; ++i) dst[i] += dout[t * H + i];
  }
}

}  // namespace moe::train
