// SlotTable: one MoE layer's routing table for Wide-EP. Each expert's slots (a slot is a place on
// an EP rank holding one expert's weights; slot s lives on rank s / slots_per_rank), and the rule
// that picks one replica for each (token, expert) assignment: local first (a replica on the
// sender's own rank when it holds one, else any replica), or spread (any replica), chosen among
// several by the token's index. Replicas hold the same bytes and experts are batch invariant, so
// any choice gives the same output bits. Local first saves all-to-all traffic; spread gives each
// replica an equal share, the load model EPLB packs ranks with.
#pragma once

#include <cstdint>
#include <vector>

#include "moe/balance/placement.h"
#include "moe/router.h"

namespace moe {

class SlotTable {
 public:
  // layer: a validated placement of one layer; slots_per_rank must divide its slot count.
  SlotTable(const balance::LayerPlacement& layer, int64_t slots_per_rank, bool local_first = true);
  // Another placement of the layer (same slot count), keeping the replica rule.
  void assign(const balance::LayerPlacement& layer);

  int64_t n_slots() const { return static_cast<int64_t>(phy2log_.size()); }
  int64_t slots_per_rank() const { return slots_per_rank_; }
  // Slots holding `expert`, ascending.
  const std::vector<int64_t>& slots(int64_t expert) const { return slots_[expert]; }
  // The expert each slot of `rank` holds, in slot order (the weights that rank binds).
  std::vector<int64_t> rank_experts(int rank) const;
  // The slot serving the token_idx-th token a sender on `rank` routes to `expert`: among the
  // expert's slots on `rank` if any (local first), else among all its slots, the
  // (token_idx % count)-th.
  int64_t slot_for(int64_t expert, int rank, int64_t token_idx) const;
  // `routing` with every expert id replaced by its slot (weights and k order kept), for the
  // tokens of a sender on `rank`; token t of routing has index t.
  void to_slots(const Routing& routing, int rank, Routing& out) const;
  // The table as placement tables (log2phy in slot order), for round trips and reports.
  balance::LayerPlacement placement() const;

 private:
  std::vector<int64_t> phy2log_;
  int64_t slots_per_rank_;
  bool local_first_;
  std::vector<std::vector<int64_t>> slots_;  // [expert] its slots, ascending
};

}  // namespace moe
