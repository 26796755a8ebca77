// The process groups of parallel training (Megatron-Core's, tensor parallel 1): every rank takes
// its own micro-batches (data parallel over the world); expert_model_parallel_size consecutive
// ranks split each MoE layer's experts (an EP group); the ranks holding the same experts form the
// expert-data-parallel group (world / ep ranks, striding by ep):
//   rank = expert_dp_rank * ep + ep_rank
// Dense (non-expert) gradients are summed over the world, expert gradients over the expert-DP group.
#pragma once

#include <cstdint>

#include "parallel/communicator.h"
#include "train/train_config.h"

namespace moe::train {

struct TrainLayout {
  int world = 1, rank = 0;
  int ep = 1, ep_rank = 0;  // expert model parallel
  int dp = 1;               // data-parallel ranks (dense part): world / tp
  int expert_dp = 1, expert_dp_rank = 0;  // world / (ep * tp)
  int64_t first_expert = 0, local_experts = 0;  // this rank's experts [first, first + local)
};

// Checks the layout keys against the world and the model before any work; ConfigError naming
// the key (the same on every rank, so run_ranked prints it once).
TrainLayout make_train_layout(const TrainConfig& config, int world_size, int rank, int64_t n_experts,
                              int64_t n_heads);

// The communicators of one rank's groups (each of size 1 in a single process).
struct TrainGroups {
  TrainLayout layout;
  parallel::Communicator* world = nullptr;  // data parallel, dense gradients
  parallel::Communicator ep;                 // the EP group (all-to-all of expert rows)
  parallel::Communicator expert_dp;          // expert gradients

  TrainGroups(parallel::Communicator& world_comm, const TrainLayout& layout);
};

}  // namespace moe::train
