// The options of the commands that open a session (`moe run`, `moe eval`): the model, threads per
// rank, the KV cache dtype and pool, --record-stats and the parallel layout; and what they do at
// the end.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/parallel_options.h"
#include "runtime/session.h"

namespace moe::cli {

struct SessionCliOptions {
  std::string model;
  int threads = 0;
  std::string kv_dtype = "f32";
  std::optional<int64_t> kv_blocks;
  std::optional<double> kv_cache_gib;
  bool no_prefix_cache = false;
  std::string stats_file;
  std::shared_ptr<ParallelOptions> layout = std::make_shared<ParallelOptions>();

  // Throws UsageError / ConfigError naming the flag (before anything is loaded).
  runtime::SessionOptions resolve() const;
};

void add_session_options(CLI::App* cmd, SessionCliOptions& options);

// After the requests (collective): writes the --record-stats file and returns the --profile
// report (phases, and the online balancer's moves), which rank 0 prints.
std::string finish_session(runtime::Session& session, const SessionCliOptions& options,
                           const runtime::SessionOptions& resolved);

}  // namespace moe::cli
