// The training YAML (`moe train --config`), then the relations between its keys.
#include "fuzz_input.h"
#include "train/train_config.h"

namespace {
using namespace moe;

void run(std::string_view bytes) {
  const std::string path = fuzz::write_file("train.yaml", bytes);
  fuzz::refuse_or_accept([&] {
    train::TrainConfig config;
    train::load_train_config(config, path);
    config.validate();
  });
}

}  // namespace

MOE_FUZZ_TARGET(train_yaml, run)
