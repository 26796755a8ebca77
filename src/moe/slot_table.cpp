// Expert -> slots tables and the replica choice.
#include "moe/slot_table.h"

#include <algorithm>

#include "core/error.h"

namespace moe {

SlotTable::SlotTable(const balance::LayerPlacement& layer, int64_t slots_per_rank, bool local_first)
    : slots_per_rank_(slots_per_rank), local_first_(local_first) {
  assign(layer);
}

void SlotTable::assign(const balance::LayerPlacement& layer) {
  phy2log_ = layer.phy2log;
  MOE_ASSERT(slots_per_rank_ >= 1 && n_slots() % slots_per_rank_ == 0);
  slots_.assign(layer.logcnt.size(), {});
  for (int64_t slot = 0; slot < n_slots(); ++slot) slots_[phy2log_[slot]].push_back(slot);
  for (const std::vector<int64_t>& expert_slots : slots_) MOE_ASSERT(!expert_slots.empty());
}

std::vector<int64_t> SlotTable::rank_experts(int rank) const {
  const auto first = phy2log_.begin() + rank * slots_per_rank_;
  return std::vector<int64_t>(first, first + slots_per_rank_);
}

int64_t SlotTable::slot_for(int64_t expert, int rank, int64_t token_idx) const {
  const std::vector<int64_t>& all = slots_[expert];
  if (all.size() == 1) return all[0];
  if (!local_first_) return all[token_idx % static_cast<int64_t>(all.size())];
  // The expert's slots on `rank` are a contiguous run of the ascending list.
  const auto local_begin = std::lower_bound(all.begin(), all.end(), rank * slots_per_rank_);
  const auto local_end = std::lower_bound(local_begin, all.end(), (rank + 1) * slots_per_rank_);
  const int64_t n_local = local_end - local_begin;
  if (n_local > 0) return *(local_begin + token_idx % n_local);
  return all[token_idx % static_cast<int64_t>(all.size())];
}

void SlotTable::to_slots(const Routing& routing, int rank, Routing& out) const {
  out.n_tokens = routing.n_tokens;
  out.top_k = routing.top_k;
  out.weights = routing.weights;
  out.expert_ids.resize(routing.expert_ids.size());
  for (size_t a = 0; a < routing.expert_ids.size(); ++a)
    out.expert_ids[a] =
        static_cast<int32_t>(slot_for(routing.expert_ids[a], rank, static_cast<int64_t>(a) / routing.top_k));
}

balance::LayerPlacement SlotTable::placement() const {
  return balance::layer_from_phy2log(phy2log_, static_cast<int64_t>(slots_.size()));
}

}  // namespace moe
