// Turns the `model` keys of a training config into what training starts from: the architecture
// (a preset, an HF config.json, or an HF model directory whose weights are the starting point),
// Megatron's size keys applied over it, the tokenizer, and the router options made consistent with
// the architecture's inference routing (so the saved model runs in `moe run` as it was trained).
#pragma once

#include <optional>

#include "model/model.h"
#include "train/train_config.h"

namespace moe::train {

struct TrainingStart {
  model::ModelConfig config;
  tokenizer::Vocab vocab;
  std::optional<model::Model> weights;  // the model directory's weights, when one was given
  std::string source;                   // what `model` named, for messages
};

// Fills config.router's num_experts / topk from the model when unset and throws ConfigError naming
// the key when a size key contradicts a model directory or the routing contradicts the architecture.
TrainingStart resolve_training_start(TrainConfig& config);

}  // namespace moe::train
