// Parallel-layout options of the commands that open a session (cli/session_options.h): --config parallel.yaml plus one
// flag per key (TensorRT-LLM's names with dashes), flags overriding the file.
#pragma once

#include <map>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "parallel/parallel_config.h"

namespace moe::cli {

struct ParallelOptions {
  std::string config_file;
  std::map<std::string, std::string> overrides;  // yaml key -> flag value, in the order given
  // The file's layout with the flags applied.
  parallel::ParallelConfig resolve() const;
};

void add_parallel_options(CLI::App* cmd, const std::shared_ptr<ParallelOptions>& options);

}  // namespace moe::cli
