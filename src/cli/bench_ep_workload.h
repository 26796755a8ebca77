// `moe bench --ep-workload NAME`: the Wide-EP workload simulation's options and its report.
#pragma once

#include <memory>

#include <CLI/CLI.hpp>

#include "runtime/ep_workload.h"

namespace moe::cli {

struct EpBenchOptions {
  runtime::EpWorkloadOptions workload;
  bool online = false;
  std::string policy = "global";
};

// Adds --ep-workload and its options to `moe bench`.
void add_ep_workload_options(CLI::App* cmd, const std::shared_ptr<EpBenchOptions>& options);
// Prints the static run (and with --online-eplb the online run and the speed-up) as a table or
// one JSON object per run.
void run_ep_workload_bench(const EpBenchOptions& options, bool json);

}  // namespace moe::cli
