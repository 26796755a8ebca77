// Online re-planning from a sliding window, and layer moves by point-to-point transfers.
#include "moe/balance/online_balancer.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <tuple>

#include "core/error.h"
#include "kernels/matmul/matmul_panels.h"
#include "moe/balance/budgeted.h"
#include "moe/balance/eplb.h"
#include "parallel/fault_injection.h"

namespace moe::balance {

namespace {

constexpr double kMinGain = 0.05;  // smallest drop of the busiest rank's load that justifies a move

int64_t weight_bytes(const ExpertWeights& w) { return w.gate.nbytes() + w.up.nbytes() + w.down.nbytes(); }

// An expert's three matrices, back to back.
std::vector<std::byte> pack(const ExpertWeights& w) {
  std::vector<std::byte> buffer(weight_bytes(w));
  std::byte* out = buffer.data();
  for (const Tensor* t : {&w.gate, &w.up, &w.down}) {
    std::memcpy(out, t->data(), t->nbytes());
    out += t->nbytes();
  }
  return buffer;
}

// Owned copies with the dtypes and shapes of `like` (every expert of a layer has the same), in
// matmul panels where the kernels read them, as the loaded weights are.
ExpertWeights unpack(const std::vector<std::byte>& buffer, const ExpertWeights& like) {
  const std::byte* in = buffer.data();
  auto take = [&in](const Tensor& t) {
    std::vector<std::byte> bytes(in, in + t.nbytes());
    in += t.nbytes();
    return kernels::with_matmul_panels(Tensor::from_bytes(t.dtype(), t.shape(), std::move(bytes)), nullptr);
  };
  ExpertWeights w;
  w.gate = take(like.gate);
  w.up = take(like.up);
  w.down = take(like.down);
  return w;
}

// Position of `expert` among `rank`'s slots in `layer`, or -1.
int64_t local_slot(const LayerPlacement& layer, int64_t slots_per_rank, int rank, int64_t expert) {
  for (int64_t i = 0; i < slots_per_rank; ++i)
    if (layer.phy2log[rank * slots_per_rank + i] == expert) return i;
  return -1;
}

// `target` with its ranks renumbered and each rank's slots reordered to keep as many experts as
// possible where `current` has them: the same rank loads, fewer weight copies. Ranks pair up
// greedily by the largest overlap of their expert multisets (ties: lowest ranks).
std::vector<int64_t> align(const LayerPlacement& current, const LayerPlacement& target, int64_t n_experts, int n_ranks,
                           int64_t per_rank) {
  auto counts = [&](const LayerPlacement& layer, int rank) {
    std::vector<int64_t> count(n_experts, 0);
    for (int64_t i = 0; i < per_rank; ++i) ++count[layer.phy2log[rank * per_rank + i]];
    return count;
  };
  std::vector<std::vector<int64_t>> held(n_ranks), wanted(n_ranks);
  for (int rank = 0; rank < n_ranks; ++rank) {
    held[rank] = counts(current, rank);
    wanted[rank] = counts(target, rank);
  }
  std::vector<int> group_of(n_ranks, -1);  // physical rank -> target rank group
  std::vector<bool> taken(n_ranks, false);
  for (int round = 0; round < n_ranks; ++round) {
    int64_t best = -1;
    int best_rank = 0, best_group = 0;
    for (int rank = 0; rank < n_ranks; ++rank) {
      if (group_of[rank] >= 0) continue;
      for (int group = 0; group < n_ranks; ++group) {
        if (taken[group]) continue;
        int64_t overlap = 0;
        for (int64_t e = 0; e < n_experts; ++e) overlap += std::min(held[rank][e], wanted[group][e]);
        if (overlap > best) std::tie(best, best_rank, best_group) = std::tuple(overlap, rank, group);
      }
    }
    group_of[best_rank] = best_group;
    taken[best_group] = true;
  }
  std::vector<int64_t> phy2log(current.phy2log.size(), -1);
  for (int rank = 0; rank < n_ranks; ++rank) {
    std::vector<int64_t> left = wanted[group_of[rank]];
    const int64_t first = rank * per_rank;
    for (int64_t slot = first; slot < first + per_rank; ++slot)  // keep experts in place
      if (left[current.phy2log[slot]] > 0) {
        phy2log[slot] = current.phy2log[slot];
        --left[phy2log[slot]];
      }
    int64_t expert = 0;
    for (int64_t slot = first; slot < first + per_rank; ++slot) {  // the rest in expert order
      if (phy2log[slot] >= 0) continue;
      while (left[expert] == 0) ++expert;
      phy2log[slot] = expert;
      --left[expert];
    }
  }
  return phy2log;
}

double max_load(const Placement& placement, int64_t layer, std::span<const double> load) {
  double max = 0;
  for (double rank_load : rank_loads(placement, layer, load)) max = std::max(max, rank_load);
  return max;
}

}  // namespace

Replan replan(const LoadMatrix& load, const Placement& current, const OnlineBalancerConfig& config, int64_t first_layer,
              int64_t end_layer, int64_t start_layer) {
  Replan result;
  double total = 0;
  for (double value : load.values) total += value;
  if (total == 0) return result;
  if (config.budgeted) {
    BudgetedConfig budget;
    budget.expert_bytes = config.expert_bytes;
    result.target = rebalance_budgeted(load, current, budget).placement;
  } else {
    EplbConfig eplb;
    eplb.num_slots = current.num_slots;
    eplb.ranks = current.ranks;
    result.target = rebalance_experts(load, eplb, EplbPolicy::kGlobal);
  }
  // Only layers whose busiest rank gets lighter by kMinGain are worth their weight copies: below
  // that, window noise would move experts back and forth.
  const int64_t n_stage = end_layer - first_layer;
  for (int64_t i = 0; i < n_stage; ++i) {
    const int64_t layer = first_layer + (start_layer - first_layer + i) % n_stage;
    LayerPlacement& target = result.target.layers[layer];
    target = layer_from_phy2log(align(current.layers[layer], target, current.num_experts,
                                      static_cast<int>(current.ranks), current.slots_per_rank()),
                                current.num_experts);
    if (target.phy2log != current.layers[layer].phy2log &&
        max_load(result.target, layer, load.layer(layer)) <
            (1 - kMinGain) * max_load(current, layer, load.layer(layer)))
      result.layers.push_back(layer);
  }
  return result;
}

std::vector<int64_t> experts_to_receive(const LayerPlacement& before, const LayerPlacement& after, int n_ranks) {
  const int64_t per_rank = static_cast<int64_t>(before.phy2log.size()) / n_ranks;
  std::vector<int64_t> received(n_ranks, 0);
  for (int rank = 0; rank < n_ranks; ++rank) {
    std::vector<int64_t> seen;
    for (int64_t i = 0; i < per_rank; ++i) {
      const int64_t expert = after.phy2log[rank * per_rank + i];
      if (local_slot(before, per_rank, rank, expert) >= 0 || std::count(seen.begin(), seen.end(), expert)) continue;
      seen.push_back(expert);
      ++received[rank];
    }
  }
  return received;
}

OnlineBalancer::OnlineBalancer(const OnlineBalancerConfig& config, parallel::Communicator& ep, Placement initial,
                               int64_t first_layer, int64_t end_layer)
    : config_(config),
      ep_(ep),
      current_(std::move(initial)),
      first_layer_(first_layer),
      end_layer_(end_layer),
      next_layer_(first_layer) {
  MOE_ASSERT(config.update_interval >= 1 && config.window_size >= 1 && config.layer_updates_per_iter >= 1);
  MOE_ASSERT(current_.ranks == ep.size());
}

void OnlineBalancer::end_step(const ExpertStats& stats, std::vector<SlotTable>& tables,
                              std::vector<std::unique_ptr<Experts>>& experts) {
  ++steps_;
  const int64_t n_experts = current_.num_experts, n_layers = stats.n_layers();
  last_totals_.resize(n_layers * n_experts, 0.0);
  std::vector<double> step(n_layers * n_experts);
  for (int64_t layer = 0; layer < n_layers; ++layer)
    for (int64_t expert = 0; expert < n_experts; ++expert) {
      double& last = last_totals_[layer * n_experts + expert];
      step[layer * n_experts + expert] = stats.tokens()[layer][expert] - last;
      last = stats.tokens()[layer][expert];
    }
  window_.push_back(std::move(step));
  if (static_cast<int64_t>(window_.size()) > config_.window_size) window_.pop_front();
  // The moves posted after the previous step switch now, between two steps, on every rank alike.
  finish_moves(tables, experts);
  if (steps_ % config_.update_interval == 0) plan();
  for (int64_t i = 0; i < config_.layer_updates_per_iter && !pending_.empty(); ++i) {
    start_move(pending_.front(), experts);
    pending_.pop_front();
  }
}

void OnlineBalancer::plan() {
  LoadMatrix load;
  load.n_layers = static_cast<int64_t>(current_.layers.size());
  load.n_experts = current_.num_experts;
  load.values.assign(load.n_layers * load.n_experts, 0.0);
  for (const std::vector<double>& step : window_)
    for (size_t i = 0; i < step.size(); ++i) load.values[i] += step[i];
  // Integer counts summed in doubles: the same exact totals on every rank, hence the same plan.
  if (ep_.size() > 1) ep_.allreduce_sum(load.values.data(), static_cast<int64_t>(load.values.size()));
  Replan next = replan(load, current_, config_, first_layer_, end_layer_, next_layer_);
  target_ = std::move(next.target);
  pending_.assign(next.layers.begin(), next.layers.end());
  ++replans_;
  layers_skipped_ += end_layer_ - first_layer_ - static_cast<int64_t>(next.layers.size());
}

void OnlineBalancer::start_move(int64_t layer, const std::vector<std::unique_ptr<Experts>>& experts) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const LayerPlacement& before = current_.layers[layer];
  InFlight& flight = in_flight_.emplace_back();
  flight.layer = layer;
  flight.after = target_.layers[layer];
  const LayerPlacement& after = flight.after;
  const int64_t per_rank = current_.slots_per_rank();
  const int n_ranks = static_cast<int>(current_.ranks), me = ep_.rank();
  // Every rank lists the same transfers in the same order: each expert a rank newly holds comes
  // once from the rank of its lowest slot before the move. Posting them in that order on every
  // rank matches each send with its receive.
  struct Transfer {
    int to, from;
    int64_t expert;
  };
  std::vector<Transfer> transfers;
  for (int to = 0; to < n_ranks; ++to)
    for (int64_t i = 0; i < per_rank; ++i) {
      const int64_t expert = after.phy2log[to * per_rank + i];
      if (local_slot(before, per_rank, to, expert) >= 0) continue;
      bool listed = false;
      for (const Transfer& t : transfers) listed = listed || (t.to == to && t.expert == expert);
      if (listed) continue;
      int64_t source_slot = 0;
      while (before.phy2log[source_slot] != expert) ++source_slot;
      transfers.push_back({to, current_.rank_of_slot(source_slot), expert});
    }

  const Experts& old = *experts[layer];
  LayerMove& move = flight.move;
  move.layer = layer;
  move.slots_changed = changed_slots(before, after);
  const int64_t bytes = weight_bytes(old.expert(0));
  for (const Transfer& t : transfers) {
    if (t.from == me) {
      const ExpertWeights& weights = old.expert(local_slot(before, per_rank, me, t.expert));
      const std::vector<std::byte>& buffer = flight.sending.emplace_back(pack(weights));
      ep_.isend(buffer.data(), static_cast<int64_t>(buffer.size()), t.to, parallel::MessageTag::kExpertWeights,
                flight.transfers);
      move.bytes_sent += weight_bytes(weights);
    } else if (t.to == me) {
      std::vector<std::byte>& buffer = flight.arriving[t.expert];
      buffer.resize(bytes);
      ep_.irecv(buffer.data(), bytes, t.from, parallel::MessageTag::kExpertWeights, flight.transfers);
      move.bytes_received += bytes;
    }
  }
  parallel::fault_point("eplb_move");  // a testing hook (MOE_FAULT_AT); nothing when unset
  flight.posted = Clock::now();
  move.seconds = std::chrono::duration<double>(flight.posted - start).count();
}

void OnlineBalancer::finish_moves(std::vector<SlotTable>& tables, std::vector<std::unique_ptr<Experts>>& experts) {
  using Clock = std::chrono::steady_clock;
  for (; !in_flight_.empty(); in_flight_.pop_front()) {
    InFlight& flight = in_flight_.front();
    const auto start = Clock::now();
    ep_.wait_all(flight.transfers);
    const int64_t layer = flight.layer, per_rank = current_.slots_per_rank();
    const LayerPlacement& before = current_.layers[layer];
    const int me = ep_.rank();
    const Experts& old = *experts[layer];
    std::vector<ExpertWeights> bound;
    for (int64_t i = 0; i < per_rank; ++i) {
      const int64_t expert = flight.after.phy2log[me * per_rank + i];
      const int64_t held = local_slot(before, per_rank, me, expert);
      bound.push_back(held >= 0 ? old.expert(held) : unpack(flight.arriving.at(expert), old.expert(0)));
    }
    experts[layer] = std::make_unique<Experts>(std::move(bound));
    tables[layer].assign(flight.after);
    current_.layers[layer] = flight.after;
    pad_log2phy(current_);
    next_layer_ = layer + 1 == end_layer_ ? first_layer_ : layer + 1;
    const auto end = Clock::now();
    flight.move.step = steps_;
    flight.move.seconds += std::chrono::duration<double>(end - start).count();
    flight.move.in_flight_seconds = std::chrono::duration<double>(end - flight.posted).count();
    moves_.push_back(flight.move);
  }
}

}  // namespace moe::balance
