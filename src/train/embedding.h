// Token embedding lookup and its backward (scatter-add of the output gradient into the table rows).
// Shapes: T tokens, H hidden, V vocabulary.
#pragma once

#include <cstdint>
#include <span>

namespace moe::train {

// out [T][H] = table[tokens[t]]; throws UsageError for a token outside [0, V).
void embedding_forward(float* out, std::span<const int32_t> tokens, const float* table, int64_t V, int64_t H);
// d_table [V][H] += dout[t] at row tokens[t], in token order.
void embedding_backward(float* d_table, std::span<const int32_t> tokens, const float* dout, int64_t H);

}  // namespace moe::train
