// ParallelConfig: the parallel layout a user asks for (TensorRT-LLM key names), read from
// parallel.yaml and overridden by command-line flags. Checked against the world in mapping.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moe::parallel {

// Wide-EP expert slots: TensorRT-LLM's `moe_load_balancer:` mapping. Its relations to the model
// and the EP size are checked by balance::slot_placement before any weight is read.
struct MoeLoadBalancerConfig {
  // Slots per MoE layer over the EP group: >= num_experts, divisible by moe_expert_parallel_size;
  // slot s lives on EP rank s / (num_slots / moe_expert_parallel_size). Required.
  std::optional<int> num_slots;
  // Per layer, the expert each slot holds ({layer: [expert of slot 0, ...]} as TensorRT-LLM
  // writes it, or a list of lists). Empty: `placement`, or slot s holds expert s % num_experts.
  std::vector<std::vector<int64_t>> initial_global_assignments;
  // A placement file (`moe eplb --out`), instead of initial_global_assignments; a relative path
  // is taken from the YAML file's folder.
  std::string placement;
  // Online balancing when set: every update_interval forward steps the placement is recomputed
  // from the routing statistics of the last window_size steps.
  std::optional<int> update_interval;
  int window_size = 32;
  // Layers whose new placement is applied (weights moved, table switched) per forward step.
  int layer_updates_per_iter = 1;
  // Online re-plan: "global" (DeepSeek's EPLB) or "budgeted" (fewest weight moves).
  std::string policy = "global";
  // The replica a token of a replicated expert goes to: "local_first" (a replica on the token's
  // rank if any; less all-to-all traffic) or "spread" (by token index over all replicas; even
  // replica loads, as EPLB plans them). Outputs are the same bits either way.
  std::string replica_routing = "local_first";

  // Throws ConfigError naming the key (sizes >= 1, one source of assignments, known policy).
  void validate() const;
};

struct ParallelConfig {
  // Ranks that shard attention and dense GEMMs (and, split as moe_tp * moe_ep, the MoE FFNs).
  // Unset: 1.
  std::optional<int> tensor_parallel_size;
  // Pipeline stages; layers are split over them in order. Unset: 1.
  std::optional<int> pipeline_parallel_size;
  // Ranks that slice every expert's matrices (ETP). Unset: tensor_parallel_size /
  // moe_expert_parallel_size, or tensor_parallel_size when neither MoE size is set.
  std::optional<int> moe_tensor_parallel_size;
  // Ranks that each hold whole experts (EP). Unset: tensor_parallel_size /
  // moe_tensor_parallel_size, or 1 when neither MoE size is set.
  std::optional<int> moe_expert_parallel_size;
  // Independent model replicas (outermost). Unset: world size / (tp * pp).
  std::optional<int> data_parallel_size;
  // Attention data parallel: inside a TP group every rank runs attention on its own requests
  // with replicated attention weights; only the MoE FFNs are split over the group.
  bool enable_attention_dp = false;
  // Seconds a rank waits in one collective or point-to-point exchange before it reports what
  // is missing and aborts the job.
  double comm_timeout_s = 300;
  // Verify each dispatch (counts and checksums exchanged) at the cost of an extra round trip.
  bool check_dispatch = false;
  // Time every collective and print a per-rank summary at exit.
  bool profile = false;
  // Expert slots (Wide-EP); unset: expert e on EP rank e / (num_experts / moe_ep).
  std::optional<MoeLoadBalancerConfig> moe_load_balancer;

  // Throws ConfigError naming the key when a value is out of range (sizes >= 1, timeout > 0).
  // Relations between the keys and the world are checked by make_mapping.
  void validate() const;
};

// The keys parallel.yaml accepts, in declaration order (also the names apply_override takes).
const std::vector<std::string>& parallel_config_keys();

// Reads a flat YAML mapping of the keys above plus a `moe_load_balancer:` mapping of
// MoeLoadBalancerConfig's keys. Unknown keys, wrong types and out-of-range values throw
// ConfigError naming the file and the key; `key: null` leaves an optional size unset.
ParallelConfig load_parallel_config(const std::string& yaml_path);

// Sets `key` (a YAML key, e.g. "tensor_parallel_size") from a command-line value; errors name
// the flag ("--tensor-parallel-size"). Booleans take true/false/1/0 (and yes/no/on/off).
void apply_override(ParallelConfig& config, const std::string& key, const std::string& value);

// "--tensor-parallel-size" for "tensor_parallel_size".
std::string flag_name(const std::string& key);

}  // namespace moe::parallel
