// Tensor naming for each architecture (HF names as the published checkpoints use, GGUF names as
// llama.cpp writes them) and binding of file tensors to model roles, with shape checks.
#include "model/weights.h"

#include <cstring>

#include "core/error.h"
#include "model/arch/arch_table.h"

namespace moe::model {

namespace {

// One non-expert tensor: where it goes, its two names, and the shape it must have.
struct Slot {
  Tensor* tensor;
  std::string hf_name;
  std::string gguf_name;
  std::vector<int64_t> shape;
  int64_t rope_heads = 0;  // q/k: heads whose rows the llama-arch GGUF stores interleaved
  bool gguf_1d = false;    // llama.cpp stores this [1, H] matrix as a 1-D [H] tensor
};

// One routed-expert role (gate, up or down) of one layer; its HF name is the architecture's.
struct ExpertRole {
  Tensor ExpertWeights::*member;
  int hf_role;       // index into ArchTable::hf_expert_roles
  const char* gguf;  // blk.N.ffn_gate_exps
};

constexpr ExpertRole kExpertRoles[] = {
    {&ExpertWeights::gate, 0, "ffn_gate_exps"},
    {&ExpertWeights::up, 1, "ffn_up_exps"},
    {&ExpertWeights::down, 2, "ffn_down_exps"},
};

std::vector<int64_t> expert_role_shape(const ModelConfig& c, Tensor ExpertWeights::*member, int64_t ffn) {
  if (member == &ExpertWeights::down) return {c.hidden_size, ffn};
  return {ffn, c.hidden_size};
}

std::string hf_layer(int64_t layer) { return "model.layers." + std::to_string(layer) + "."; }
std::string gguf_layer(int64_t layer) { return "blk." + std::to_string(layer) + "."; }

std::string hf_expert_name(const ModelConfig& c, int64_t layer, int64_t expert, const ExpertRole& role) {
  const ArchTable& arch = arch_table(c.arch);
  return hf_layer(layer) + arch.hf_moe_block + "experts." + std::to_string(expert) + "." +
         arch.hf_expert_roles[role.hf_role] + ".weight";
}

// GQA attention: q/k/v/o projections, optional biases and q/k norms.
void add_gqa_slots(const AttentionSpec& a, int64_t H, const std::string& hf, const std::string& gg, LayerWeights& l,
                   std::vector<Slot>& slots) {
  slots.push_back({&l.wq, hf + "q_proj.weight", gg + "attn_q.weight", {a.q_dim(), H}, a.n_heads});
  slots.push_back({&l.wk, hf + "k_proj.weight", gg + "attn_k.weight", {a.kv_dim(), H}, a.n_kv_heads});
  slots.push_back({&l.wv, hf + "v_proj.weight", gg + "attn_v.weight", {a.v_dim(), H}});
  slots.push_back({&l.wo, hf + "o_proj.weight", gg + "attn_output.weight", {H, a.out_dim()}});
  if (a.qkv_bias) {
    slots.push_back({&l.bq, hf + "q_proj.bias", gg + "attn_q.bias", {a.q_dim()}});
    slots.push_back({&l.bk, hf + "k_proj.bias", gg + "attn_k.bias", {a.kv_dim()}});
    slots.push_back({&l.bv, hf + "v_proj.bias", gg + "attn_v.bias", {a.v_dim()}});
  }
  if (a.qk_norm != QkNorm::kNone) {
    const bool per_head = a.qk_norm == QkNorm::kPerHead;
    slots.push_back({&l.q_norm, hf + "q_norm.weight", gg + "attn_q_norm.weight", {per_head ? a.head_dim : a.q_dim()}});
    slots.push_back({&l.k_norm, hf + "k_norm.weight", gg + "attn_k_norm.weight", {per_head ? a.head_dim : a.kv_dim()}});
  }
}

// MLA (DeepSeek's tensor names; llama.cpp's deepseek2 names for the GGUF side).
void add_mla_slots(const AttentionSpec& a, int64_t H, const std::string& hf, const std::string& gg, LayerWeights& l,
                   std::vector<Slot>& slots) {
  const int64_t q_rows = a.n_heads * a.head_dim;
  if (a.q_lora_rank > 0) {
    slots.push_back({&l.wq_a, hf + "q_a_proj.weight", gg + "attn_q_a.weight", {a.q_lora_rank, H}});
    slots.push_back({&l.q_a_norm, hf + "q_a_layernorm.weight", gg + "attn_q_a_norm.weight", {a.q_lora_rank}});
    slots.push_back({&l.wq, hf + "q_b_proj.weight", gg + "attn_q_b.weight", {q_rows, a.q_lora_rank}});
  } else {
    slots.push_back({&l.wq, hf + "q_proj.weight", gg + "attn_q.weight", {q_rows, H}});
  }
  slots.push_back(
      {&l.wkv_a, hf + "kv_a_proj_with_mqa.weight", gg + "attn_kv_a_mqa.weight", {a.kv_lora_rank + a.rope_dim, H}});
  slots.push_back({&l.kv_a_norm, hf + "kv_a_layernorm.weight", gg + "attn_kv_a_norm.weight", {a.kv_lora_rank}});
  slots.push_back({&l.wkv_b,
                   hf + "kv_b_proj.weight",
                   gg + "attn_kv_b.weight",
                   {a.n_heads * (a.nope_dim() + a.head_dim_v), a.kv_lora_rank}});
  slots.push_back({&l.wo, hf + "o_proj.weight", gg + "attn_output.weight", {H, a.out_dim()}});
}

std::vector<Slot> plain_slots(const ModelConfig& c, ModelWeights& w) {
  const int64_t H = c.hidden_size;
  std::vector<Slot> slots = {
      {&w.token_embd, "model.embed_tokens.weight", "token_embd.weight", {c.vocab_size, H}},
      {&w.output_norm, "model.norm.weight", "output_norm.weight", {H}},
  };
  if (!c.tie_embeddings) slots.push_back({&w.output, "lm_head.weight", "output.weight", {c.vocab_size, H}});
  w.layers.resize(c.n_layers());
  for (int64_t layer = 0; layer < c.n_layers(); ++layer) {
    LayerWeights& l = w.layers[layer];
    const AttentionSpec& a = c.layers[layer].attention;
    const FfnSpec& f = c.layers[layer].ffn;
    const std::string hf = hf_layer(layer), gg = gguf_layer(layer);
    slots.push_back({&l.attn_norm, hf + "input_layernorm.weight", gg + "attn_norm.weight", {H}});
    if (a.kind == AttentionKind::kMla)
      add_mla_slots(a, H, hf + "self_attn.", gg, l, slots);
    else
      add_gqa_slots(a, H, hf + "self_attn.", gg, l, slots);
    slots.push_back({&l.ffn_norm, hf + "post_attention_layernorm.weight", gg + "ffn_norm.weight", {H}});
    if (!f.is_moe()) {
      const int64_t F = f.dense_ffn;
      slots.push_back({&l.dense.gate, hf + "mlp.gate_proj.weight", gg + "ffn_gate.weight", {F, H}});
      slots.push_back({&l.dense.up, hf + "mlp.up_proj.weight", gg + "ffn_up.weight", {F, H}});
      slots.push_back({&l.dense.down, hf + "mlp.down_proj.weight", gg + "ffn_down.weight", {H, F}});
      continue;
    }
    const ArchTable& arch = arch_table(c.arch);
    slots.push_back(
        {&l.router, hf + arch.hf_moe_block + "gate.weight", gg + "ffn_gate_inp.weight", {f.router.n_experts, H}});
    if (f.router_bias_tensor)
      slots.push_back({&l.router_bias,
                       hf + arch.hf_moe_block + "gate.e_score_correction_bias",
                       gg + "exp_probs_b.bias",
                       {f.router.n_experts}});
    if (f.shared_expert_ffn > 0) {
      const int64_t F = f.shared_expert_ffn;
      const std::string shared = hf + arch.hf_shared_block;
      ExpertWeights& s = l.shared_expert;
      slots.push_back({&s.gate, shared + "gate_proj.weight", gg + "ffn_gate_shexp.weight", {F, H}});
      slots.push_back({&s.up, shared + "up_proj.weight", gg + "ffn_up_shexp.weight", {F, H}});
      slots.push_back({&s.down, shared + "down_proj.weight", gg + "ffn_down_shexp.weight", {H, F}});
      if (f.shared_gate == SharedExpertGate::kSigmoid)
        slots.push_back({&l.shared_expert_gate,
                         hf + "mlp.shared_expert_gate.weight",
                         gg + "ffn_gate_inp_shexp.weight",
                         {1, H},
                         0,
                         true});
    }
  }
  return slots;
}

// Looks up `name`, checking its shape. 1-D GGUF tensors of shape {1, H} are stored as {H}: the
// check accepts any shape with the same element count when `relaxed`.
const Tensor& find_tensor(const std::map<std::string, Tensor>& tensors, const std::string& name,
                          const std::vector<int64_t>& shape, const std::string& source, bool relaxed = false) {
  const auto it = tensors.find(name);
  MOE_CHECK(it != tensors.end(), FormatError, source, ": missing tensor '", name, "'");
  const Tensor& t = it->second;
  int64_t expected_numel = 1;
  bool overflow = false;
  for (int64_t d : shape) overflow |= __builtin_mul_overflow(expected_numel, d, &expected_numel);
  const bool ok = t.shape() == shape || (relaxed && !overflow && t.numel() == expected_numel);
  MOE_CHECK(ok, FormatError, source, ": tensor '", name, "' has shape ", shape_string(t.shape()), ", expected ",
            shape_string(shape));
  return t;
}

// A checkpoint with a shared expert read with a config that has none would silently drop it;
// `key` names the file and its key.
void check_no_shared_expert(const ModelConfig& c, const std::map<std::string, Tensor>& tensors, const std::string& name,
                            const std::string& key) {
  MOE_CHECK(c.moe().shared_expert_ffn > 0 || tensors.count(name) == 0, ConfigError, key,
            " is 0 but the checkpoint has a shared expert (tensor '", name, "')");
}

// llama.cpp's split MLA layout joined back into attn_kv_b. Per head h, attn_k_b holds W_UK
// transposed ({H, kv_lora, nope}) and attn_v_b W_UV ({H, v, kv_lora}); attn_kv_b's rows are, per
// head, nope rows of k then v rows of v, each kv_lora wide (convert_hf_to_gguf's split, undone).
std::map<std::string, Tensor> join_split_kv_b(const ModelConfig& c, const std::map<std::string, Tensor>& tensors,
                                              const std::string& source) {
  std::map<std::string, Tensor> out = tensors;
  for (int64_t layer = 0; layer < c.n_layers(); ++layer) {
    const AttentionSpec& a = c.layers[layer].attention;
    const std::string gg = gguf_layer(layer);
    if (a.kind != AttentionKind::kMla || tensors.count(gg + "attn_k_b.weight") == 0) continue;
    const int64_t H = a.n_heads, R = a.kv_lora_rank, nope = a.nope_dim(), v = a.head_dim_v;
    const Tensor& k_b = find_tensor(tensors, gg + "attn_k_b.weight", {H, R, nope}, source);
    const Tensor& v_b = find_tensor(tensors, gg + "attn_v_b.weight", {H, v, R}, source);
    const DTypeInfo& info = dtype_info(k_b.dtype());
    MOE_CHECK(info.block_elems == 1 && v_b.dtype() == k_b.dtype(), FormatError, source, ": tensors '", gg,
              "attn_k_b.weight' and 'attn_v_b.weight' must share a float dtype (f32, f16, bf16) to be joined, got ",
              info.name, " and ", dtype_info(v_b.dtype()).name);
    const int64_t e = info.block_bytes;
    std::vector<std::byte> bytes(H * (nope + v) * R * e);
    for (int64_t h = 0; h < H; ++h) {
      std::byte* head = bytes.data() + h * (nope + v) * R * e;
      for (int64_t i = 0; i < nope; ++i)
        for (int64_t j = 0; j < R; ++j)
          std::memcpy(head + (i * R + j) * e, k_b.data() + ((h * R + j) * nope + i) * e, e);
      std::memcpy(head + nope * R * e, v_b.data() + h * v * R * e, v * R * e);
    }
    out[gg + "attn_kv_b.weight"] = Tensor::from_bytes(k_b.dtype(), {H * (nope + v), R}, std::move(bytes));
  }
  return out;
}

// Reorders the rows of each head between HF's rotate-half layout and llama.cpp's interleaved one.
// to_interleaved: row h*d + 2i + p <- row h*d + p*d/2 + i (llama.cpp's convert_hf_to_gguf permute).
Tensor permute_heads(const Tensor& t, int64_t n_heads, bool to_interleaved) {
  const int64_t head_dim = t.dim(0) / n_heads, half = head_dim / 2, row_bytes = t.row_bytes();
  std::vector<std::byte> out(t.nbytes());
  for (int64_t head = 0; head < n_heads; ++head)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t p = 0; p < 2; ++p) {
        const int64_t interleaved = head * head_dim + 2 * i + p;
        const int64_t rotate_half = head * head_dim + p * half + i;
        const int64_t dst = to_interleaved ? interleaved : rotate_half;
        const int64_t src = to_interleaved ? rotate_half : interleaved;
        std::memcpy(out.data() + dst * row_bytes, t.row(src), row_bytes);
      }
  return Tensor::from_bytes(t.dtype(), t.shape(), std::move(out));
}

// Experts of one role as one {E, rows, cols} tensor: a view when they already lie back to back
// (loaded from GGUF), else a copy.
Tensor merge_experts(const std::vector<ExpertWeights>& experts, Tensor ExpertWeights::*member) {
  const Tensor& first = experts[0].*member;
  std::vector<int64_t> shape = {static_cast<int64_t>(experts.size()), first.dim(0), first.dim(1)};
  bool contiguous = true;
  for (size_t e = 0; e < experts.size(); ++e) {
    const Tensor& t = experts[e].*member;
    contiguous = contiguous && t.dtype() == first.dtype() && t.data() == first.data() + e * first.nbytes();
  }
  if (contiguous) return Tensor(first.dtype(), shape, first.data(), first.owner());
  std::vector<std::byte> bytes(experts.size() * first.nbytes());
  for (size_t e = 0; e < experts.size(); ++e) {
    const Tensor& t = experts[e].*member;
    MOE_CHECK(t.dtype() == first.dtype(), FormatError, "experts of one layer have different dtypes (",
              dtype_info(t.dtype()).name, " and ", dtype_info(first.dtype()).name, ")");
    std::memcpy(bytes.data() + e * first.nbytes(), t.data(), first.nbytes());
  }
  return Tensor::from_bytes(first.dtype(), shape, std::move(bytes));
}

}  // namespace

std::vector<HfTensorSlot> hf_tensor_slots(const ModelConfig& c, ModelWeights& w) {
  std::vector<HfTensorSlot> out;
  for (Slot& slot : plain_slots(c, w)) out.push_back({slot.tensor, slot.hf_name, slot.shape, slot.rope_heads});
  for (int64_t layer = 0; layer < c.n_layers(); ++layer) {
    const FfnSpec& f = c.layers[layer].ffn;
    if (!f.is_moe()) continue;
    auto& experts = w.layers[layer].experts;
    experts.resize(f.router.n_experts);
    for (int64_t e = 0; e < f.router.n_experts; ++e)
      for (const ExpertRole& role : kExpertRoles)
        out.push_back({&(experts[e].*role.member), hf_expert_name(c, layer, e, role),
                       expert_role_shape(c, role.member, f.expert_ffn)});
  }
  return out;
}

ModelWeights weights_from_hf(const ModelConfig& c, const std::map<std::string, Tensor>& tensors,
                             const std::string& source) {
  ModelWeights w;
  for (HfTensorSlot& slot : hf_tensor_slots(c, w)) *slot.tensor = find_tensor(tensors, slot.name, slot.shape, source);
  if (c.tie_embeddings) w.output = w.token_embd;
  int64_t first_moe = 0;
  while (!c.layers[first_moe].ffn.is_moe()) ++first_moe;
  check_no_shared_expert(
      c, tensors, hf_layer(first_moe) + arch_table(c.arch).hf_shared_block + "gate_proj.weight",
      source + "/config.json: " +
          (c.layers[first_moe].attention.kind == AttentionKind::kMla ? "n_shared_experts"
                                                                     : "shared_expert_intermediate_size"));
  return w;
}

ModelWeights weights_from_gguf(const ModelConfig& c, const std::map<std::string, Tensor>& file_tensors,
                               const std::string& source) {
  const std::map<std::string, Tensor> tensors = join_split_kv_b(c, file_tensors, source);
  ModelWeights w;
  for (Slot& slot : plain_slots(c, w)) {
    const Tensor& found = find_tensor(tensors, slot.gguf_name, slot.shape, source, slot.gguf_1d);
    // The view itself (with any i8 / f8_e4m3 scales) unless a 1-D GGUF tensor needs its 2-D shape.
    *slot.tensor = found.shape() == slot.shape ? found : Tensor(found.dtype(), slot.shape, found.data(), found.owner());
  }
  if (c.tie_embeddings) w.output = w.token_embd;
  int64_t first_moe = 0;
  while (!c.layers[first_moe].ffn.is_moe()) ++first_moe;
  const bool mla = c.layers[first_moe].attention.kind == AttentionKind::kMla;
  check_no_shared_expert(
      c, tensors, gguf_layer(first_moe) + "ffn_gate_shexp.weight",
      source + ": " + gguf_arch_name(c.arch) + (mla ? ".expert_shared_count" : ".expert_shared_feed_forward_length"));
  for (int64_t layer = 0; layer < c.n_layers(); ++layer) {
    const FfnSpec& f = c.layers[layer].ffn;
    if (!f.is_moe()) continue;
    auto& experts = w.layers[layer].experts;
    experts.resize(f.router.n_experts);
    for (const ExpertRole& role : kExpertRoles) {
      std::vector<int64_t> shape = expert_role_shape(c, role.member, f.expert_ffn);
      shape.insert(shape.begin(), f.router.n_experts);
      const Tensor& merged = find_tensor(tensors, gguf_layer(layer) + role.gguf + ".weight", shape, source);
      for (int64_t e = 0; e < f.router.n_experts; ++e) experts[e].*role.member = merged.select(e);
    }
  }
  return w;
}

NamedTensors weights_to_hf(const ModelConfig& c, const ModelWeights& weights) {
  ModelWeights copy = weights;
  NamedTensors out;
  const bool unpermute = c.rope_style == kernels::RopeStyle::kInterleaved;
  for (const HfTensorSlot& slot : hf_tensor_slots(c, copy))
    out.emplace_back(slot.name, unpermute && slot.rope_heads > 0 ? permute_heads(*slot.tensor, slot.rope_heads, false)
                                                                 : *slot.tensor);
  return out;
}

NamedTensors weights_to_gguf(const ModelConfig& c, const ModelWeights& weights) {
  ModelWeights copy = weights;
  NamedTensors out;
  // The llama arch always stores interleaved q/k rows; an HF-sourced model must be permuted.
  const bool permute = arch_table(c.arch).gguf_interleaved_rope && c.rope_style == kernels::RopeStyle::kNeox;
  for (const Slot& slot : plain_slots(c, copy)) {
    Tensor t = permute && slot.rope_heads > 0 ? permute_heads(*slot.tensor, slot.rope_heads, true) : *slot.tensor;
    if (slot.gguf_1d) t = Tensor(t.dtype(), {t.numel()}, t.data(), t.owner());
    out.emplace_back(slot.gguf_name, t);
  }
  for (int64_t layer = 0; layer < c.n_layers(); ++layer)
    for (const ExpertRole& role : kExpertRoles)
      if (c.layers[layer].ffn.is_moe())
        out.emplace_back(gguf_layer(layer) + role.gguf + ".weight",
                         merge_experts(copy.layers[layer].experts, role.member));
  return out;
}

}  // namespace moe::model
