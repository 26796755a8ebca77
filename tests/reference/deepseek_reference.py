#!/usr/bin/python3
"""Independent PyTorch reference for DeepSeek-V2 / V2-Lite (model_type deepseek_v2) and
DeepSeek-V3 / R1 (deepseek_v3), written from the published modeling_deepseek.py of
deepseek-ai/DeepSeek-V3 and DeepSeek-V2 (DeepseekV3Attention, DeepseekV3MLP, MoEGate,
DeepseekV3MoE, DeepseekV3RotaryEmbedding, DeepseekV3YarnRotaryEmbedding, yarn_* helpers,
apply_rotary_pos_emb) and never from src/.  Float64 throughout, no KV cache, batch 1.

Usage as a module: moe_reference.load_model(DIR) dispatches here for the deepseek model types;
DeepseekReference(config, tensors).forward(tokens) -> float64 logits [T, vocab].

What the HF code does that matters here:
- MLA: q = q_b_proj(q_a_layernorm(q_a_proj(x))) (q_lora_rank set) or q_proj(x); [c_kv | k_pe] =
  kv_a_proj_with_mqa(x); k_nope, v = kv_b_proj(kv_a_layernorm(c_kv)) per head; RoPE on q_pe and the
  single k_pe after permuting each from interleaved pairs to halves (view(d/2, 2).transpose);
  softmax_scale = q_head_dim^-0.5 * yarn_get_mscale(factor, mscale_all_dim)^2 (when mscale_all_dim).
- YaRN: inv_freq blends freq/factor and freq by a linear ramp between the correction dims of
  beta_fast and beta_slow; cos and sin times mscale(factor, mscale) / mscale(factor, mscale_all_dim).
- Layers: dense DeepseekV3MLP(intermediate_size) for layer < first_k_dense_replace or
  layer % moe_layer_freq != 0; else routed experts + shared experts (n_shared_experts *
  moe_intermediate_size wide), added without a gate.
- V3 gate (noaux_tc): s = sigmoid(logits); choice = s + e_score_correction_bias; group score = sum
  of the top-2 choice scores; keep topk_group groups, others masked to 0.0; top-k of choice;
  weights s, / (sum + 1e-20) when top_k > 1 and norm_topk_prob; always * routed_scaling_factor.
- V2 gate: s = softmax(logits); greedy: top-k of s; group_limited_greedy: group score = max s,
  others masked to 0.0; weights s, normalised (+1e-20) when top_k > 1 and norm_topk_prob, else
  * routed_scaling_factor.
Exact ties are broken by the lowest index (torch.topk does not promise an order).
"""

import math

import torch

import moe_reference as ref

SUPPORTED = ("deepseek_v2", "deepseek_v3")


def yarn_find_correction_dim(num_rotations, dim, base=10000, max_position_embeddings=2048):
    return (dim * math.log(max_position_embeddings / (num_rotations * 2 * math.pi))) / (2 * math.log(base))


def yarn_find_correction_range(low_rot, high_rot, dim, base=10000, max_position_embeddings=2048):
    low = math.floor(yarn_find_correction_dim(low_rot, dim, base, max_position_embeddings))
    high = math.ceil(yarn_find_correction_dim(high_rot, dim, base, max_position_embeddings))
    return max(low, 0), min(high, dim - 1)


def yarn_get_mscale(scale=1, mscale=1):
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def yarn_linear_ramp_mask(lo, hi, dim):
    if lo == hi:
        hi += 0.001
    linear = (torch.arange(dim, dtype=torch.float64) - lo) / (hi - lo)
    return torch.clamp(linear, 0, 1)


def rotary_cos_sin(T, dim, base, rope_scaling):
    """cos, sin [T, dim] as DeepseekV3RotaryEmbedding / DeepseekV3YarnRotaryEmbedding cache them."""
    ar = torch.arange(0, dim, 2, dtype=torch.float64) / dim
    mscale = 1.0
    if rope_scaling is None:
        inv_freq = 1.0 / (base ** ar)
    else:
        factor = rope_scaling["factor"]
        orig = rope_scaling.get("original_max_position_embeddings", 4096)
        beta_fast = rope_scaling.get("beta_fast", 32)
        beta_slow = rope_scaling.get("beta_slow", 1)
        freq_extra = 1.0 / (base ** ar)
        freq_inter = 1.0 / (factor * base ** ar)
        low, high = yarn_find_correction_range(beta_fast, beta_slow, dim, base, orig)
        inv_freq_mask = 1.0 - yarn_linear_ramp_mask(low, high, dim // 2)
        inv_freq = freq_inter * (1 - inv_freq_mask) + freq_extra * inv_freq_mask
        mscale = (yarn_get_mscale(factor, rope_scaling.get("mscale", 1))
                  / yarn_get_mscale(factor, rope_scaling.get("mscale_all_dim", 0)))
    t = torch.arange(T, dtype=torch.float64)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * mscale, emb.sin() * mscale


def apply_rotary_pos_emb(q, k, cos, sin):
    """q [h, T, d], k [1, T, d]: HF's permutation from interleaved pairs to halves, then rotate_half."""
    def permute(x):
        h, s, d = x.shape
        return x.view(h, s, d // 2, 2).transpose(3, 2).reshape(h, s, d)
    q, k = permute(q), permute(k)
    return q * cos + ref.rotate_half(q) * sin, k * cos + ref.rotate_half(k) * sin


class DeepseekReference:
    def __init__(self, config, tensors, dtype=torch.float64):
        self.cfg = config
        mt = config.get("model_type")
        if mt not in SUPPORTED:
            raise ValueError("model_type %r not supported" % mt)
        self.model_type = mt
        if config.get("hidden_act", "silu") not in ("silu", "swish"):
            raise ValueError("hidden_act not supported")
        if config.get("attention_bias", False):
            raise ValueError("attention_bias not supported")
        rs = config.get("rope_scaling")
        if rs is not None and rs.get("type", rs.get("rope_type")) != "yarn":
            raise ValueError("rope_scaling %r not supported" % (rs,))
        self.rope_scaling = rs
        self.H = config["hidden_size"]
        self.L = config["num_hidden_layers"]
        self.nh = config["num_attention_heads"]
        self.q_lora_rank = config.get("q_lora_rank")
        self.kv_lora_rank = config["kv_lora_rank"]
        self.nope = config["qk_nope_head_dim"]
        self.rope = config["qk_rope_head_dim"]
        self.v_dim = config["v_head_dim"]
        self.q_head_dim = self.nope + self.rope
        self.eps = config["rms_norm_eps"]
        self.theta = float(config.get("rope_theta", 10000.0))
        self.vocab = config["vocab_size"]
        self.tie = bool(config.get("tie_word_embeddings", False))
        self.k = config["num_experts_per_tok"]
        self.E = config["n_routed_experts"]
        self.n_shared = config.get("n_shared_experts") or 0
        self.first_dense = config.get("first_k_dense_replace", 0)
        self.freq = config.get("moe_layer_freq", 1)
        self.norm_topk = bool(config.get("norm_topk_prob", False))
        self.scale_factor = float(config.get("routed_scaling_factor", 1.0))
        self.n_group = config.get("n_group", 1)
        self.topk_group = config.get("topk_group", 1)
        if mt == "deepseek_v3":
            self.topk_method = config.get("topk_method", "noaux_tc")
            self.scoring = config.get("scoring_func", "sigmoid")
            if self.topk_method != "noaux_tc" or self.scoring != "sigmoid":
                raise ValueError("deepseek_v3 gate: noaux_tc with sigmoid only")
        else:
            self.topk_method = config.get("topk_method", "greedy")
            self.scoring = config.get("scoring_func", "softmax")
            if self.topk_method not in ("greedy", "group_limited_greedy") or self.scoring != "softmax":
                raise ValueError("deepseek_v2 gate: greedy / group_limited_greedy with softmax only")
        self.softmax_scale = self.q_head_dim ** (-0.5)
        if rs is not None:
            mscale_all_dim = rs.get("mscale_all_dim", 0)
            if mscale_all_dim:
                m = yarn_get_mscale(rs["factor"], mscale_all_dim)
                self.softmax_scale = self.softmax_scale * m * m
        self.dtype = dtype
        self.w = {n: torch.from_numpy(a).to(dtype) for n, a in tensors.items()}

    def is_moe_layer(self, l):
        return self.E is not None and l >= self.first_dense and l % self.freq == 0

    def W(self, name):
        if name not in self.w:
            raise KeyError("tensor %s missing" % name)
        return self.w[name]

    def lm_head(self):
        if "lm_head.weight" in self.w:
            return self.W("lm_head.weight")
        if self.tie:
            return self.W("model.embed_tokens.weight")
        raise KeyError("lm_head.weight missing and tie_word_embeddings is false")

    def attention(self, l, x, cos, sin):
        p = "model.layers.%d.self_attn." % l
        T = x.shape[0]
        nh, qhd = self.nh, self.q_head_dim
        if self.q_lora_rank is None:
            q = x @ self.W(p + "q_proj.weight").T
        else:
            qa = ref.rms_norm(x @ self.W(p + "q_a_proj.weight").T, self.W(p + "q_a_layernorm.weight"), self.eps)
            q = qa @ self.W(p + "q_b_proj.weight").T
        q = q.view(T, nh, qhd).transpose(0, 1)                           # [nh, T, qhd]
        q_nope, q_pe = torch.split(q, [self.nope, self.rope], dim=-1)
        ckv = x @ self.W(p + "kv_a_proj_with_mqa.weight").T
        ckv, k_pe = torch.split(ckv, [self.kv_lora_rank, self.rope], dim=-1)
        k_pe = k_pe.reshape(T, 1, self.rope).transpose(0, 1)             # [1, T, rope]
        kv = ref.rms_norm(ckv, self.W(p + "kv_a_layernorm.weight"), self.eps) @ self.W(p + "kv_b_proj.weight").T
        kv = kv.view(T, nh, self.nope + self.v_dim).transpose(0, 1)
        k_nope, v = torch.split(kv, [self.nope, self.v_dim], dim=-1)
        q_pe, k_pe = apply_rotary_pos_emb(q_pe, k_pe, cos, sin)
        query = torch.cat((q_nope, q_pe), dim=-1)
        key = torch.cat((k_nope, k_pe.expand(nh, T, self.rope)), dim=-1)
        scores = (query @ key.transpose(1, 2)) * self.softmax_scale
        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        scores = scores.masked_fill(~(j <= i), float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v                          # [nh, T, v]
        return out.transpose(0, 1).reshape(T, nh * self.v_dim) @ self.W(p + "o_proj.weight").T

    def gate(self, l, x):
        """MoEGate: (weights [T, k], experts [T, k], min gap of the final selection scores)."""
        p = "model.layers.%d.mlp.gate." % l
        logits = x @ self.W(p + "weight").T
        T = logits.shape[0]
        if self.model_type == "deepseek_v3":
            scores = torch.sigmoid(logits)
            choice = scores + self.W(p + "e_score_correction_bias")[None, :]
            group_scores = torch.sort(choice.view(T, self.n_group, -1), dim=-1, descending=True).values[..., :2].sum(-1)
            choice_for_groups = choice
        else:
            scores = torch.softmax(logits, dim=-1)
            choice = scores
            if self.topk_method == "group_limited_greedy":
                group_scores = scores.view(T, self.n_group, -1).max(dim=-1).values
            choice_for_groups = scores
        if self.model_type == "deepseek_v3" or self.topk_method == "group_limited_greedy":
            _, group_idx = ref.stable_topk(group_scores, self.topk_group)
            group_mask = torch.zeros_like(group_scores)
            group_mask.scatter_(1, group_idx, 1)
            score_mask = group_mask.unsqueeze(-1).expand(T, self.n_group, self.E // self.n_group).reshape(T, -1)
            choice = choice_for_groups.masked_fill(~score_mask.bool(), 0.0)
        _, idx = ref.stable_topk(choice, self.k)
        w = scores.gather(1, idx)
        sorted_choice = torch.sort(choice, dim=-1, descending=True).values
        gap = float((sorted_choice[:, self.k - 1] - sorted_choice[:, self.k]).min()) if self.k < self.E else 1.0
        normalise = self.k > 1 and self.norm_topk
        if normalise:
            w = w / (w.sum(dim=-1, keepdim=True) + 1e-20)
        if self.model_type == "deepseek_v3" or not normalise:
            w = w * self.scale_factor
        return w, idx, gap

    def ffn(self, l, x, trace=None):
        p = "model.layers.%d.mlp." % l
        if not self.is_moe_layer(l):
            return ref.swiglu(x, self.W(p + "gate_proj.weight"), self.W(p + "up_proj.weight"),
                              self.W(p + "down_proj.weight"))
        w, idx, gap = self.gate(l, x)
        if trace is not None:
            trace.append({"experts": idx.tolist(), "weights": w.tolist(), "min_gap": gap})
        out = torch.zeros_like(x)
        for e in range(self.E):
            rows, slot = (idx == e).nonzero(as_tuple=True)
            if rows.numel() == 0:
                continue
            q = p + "experts.%d." % e
            y = ref.swiglu(x[rows], self.W(q + "gate_proj.weight"), self.W(q + "up_proj.weight"),
                           self.W(q + "down_proj.weight"))
            out.index_add_(0, rows, y * w[rows, slot][:, None])
        if self.n_shared:
            q = p + "shared_experts."
            out = out + ref.swiglu(x, self.W(q + "gate_proj.weight"), self.W(q + "up_proj.weight"),
                                   self.W(q + "down_proj.weight"))
        return out

    def forward(self, tokens, trace=None):
        tokens = [int(t) for t in tokens]
        for t in tokens:
            if not 0 <= t < self.vocab:
                raise ValueError("token %d out of vocab %d" % (t, self.vocab))
        T = len(tokens)
        h = self.W("model.embed_tokens.weight")[torch.tensor(tokens, dtype=torch.long)]
        cos, sin = rotary_cos_sin(T, self.rope, self.theta, self.rope_scaling)
        cos, sin = cos.to(self.dtype), sin.to(self.dtype)
        for l in range(self.L):
            p = "model.layers.%d." % l
            a = ref.rms_norm(h, self.W(p + "input_layernorm.weight"), self.eps)
            h = h + self.attention(l, a, cos, sin)
            m = ref.rms_norm(h, self.W(p + "post_attention_layernorm.weight"), self.eps)
            h = h + self.ffn(l, m, trace)
        h = ref.rms_norm(h, self.W("model.norm.weight"), self.eps)
        return h @ self.lm_head().T
