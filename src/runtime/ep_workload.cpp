// Synthetic EP routing through the slot tables and the online re-plan, costed per rank.
#include "runtime/ep_workload.h"

#include <algorithm>
#include <chrono>
#include <deque>

#include "core/error.h"
#include "core/random.h"
#include "moe/balance/online_balancer.h"
#include "moe/experts.h"
#include "moe/slot_table.h"

namespace moe::runtime {

namespace {

// Routing weight of each expert at one step and layer: 1, except the workload's hot experts.
std::vector<double> expert_weights(const EpWorkloadOptions& o, int64_t step, int64_t layer) {
  std::vector<double> weight(o.experts, 1.0);
  if (o.workload == "hot-expert") {
    weight[layer % o.experts] = o.skew;
  } else if (o.workload == "hot-rank") {  // the experts rank 0 starts with (slot s holds s % E)
    for (int64_t slot = 0; slot < o.slots / o.ranks; ++slot) weight[slot % o.experts] = o.skew / 2;
  } else if (o.workload == "rotating") {  // the hot expert moves 8 times over the run
    weight[(step * 8 / o.steps + layer) % o.experts] = o.skew;
  } else {  // burst: two experts flare up for an eighth of the run, from its middle
    if (step >= o.steps / 2 && step < o.steps / 2 + std::max<int64_t>(1, o.steps / 8)) {
      weight[0] = 2 * o.skew;
      weight[1 % o.experts] = 2 * o.skew;
    }
  }
  return weight;
}

// top_k distinct experts drawn by weight without replacement.
void draw_experts(Rng& rng, std::vector<double> weight, int64_t top_k, std::vector<int64_t>& chosen) {
  chosen.clear();
  for (int64_t j = 0; j < top_k; ++j) {
    double total = 0;
    for (double w : weight) total += w;
    double point = rng.uniform() * total;
    int64_t expert = 0;
    while (expert + 1 < static_cast<int64_t>(weight.size()) && (weight[expert] == 0 || point >= weight[expert])) {
      point -= weight[expert];
      ++expert;
    }
    chosen.push_back(expert);
    weight[expert] = 0;
  }
}

double max_over_mean(const std::vector<double>& values) {
  double max = 0, sum = 0;
  for (double v : values) {
    max = std::max(max, v);
    sum += v;
  }
  return sum > 0 ? max * static_cast<double>(values.size()) / sum : 1.0;
}

}  // namespace

const std::vector<std::string>& ep_workload_names() {
  static const std::vector<std::string> names = {"hot-expert", "hot-rank", "rotating", "burst"};
  return names;
}

void EpWorkloadOptions::validate() const {
  const auto& names = ep_workload_names();
  MOE_CHECK(std::find(names.begin(), names.end(), workload) != names.end(), UsageError, "--ep-workload: '", workload,
            "' is not one of hot-expert, hot-rank, rotating, burst");
  for (const auto& [option, value] : {std::pair{"--ep-experts", experts},
                                      {"--ranks", ranks},
                                      {"--layers", layers},
                                      {"--steps", steps},
                                      {"--top-k", top_k},
                                      {"--expert-hidden", hidden},
                                      {"--expert-ffn", expert_ffn},
                                      {"--update-interval", update_interval},
                                      {"--window-size", window_size},
                                      {"--layer-updates-per-iter", layer_updates_per_iter}})
    MOE_CHECK(value >= 1, UsageError, option, ": must be >= 1, got ", value);
  MOE_CHECK(replica_routing == "local_first" || replica_routing == "spread", UsageError, "--replica-routing: '",
            replica_routing, "' is not local_first or spread");
  MOE_CHECK(top_k <= experts, UsageError, "--top-k: ", top_k, " exceeds --ep-experts ", experts);
  MOE_CHECK(slots >= experts, UsageError, "--slots: ", slots, " is less than --ep-experts ", experts);
  MOE_CHECK(slots % ranks == 0, UsageError, "--slots: ", slots, " is not divisible by --ranks ", ranks);
  MOE_CHECK(tokens >= ranks, UsageError, "--ep-tokens: ", tokens, " is fewer than --ranks ", ranks);
  MOE_CHECK(skew > 0 && link_gbps > 0, UsageError, "--skew and --link-gbps must be > 0");
}

ExpertCost measure_expert_cost(int64_t hidden, int64_t expert_ffn, ThreadPool& pool) {
  Rng rng(7);
  auto random_matrix = [&rng](int64_t rows, int64_t cols) {
    std::vector<float> values(rows * cols);
    for (float& v : values) v = static_cast<float>(rng.normal() * 0.05);
    return Tensor::from_f32({rows, cols}, values);
  };
  const ExpertWeights expert{random_matrix(expert_ffn, hidden), random_matrix(expert_ffn, hidden),
                             random_matrix(hidden, expert_ffn)};
  constexpr int64_t kRows = 64;
  std::vector<float> x(kRows * hidden, 0.5f), out(kRows * hidden), gate, up;
  // Median of 5 runs for 1 row and for kRows rows: weights once, plus a cost per row.
  auto seconds = [&](int64_t rows) {
    std::vector<double> samples;
    for (int run = 0; run < 6; ++run) {
      const auto start = std::chrono::steady_clock::now();
      swiglu_ffn(expert, x.data(), rows, out.data(), gate, up, &pool);
      if (run > 0) samples.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
  };
  const double one = seconds(1), many = seconds(kRows);
  ExpertCost cost;
  cost.row_s = std::max(0.0, (many - one) / (kRows - 1));
  cost.weight_s = std::max(0.0, one - cost.row_s);
  return cost;
}

EpWorkloadResult simulate_ep_workload(const EpWorkloadOptions& o, const ExpertCost& cost, bool online) {
  const int n_ranks = static_cast<int>(o.ranks);
  const int64_t per_rank = o.slots / o.ranks, expert_bytes = 3 * o.hidden * o.expert_ffn * 4;
  balance::Placement placement = balance::identity_placement(o.layers, o.experts, o.slots, o.ranks);
  std::vector<SlotTable> tables;
  for (const balance::LayerPlacement& layer : placement.layers)
    tables.emplace_back(layer, per_rank, o.replica_routing == "local_first");
  balance::OnlineBalancerConfig config;
  config.update_interval = o.update_interval;
  config.window_size = o.window_size;
  config.layer_updates_per_iter = o.layer_updates_per_iter;
  config.budgeted = o.budgeted;
  config.expert_bytes = expert_bytes;

  Rng rng(o.seed);
  EpWorkloadResult result;
  result.online = online;
  std::deque<std::vector<double>> window;
  std::deque<int64_t> pending;
  balance::Placement target;
  int64_t next_layer = 0;
  double seconds = 0, step_ratio_sum = 0, late_ratio_sum = 0;
  std::vector<std::vector<double>> late_rows(o.layers, std::vector<double>(n_ranks, 0.0));
  std::vector<int64_t> chosen;
  const int64_t late_from = o.steps / 2;
  for (int64_t step = 0; step < o.steps; ++step) {
    std::vector<double> counts(o.layers * o.experts, 0.0);
    for (int64_t layer = 0; layer < o.layers; ++layer) {
      const std::vector<double> weight = expert_weights(o, step, layer);
      std::vector<int64_t> slot_rows(o.slots, 0);
      for (int64_t token = 0; token < o.tokens; ++token) {
        draw_experts(rng, weight, o.top_k, chosen);
        for (int64_t expert : chosen) {
          ++counts[layer * o.experts + expert];
          ++slot_rows[tables[layer].slot_for(expert, static_cast<int>(token % o.ranks), token / o.ranks)];
        }
      }
      std::vector<double> rank_rows(n_ranks, 0.0);
      double layer_s = 0;
      for (int rank = 0; rank < n_ranks; ++rank) {
        double rank_s = 0;
        for (int64_t slot = rank * per_rank; slot < (rank + 1) * per_rank; ++slot) {
          if (slot_rows[slot] == 0) continue;
          rank_s += cost.weight_s + static_cast<double>(slot_rows[slot]) * cost.row_s;
          rank_rows[rank] += static_cast<double>(slot_rows[slot]);
        }
        layer_s = std::max(layer_s, rank_s);
        if (step >= late_from) late_rows[layer][rank] += rank_rows[rank];
      }
      seconds += layer_s;
      step_ratio_sum += max_over_mean(rank_rows);
      if (step >= late_from) late_ratio_sum += max_over_mean(rank_rows);
    }
    if (!online) continue;
    window.push_back(std::move(counts));
    if (static_cast<int64_t>(window.size()) > o.window_size) window.pop_front();
    if ((step + 1) % o.update_interval == 0) {
      balance::LoadMatrix load{o.layers, o.experts, std::vector<double>(o.layers * o.experts, 0.0)};
      for (const std::vector<double>& past : window)
        for (size_t i = 0; i < past.size(); ++i) load.values[i] += past[i];
      balance::Replan next = balance::replan(load, placement, config, 0, o.layers, next_layer);
      target = std::move(next.target);
      pending.assign(next.layers.begin(), next.layers.end());
    }
    for (int64_t i = 0; i < o.layer_updates_per_iter && !pending.empty(); ++i) {
      const int64_t layer = pending.front();
      pending.pop_front();
      const std::vector<int64_t> received =
          balance::experts_to_receive(placement.layers[layer], target.layers[layer], n_ranks);
      int64_t most = 0;
      for (int64_t n : received) {
        result.bytes_moved += n * expert_bytes;
        most = std::max(most, n);
      }
      const double stall = static_cast<double>(most * expert_bytes) / (o.link_gbps * 1e9);
      result.stall_s += stall;
      seconds += stall;
      ++result.layer_moves;
      placement.layers[layer] = target.layers[layer];
      tables[layer].assign(placement.layers[layer]);
      next_layer = (layer + 1) % o.layers;
    }
  }
  result.step_max_mean = step_ratio_sum / static_cast<double>(o.steps * o.layers);
  result.late_max_mean = late_ratio_sum / static_cast<double>((o.steps - late_from) * o.layers);
  for (const std::vector<double>& rows : late_rows) result.window_max_mean += max_over_mean(rows) / o.layers;
  result.tokens_per_s = static_cast<double>(o.steps * o.tokens) / seconds;
  return result;
}

}  // namespace moe::runtime
