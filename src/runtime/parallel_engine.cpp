// Communicator groups, shard and request assignment of one rank.
#include "runtime/parallel_engine.h"

#include "core/error.h"
#include "moe/balance/slot_placement.h"

namespace moe::runtime {

namespace {

std::vector<int> replica_ranks(const parallel::Mapping& m) {
  std::vector<int> ranks;
  const int replica_size = m.pp * m.tp;
  for (int i = 0; i < replica_size; ++i) ranks.push_back(m.dp_rank * replica_size + i);
  return ranks;
}

std::vector<int> attention_ranks(const parallel::Mapping& m) {
  return m.attention_dp ? std::vector<int>{m.rank} : m.tp_group;
}

}  // namespace

model::ShardLayout shard_layout(const parallel::Mapping& m, const model::ModelWeights& weights) {
  model::ShardLayout layout;
  layout.attention_tp = m.attention_tp();
  layout.attention_tp_rank = m.attention_dp ? 0 : m.tp_rank;
  layout.moe_tp = m.moe_tp;
  layout.moe_tp_rank = m.moe_tp_rank;
  layout.moe_ep = m.moe_ep;
  layout.moe_ep_rank = m.moe_ep_rank;
  layout.pp = m.pp;
  layout.pp_rank = m.pp_rank;
  layout.column_block = model::column_block(weights);
  return layout;
}

void check_layout(const parallel::Mapping& m, const model::ModelConfig& c, const model::ModelWeights& weights,
                  const std::optional<parallel::MoeLoadBalancerConfig>& load_balancer) {
  MOE_CHECK(!(m.attention_dp && m.moe_tp > 1), ConfigError,
            "enable_attention_dp with moe_tensor_parallel_size = ", m.moe_tp,
            " is not supported yet: use moe_expert_parallel_size = tensor_parallel_size");
  parallel::ModelShape shape;
  shape.n_layers = c.n_layers();
  shape.n_heads = c.attention().n_heads;
  shape.n_kv_heads = c.attention().n_kv_heads;
  shape.n_experts = c.n_experts();
  shape.expert_ffn = c.moe().expert_ffn;
  shape.shared_expert_ffn = c.moe().shared_expert_ffn;
  shape.hidden = c.hidden_size;
  shape.quant_block = model::column_block(weights);
  parallel::check_model_fits(m, shape);
  model::make_shard(c, shard_layout(m, weights));  // the shard's own checks (kv-head groups, q/k norm)
  if (load_balancer) balance::slot_placement(*load_balancer, c.n_layers(), c.n_experts(), m.moe_ep);
}

ParallelEngine::ParallelEngine(const model::Model& model, const parallel::Mapping& mapping,
                               parallel::Communicator& world, ThreadPool& pool, bool check_dispatch,
                               const std::optional<parallel::MoeLoadBalancerConfig>& load_balancer)
    : mapping_(mapping),
      world_(world),
      attention_(world.subgroup(attention_ranks(mapping))),
      moe_ep_(world.subgroup(mapping.moe_ep_group)),
      moe_tp_(world.subgroup(mapping.moe_tp_group)),
      pipeline_(world.subgroup(mapping.pp_group)),
      replica_(world.subgroup(replica_ranks(mapping))) {
  const model::Shard shard = model::make_shard(model.config, shard_layout(mapping, model.weights));
  model::ParallelGroups groups;
  groups.attention = &attention_;
  groups.moe_ep = &moe_ep_;
  groups.moe_tp = &moe_tp_;
  groups.pipeline = &pipeline_;
  groups.attention_dp = mapping.attention_dp;
  groups.check_dispatch = check_dispatch;
  if (load_balancer) {
    const model::ModelConfig& c = model.config;
    groups.replicas_local_first = load_balancer->replica_routing == "local_first";
    groups.placement = balance::slot_placement(*load_balancer, c.n_layers(), c.n_experts(), mapping.moe_ep);
    if (load_balancer->update_interval) {
      balance::OnlineBalancerConfig online;
      online.update_interval = *load_balancer->update_interval;
      online.window_size = load_balancer->window_size;
      online.layer_updates_per_iter = load_balancer->layer_updates_per_iter;
      online.budgeted = load_balancer->policy == "budgeted";
      const moe::ExpertWeights& expert = model::first_expert(model.weights);
      online.expert_bytes = expert.gate.nbytes() + expert.up.nbytes() + expert.down.nbytes();
      groups.online = online;
    }
  }
  transformer_ = std::make_unique<model::Transformer>(model, pool, shard, groups);
}

ParallelEngine::~ParallelEngine() = default;

int ParallelEngine::n_slots() const { return mapping_.dp * (mapping_.attention_dp ? mapping_.tp : 1); }

bool ParallelEngine::serves_slot(int slot) const {
  const parallel::Mapping& m = mapping_;
  if (slot % m.dp != m.dp_rank) return false;
  return !m.attention_dp || (slot / m.dp) % m.tp == m.tp_rank;
}

bool ParallelEngine::reports() const {
  return mapping_.pp_rank == 0 && (mapping_.attention_dp || mapping_.tp_rank == 0);
}

bool ParallelEngine::any_active(bool local_active) {
  if (replica_.size() == 1) return local_active;
  return replica_.allreduce_max(local_active ? 1 : 0) > 0;
}

std::vector<std::vector<std::byte>> all_gather_bytes(parallel::Communicator& group, std::span<const std::byte> mine) {
  std::vector<std::vector<std::byte>> all(group.size());
  for (int root = 0; root < group.size(); ++root) {
    int64_t size = root == group.rank() ? static_cast<int64_t>(mine.size()) : 0;
    group.broadcast(&size, sizeof size, root);
    all[root] = root == group.rank() ? std::vector<std::byte>(mine.begin(), mine.end()) : std::vector<std::byte>(size);
    if (size > 0) group.broadcast(all[root].data(), size, root);
  }
  return all;
}

std::vector<std::string> all_gather_strings(parallel::Communicator& group, const std::string& mine) {
  std::vector<std::string> all;
  for (const std::vector<std::byte>& part : all_gather_bytes(group, std::as_bytes(std::span(mine))))
    all.emplace_back(reinterpret_cast<const char*>(part.data()), part.size());
  return all;
}

}  // namespace moe::runtime
