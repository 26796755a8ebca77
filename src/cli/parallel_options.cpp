// Registers --config and a flag for every parallel key; values are applied by ParallelConfig's
// own parser, so errors name the flag.
#include "cli/parallel_options.h"

namespace moe::cli {

parallel::ParallelConfig ParallelOptions::resolve() const {
  parallel::ParallelConfig config =
      config_file.empty() ? parallel::ParallelConfig{} : parallel::load_parallel_config(config_file);
  for (const auto& [key, value] : overrides) parallel::apply_override(config, key, value);
  config.validate();
  return config;
}

void add_parallel_options(CLI::App* cmd, const std::shared_ptr<ParallelOptions>& options) {
  const std::string group = "Parallel layout (under mpirun; flags override --config)";
  cmd->add_option("--config", options->config_file,
                  "Parallel layout YAML (TensorRT-LLM keys; moe_load_balancer: Wide-EP expert slots and online EPLB)")
      ->group(group);
  const std::map<std::string, std::string> aliases = {
      {"tensor_parallel_size", "--tp"},         {"pipeline_parallel_size", "--pp"},
      {"moe_tensor_parallel_size", "--moe-tp"}, {"moe_expert_parallel_size", "--moe-ep"},
      {"data_parallel_size", "--dp"},           {"comm_timeout_s", "--comm-timeout"}};
  for (const std::string& key : parallel::parallel_config_keys()) {
    std::string names = parallel::flag_name(key);
    if (const auto alias = aliases.find(key); alias != aliases.end()) names = alias->second + "," + names;
    const bool is_flag = key == "enable_attention_dp" || key == "check_dispatch" || key == "profile";
    if (is_flag) {
      cmd->add_flag_callback(
             names, [options, key] { options->overrides[key] = "true"; }, "Set " + key)
          ->group(group);
    } else {
      cmd->add_option_function<std::string>(
             names, [options, key](const std::string& value) { options->overrides[key] = value; }, "Set " + key)
          ->group(group);
    }
  }
}

}  // namespace moe::cli
