// Layout checks and the group communicators of parallel training.
#include "train/train_groups.h"

#include <vector>

#include "core/error.h"

namespace moe::train {

TrainLayout make_train_layout(const TrainConfig& config, int world_size, int rank, int64_t n_experts,
                              int64_t n_heads) {
  const int tp = config.tensor_model_parallel_size, ep = config.expert_model_parallel_size;
  MOE_CHECK(tp >= 1, ConfigError, "tensor_model_parallel_size: must be >= 1, got ", tp);
  MOE_CHECK(ep >= 1, ConfigError, "expert_model_parallel_size: must be >= 1, got ", ep);
  MOE_CHECK(n_heads % tp == 0, ConfigError, "tensor_model_parallel_size = ", tp,
            " does not divide num_attention_heads = ", n_heads);
  MOE_CHECK(tp == 1, ConfigError, "tensor_model_parallel_size = ", tp,
            ": tensor parallel training is not implemented yet (use 1)");
  MOE_CHECK(!config.sequence_parallel, ConfigError,
            "sequence_parallel: needs tensor_model_parallel_size > 1, which training does not implement yet");
  MOE_CHECK(world_size % (tp * ep) == 0, ConfigError, "expert_model_parallel_size = ", ep,
            " (times tensor_model_parallel_size = ", tp, ") does not divide the world size ", world_size);
  MOE_CHECK(n_experts % ep == 0, ConfigError, "expert_model_parallel_size = ", ep,
            " does not divide num_experts = ", n_experts);
  TrainLayout l;
  l.world = world_size;
  l.rank = rank;
  l.ep = ep;
  l.ep_rank = rank % ep;
  l.dp = world_size / tp;
  l.expert_dp = world_size / (tp * ep);
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
      ep(world_comm.subgroup(ep_members(l))),
      expert_dp(world_comm.subgroup(expert_dp_members(l))) {}

}  // namespace moe::train
