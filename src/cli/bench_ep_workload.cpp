// Option parsing and printing for the Wide-EP workload simulation (runtime/ep_workload.h).
#include "cli/bench_ep_workload.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace moe::cli {

void add_ep_workload_options(CLI::App* cmd, const std::shared_ptr<EpBenchOptions>& options) {
  const std::string group = "Wide-EP workload simulation (--ep-workload; no model)";
  runtime::EpWorkloadOptions& w = options->workload;
  cmd->add_option("--ep-workload", w.workload, "hot-expert, hot-rank, rotating or burst: synthetic routing")
      ->group(group);
  cmd->add_option("--ep-experts", w.experts, "Experts per layer")->capture_default_str()->group(group);
  cmd->add_option("--slots", w.slots, "Expert slots per layer (start: slot s holds expert s % --ep-experts)")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--ranks", w.ranks, "EP ranks")->capture_default_str()->group(group);
  cmd->add_option("--layers", w.layers, "MoE layers")->capture_default_str()->group(group);
  cmd->add_option("--steps", w.steps, "Decode steps")->capture_default_str()->group(group);
  cmd->add_option("--ep-tokens", w.tokens, "Tokens per step, all ranks together")->capture_default_str()->group(group);
  cmd->add_option("--top-k", w.top_k, "Experts per token")->capture_default_str()->group(group);
  cmd->add_option("--skew", w.skew, "Routing weight of a hot expert (others 1)")->capture_default_str()->group(group);
  cmd->add_option("--expert-hidden", w.hidden, "Hidden size of the expert whose cost is measured")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--expert-ffn", w.expert_ffn, "FFN size of that expert")->capture_default_str()->group(group);
  cmd->add_flag("--online-eplb", options->online, "Also run with online EPLB and print the speed-up")->group(group);
  cmd->add_option("--update-interval", w.update_interval, "Online: steps between re-plans")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--window-size", w.window_size, "Online: steps of statistics per re-plan")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--layer-updates-per-iter", w.layer_updates_per_iter, "Online: layers switched per step")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--policy", options->policy, "Online re-plan: global or budgeted")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--replica-routing", w.replica_routing, "local_first or spread: the replica a token goes to")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--link-gbps", w.link_gbps, "Online: GB/s of a layer move's weight transfers")
      ->capture_default_str()
      ->group(group);
}

void run_ep_workload_bench(const EpBenchOptions& options, bool json) {
  runtime::EpWorkloadOptions w = options.workload;
  MOE_CHECK(options.policy == "global" || options.policy == "budgeted", UsageError, "--policy: '", options.policy,
            "' is not global or budgeted");
  w.budgeted = options.policy == "budgeted";
  w.validate();
  ThreadPool pool(1);
  const runtime::ExpertCost cost = runtime::measure_expert_cost(w.hidden, w.expert_ffn, pool);
  std::vector<runtime::EpWorkloadResult> results = {runtime::simulate_ep_workload(w, cost, false)};
  if (options.online) results.push_back(runtime::simulate_ep_workload(w, cost, true));
  if (!json) {
    std::printf(
        "ep workload %s: %lld experts on %lld slots, %lld ranks, %lld layers, %lld steps x %lld tokens, "
        "top-%lld, %s, %s (simulated EP decode; expert cost measured: %.3f ms weights + %.4f ms per row, 1 thread)\n",
        w.workload.c_str(), static_cast<long long>(w.experts), static_cast<long long>(w.slots),
        static_cast<long long>(w.ranks), static_cast<long long>(w.layers), static_cast<long long>(w.steps),
        static_cast<long long>(w.tokens), static_cast<long long>(w.top_k), w.replica_routing.c_str(),
        options.policy.c_str(), cost.weight_s * 1e3, cost.row_s * 1e3);
    std::printf(
        "| balancer | max/mean per step | same, 2nd half | 2nd half summed | tokens/s | layer moves | "
        "bytes moved | stall s |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
  }
  for (const runtime::EpWorkloadResult& r : results) {
    const char* name = r.online ? "online" : "static";
    if (json) {
      const nlohmann::ordered_json row = {{"workload", w.workload},
                                          {"balancer", name},
                                          {"experts", w.experts},
                                          {"slots", w.slots},
                                          {"ranks", w.ranks},
                                          {"layers", w.layers},
                                          {"steps", w.steps},
                                          {"tokens", w.tokens},
                                          {"top_k", w.top_k},
                                          {"policy", options.policy},
                                          {"replica_routing", w.replica_routing},
                                          {"step_max_mean", r.step_max_mean},
                                          {"late_max_mean", r.late_max_mean},
                                          {"window_max_mean", r.window_max_mean},
                                          {"tokens_per_s", r.tokens_per_s},
                                          {"layer_moves", r.layer_moves},
                                          {"bytes_moved", r.bytes_moved},
                                          {"stall_s", r.stall_s},
                                          {"expert_weight_s", cost.weight_s},
                                          {"expert_row_s", cost.row_s}};
      std::puts(row.dump().c_str());
    } else {
      std::printf("| %s | %.3f | %.3f | %.3f | %.1f | %lld | %lld | %.3f |\n", name, r.step_max_mean, r.late_max_mean,
                  r.window_max_mean, r.tokens_per_s, static_cast<long long>(r.layer_moves),
                  static_cast<long long>(r.bytes_moved), r.stall_s);
    }
  }
  if (!json && options.online)
    std::printf("online / static tokens/s: %.2fx\n", results[1].tokens_per_s / results[0].tokens_per_s);
  std::fflush(stdout);
}

}  // namespace moe::cli
