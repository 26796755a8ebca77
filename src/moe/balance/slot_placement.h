// The expert-slot placement a run starts with, from the parallel config's `moe_load_balancer:`
// mapping: its initial_global_assignments, a placement file, or (neither) slot s holding expert
// s % num_experts; checked against the model and the EP size before any weight is read.
#pragma once

#include <cstdint>

#include "moe/balance/placement.h"
#include "parallel/parallel_config.h"

namespace moe::balance {

// Throws ConfigError with one line naming the key or file and the values at fault: num_slots <
// num_experts, num_slots not divisible by moe_ep, a layer or expert count that differs from the
// model's, an expert with no slot, a slot outside the expert range.
Placement slot_placement(const parallel::MoeLoadBalancerConfig& config, int64_t n_layers, int64_t n_experts,
                         int moe_ep);

}  // namespace moe::balance
