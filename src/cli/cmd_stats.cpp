// `moe stats FILE`: expert-load imbalance per layer from a --record-stats file (or a plain JSON
// load matrix): max/mean rank load, (max - mean)/mean, CV and entropy of the expert loads, a
// heatmap in the terminal, and optionally as a PNG.
#include <algorithm>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "io/json_file.h"
#include "moe/balance/load_stats.h"
#include "plot/heatmap.h"
#include "runtime/stats_file.h"

namespace moe::cli {

namespace {

struct StatsOptions {
  std::string file;
  int64_t ranks = 0;
  std::string png;
  bool json = false;
};

void write_heatmap_png(const std::string& path, const balance::LoadMatrix& loads, double max_load) {
  char title[128];
  std::snprintf(title, sizeof title, "routed tokens per layer and expert, max %.4g", max_load);
  plot::draw_heatmap({loads.n_layers, loads.n_experts, loads.values, title}).write_png(path);
}

}  // namespace

void add_stats_command(CLI::App& app) {
  auto o = std::make_shared<StatsOptions>();
  CLI::App* cmd = app.add_subcommand("stats", "Expert-load imbalance from a --record-stats file");
  cmd->add_option("file", o->file, "Statistics JSON (moe run/eval --record-stats) or a [layers][experts] matrix")
      ->required();
  cmd->add_option("--ranks", o->ranks,
                  "EP ranks the experts are spread over (contiguously) for the rank-load figures; default: the "
                  "file's moe_expert_parallel_size, else 1");
  cmd->add_option("--png", o->png, "Also write the layers x experts heatmap as a PNG");
  cmd->add_flag("--json", o->json, "Print per layer {\"layer\", \"max_mean\", \"excess\", \"cv\", \"entropy\"}");
  cmd->callback([o] {
    const nlohmann::json file = io::read_json_value(o->file);
    const balance::LoadMatrix loads = balance::load_matrix_from_json(file, o->file);
    const int64_t n_experts = loads.n_experts;
    const int64_t ranks =
        o->ranks > 0 ? o->ranks : (file.is_object() ? file.value("moe_expert_parallel_size", int64_t{1}) : 1);
    MOE_CHECK(ranks >= 1 && n_experts % ranks == 0, UsageError, "--ranks: ", ranks, " does not divide the ", n_experts,
              " experts");
    const double max_load = *std::max_element(loads.values.begin(), loads.values.end());
    nlohmann::json rows = nlohmann::json::array();
    if (!o->json) std::printf("layer  max/mean rank  (max-mean)/mean     CV  entropy  experts (load: .:-=+*#%%@)\n");
    for (int64_t layer = 0; layer < loads.n_layers; ++layer) {
      const runtime::LayerImbalance m = runtime::layer_imbalance(loads.layer(layer), ranks);
      if (o->json) {
        rows.push_back({{"layer", layer},
                        {"max_mean", m.max_mean_rank_load},
                        {"excess", m.excess},
                        {"cv", m.cv},
                        {"entropy", m.entropy}});
        continue;
      }
      std::string heat;
      for (double load : loads.layer(layer))
        heat += " .:-=+*#%@"[max_load > 0 ? std::min(9, static_cast<int>(10 * load / max_load)) : 0];
      std::printf("%5lld  %13.3f  %15.3f  %5.3f  %7.3f  |%s|\n", static_cast<long long>(layer), m.max_mean_rank_load,
                  m.excess, m.cv, m.entropy, heat.c_str());
    }
    if (o->json)
      std::puts(rows.dump().c_str());
    else
      std::printf("(%lld layers, %lld experts over %lld ranks)\n", static_cast<long long>(loads.n_layers),
                  static_cast<long long>(n_experts), static_cast<long long>(ranks));
    if (!o->png.empty()) write_heatmap_png(o->png, loads, max_load);
  });
}

}  // namespace moe::cli
