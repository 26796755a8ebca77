// The optimizer step of (parallel) training: gradients summed over the ranks that hold each
// parameter (unsplit dense parameters over the world, TP-split ones over the data-parallel group,
// routed experts over the expert-DP group), the global gradient norm and clipping, then AdamW.
// With use_distributed_optimizer each rank keeps the Adam moments of (and updates) only its
// contiguous shard of each concatenation (over that part's group) and the updated shards are
// all-gathered, as Megatron-Core's distributed optimizer does. In one process it is plain AdamW.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/phase_timer.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
#include "train/train_groups.h"
#include "train/train_model.h"

namespace moe::train {

class DistributedOptimizer {
 public:
  // The gradient norm, clip and AdamW run on `pool` when given (the same bits on any pool).
  DistributedOptimizer(TrainModel& net, TrainGroups& groups, const AdamWConfig& config, bool distributed,
                       ThreadPool* pool = nullptr);

  // Sums the micro-batch gradients over their groups; returns the global gradient norm.
  double reduce_gradients();
  // Multiplies every held gradient by factor (clipping).
  void scale_gradients(float factor);
  // AdamW on this rank's shards, then (distributed) the updated shards gathered everywhere.
  void step(double lr);

  // Where the collectives' seconds add up (Phase::kComm), or null: not timed.
  void set_phase_times(PhaseTimes* times) { times_ = times; }

  int64_t steps() const { return dense_.adam.steps(); }
  // The moments this rank owns, by parameter name; and their restoration from the pieces of a
  // checkpoint (any layout's), FormatError when a needed element is missing.
  std::vector<MomentPiece> moments() const;
  void load_moments(const std::vector<MomentPiece>& pieces, int64_t steps, const std::string& source);

 private:
  struct Part {
    std::vector<ParamRef> params;
    parallel::Communicator* group;  // where the gradients are summed and the shards gathered
    AdamW adam;
    std::vector<float> flat;  // staging for the collectives
  };
  static Part make_part(std::vector<ParamRef> params, parallel::Communicator* group, const AdamWConfig& config,
                        bool distributed);
  void reduce(Part& part);
  void gather(Part& part);

  std::vector<Part*> parts() { return {&dense_, &split_, &experts_}; }
  std::vector<const Part*> parts() const { return {&dense_, &split_, &experts_}; }

  TrainGroups* groups_;
  ThreadPool* pool_;
  PhaseTimes* times_ = nullptr;
  bool distributed_;
  Part dense_, split_, experts_;
};

}  // namespace moe::train
