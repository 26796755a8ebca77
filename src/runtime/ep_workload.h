// Wide-EP workloads without a model, for `moe bench --ep-workload`: synthetic routing (a hot
// expert, a hot rank, a rotating hotspot, a burst) run through the real slot tables (replica
// choice) and the online balancer's re-plan (the same code as a serving run, with its sliding
// window, interval and layers per step). It is a simulation of EP decode steps, not an MPI run:
// ranks synchronise at every MoE layer, so a layer takes as long as its busiest rank, whose
// expert work is costed with the SwiGLU timings of one expert measured on this machine (weights
// read once per active slot, plus a cost per row); a layer move stalls the step by the bytes its
// busiest receiver takes over a link of the given bandwidth. All-to-all time is not modelled.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/thread_pool.h"

namespace moe::runtime {

struct EpWorkloadOptions {
  std::string workload;  // hot-expert, hot-rank, rotating, burst
  int64_t experts = 16, slots = 32, ranks = 4, layers = 4, top_k = 2;
  int64_t steps = 256;                       // decode steps
  int64_t tokens = 1024;                     // tokens per step, all ranks together (token t on rank t % ranks)
  double skew = 8;                           // routing weight of a hot expert relative to 1 for the others
  int64_t hidden = 1024, expert_ffn = 2816;  // the expert whose cost is measured (f32)
  // Online EPLB (the parallel YAML's moe_load_balancer keys).
  int64_t update_interval = 16, window_size = 32, layer_updates_per_iter = 1;
  bool budgeted = false;
  std::string replica_routing = "local_first";  // or spread (SlotTable)
  double link_gbps = 25;                        // weight transfer bandwidth of a layer move
  uint64_t seed = 1;
  // Throws UsageError naming the option (sizes, divisibility, a known workload).
  void validate() const;
};

// The workload names, for --help and errors.
const std::vector<std::string>& ep_workload_names();

// Seconds of one expert's SwiGLU on this machine: reading its weights once, and each row.
struct ExpertCost {
  double weight_s = 0;
  double row_s = 0;
};
ExpertCost measure_expert_cost(int64_t hidden, int64_t expert_ffn, ThreadPool& pool);

struct EpWorkloadResult {
  bool online = false;
  double step_max_mean = 0;    // mean over steps and layers of max / mean rank rows
  double late_max_mean = 0;    // the same over the second half of the steps
  double window_max_mean = 0;  // rows summed over the second half, then max / mean (mean over layers)
  double tokens_per_s = 0;     // modelled
  int64_t layer_moves = 0;
  int64_t bytes_moved = 0;  // all ranks together
  double stall_s = 0;       // modelled, included in tokens_per_s
};

// The same routing (same seed) without and with the online balancer.
EpWorkloadResult simulate_ep_workload(const EpWorkloadOptions& options, const ExpertCost& cost, bool online);

}  // namespace moe::runtime
