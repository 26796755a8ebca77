// Shard ranges and sliced weight views.
#include "model/shard.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace moe::model {

namespace {

Range split(int64_t total, int parts, int index) { return {total * index / parts, total * (index + 1) / parts}; }

// Columns [cols.begin, cols.end) of a 2-D tensor, copied row by row (block-aligned for quantized types).
Tensor slice_columns(const Tensor& t, Range cols) {
  if (cols.begin == 0 && cols.end == t.cols()) return t;
  const int64_t block = dtype_info(t.dtype()).block_elems, block_bytes = dtype_info(t.dtype()).block_bytes;
  MOE_ASSERT(cols.begin % block == 0 && cols.size() % block == 0);
  const int64_t offset = cols.begin / block * block_bytes, width = cols.size() / block * block_bytes;
  std::vector<std::byte> bytes(t.rows() * width);
  for (int64_t r = 0; r < t.rows(); ++r) std::memcpy(bytes.data() + r * width, t.row(r) + offset, width);
  const Tensor slice = Tensor::from_bytes(t.dtype(), {t.rows(), cols.size()}, std::move(bytes));
  return t.has_scales() ? slice.with_scales(t.scales()) : slice;  // per-row scales span every column
}

Tensor slice_rows(const Tensor& t, Range rows) {
  if (t.empty()) return t;
  if (t.n_dims() == 1) {  // a bias or norm vector
    const int64_t elem = dtype_info(t.dtype()).block_bytes;
    return Tensor(t.dtype(), {rows.size()}, t.data() + rows.begin * elem, t.owner());
  }
  return t.slice_rows(rows.begin, rows.size());
}

ExpertWeights slice_expert(const ExpertWeights& e, Range ffn) {
  return {slice_rows(e.gate, ffn), slice_rows(e.up, ffn), slice_columns(e.down, ffn)};
}

// total must split into `parts` equal pieces of whole `unit`s (quantization blocks for columns).
void check_divides(int64_t total, int parts, const char* what, const char* key, int64_t unit = 1) {
  MOE_CHECK(total % (parts * unit) == 0, ConfigError, key, " = ", parts, " does not divide ", what, " = ", total,
            unit > 1 ? detail::concat(" into whole ", unit, "-element quantization blocks") : "");
}

}  // namespace

int64_t column_block(const ModelWeights& weights) {
  int64_t block = 1;
  auto consider = [&](const Tensor& t) {
    if (!t.empty()) block = std::max(block, dtype_info(t.dtype()).block_elems);
  };
  for (const LayerWeights& l : weights.layers) {
    consider(l.wo);
    consider(l.shared_expert.down);
    for (const ExpertWeights& e : l.experts) consider(e.down);
  }
  return block;
}

Shard make_shard(const ModelConfig& c, const ShardLayout& layout) {
  const int64_t block = layout.column_block;
  const AttentionSpec& a = c.attention();
  const FfnSpec& moe = c.moe();
  const int64_t group = a.n_heads / a.n_kv_heads;  // query heads per kv head
  if (layout.attention_tp > 1) {
    check_divides(a.n_heads, layout.attention_tp, "num_attention_heads", "tensor_parallel_size");
    const int64_t local_heads = a.n_heads / layout.attention_tp;
    MOE_CHECK(local_heads % group == 0 || group % local_heads == 0, ConfigError,
              "tensor_parallel_size = ", layout.attention_tp, " splits the query heads of a kv head (", group,
              " per kv head) unevenly");
    MOE_CHECK(a.qk_norm != QkNorm::kWhole || a.n_kv_heads % layout.attention_tp == 0, ConfigError,
              "tensor_parallel_size = ", layout.attention_tp, " exceeds num_key_value_heads = ", a.n_kv_heads,
              ", which a q/k norm over the whole projection cannot replicate");
    check_divides(a.out_dim(), layout.attention_tp, "the attention width", "tensor_parallel_size", block);
    if (moe.shared_expert_ffn > 0)
      check_divides(moe.shared_expert_ffn, layout.attention_tp, "shared_expert_intermediate_size",
                    "tensor_parallel_size", block);
  }
  if (layout.moe_ep > 1) check_divides(moe.router.n_experts, layout.moe_ep, "num_experts", "moe_expert_parallel_size");
  if (layout.moe_tp > 1)
    check_divides(moe.expert_ffn, layout.moe_tp, "the expert FFN size", "moe_tensor_parallel_size", block);
  MOE_CHECK(layout.pp <= c.n_layers(), ConfigError, "pipeline_parallel_size = ", layout.pp,
            " exceeds num_hidden_layers = ", c.n_layers());

  Shard shard;
  shard.heads = split(a.n_heads, layout.attention_tp, layout.attention_tp_rank);
  shard.kv_heads = {shard.heads.begin / group, (shard.heads.end - 1) / group + 1};
  shard.experts = split(moe.router.n_experts, layout.moe_ep, layout.moe_ep_rank);
  shard.expert_ffn = split(moe.expert_ffn, layout.moe_tp, layout.moe_tp_rank);
  shard.shared_ffn = split(moe.shared_expert_ffn, layout.attention_tp, layout.attention_tp_rank);
  // The first n_layers % pp stages take one layer more (TensorRT-LLM's pp_layers).
  const int64_t base = c.n_layers() / layout.pp, extra = c.n_layers() % layout.pp;
  shard.layers.begin = layout.pp_rank * base + std::min<int64_t>(layout.pp_rank, extra);
  shard.layers.end = shard.layers.begin + base + (layout.pp_rank < extra ? 1 : 0);
  shard.first_stage = layout.pp_rank == 0;
  shard.last_stage = layout.pp_rank == layout.pp - 1;
  return shard;
}

ModelWeights shard_weights(const ModelConfig& c, const ModelWeights& full, const Shard& shard) {
  ModelWeights w;
  if (shard.first_stage) w.token_embd = full.token_embd;
  if (shard.last_stage) {
    w.output_norm = full.output_norm;
    w.output = full.output;
  }
  w.layers.resize(c.n_layers());
  for (int64_t layer = shard.layers.begin; layer < shard.layers.end; ++layer) {
    const AttentionSpec& a = c.layers[layer].attention;
    const Range q_rows{shard.heads.begin * a.head_dim, shard.heads.end * a.head_dim};
    const Range kv_rows{shard.kv_heads.begin * a.head_dim, shard.kv_heads.end * a.head_dim};
    const Range v_rows{shard.kv_heads.begin * a.head_dim_v, shard.kv_heads.end * a.head_dim_v};
    const bool whole_norm = a.qk_norm == QkNorm::kWhole;
    const LayerWeights& f = full.layers[layer];
    LayerWeights& l = w.layers[layer];
    l.attn_norm = f.attn_norm;
    l.ffn_norm = f.ffn_norm;
    l.router = f.router;
    l.router_bias = f.router_bias;
    l.dense = f.dense;  // a dense layer whole on every rank
    // MLA: q_a and kv_a (the latent) whole on every rank, kv_b's rows by heads (as q_b's and o's).
    l.wq_a = f.wq_a;
    l.q_a_norm = f.q_a_norm;
    l.wkv_a = f.wkv_a;
    l.kv_a_norm = f.kv_a_norm;
    const int64_t kv_b_rows = a.nope_dim() + a.head_dim_v;
    l.wkv_b = slice_rows(f.wkv_b, {shard.heads.begin * kv_b_rows, shard.heads.end * kv_b_rows});
    l.wq = slice_rows(f.wq, q_rows);
    l.wk = slice_rows(f.wk, kv_rows);
    l.wv = slice_rows(f.wv, v_rows);
    l.bq = slice_rows(f.bq, q_rows);
    l.bk = slice_rows(f.bk, kv_rows);
    l.bv = slice_rows(f.bv, v_rows);
    // OLMoE's norms span the whole projection: each rank scales its slice (the sum of squares is
    // reduced over the group at run time); per-head norms are shared by all heads.
    l.q_norm = whole_norm ? slice_rows(f.q_norm, q_rows) : f.q_norm;
    l.k_norm = whole_norm ? slice_rows(f.k_norm, kv_rows) : f.k_norm;
    l.wo = slice_columns(f.wo, {shard.heads.begin * a.head_dim_v, shard.heads.end * a.head_dim_v});
    const bool moe = c.layers[layer].ffn.is_moe();  // a dense layer has no experts
    if (moe && shard.slot_experts.empty()) {
      for (int64_t e = shard.experts.begin; e < shard.experts.end; ++e)
        l.experts.push_back(slice_expert(f.experts[e], shard.expert_ffn));
    } else if (moe) {
      for (int64_t e : shard.slot_experts[layer]) l.experts.push_back(slice_expert(f.experts[e], shard.expert_ffn));
    }
    if (c.layers[layer].ffn.shared_expert_ffn > 0) {
      l.shared_expert = slice_expert(f.shared_expert, shard.shared_ffn);
      l.shared_expert_gate = f.shared_expert_gate;
    }
  }
  return w;
}

}  // namespace moe::model
