// make_mapping (defaults, checks, coordinates and groups) and the model-fit checks.
#include "parallel/mapping.h"

#include <algorithm>

#include "core/error.h"

namespace moe::parallel {
namespace {

// Fills moe_tp and moe_ep from tp as TensorRT-LLM does: neither set -> (tp, 1); one set -> the
// other is tp / it; then their product must be tp.
void resolve_moe_sizes(const ParallelConfig& config, int tp, int& moe_tp, int& moe_ep) {
  const char* hint =
      " (the MoE ranks are the tensor-parallel ranks: set tensor_parallel_size = "
      "moe_tensor_parallel_size * moe_expert_parallel_size)";
  if (!config.moe_tensor_parallel_size && !config.moe_expert_parallel_size) {
    moe_tp = tp;
    moe_ep = 1;
    return;
  }
  if (!config.moe_tensor_parallel_size) {
    moe_ep = *config.moe_expert_parallel_size;
    MOE_CHECK(tp % moe_ep == 0, ConfigError, "moe_expert_parallel_size = ", moe_ep,
              " does not divide tensor_parallel_size = ", tp, hint);
    moe_tp = tp / moe_ep;
    return;
  }
  if (!config.moe_expert_parallel_size) {
    moe_tp = *config.moe_tensor_parallel_size;
    MOE_CHECK(tp % moe_tp == 0, ConfigError, "moe_tensor_parallel_size = ", moe_tp,
              " does not divide tensor_parallel_size = ", tp, hint);
    moe_ep = tp / moe_tp;
    return;
  }
  moe_tp = *config.moe_tensor_parallel_size;
  moe_ep = *config.moe_expert_parallel_size;
  MOE_CHECK(static_cast<int64_t>(moe_tp) * moe_ep == tp, ConfigError,
            "moe_tensor_parallel_size * moe_expert_parallel_size = ", static_cast<int64_t>(moe_tp) * moe_ep,
            " but tensor_parallel_size = ", tp, hint);
}

std::vector<int> strided(int64_t first, int64_t stride, int count) {
  std::vector<int> ranks(count);
  for (int i = 0; i < count; ++i) ranks[i] = static_cast<int>(first + i * stride);
  return ranks;
}

// A sliced FFN dimension: divisible by the ranks, each slice whole quantization blocks.
void check_slices(int64_t size, const char* size_key, int ranks, const char* ranks_key, int64_t block) {
  if (ranks <= 1 || size <= 0) return;
  MOE_CHECK(size % ranks == 0, ConfigError, ranks_key, " = ", ranks, " does not divide ", size_key, " = ", size);
  MOE_CHECK(block <= 1 || (size / ranks) % block == 0, ConfigError, ranks_key, " = ", ranks, " slices ", size_key,
            " = ", size, " into ", size / ranks, " columns per rank, not a whole number of ", block,
            "-element quantization blocks");
}

}  // namespace

Mapping make_mapping(const ParallelConfig& config, int world_size, int rank) {
  config.validate();
  MOE_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, ConfigError, "rank ", rank, " is outside a world of ",
            world_size, " ranks");
  Mapping m;
  m.world_size = world_size;
  m.rank = rank;
  m.tp = config.tensor_parallel_size.value_or(1);
  m.pp = config.pipeline_parallel_size.value_or(1);
  m.attention_dp = config.enable_attention_dp;
  resolve_moe_sizes(config, m.tp, m.moe_tp, m.moe_ep);

  const int64_t model_ranks = static_cast<int64_t>(m.tp) * m.pp;
  if (config.data_parallel_size) {
    m.dp = *config.data_parallel_size;
    MOE_CHECK(model_ranks * m.dp == world_size, ConfigError,
              "data_parallel_size * pipeline_parallel_size * tensor_parallel_size = ", m.dp, " * ", m.pp, " * ", m.tp,
              " = ", model_ranks * m.dp, " but the world has ", world_size, " ranks");
  } else {
    MOE_CHECK(world_size % model_ranks == 0, ConfigError, "pipeline_parallel_size * tensor_parallel_size = ", m.pp,
              " * ", m.tp, " = ", model_ranks, " does not divide the world size ", world_size);
    m.dp = static_cast<int>(world_size / model_ranks);
  }

  m.tp_rank = rank % m.tp;
  m.pp_rank = (rank / m.tp) % m.pp;
  m.dp_rank = static_cast<int>(rank / model_ranks);
  m.moe_ep_rank = m.tp_rank % m.moe_ep;
  m.moe_tp_rank = m.tp_rank / m.moe_ep;

  const int64_t replica_base = m.dp_rank * model_ranks;
  const int64_t tp_base = replica_base + static_cast<int64_t>(m.pp_rank) * m.tp;
  m.tp_group = strided(tp_base, 1, m.tp);
  m.pp_group = strided(replica_base + m.tp_rank, m.tp, m.pp);
  m.dp_group = strided(static_cast<int64_t>(m.pp_rank) * m.tp + m.tp_rank, model_ranks, m.dp);
  m.moe_ep_group = strided(tp_base + static_cast<int64_t>(m.moe_tp_rank) * m.moe_ep, 1, m.moe_ep);
  m.moe_tp_group = strided(tp_base + m.moe_ep_rank, m.moe_ep, m.moe_tp);
  return m;
}

void check_model_fits(const Mapping& m, const ModelShape& shape) {
  MOE_CHECK(shape.n_layers >= m.pp, ConfigError, "pipeline_parallel_size = ", m.pp,
            " exceeds num_hidden_layers = ", shape.n_layers);
  const int attention_tp = m.attention_tp();
  if (attention_tp > 1) {
    MOE_CHECK(shape.n_heads % attention_tp == 0, ConfigError, "tensor_parallel_size = ", attention_tp,
              " does not divide num_attention_heads = ", shape.n_heads);
    if (shape.n_kv_heads >= attention_tp) {
      MOE_CHECK(shape.n_kv_heads % attention_tp == 0, ConfigError, "tensor_parallel_size = ", attention_tp,
                " does not divide num_key_value_heads = ", shape.n_kv_heads);
    } else if (shape.n_kv_heads > 0) {  // fewer KV heads than ranks: each is replicated
      MOE_CHECK(attention_tp % shape.n_kv_heads == 0, ConfigError, "num_key_value_heads = ", shape.n_kv_heads,
                " does not divide tensor_parallel_size = ", attention_tp,
                " (KV heads are replicated when there are fewer than the ranks)");
    }
  }
  if (shape.n_experts > 0) {
    MOE_CHECK(shape.n_experts % m.moe_ep == 0, ConfigError, "moe_expert_parallel_size = ", m.moe_ep,
              " does not divide num_experts = ", shape.n_experts);
    check_slices(shape.expert_ffn, "moe_intermediate_size", m.moe_tp, "moe_tensor_parallel_size", shape.quant_block);
  }
  // The shared expert is a dense FFN: split like attention (replicated under attention DP, whose
  // ranks hold different tokens).
  check_slices(shape.shared_expert_ffn, "shared_expert_intermediate_size", attention_tp, "tensor_parallel_size",
               shape.quant_block);
}

LayerRange pp_layers(const Mapping& m, int64_t n_layers) {
  const int64_t base = n_layers / m.pp, extra = n_layers % m.pp;
  const int64_t first = m.pp_rank * base + std::min<int64_t>(m.pp_rank, extra);
  return {first, first + base + (m.pp_rank < extra ? 1 : 0)};
}

ExpertRange ep_experts(const Mapping& m, int64_t n_experts) {
  const int64_t per_rank = n_experts / m.moe_ep;
  return {m.moe_ep_rank * per_rank, (m.moe_ep_rank + 1) * per_rank};
}

}  // namespace moe::parallel
