// `moe train`: MoE training from train.yaml (Megatron-Core's keys) with every key also a flag; under
// mpirun every rank trains its share (data and expert parallel), rank 0 prints.
#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include "cli/commands.h"
#include "parallel/communicator.h"
#include "train/train_config.h"
#include "train/trainer.h"

namespace moe::cli {

namespace {

std::string dashed(const std::string& key) {
  std::string flag = key;
  for (char& c : flag)
    if (c == '_') c = '-';
  return flag;
}

struct TrainOptions {
  std::string config_file;
  std::string log_file;
  std::map<std::string, CLI::Option*> options;
  std::set<std::string> bools;  // keys that are bool flags
};

}  // namespace

void add_train_command(CLI::App& app, const CliContext& context) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd =
      app.add_subcommand("train", "Train an MoE model (keys of train.yaml, Megatron-Core names; every key is a flag)");
  cmd->add_option("--config", o->config_file, "train.yaml (flat or in sections); flags override it");
  cmd->add_option("--log", o->log_file, "JSON-lines log (same as --log-file)");
  for (const train::TrainKey& key : train::train_keys()) {
    CLI::Option* option = cmd->add_option("--" + dashed(key.key), CLI::callback_t{}, key.help);
    option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a later flag wins, as in Megatron
    option->group(std::string("Options: ") + key.section);
    if (key.is_bool) {
      option->expected(0, 1);
      o->bools.insert(key.key);
    }
    o->options[key.key] = option;
  }
  cmd->callback([o, &mpi = context.mpi] {
    train::TrainConfig config;
    if (!o->config_file.empty()) train::load_train_config(config, o->config_file);
    for (const auto& [key, option] : o->options) {
      if (option->count() == 0) continue;
      std::string value = option->results().empty() ? "" : option->results().back();
      if (value.empty() && o->bools.contains(key)) value = "true";  // a bare bool flag (`--sequence-parallel`)
      train::apply_train_key(config, key, value, "--" + dashed(key));
    }
    if (!o->log_file.empty()) config.log_file = o->log_file;
    parallel::Communicator world = parallel::Communicator::world(mpi, config.comm_timeout_s);
    const train::TrainResult result = train::run_training(
        config,
        [](const std::string& line) {
          std::printf("%s\n", line.c_str());
          std::fflush(stdout);
        },
        world);
    if (world.rank() != 0) return;
    std::printf("trained iterations %lld..%lld, final loss %.4f%s%s\n",
                static_cast<long long>(result.first_iteration + 1), static_cast<long long>(result.last_iteration),
                result.final_loss, result.checkpoint.empty() ? "" : ", checkpoint ", result.checkpoint.c_str());
  });
}

}  // namespace moe::cli
