// Training checkpoints. `save` holds one directory per saved iteration and a `latest` pointer:
//   save/iter_0000100/            an HF model directory (moe run / moe convert load it as is)
//   save/iter_0000100/train_state.json    iteration, consumed samples, expert biases, config
//   save/iter_0000100/optimizer/rank_00000.safetensors   Adam moments of the rank's range
//   save/latest                   "iter_0000100"
// An iteration is written into a temporary directory (every file fsynced), renamed into place and
// the directory fsynced before `latest` is replaced (itself written, fsynced and renamed), so a kill
// or a full disk at any moment leaves `latest` naming a whole checkpoint. A failed write removes its
// temporary; those of killed runs are removed by the next save.
// Each rank writes its own optimizer file, with the moments it owns stored by parameter name
// ("exp_avg.<name>", "exp_avg_sq.<name>", metadata "offset.<name>": the first element, and for a
// tensor-parallel block "slice.<name>": "rows 1/2" or "cols 0/2"), so a run of another layout
// (other ranges, other experts per rank, other TP blocks) reads back the elements it needs.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "model/model.h"
#include "parallel/communicator.h"

namespace moe::train {

// Adam moments of elements [offset, offset + size) of one parameter, or of the rank's
// tensor-parallel block of it (`slice`: TensorSlice::describe(), "" = the whole tensor).
struct MomentPiece {
  std::string name;
  int64_t offset = 0;
  std::vector<float> exp_avg, exp_avg_sq;
  std::string slice;
};

struct OptimizerMoments {
  int64_t steps = 0;  // AdamW updates done (bias correction)
  std::vector<MomentPiece> pieces;
};

struct TrainState {
  int64_t iteration = 0;         // optimizer updates done
  int64_t consumed_samples = 0;  // train samples drawn so far
  nlohmann::json extra;          // expert biases, config snapshot, layout
};

// Writes the checkpoint of `state.iteration` under `dir` (created if missing) and points latest at
// it. Collective over `world`: rank 0 passes the model and writes it with train_state.json; every
// rank writes its optimizer file (optimizer/rank_<world rank>.safetensors) from `moments`.
void save_checkpoint(const std::string& dir, const model::Model* model, const TrainState& state,
                     const OptimizerMoments& moments, parallel::Communicator& world);

TrainState load_train_state(const std::string& checkpoint);
// The moments of every rank file of the checkpoint (whatever layout wrote it).
OptimizerMoments load_optimizer_moments(const std::string& checkpoint);

}  // namespace moe::train
