// The training loop of `moe train`: resolves the model and data, resumes from `load`, and runs
// train_iters updates (micro-batches accumulated into a global batch, gradient clipping, AdamW
// with the LR schedule, the expert-bias update), logging, evaluation and checkpoints on the way.
// Under mpirun every rank calls it with the world: data parallel over the ranks, expert parallel
// over expert_model_parallel_size of them, optionally the distributed optimizer (train_groups.h).
#pragma once

#include <functional>
#include <string>

#include "parallel/communicator.h"
#include "train/train_config.h"

namespace moe::train {

struct TrainResult {
  int64_t first_iteration = 0;  // 0 for a fresh run, the checkpoint's iteration when resumed
  int64_t last_iteration = 0;
  double final_loss = 0;
  std::string checkpoint;  // the last checkpoint written ("" when none)
};

// `print` receives each human-readable line (progress, evaluation, checkpoint notes), on rank 0
// only. Collective over `world`; every rank returns the same result.
TrainResult run_training(TrainConfig config, const std::function<void(const std::string&)>& print,
                         parallel::Communicator& world);
// In this process alone.
TrainResult run_training(TrainConfig config, const std::function<void(const std::string&)>& print);

}  // namespace moe::train
