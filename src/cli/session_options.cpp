// Registers the session options and writes what a session leaves behind.
#include "cli/session_options.h"

#include "cli/commands.h"
#include "runtime/profile_report.h"
#include "runtime/stats_file.h"

namespace moe::cli {

runtime::SessionOptions SessionCliOptions::resolve() const {
  runtime::SessionOptions options;
  options.model = model;
  options.parallel = layout->resolve();
  options.threads = threads;
  options.kv_dtype = kernels::kv_dtype_from_name(kv_dtype, "--kv-dtype");
  options.kv_blocks = kv_blocks;
  options.kv_cache_gib = kv_cache_gib;
  options.prefix_cache = !no_prefix_cache;
  return options;
}

namespace {

// --kv-blocks, --kv-cache-gib and --no-prefix-cache.
void add_kv_pool_options(CLI::App* cmd, std::optional<int64_t>& kv_blocks, std::optional<double>& kv_cache_gib,
                         bool& no_prefix_cache) {
  auto* blocks = cmd->add_option("--kv-blocks", kv_blocks,
                                 "KV cache pool per rank, in blocks of 64 positions (default: grow so that every "
                                 "request fits whole)");
  cmd->add_option("--kv-cache-gib", kv_cache_gib, "KV cache pool per rank in GiB (instead of --kv-blocks)")
      ->excludes(blocks);
  cmd->add_flag("--no-prefix-cache", no_prefix_cache, "Do not reuse the cached KV blocks of a repeated prompt prefix");
}

}  // namespace

void add_session_options(CLI::App* cmd, SessionCliOptions& options) {
  cmd->add_option("-m,--model", options.model, kModelPathHelp)->required();
  cmd->add_option("-t,--threads", options.threads, "Threads per rank (default: cores / ranks)");
  cmd->add_option("--kv-dtype", options.kv_dtype,
                  "KV cache storage: f32, f16, int8 or fp8 (e4m3; per-head absmax scale)")
      ->capture_default_str();
  add_kv_pool_options(cmd, options.kv_blocks, options.kv_cache_gib, options.no_prefix_cache);
  cmd->add_option("--record-stats", options.stats_file,
                  "Write per-layer expert statistics (JSON) for moe stats / moe eplb");
  add_parallel_options(cmd, options.layout);
}

std::string finish_session(runtime::Session& session, const SessionCliOptions& options,
                           const runtime::SessionOptions& resolved) {
  parallel::Communicator& world = session.world();
  model::Transformer& transformer = session.transformer();
  if (!options.stats_file.empty())
    runtime::write_stats_file(world, session.mapping(), transformer.expert_stats(), session.model().config.hidden_size,
                              options.model, options.stats_file);
  std::string report = runtime::run_report(world, transformer.phase_times(), resolved.parallel.profile);
  if (resolved.parallel.profile) report += runtime::balancer_report(world, transformer.online_balancer());
  return report;
}

}  // namespace moe::cli
