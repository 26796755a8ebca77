// Sinkhorn balancing of router logits (S-BASE, Megatron-Core's moe_utils.sinkhorn): the selection
// matrix of the sinkhorn load-balancing type. Selection only: nothing flows back through it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace moe::train {

// Megatron stops when the mean change of the column scales is <= this; we also cap the iterations
// (Megatron has no cap), so a matrix that never settles still returns.
constexpr double kSinkhornTolerance = 1e-4;
constexpr int kSinkhornMaxIterations = 1000;

// logits [T][E] -> the balanced matrix d1[e] * exp(logits[t][e]) * d0[t] [T][E], in double.
// Row scales d0 = 1 / (T * (sum_e d1 exp(l) + 1e-8)), column scales d1 = 1 / (E * (sum_t d0 exp(l)
// + 1e-8)), alternated from d0 = d1 = 1 as Megatron does.
std::vector<double> sinkhorn(std::span<const float> logits, int64_t n_tokens, int64_t n_experts);

}  // namespace moe::train
