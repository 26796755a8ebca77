// `moe eplb`: expert placement for Wide-EP from recorded load statistics (DeepSeek's EPLB, or our
// budgeted repair of a placement in service); writes the placement file, prints max/mean rank load.
#include <cstdio>
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "core/error.h"
#include "moe/balance/budgeted.h"
#include "moe/balance/eplb.h"

namespace moe::cli {

namespace {

struct EplbOptions {
  std::string stats;
  int64_t slots = 0;
  int64_t ranks = 0;
  int64_t nodes = 1;
  int64_t groups = 1;
  std::string policy;
  std::string current;
  std::optional<int64_t> max_move_bytes;
  std::optional<int64_t> expert_bytes;
  std::string out;
  bool json = false;
};

constexpr const char* kHelp =
    "Expert slots (Wide-EP): each rank holds --slots / --ranks slots, slot s on rank\n"
    "s / (slots / ranks); an expert may fill several slots and its tokens are spread over them.\n"
    "--stats is a JSON load matrix [layers][experts] (tokens per expert) or an object\n"
    "{\"expert_tokens\": [[...]]}. Policies: 'global' and 'hierarchical' are DeepSeek's EPLB\n"
    "(deepseek-ai/EPLB): replicate the heaviest experts into the spare slots, pack replicas onto\n"
    "ranks; hierarchical first packs the --groups expert groups onto --nodes nodes and keeps each\n"
    "group on its node. Default: hierarchical when --nodes divides --groups, else global (EPLB's\n"
    "rule). 'budgeted' starts from --current and greedily replicates experts into redundant slots\n"
    "or swaps slots between ranks, copying at most --max-move-bytes of expert weights per layer\n"
    "(each copy costs --expert-bytes = 3 * hidden * expert_ffn * bytes per weight); it ignores\n"
    "--nodes and --groups (a group may leave its node).\n"
    "Prints per layer max/mean rank load before (--current, else slot s holding expert\n"
    "s % experts) and after, and the expert bytes to copy (changed slots * --expert-bytes);\n"
    "--json prints [{\"layer\", \"max_mean_before\", \"max_mean_after\", \"bytes_moved\"}...]\n"
    "(bytes_moved null without --expert-bytes). The placement file (--out, written atomically)\n"
    "holds num_experts, num_slots, ranks and per layer phy2log, logcnt and log2phy.";

}  // namespace

void add_eplb_command(CLI::App& app) {
  auto o = std::make_shared<EplbOptions>();
  CLI::App* cmd = app.add_subcommand("eplb", "Expert placement (slots per rank) from load statistics");
  cmd->footer(kHelp);
  cmd->add_option("--stats", o->stats, "Load statistics: JSON [layers][experts] or {\"expert_tokens\": ...}")
      ->required();
  cmd->add_option("--slots", o->slots, "Expert slots per layer, all ranks together (>= experts)")->required();
  cmd->add_option("--ranks", o->ranks, "EP ranks; must divide --slots")->required();
  cmd->add_option("--nodes", o->nodes, "Nodes (fast links inside); must divide --ranks (default 1)");
  cmd->add_option("--groups", o->groups, "Expert groups (DeepSeek n_group); must divide the experts (default 1)");
  cmd->add_option("--policy", o->policy, "global, hierarchical or budgeted (default: EPLB's choice)");
  cmd->add_option("--current", o->current, "Placement in service: the 'before' figures, budgeted's start");
  cmd->add_option("--max-move-bytes", o->max_move_bytes,
                  "budgeted: expert bytes copied per layer at most (default: no limit)");
  cmd->add_option("--expert-bytes", o->expert_bytes,
                  "Bytes of one expert's weights: 3 * hidden * expert_ffn * bytes/weight");
  cmd->add_option("--out", o->out, "Placement file to write (JSON)")->required();
  cmd->add_flag("--json", o->json, "Print the per-layer figures as JSON");
  cmd->callback([o] {
    MOE_CHECK(o->policy.empty() || o->policy == "global" || o->policy == "hierarchical" || o->policy == "budgeted",
              UsageError, "--policy: unknown policy '", o->policy, "' (expected global, hierarchical or budgeted)");
    MOE_CHECK(!o->expert_bytes || *o->expert_bytes > 0, UsageError, "--expert-bytes: must be > 0, got ",
              o->expert_bytes.value_or(0));
    MOE_CHECK(!o->max_move_bytes || *o->max_move_bytes >= 0, UsageError, "--max-move-bytes: must be >= 0, got ",
              o->max_move_bytes.value_or(0));
    const bool budgeted = o->policy == "budgeted";
    MOE_CHECK(!budgeted || !o->current.empty(), UsageError,
              "--policy budgeted: needs --current (the placement to start from)");
    MOE_CHECK(!budgeted || o->expert_bytes, UsageError,
              "--policy budgeted: needs --expert-bytes (the cost of copying one expert)");
    MOE_CHECK(budgeted || !o->max_move_bytes, UsageError, "--max-move-bytes: only the budgeted policy takes a budget");

    const balance::LoadMatrix load = balance::read_load_matrix(o->stats);
    balance::EplbConfig config{
        .num_slots = o->slots, .num_groups = o->groups, .num_nodes = o->nodes, .ranks = o->ranks};
    const balance::EplbPolicy policy = o->policy == "global"         ? balance::EplbPolicy::kGlobal
                                       : o->policy == "hierarchical" ? balance::EplbPolicy::kHierarchical
                                                                     : balance::default_policy(config);
    config.validate(load.n_experts, budgeted ? balance::EplbPolicy::kGlobal : policy);

    balance::Placement before = balance::identity_placement(load.n_layers, load.n_experts, o->slots, o->ranks);
    if (!o->current.empty()) {
      before = balance::read_placement_file(o->current);
      MOE_CHECK(before.num_experts == load.n_experts, ConfigError, o->current, ": ", before.num_experts,
                " experts, but ", o->stats, " has ", load.n_experts);
      MOE_CHECK(static_cast<int64_t>(before.layers.size()) == load.n_layers, ConfigError, o->current, ": ",
                before.layers.size(), " layers, but ", o->stats, " has ", load.n_layers);
      MOE_CHECK(before.num_slots == o->slots && before.ranks == o->ranks, ConfigError, o->current, ": ",
                before.num_slots, " slots on ", before.ranks, " ranks, but --slots ", o->slots, " --ranks ", o->ranks);
    }

    balance::Placement after;
    if (budgeted) {
      balance::BudgetedConfig budget;
      budget.expert_bytes = *o->expert_bytes;
      budget.max_move_bytes = o->max_move_bytes;
      after = balance::rebalance_budgeted(load, before, budget).placement;
    } else {
      after = balance::rebalance_experts(load, config, policy);
    }
    balance::write_placement_file(o->out, after);

    nlohmann::json report = nlohmann::json::array();
    for (int64_t layer = 0; layer < load.n_layers; ++layer) {
      const double ratio_before = balance::max_mean_ratio(balance::rank_loads(before, layer, load.layer(layer)));
      const double ratio_after = balance::max_mean_ratio(balance::rank_loads(after, layer, load.layer(layer)));
      const int64_t changed = balance::changed_slots(before.layers[layer], after.layers[layer]);
      nlohmann::json moved = nullptr;
      if (o->expert_bytes) moved = changed * *o->expert_bytes;
      if (o->json) {
        report.push_back({{"layer", layer},
                          {"max_mean_before", ratio_before},
                          {"max_mean_after", ratio_after},
                          {"bytes_moved", moved}});
      } else {
        std::printf("layer %lld: max/mean %.4f -> %.4f, %lld slots changed", static_cast<long long>(layer),
                    ratio_before, ratio_after, static_cast<long long>(changed));
        if (o->expert_bytes) std::printf(", %lld bytes moved", static_cast<long long>(changed * *o->expert_bytes));
        std::printf("\n");
      }
    }
    if (o->json) std::printf("%s\n", report.dump().c_str());
    const char* policy_name = budgeted                                 ? "budgeted"
                              : policy == balance::EplbPolicy::kGlobal ? "global"
                                                                       : "hierarchical";
    std::fprintf(stderr, "moe eplb: wrote %s (%s, %lld layers, %lld slots on %lld ranks)\n", o->out.c_str(),
                 policy_name, static_cast<long long>(load.n_layers), static_cast<long long>(o->slots),
                 static_cast<long long>(o->ranks));
  });
}

}  // namespace moe::cli
