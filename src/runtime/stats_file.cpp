// Stats gathering (sums of double arrays over the world) and imbalance metrics.
#include "runtime/stats_file.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>
#include "core/error.h"

#include "core/output_file.h"

namespace moe::runtime {

namespace {

std::vector<double> flatten(const std::vector<std::vector<double>>& matrix, size_t cols) {
  std::vector<double> flat;
  for (const auto& row : matrix) {
    flat.insert(flat.end(), row.begin(), row.end());
    flat.resize(flat.size() + cols - row.size(), 0.0);
  }
  return flat;
}

nlohmann::json matrix_json(const std::vector<double>& flat, size_t rows, size_t cols) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t r = 0; r < rows; ++r)
    out.push_back(std::vector<double>(flat.begin() + r * cols, flat.begin() + (r + 1) * cols));
  return out;
}

}  // namespace

GatheredStats gather_stats(parallel::Communicator& world, const parallel::Mapping& mapping, const ExpertStats& stats,
                           int64_t hidden_size) {
  GatheredStats out;
  const size_t L = stats.n_layers(), E = stats.n_experts();
  const size_t R = world.size(), P = mapping.moe_ep;
  out.layers = static_cast<int64_t>(L);
  out.experts = static_cast<int64_t>(E);
  out.ranks = static_cast<int64_t>(R);
  out.ep = static_cast<int64_t>(P);
  out.steps = stats.steps();
  out.window_steps = stats.window_steps();
  // Ranks of a moe_tp group route the same tokens: only the first counts them.
  const double weight = mapping.moe_tp_rank == 0 ? 1.0 : 0.0;
  out.tokens = flatten(stats.tokens(), E);
  out.prob_mass = flatten(stats.prob_mass(), E);
  out.windows = world.size() > 1 ? world.allreduce_max(static_cast<int64_t>(stats.window_tokens().size()))
                                 : static_cast<int64_t>(stats.window_tokens().size());
  out.window_tokens.assign(out.windows * L * E, 0.0);
  for (size_t w = 0; w < stats.window_tokens().size(); ++w) {
    const std::vector<double> flat = flatten(stats.window_tokens()[w], E);
    std::copy(flat.begin(), flat.end(), out.window_tokens.begin() + w * L * E);
  }
  // Rows each world rank received per layer, and bytes it received from each EP peer.
  out.rows_received.assign(L * R, 0.0);
  out.dispatches.assign(L * R, 0.0);
  out.bytes_received.assign(R * P, 0.0);
  for (size_t layer = 0; layer < L; ++layer) {
    const std::vector<double>& received = stats.rows_received()[layer];
    if (!received.empty()) out.dispatches[layer * R + world.rank()] = 1;
    for (size_t peer = 0; peer < received.size(); ++peer) {
      out.rows_received[layer * R + world.rank()] += received[peer];
      out.bytes_received[world.rank() * P + peer] += received[peer] * hidden_size * sizeof(float);
    }
  }
  for (std::vector<double>* values : {&out.tokens, &out.prob_mass, &out.window_tokens})
    for (double& v : *values) v *= weight;
  if (world.size() > 1)
    for (std::vector<double>* values :
         {&out.tokens, &out.prob_mass, &out.window_tokens, &out.rows_received, &out.bytes_received, &out.dispatches})
      world.allreduce_sum(values->data(), static_cast<int64_t>(values->size()));
  return out;
}

std::string stats_json(const GatheredStats& stats, const std::string& model) {
  const size_t L = stats.layers, E = stats.experts;
  nlohmann::ordered_json out;
  out["format"] = "moe.cpp expert statistics v1";
  out["model"] = model;
  out["layers"] = L;
  out["experts"] = E;
  out["steps"] = stats.steps;
  out["window_steps"] = stats.window_steps;
  out["moe_expert_parallel_size"] = stats.ep;
  out["expert_tokens"] = matrix_json(stats.tokens, L, E);
  out["expert_prob_mass"] = matrix_json(stats.prob_mass, L, E);
  nlohmann::json window_list = nlohmann::json::array();
  for (int64_t w = 0; w < stats.windows; ++w)
    window_list.push_back(matrix_json(
        std::vector<double>(stats.window_tokens.begin() + w * L * E, stats.window_tokens.begin() + (w + 1) * L * E), L,
        E));
  out["windows"] = window_list;
  out["rows_received_per_rank"] = matrix_json(stats.rows_received, L, stats.ranks);
  out["alltoall_bytes_received"] = matrix_json(stats.bytes_received, stats.ranks, stats.ep);
  return out.dump(1);
}

void write_stats_file(parallel::Communicator& world, const parallel::Mapping& mapping, const ExpertStats& stats,
                      int64_t hidden_size, const std::string& model, const std::string& path) {
  const GatheredStats gathered = gather_stats(world, mapping, stats, hidden_size);
  if (world.rank() != 0) return;
  const std::string text = stats_json(gathered, model);
  OutputFile file(path);
  file.write(text.data(), text.size());
  file.commit();
}

std::vector<double> max_mean_rank_rows(const GatheredStats& stats) {
  std::vector<double> ratios(stats.layers, 1.0);
  for (int64_t layer = 0; layer < stats.layers; ++layer) {
    double total = 0, max = 0, n = 0;
    for (int64_t rank = 0; rank < stats.ranks; ++rank) {
      if (stats.dispatches[layer * stats.ranks + rank] == 0) continue;
      const double rows = stats.rows_received[layer * stats.ranks + rank];
      total += rows;
      max = std::max(max, rows);
      ++n;
    }
    if (total > 0) ratios[layer] = max / (total / n);
  }
  return ratios;
}

LayerImbalance layer_imbalance(std::span<const double> loads, int64_t ranks) {
  LayerImbalance result;
  const auto n = static_cast<int64_t>(loads.size());
  double total = 0;
  for (double v : loads) total += v;
  if (total <= 0 || n == 0) return result;
  std::vector<double> rank_loads(ranks, 0.0);
  for (int64_t e = 0; e < n; ++e) rank_loads[e * ranks / n] += loads[e];
  const double mean_rank = total / ranks, max_rank = *std::max_element(rank_loads.begin(), rank_loads.end());
  result.max_mean_rank_load = max_rank / mean_rank;
  result.excess = (max_rank - mean_rank) / mean_rank;
  const double mean = total / n;
  double var = 0, entropy = 0;
  for (double v : loads) {
    var += (v - mean) * (v - mean);
    if (v > 0) entropy -= v / total * std::log(v / total);
  }
  result.cv = std::sqrt(var / n) / mean;
  result.entropy = n > 1 ? entropy / std::log(static_cast<double>(n)) : 1.0;
  return result;
}

}  // namespace moe::runtime
