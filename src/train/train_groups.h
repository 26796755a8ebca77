// The process groups of parallel training (Megatron-Core's, with the MoE layers' "parallel
// folding": the expert layout is independent of the tensor-parallel one):
//   rank = dp_rank * tp + tp_rank          tensor_model_parallel_size consecutive ranks run one
//                                          micro-batch, each on its sequence shard (a TP group);
//                                          the data-parallel group holds the same TP rank
//   rank = expert_dp_rank * ep + ep_rank   expert_model_parallel_size consecutive ranks split each
//                                          MoE layer's experts (an EP group); the ranks holding
//                                          the same experts form the expert-data-parallel group
// Gradients are summed over the ranks that hold the parameter and saw other tokens: the
// TP-split matrices over the data-parallel group, the other dense ones over the world, the
// experts over the expert-DP group.
#pragma once

#include <cstdint>

#include "model/model_config.h"
#include "parallel/communicator.h"
#include "train/train_config.h"

namespace moe::train {

struct TrainLayout {
  int world = 1, rank = 0;
  int tp = 1, tp_rank = 0;                      // tensor (and sequence) parallel
  int dp = 1, dp_rank = 0;                      // data parallel: world / tp
  int ep = 1, ep_rank = 0;                      // expert model parallel
  int expert_dp = 1, expert_dp_rank = 0;        // world / ep
  int64_t first_expert = 0, local_experts = 0;  // this rank's experts [first, first + local)
};

// Checks the layout keys against the world and the model before any work; ConfigError naming
// the key (the same on every rank, so run_ranked prints it once).
TrainLayout make_train_layout(const TrainConfig& config, int world_size, int rank, const model::ModelConfig& model);

// The communicators of one rank's groups (each of size 1 in a single process).
struct TrainGroups {
  TrainLayout layout;
  parallel::Communicator* world = nullptr;  // dense gradients, logging sums
  parallel::Communicator tp;                // the TP group (sequence gather / reduce-scatter)
  parallel::Communicator dp;                // TP-split gradients
  parallel::Communicator ep;                // the EP group (all-to-all of expert rows)
  parallel::Communicator expert_dp;         // expert gradients

  TrainGroups(parallel::Communicator& world_comm, const TrainLayout& layout);
};

}  // namespace moe::train
