// Building and checking the starting placement of `moe_load_balancer:`.
#include "moe/balance/slot_placement.h"

#include "core/error.h"

namespace moe::balance {

Placement slot_placement(const parallel::MoeLoadBalancerConfig& config, int64_t n_layers, int64_t n_experts,
                         int moe_ep) {
  const int64_t num_slots = config.num_slots.value_or(0);
  MOE_CHECK(num_slots >= n_experts, ConfigError, "moe_load_balancer.num_slots = ", num_slots,
            " is less than num_experts = ", n_experts);
  MOE_CHECK(num_slots % moe_ep == 0, ConfigError, "moe_load_balancer.num_slots = ", num_slots,
            " is not divisible by moe_expert_parallel_size = ", moe_ep);
  if (!config.placement.empty()) {
    Placement placement = read_placement_file(config.placement);
    const std::string& file = config.placement;
    MOE_CHECK(static_cast<int64_t>(placement.layers.size()) == n_layers, ConfigError, "placement ", file, " has ",
              placement.layers.size(), " layers but the model has ", n_layers, " MoE layers");
    MOE_CHECK(placement.num_experts == n_experts, ConfigError, "placement ", file, " is for ", placement.num_experts,
              " experts but the model has num_experts = ", n_experts);
    MOE_CHECK(placement.num_slots == num_slots, ConfigError, "placement ", file, " has ", placement.num_slots,
              " slots but moe_load_balancer.num_slots = ", num_slots);
    MOE_CHECK(placement.ranks == moe_ep, ConfigError, "placement ", file, " is for ", placement.ranks,
              " EP ranks but moe_expert_parallel_size = ", moe_ep);
    return placement;
  }
  if (config.initial_global_assignments.empty()) return identity_placement(n_layers, n_experts, num_slots, moe_ep);
  const std::string key = "moe_load_balancer.initial_global_assignments";
  const auto& layers = config.initial_global_assignments;
  MOE_CHECK(static_cast<int64_t>(layers.size()) == n_layers, ConfigError, key, " has ", layers.size(),
            " layers but the model has ", n_layers, " MoE layers");
  Placement placement;
  placement.num_slots = num_slots;
  placement.num_experts = n_experts;
  placement.ranks = moe_ep;
  for (size_t layer = 0; layer < layers.size(); ++layer) {
    const std::vector<int64_t>& phy2log = layers[layer];
    MOE_CHECK(static_cast<int64_t>(phy2log.size()) == num_slots, ConfigError, key, ": layer ", layer, " lists ",
              phy2log.size(), " slots, expected num_slots = ", num_slots);
    for (size_t slot = 0; slot < phy2log.size(); ++slot)
      MOE_CHECK(phy2log[slot] < n_experts, ConfigError, key, ": layer ", layer, ": slot ", slot, " holds expert ",
                phy2log[slot], ", outside [0, ", n_experts, ")");
    std::vector<int64_t> counts(n_experts, 0);
    for (int64_t expert : phy2log) ++counts[expert];
    for (int64_t expert = 0; expert < n_experts; ++expert)
      MOE_CHECK(counts[expert] > 0, ConfigError, key, ": layer ", layer, ": expert ", expert, " has no slot");
    placement.layers.push_back(layer_from_phy2log(phy2log, n_experts));
  }
  pad_log2phy(placement);
  placement.validate(key);
  return placement;
}

}  // namespace moe::balance
