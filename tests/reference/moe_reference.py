#!/usr/bin/python3
"""Independent PyTorch reference for the MoE decoders moe.cpp supports.

Written from the published Hugging Face definitions (transformers'
modeling_mixtral.py, modeling_qwen2_moe.py, modeling_qwen3_moe.py,
modeling_olmoe.py), not from the C++ engine.  Everything is computed in
float64 (weights are read as float32/f16/bf16 and widened), so the logits are
closer to exact than any f32 engine.

Usage as a module:
    m = load_model("/path/to/hf_dir")
    logits = m.forward([1, 17, 42])          # torch.float64 [T, vocab]

Usage as a CLI:
    /usr/bin/python3 tests/reference/moe_reference.py --model DIR --tokens 1,17,42
prints the argmax of the last position and the first logits.

Only the pieces these architectures need are implemented: no KV cache (every
call recomputes the whole sequence), no rope_scaling, batch size 1.
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

SUPPORTED = ("mixtral", "qwen2_moe", "qwen3_moe", "olmoe")

# ---------------------------------------------------------------------------
# safetensors reading (no safetensors package): 8-byte LE header length,
# JSON header {name: {dtype, shape, data_offsets:[begin,end)}} , raw LE data.
# ---------------------------------------------------------------------------

_NP_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_safetensors(path):
    """Returns {name: np.ndarray float32} for one .safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    base = 8 + hlen
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        shape = tuple(info["shape"])
        b, e = info["data_offsets"]
        buf = raw[base + b: base + e]
        if dt == "BF16":
            u16 = np.frombuffer(buf, dtype="<u2").astype(np.uint32)
            arr = (u16 << 16).view(np.float32)
        elif dt in _NP_DTYPES:
            arr = np.frombuffer(buf, dtype=np.dtype(_NP_DTYPES[dt]).newbyteorder("<")).astype(np.float32)
        else:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, name, dt))
        n = int(np.prod(shape)) if shape else 1
        if arr.size != n:
            raise ValueError("%s: tensor %s has %d elements, shape %s wants %d" % (path, name, arr.size, shape, n))
        out[name] = arr.reshape(shape).copy()
    return out


def load_hf_weights(model_dir):
    """Reads model.safetensors, or every shard named in model.safetensors.index.json."""
    single = os.path.join(model_dir, "model.safetensors")
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        tensors = {}
        for shard in sorted(set(weight_map.values())):
            part = read_safetensors(os.path.join(model_dir, shard))
            tensors.update(part)
        missing = [n for n in weight_map if n not in tensors]
        if missing:
            raise ValueError("index names tensors absent from the shards: %s" % missing[:5])
        return tensors
    if os.path.exists(single):
        return read_safetensors(single)
    raise FileNotFoundError("%s has neither model.safetensors nor model.safetensors.index.json" % model_dir)


# ---------------------------------------------------------------------------
# Small numerics shared by every architecture
# ---------------------------------------------------------------------------

def stable_topk(scores, k):
    """Top-k along the last dim of a 2-D tensor, ordered by descending score,
    exact ties broken by the LOWEST index (torch.topk does not promise this).
    Returns (values [T,k], indices [T,k] int64)."""
    s = scores.detach().cpu().numpy()
    T, E = s.shape
    idx = np.empty((T, k), dtype=np.int64)
    for t in range(T):
        # lexsort: last key is primary -> sort by -score, then by index
        order = np.lexsort((np.arange(E), -s[t]))
        idx[t] = order[:k]
    idx_t = torch.from_numpy(idx)
    return torch.gather(scores, 1, idx_t), idx_t


def argmax_lowest(v):
    """argmax of a 1-D tensor, ties -> lowest index."""
    a = v.detach().cpu().numpy()
    return int(np.flatnonzero(a == a.max())[0])


def rms_norm(x, w, eps):
    # HF: x * rsqrt(mean(x^2, -1) + eps), then weight * x (weight applied after).
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rope_cos_sin(T, dim, theta):
    # HF default rope: inv_freq[i] = 1 / theta^(2i/dim), i < dim/2; emb = cat(freqs, freqs)
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    pos = torch.arange(T, dtype=torch.float64)
    freqs = torch.outer(pos, inv_freq)              # [T, dim/2]
    emb = torch.cat((freqs, freqs), dim=-1)         # [T, dim]
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rope(x, cos, sin):
    # x [heads, T, head_dim]; cos/sin [T, head_dim]  (NEOX / rotate-half layout)
    return x * cos + rotate_half(x) * sin


def silu(x):
    return x * torch.sigmoid(x)


def swiglu(x, w_gate, w_up, w_down):
    # down( silu(gate(x)) * up(x) );  HF Linear: y = x @ W^T
    return (silu(x @ w_gate.T) * (x @ w_up.T)) @ w_down.T


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------

class MoEReference:
    def __init__(self, config, tensors, dtype=torch.float64):
        """dtype: float64 for golden values; float32 only to estimate what an
        f32 engine's rounding does to the logits."""
        self.cfg = config
        mt = config.get("model_type")
        if mt not in SUPPORTED:
            raise ValueError("model_type %r not supported (want one of %s)" % (mt, SUPPORTED))
        self.model_type = mt
        act = config.get("hidden_act", "silu")
        if act not in ("silu", "swish"):
            raise ValueError("hidden_act %r not supported" % act)
        rs = config.get("rope_scaling")
        if rs and rs.get("rope_type", rs.get("type", "default")) != "default":
            raise ValueError("rope_scaling %r not supported" % (rs,))
        if config.get("partial_rotary_factor", 1.0) != 1.0:
            raise ValueError("partial_rotary_factor not supported")

        self.H = config["hidden_size"]
        self.L = config["num_hidden_layers"]
        self.nh = config["num_attention_heads"]
        self.nkv = config.get("num_key_value_heads") or self.nh
        if mt == "olmoe":
            # modeling_olmoe.py: head_dim = hidden_size // num_heads (no head_dim key)
            self.hd = self.H // self.nh
        else:
            self.hd = config.get("head_dim") or self.H // self.nh
        self.eps = config["rms_norm_eps"]
        self.theta = float(config.get("rope_theta", 10000.0))
        self.vocab = config["vocab_size"]
        self.tie = bool(config.get("tie_word_embeddings", False))
        self.k = config["num_experts_per_tok"]
        if mt == "mixtral":
            self.E = config["num_local_experts"]
            self.renorm = True
        else:
            self.E = config["num_experts"]
            self.renorm = bool(config.get("norm_topk_prob", False))
        self.clip_qkv = config.get("clip_qkv") if mt == "olmoe" else None
        self.sliding_window = None
        if mt == "mixtral":
            self.sliding_window = config.get("sliding_window")
        elif mt in ("qwen2_moe", "qwen3_moe") and config.get("use_sliding_window", False):
            self.sliding_window = config.get("sliding_window")

        self.dtype = dtype
        self.w = {n: torch.from_numpy(a).to(dtype) for n, a in tensors.items()}
        self._check()

    # which layers are sparse (Qwen2/3-MoE may interleave dense MLP layers)
    def is_moe_layer(self, l):
        if self.model_type in ("qwen2_moe", "qwen3_moe"):
            only = self.cfg.get("mlp_only_layers") or []
            step = self.cfg.get("decoder_sparse_step", 1) or 1
            return (l not in only) and self.E > 0 and (l + 1) % step == 0
        return True

    def W(self, name):
        if name not in self.w:
            raise KeyError("tensor %s missing" % name)
        return self.w[name]

    def has(self, name):
        return name in self.w

    def lm_head(self):
        if self.has("lm_head.weight"):
            return self.W("lm_head.weight")
        if self.tie:
            return self.W("model.embed_tokens.weight")
        raise KeyError("lm_head.weight missing and tie_word_embeddings is false")

    def _check(self):
        H, hd, nh, nkv = self.H, self.hd, self.nh, self.nkv
        def shape(n, s):
            t = self.W(n)
            if tuple(t.shape) != tuple(s):
                raise ValueError("%s has shape %s, expected %s" % (n, tuple(t.shape), tuple(s)))
        shape("model.embed_tokens.weight", (self.vocab, H))
        shape("model.norm.weight", (H,))
        if self.has("lm_head.weight") or not self.tie:
            shape("lm_head.weight", (self.vocab, H))
        for l in range(self.L):
            p = "model.layers.%d." % l
            shape(p + "input_layernorm.weight", (H,))
            shape(p + "post_attention_layernorm.weight", (H,))
            shape(p + "self_attn.q_proj.weight", (nh * hd, H))
            shape(p + "self_attn.k_proj.weight", (nkv * hd, H))
            shape(p + "self_attn.v_proj.weight", (nkv * hd, H))
            shape(p + "self_attn.o_proj.weight", (H, nh * hd))
            if self.model_type == "qwen3_moe":
                shape(p + "self_attn.q_norm.weight", (hd,))
                shape(p + "self_attn.k_norm.weight", (hd,))
            if self.model_type == "olmoe":
                shape(p + "self_attn.q_norm.weight", (nh * hd,))
                shape(p + "self_attn.k_norm.weight", (nkv * hd,))


    # ------------------------------------------------------------------ attention
    def attention(self, l, x, cos, sin):
        """x: [T, H] (already input_layernorm'ed). Returns [T, H]."""
        p = "model.layers.%d.self_attn." % l
        T = x.shape[0]
        nh, nkv, hd = self.nh, self.nkv, self.hd

        def proj(name):
            y = x @ self.W(p + name + ".weight").T
            if self.has(p + name + ".bias"):          # qwen2_moe q/k/v biases (and attention_bias models)
                y = y + self.W(p + name + ".bias")
            return y

        q, k, v = proj("q_proj"), proj("k_proj"), proj("v_proj")    # [T, nh*hd], [T, nkv*hd]

        if self.model_type == "olmoe":
            # OLMoE: RMSNorm over the WHOLE q (nh*hd) and k (nkv*hd) projections,
            # before the per-head reshape and before RoPE; then optional clamp of q, k, v.
            q = rms_norm(q, self.W(p + "q_norm.weight"), self.eps)
            k = rms_norm(k, self.W(p + "k_norm.weight"), self.eps)
            if self.clip_qkv is not None:
                c = float(self.clip_qkv)
                q, k, v = q.clamp(-c, c), k.clamp(-c, c), v.clamp(-c, c)

        q = q.view(T, nh, hd).transpose(0, 1)     # [nh, T, hd]
        k = k.view(T, nkv, hd).transpose(0, 1)    # [nkv, T, hd]
        v = v.view(T, nkv, hd).transpose(0, 1)

        if self.model_type == "qwen3_moe":
            # Qwen3-MoE: RMSNorm over head_dim, per head (same weight for every head), before RoPE
            q = rms_norm(q, self.W(p + "q_norm.weight"), self.eps)
            k = rms_norm(k, self.W(p + "k_norm.weight"), self.eps)

        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)

        rep = nh // nkv                            # GQA: q head h uses kv head h // rep
        k = k.repeat_interleave(rep, dim=0)
        v = v.repeat_interleave(rep, dim=0)

        scores = (q @ k.transpose(1, 2)) / math.sqrt(hd)        # [nh, T, T]
        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        allowed = j <= i
        if self.sliding_window is not None:
            allowed = allowed & (i - j < int(self.sliding_window))
        scores = scores.masked_fill(~allowed, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        out = probs @ v                                          # [nh, T, hd]
        out = out.transpose(0, 1).reshape(T, nh * hd)
        y = out @ self.W(p + "o_proj.weight").T
        if self.has(p + "o_proj.bias"):
            y = y + self.W(p + "o_proj.bias")
        return y

    # ------------------------------------------------------------------ routing
    def route(self, router_logits):
        """softmax over all experts (HF does it in fp32; we do fp64), stable top-k,
        renormalise the k probabilities if Mixtral or norm_topk_prob."""
        probs = torch.softmax(router_logits, dim=-1)
        w, idx = stable_topk(probs, self.k)
        if self.renorm:
            w = w / w.sum(dim=-1, keepdim=True)
        return w, idx

    def expert(self, l, e, x):
        if self.model_type == "mixtral":
            p = "model.layers.%d.block_sparse_moe.experts.%d." % (l, e)
            return swiglu(x, self.W(p + "w1.weight"), self.W(p + "w3.weight"), self.W(p + "w2.weight"))
        p = "model.layers.%d.mlp.experts.%d." % (l, e)
        return swiglu(x, self.W(p + "gate_proj.weight"), self.W(p + "up_proj.weight"), self.W(p + "down_proj.weight"))

    def ffn(self, l, x, trace=None):
        """x: [T, H] (post_attention_layernorm'ed). Returns [T, H]."""
        if not self.is_moe_layer(l):
            p = "model.layers.%d.mlp." % l
            return swiglu(x, self.W(p + "gate_proj.weight"), self.W(p + "up_proj.weight"), self.W(p + "down_proj.weight"))
        gname = ("model.layers.%d.block_sparse_moe.gate.weight" if self.model_type == "mixtral"
                 else "model.layers.%d.mlp.gate.weight") % l
        router_logits = x @ self.W(gname).T                     # [T, E]
        w, idx = self.route(router_logits)
        if trace is not None:
            # gap between the k-th and (k+1)-th router probability: how close an
            # f32 engine is to choosing a different expert set
            sp = torch.sort(torch.softmax(router_logits, dim=-1), dim=-1, descending=True).values
            gap = (sp[:, self.k - 1] - sp[:, self.k]) if self.k < self.E else torch.ones(sp.shape[0])
            trace.append({"experts": idx.tolist(), "weights": w.tolist(), "min_gap": float(gap.min())})
        out = torch.zeros_like(x)
        for e in range(self.E):
            rows, slot = (idx == e).nonzero(as_tuple=True)
            if rows.numel() == 0:
                continue
            out.index_add_(0, rows, self.expert(l, e, x[rows]) * w[rows, slot][:, None])
        if self.model_type == "qwen2_moe":
            p = "model.layers.%d.mlp." % l
            shared = swiglu(x, self.W(p + "shared_expert.gate_proj.weight"),
                            self.W(p + "shared_expert.up_proj.weight"),
                            self.W(p + "shared_expert.down_proj.weight"))
            gate = torch.sigmoid(x @ self.W(p + "shared_expert_gate.weight").T)   # [T, 1]
            out = out + gate * shared
        return out

    # ------------------------------------------------------------------ full model
    def forward(self, tokens, trace=None):
        """tokens: list of ids. Returns float64 logits [T, vocab]. If trace is a
        list, per-MoE-layer routing ({experts, weights}) is appended to it."""
        tokens = [int(t) for t in tokens]
        for t in tokens:
            if not 0 <= t < self.vocab:
                raise ValueError("token %d out of vocab %d" % (t, self.vocab))
        T = len(tokens)
        h = self.W("model.embed_tokens.weight")[torch.tensor(tokens, dtype=torch.long)]
        cos, sin = rope_cos_sin(T, self.hd, self.theta)
        cos, sin = cos.to(self.dtype), sin.to(self.dtype)
        for l in range(self.L):
            p = "model.layers.%d." % l
            a = rms_norm(h, self.W(p + "input_layernorm.weight"), self.eps)
            h = h + self.attention(l, a, cos, sin)
            m = rms_norm(h, self.W(p + "post_attention_layernorm.weight"), self.eps)
            h = h + self.ffn(l, m, trace)
        h = rms_norm(h, self.W("model.norm.weight"), self.eps)
        return h @ self.lm_head().T


def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)


def load_model(model_dir, dtype=torch.float64):
    cfg = load_config(model_dir)
    if cfg.get("model_type") in ("deepseek_v2", "deepseek_v3"):
        import deepseek_reference  # noqa: E402 (MLA models: tests/reference/deepseek_reference.py)
        return deepseek_reference.DeepseekReference(cfg, load_hf_weights(model_dir), dtype)
    return MoEReference(cfg, load_hf_weights(model_dir), dtype)


def greedy(model, prompt, n):
    """Greedy decoding, recomputing the full sequence every step; argmax ties ->
    lowest id. Returns (generated ids, logits of the last step [vocab], margins)."""
    seq = list(prompt)
    gen, margins, last = [], [], None
    for _ in range(n):
        logits = model.forward(seq)[-1]
        t = argmax_lowest(logits)
        top2 = torch.topk(logits, 2).values
        margins.append(float(top2[0] - top2[1]))
        gen.append(t)
        seq.append(t)
        last = logits
    return gen, last, margins


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", default="1,17,42")
    args = ap.parse_args(argv)
    m = load_model(args.model)
    toks = [int(x) for x in args.tokens.split(",") if x.strip()]
    logits = m.forward(toks)
    print("model_type", m.model_type, "T", len(toks), "vocab", m.vocab)
    print("argmax last:", argmax_lowest(logits[-1]))
    print("logits[-1][:8]:", [round(float(x), 6) for x in logits[-1][:8]])


if __name__ == "__main__":
    sys.exit(main())
