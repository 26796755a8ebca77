// OnlineBalancer: Wide-EP's online EPLB for one EP group. Every update_interval forward steps it
// sums the routing counts of the last window_size steps over the group, re-plans the placement
// (DeepSeek's global EPLB, or the budgeted re-plan that copies fewer experts) and then applies
// it layer by layer, layer_updates_per_iter layers after each step: the experts a rank newly
// holds are sent to it point to point by a rank that holds them (owned copies; ranks may be on
// different machines) into a spare buffer, in flight while the next step runs on the old
// placement (the transfers progress inside that step's MPI calls); after that step the layer's
// routing table and expert weights switch. Every rank of the group plans from the same reduced
// counts and switches after the same step, and outputs do not change (replicas hold the same
// bytes; experts are batch invariant).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "moe/balance/load_stats.h"
#include "moe/balance/placement.h"
#include "moe/expert_stats.h"
#include "moe/experts.h"
#include "moe/slot_table.h"
#include "parallel/communicator.h"

namespace moe::balance {

struct OnlineBalancerConfig {
  int64_t update_interval = 0;         // forward steps between re-plans (>= 1)
  int64_t window_size = 32;            // forward steps of statistics a re-plan uses
  int64_t layer_updates_per_iter = 1;  // layers switched after each step
  bool budgeted = false;               // rebalance_budgeted instead of DeepSeek's global EPLB
  int64_t expert_bytes = 0;            // one expert's weight bytes (the budgeted policy's unit)
};

// One layer switched on this rank: when, and the stall it cost.
struct LayerMove {
  int64_t step = 0;  // forward steps done when it switched
  int64_t layer = 0;
  int64_t slots_changed = 0;     // slots of the group whose expert changed
  int64_t bytes_sent = 0;        // by this rank
  int64_t bytes_received = 0;    // by this rank
  double seconds = 0;            // the stall on this rank: posting the transfers, then waiting for
                                 // what the step in between did not finish, and the switch
  double in_flight_seconds = 0;  // from posting to the switch (a step of generation overlapped)
};

// One re-plan from window loads: DeepSeek's global EPLB (or the budgeted walk from `current`),
// each layer's ranks and slots aligned to `current` so that experts stay where they are when
// they can, and the layers of [first_layer, end_layer) whose busiest rank gets >= 5 % lighter, listed
// round robin from start_layer (the order they switch in).
struct Replan {
  Placement target;
  std::vector<int64_t> layers;
};
Replan replan(const LoadMatrix& load, const Placement& current, const OnlineBalancerConfig& config, int64_t first_layer,
              int64_t end_layer, int64_t start_layer);

// Experts each rank must receive to go from `before` to `after` (one copy per rank and expert).
std::vector<int64_t> experts_to_receive(const LayerPlacement& before, const LayerPlacement& after, int n_ranks);

class OnlineBalancer {
 public:
  // `initial`: the placement in service (validated, ranks = ep.size()); layers [first_layer,
  // end_layer) are this pipeline stage's.
  OnlineBalancer(const OnlineBalancerConfig& config, parallel::Communicator& ep, Placement initial, int64_t first_layer,
                 int64_t end_layer);

  // After each forward step, on every rank of the group (collective). `stats` holds this rank's
  // routing counts; tables and experts are the layers' (indexed by layer) and are replaced in
  // place when a layer switches. The communicator must outlive the balancer (transfers still in
  // flight at its end are completed, not switched).
  void end_step(const ExpertStats& stats, std::vector<SlotTable>& tables,
                std::vector<std::unique_ptr<Experts>>& experts);

  const Placement& placement() const { return current_; }
  const std::vector<LayerMove>& moves() const { return moves_; }
  // Re-plans made, and the layers they left as they were because the move would not make the
  // busiest rank >= 5 % lighter.
  int64_t replans() const { return replans_; }
  int64_t layers_skipped() const { return layers_skipped_; }

 private:
  // A layer move whose transfers are in flight.
  struct InFlight {
    int64_t layer = 0;
    LayerPlacement after;
    LayerMove move;
    std::chrono::steady_clock::time_point posted;
    std::vector<std::vector<std::byte>> sending;         // packed copies of the experts sent
    std::map<int64_t, std::vector<std::byte>> arriving;  // expert -> its weights (the spare buffer)
    parallel::Communicator::Pending transfers;
  };
  void plan();
  void start_move(int64_t layer, const std::vector<std::unique_ptr<Experts>>& experts);
  void finish_moves(std::vector<SlotTable>& tables, std::vector<std::unique_ptr<Experts>>& experts);

  OnlineBalancerConfig config_;
  parallel::Communicator& ep_;
  Placement current_, target_;
  int64_t first_layer_, end_layer_;
  int64_t next_layer_;  // where the next re-plan starts its round of layers
  int64_t steps_ = 0;
  std::vector<double> last_totals_;         // [layer * E] this rank's counts at the last step
  std::deque<std::vector<double>> window_;  // per step [layer * E] counts, newest last
  std::deque<int64_t> pending_;             // layers whose target differs, in switch order
  std::deque<InFlight> in_flight_;          // posted after the last step, switched after the next
  std::vector<LayerMove> moves_;
  int64_t replans_ = 0;
  int64_t layers_skipped_ = 0;
};

}  // namespace moe::balance
