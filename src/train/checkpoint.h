// Training checkpoints. `save` holds one directory per saved iteration and a `latest` pointer:
//   save/iter_0000100/            an HF model directory (moe run / moe convert load it as is)
//   save/iter_0000100/train_state.json    iteration, consumed samples, expert biases, config
//   save/iter_0000100/optimizer/rank_00000.safetensors   Adam moments of the rank's range
//   save/latest                   "iter_0000100"
// An iteration is written into a temporary directory and renamed into place before `latest` is
// replaced (itself write-then-rename), so a kill at any moment leaves the previous checkpoint whole.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "train/adamw.h"

namespace moe::train {

struct TrainState {
  int64_t iteration = 0;          // optimizer updates done
  int64_t consumed_samples = 0;   // train samples drawn so far
  nlohmann::json extra;           // expert biases, config snapshot, layout
};

// Writes the checkpoint of `iteration` under `dir` (created if missing) and points latest at it.
void save_checkpoint(const std::string& dir, const model::Model& model, const TrainState& state,
                     const AdamW& optimizer);

// The directory `latest` points to, or "" when `dir` holds no checkpoint. A `latest` naming a
// missing directory is a FormatError.
std::string latest_checkpoint(const std::string& dir);

TrainState load_train_state(const std::string& checkpoint);
// Restores the moments of `optimizer`'s range; FormatError when the file's range or size differs.
void load_optimizer_state(const std::string& checkpoint, AdamW& optimizer, int rank);

}  // namespace moe::train
