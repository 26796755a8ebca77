// TrainConfig: everything `moe train` is told, with Megatron-Core's flag names in YAML form.
// train.yaml may be flat or grouped in sections (model:, moe:, parallel:, training:, data:,
// checkpoint:, logging:); every key is also a command-line flag (`--moe-router-topk 2`) that
// overrides the file. One key table drives the file, the flags and the docs (docs/TRAINING.md).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "train/adamw.h"
#include "train/lr_schedule.h"
#include "train/router_train.h"

namespace moe::train {

// The model to train: a preset name, an HF config.json or an HF model directory (its weights are
// the starting point), with Megatron's size keys overriding the shape.
struct ModelSpec {
  std::string model = "mixtral-tiny";  // model
  std::string tokenizer;               // tokenizer: a model whose tokenizer to use (default: model's)
  std::optional<int64_t> num_layers;
  std::optional<int64_t> hidden_size;
  std::optional<int64_t> ffn_hidden_size;  // experts' size when moe_ffn_hidden_size is unset
  std::optional<int64_t> num_attention_heads;
  std::optional<int64_t> num_query_groups;  // KV heads
  std::optional<int64_t> kv_channels;       // head dim
  std::optional<int64_t> num_experts;
  std::optional<int64_t> moe_ffn_hidden_size;
  std::optional<int64_t> moe_shared_expert_intermediate_size;
  std::optional<int64_t> max_position_embeddings;
  std::optional<double> rotary_base;
  std::optional<double> norm_epsilon;
  std::optional<double> init_method_std;  // N(0, std) init of fresh weights
  int64_t seq_length = 256;
};

struct TrainConfig {
  ModelSpec model;
  RouterTrainConfig router;       // moe_router_*, moe_aux_loss_coeff, ... (num_experts: the model's)
  double input_jitter_eps = 0.0;  // moe_input_jitter_eps (0: off)
  // Keys given in the file or as flags (moe_router_topk and moe_router_pre_softmax default to the
  // model's routing when absent).
  std::set<std::string> given;

  // parallel
  int expert_model_parallel_size = 1;
  int tensor_model_parallel_size = 1;
  bool sequence_parallel = false;
  bool use_distributed_optimizer = false;
  double comm_timeout_s = 300;

  // training
  int64_t micro_batch_size = 4;
  std::optional<int64_t> global_batch_size;  // unset: micro_batch_size x data-parallel ranks
  LrSchedule lr;                             // lr, min_lr, lr_warmup_iters, lr_decay_iters, lr_decay_style
  AdamWConfig adam;                          // adam_beta1, adam_beta2, adam_eps, weight_decay
  double clip_grad = 1.0;                    // 0: no clipping
  int64_t train_iters = 100;
  int64_t exit_interval = 0;  // stop (after saving) at an iteration divisible by it
  uint64_t seed = 1234;
  int threads = 0;    // 0: the machine's cores shared by the ranks
  bool bf16 = false;  // expert GEMMs in bf16 (f32 master weights)

  // data
  std::string data_path;
  std::string split = "969,30,1";

  // checkpoints
  std::string save;
  std::string load;
  int64_t save_interval = 0;  // 0: only at the end (when save is set)

  // logging
  int64_t log_interval = 1;
  int64_t eval_interval = 0;  // 0: no evaluation
  int64_t eval_iters = 10;
  std::string log_file;  // JSON lines
  bool profile = false;  // per-phase seconds of the training steps at the end

  // Relations between keys (lr >= min_lr, group_topk needs num_groups, ...): ConfigError naming the key.
  void validate() const;
};

// Every key, in documentation order.
struct TrainKey {
  const char* key;
  const char* section;
  const char* help;
  bool is_bool;
};
const std::vector<TrainKey>& train_keys();

// Sets `key` from its text. `where` prefixes errors ("train.yaml: key 'lr'" or "--lr").
// Unknown keys throw ConfigError with a "did you mean" suggestion.
void apply_train_key(TrainConfig& config, const std::string& key, const std::string& value, const std::string& where);

// Reads train.yaml (flat or in sections) over `config`; errors name the file and key.
void load_train_config(TrainConfig& config, const std::string& yaml_path);

// The effective configuration as (key, value) pairs, for logs and checkpoints.
std::vector<std::pair<std::string, std::string>> describe_train_config(const TrainConfig& config);

}  // namespace moe::train
