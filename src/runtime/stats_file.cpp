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

void write_stats_file(parallel::Communicator& world, const parallel::Mapping& mapping, const ExpertStats& stats,
                      int64_t hidden_size, const std::string& model, const std::string& path) {
  const size_t L = stats.n_layers(), E = stats.n_experts();
  // Ranks of a moe_tp group route the same tokens: only the first counts them.
  const double weight = mapping.moe_tp_rank == 0 ? 1.0 : 0.0;
  std::vector<double> tokens = flatten(stats.tokens(), E), mass = flatten(stats.prob_mass(), E);
  const int64_t n_windows = world.size() > 1 ? world.allreduce_max(static_cast<int64_t>(stats.window_tokens().size()))
                                             : static_cast<int64_t>(stats.window_tokens().size());
  std::vector<double> windows(n_windows * L * E, 0.0);
  for (size_t w = 0; w < stats.window_tokens().size(); ++w) {
    const std::vector<double> flat = flatten(stats.window_tokens()[w], E);
    std::copy(flat.begin(), flat.end(), windows.begin() + w * L * E);
  }
  // Rows each world rank received per layer, and bytes it received from each EP peer.
  const size_t R = world.size(), P = mapping.moe_ep;
  std::vector<double> received(L * R, 0.0), bytes(R * P, 0.0);
  for (size_t layer = 0; layer < L; ++layer)
    for (size_t peer = 0; peer < stats.rows_received()[layer].size(); ++peer) {
      received[layer * R + world.rank()] += stats.rows_received()[layer][peer];
      bytes[world.rank() * P + peer] += stats.rows_received()[layer][peer] * hidden_size * sizeof(float);
    }
  for (std::vector<double>* values : {&tokens, &mass, &windows})
    for (double& v : *values) v *= weight;
  if (world.size() > 1)
    for (std::vector<double>* values : {&tokens, &mass, &windows, &received, &bytes})
      world.allreduce_sum(values->data(), static_cast<int64_t>(values->size()));
  if (world.rank() != 0) return;

  nlohmann::ordered_json out;
  out["format"] = "moe.cpp expert statistics v1";
  out["model"] = model;
  out["layers"] = L;
  out["experts"] = E;
  out["steps"] = stats.steps();
  out["window_steps"] = stats.window_steps();
  out["moe_expert_parallel_size"] = P;
  out["expert_tokens"] = matrix_json(tokens, L, E);
  out["expert_prob_mass"] = matrix_json(mass, L, E);
  nlohmann::json window_list = nlohmann::json::array();
  for (int64_t w = 0; w < n_windows; ++w)
    window_list.push_back(
        matrix_json(std::vector<double>(windows.begin() + w * L * E, windows.begin() + (w + 1) * L * E), L, E));
  out["windows"] = window_list;
  out["rows_received_per_rank"] = matrix_json(received, L, R);
  out["alltoall_bytes_received"] = matrix_json(bytes, R, P);
  const std::string text = out.dump(1);
  OutputFile file(path);
  file.write(text.data(), text.size());
  file.commit();
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
