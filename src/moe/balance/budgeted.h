// The `budgeted` balancer: improves a placement already in service instead of re-planning, and
// copies at most a given number of weight bytes per layer. Greedy over two kinds of change:
//   - replicate: a slot whose expert has other replicas takes another expert (one expert copied),
//   - swap: two slots on different ranks exchange experts (two experts copied);
// each step takes the change with the largest drop of sum_r (load_r / mean)^p per expert copied
// (p = 4, raised to 8 and 16 when nothing helps), whatever the budget is, and the walk stops when
// the next change does not fit or none helps. The result is the best state on the walk (lowest
// max rank load): a larger budget walks further, so it never ends worse (tested).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "moe/balance/load_stats.h"
#include "moe/balance/placement.h"

namespace moe::balance {

struct BudgetedConfig {
  int64_t expert_bytes = 0;               // weights of one expert: 3 * hidden * expert_ffn * bytes/weight
  std::optional<int64_t> max_move_bytes;  // per layer; unset = unlimited
  int64_t max_steps = 0;                  // changes per layer at most; 0 = 4 * num_slots
  // Throws ConfigError: expert_bytes > 0, max_move_bytes >= 0.
  void validate() const;
};

struct BudgetedResult {
  Placement placement;
  std::vector<int64_t> bytes_moved;  // [layers] changed slots * expert_bytes, <= max_move_bytes
};

// Weight bytes of one SwiGLU expert (gate, up, down).
int64_t expert_weight_bytes(int64_t hidden, int64_t expert_ffn, double bytes_per_weight);

// `current` must match `load` (layers, experts); throws ConfigError naming the mismatch.
BudgetedResult rebalance_budgeted(const LoadMatrix& load, const Placement& current, const BudgetedConfig& config);

}  // namespace moe::balance
