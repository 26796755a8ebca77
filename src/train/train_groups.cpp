// Layout checks and the group communicators of parallel training.
#include "train/train_groups.h"

#include <vector>

#include "core/error.h"

namespace moe::train {

TrainLayout make_train_layout(const TrainConfig& config, int world_size, int rank, const model::ModelConfig& model) {
  const int tp = config.tensor_model_parallel_size, ep = config.expert_model_parallel_size;
  const int64_t n_experts = model.n_experts();
  MOE_CHECK(tp >= 1, ConfigError, "tensor_model_parallel_size: must be >= 1, got ", tp);
  MOE_CHECK(ep >= 1, ConfigError, "expert_model_parallel_size: must be >= 1, got ", ep);
  MOE_CHECK(world_size % tp == 0, ConfigError, "tensor_model_parallel_size = ", tp, " does not divide the world size ",
            world_size);
  MOE_CHECK(world_size % ep == 0, ConfigError, "expert_model_parallel_size = ", ep, " does not divide the world size ",
            world_size);
  MOE_CHECK(n_experts % ep == 0, ConfigError, "expert_model_parallel_size = ", ep,
            " does not divide num_experts = ", n_experts);
  MOE_CHECK(model.attention().n_heads % tp == 0, ConfigError, "tensor_model_parallel_size = ", tp,
            " does not divide num_attention_heads = ", model.attention().n_heads);
  MOE_CHECK(model.attention().n_kv_heads % tp == 0, ConfigError, "tensor_model_parallel_size = ", tp,
            " does not divide num_query_groups = ", model.attention().n_kv_heads);
  MOE_CHECK(model.moe().shared_expert_ffn % tp == 0, ConfigError, "tensor_model_parallel_size = ", tp,
            " does not divide moe_shared_expert_intermediate_size = ", model.moe().shared_expert_ffn);
  MOE_CHECK(tp == 1 || model.attention().qk_norm != model::QkNorm::kWhole, ConfigError,
            "tensor_model_parallel_size = ", tp,
            ": this model normalises q and k over the whole projection (OLMoE), which tensor parallelism splits");
  MOE_CHECK(tp == 1 || config.sequence_parallel, ConfigError, "tensor_model_parallel_size = ", tp,
            ": MoE layers need sequence_parallel: true with tensor parallelism (as Megatron-Core)");
  MOE_CHECK(config.model.seq_length % tp == 0, ConfigError, "seq_length = ", config.model.seq_length,
            " is not a multiple of tensor_model_parallel_size = ", tp, " (sequence parallelism splits it)");
  TrainLayout l;
  l.world = world_size;
  l.rank = rank;
  l.tp = tp;
  l.tp_rank = rank % tp;
  l.dp = world_size / tp;
  l.dp_rank = rank / tp;
  l.ep = ep;
  l.ep_rank = rank % ep;
  l.expert_dp = world_size / ep;
  l.expert_dp_rank = rank / ep;
  l.local_experts = n_experts / ep;
  l.first_expert = l.ep_rank * l.local_experts;
  const int64_t micro = config.micro_batch_size;
  const int64_t global = config.global_batch_size.value_or(micro * l.dp);
  MOE_CHECK(global % (micro * l.dp) == 0, ConfigError, "global_batch_size = ", global,
            " is not a multiple of micro_batch_size x data-parallel ranks = ", micro, " x ", l.dp);
  return l;
}

namespace {

std::vector<int> tp_members(const TrainLayout& l) {
  std::vector<int> ranks;
  for (int i = 0; i < l.tp; ++i) ranks.push_back(l.dp_rank * l.tp + i);
  return ranks;
}

std::vector<int> dp_members(const TrainLayout& l) {
  std::vector<int> ranks;
  for (int i = 0; i < l.dp; ++i) ranks.push_back(i * l.tp + l.tp_rank);
  return ranks;
}

std::vector<int> ep_members(const TrainLayout& l) {
  std::vector<int> ranks;
  for (int i = 0; i < l.ep; ++i) ranks.push_back(l.expert_dp_rank * l.ep + i);
  return ranks;
}

std::vector<int> expert_dp_members(const TrainLayout& l) {
  std::vector<int> ranks;
  for (int i = 0; i < l.expert_dp; ++i) ranks.push_back(i * l.ep + l.ep_rank);
  return ranks;
}

}  // namespace

TrainGroups::TrainGroups(parallel::Communicator& world_comm, const TrainLayout& l)
    : layout(l),
      world(&world_comm),
      tp(world_comm.subgroup(tp_members(l))),
      dp(world_comm.subgroup(dp_members(l))),
      ep(world_comm.subgroup(ep_members(l))),
      expert_dp(world_comm.subgroup(expert_dp_members(l))) {}

}  // namespace moe::train
