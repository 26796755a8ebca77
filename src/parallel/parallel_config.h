// ParallelConfig: the parallel layout a user asks for (TensorRT-LLM key names), read from
// parallel.yaml and overridden by command-line flags. Checked against the world in mapping.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace moe::parallel {

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

  // Throws ConfigError naming the key when a value is out of range (sizes >= 1, timeout > 0).
  // Relations between the keys and the world are checked by make_mapping.
  void validate() const;
};

// The keys parallel.yaml accepts, in declaration order (also the names apply_override takes).
const std::vector<std::string>& parallel_config_keys();

// Reads a flat YAML mapping of the keys above. A top-level `moe_load_balancer:` mapping is
// accepted and ignored (reserved). Unknown keys, wrong types and out-of-range values throw
// ConfigError naming the file and the key; `key: null` leaves an optional size unset.
ParallelConfig load_parallel_config(const std::string& yaml_path);

// Sets `key` (a YAML key, e.g. "tensor_parallel_size") from a command-line value; errors name
// the flag ("--tensor-parallel-size"). Booleans take true/false/1/0 (and yes/no/on/off).
void apply_override(ParallelConfig& config, const std::string& key, const std::string& value);

// "--tensor-parallel-size" for "tensor_parallel_size".
std::string flag_name(const std::string& key);

}  // namespace moe::parallel
