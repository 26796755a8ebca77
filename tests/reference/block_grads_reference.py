#!/usr/bin/python3
"""Golden forward values and gradients of the training blocks, from PyTorch autograd in float64.

    /usr/bin/python3 tests/reference/block_grads_reference.py --out tests/golden/train_blocks.json

Every input and parameter is drawn in float32 (so the C++ test reads exactly the same values),
then widened to float64; each block's output y and the gradients of sum(y * dout) (dout a random
upstream gradient, stored too) w.r.t. its inputs and parameters come from torch.autograd. The
blocks follow the Hugging Face definitions (modeling_mixtral.py, modeling_qwen2_moe.py) and the
Megatron-Core router (moe/router.py, moe/moe_utils.py): written from those, not from src/.

Blocks: embedding, rmsnorm, linear (with bias), attention (rotate-half RoPE with q/k/v biases,
interleaved RoPE without, per-head q/k norms as Qwen3-MoE, whole-projection q/k norms with q/k/v
clipping as OLMoE), grouped SwiGLU experts, cross-entropy, the MoE layer (jitter, aux and z losses;
capacity with dropped pairs and a shared expert), and three 2-layer models (mixtral-, qwen2moe- and
olmoe-like) whose loss is cross-entropy + aux + z losses.

Routing (Megatron-Core, single process):
  pre_softmax false: top-k of the logits, softmax over those k (Mixtral)
  pre_softmax true:  softmax over all E, then top-k (Qwen2-MoE, not renormalised)
  capacity (drop policy "probs"): capacity = ceil(T * k / E * factor); each expert keeps its
    `capacity` routed tokens of highest probability, a dropped pair gets weight 0
  aux loss: coeff * E / (k T^2) * sum_i (sum_t p[t,i]) * c_i, p = softmax over all E logits,
    c_i = count of a plain top-k of p (no dropping)
  z loss:   coeff * mean_t logsumexp(logits_t)^2
Each routed row lists its experts by descending selection score, -1 where the pair was dropped.
The script checks that no selection is decided by a near-tie (so float32 selects the same).
"""

import argparse
import json
import math
import os
import shlex
import sys

import torch

torch.set_default_dtype(torch.float64)
MIN_GAP = 1e-3  # smallest allowed margin of a top-k or capacity decision


class Draw:
    """float32 draws from one seeded generator, returned as float64 tensors."""

    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)

    def normal(self, shape, std=1.0, mean=0.0):
        x = torch.randn(shape, generator=self.gen, dtype=torch.float32) * std + mean
        return x.to(torch.float64)

    def uniform(self, shape, low, high):
        x = torch.rand(shape, generator=self.gen, dtype=torch.float32) * (high - low) + low
        return x.to(torch.float64)

    def tokens(self, n, vocab):
        return torch.randint(0, vocab, (n,), generator=self.gen)


def flat(t):
    """Tensor -> list of floats with 9 significant digits (float32-exact for the inputs, which
    are float32 values; well inside the tests' 1e-5 tolerance for outputs and gradients)."""
    return [float("%.9g" % v) for v in t.detach().reshape(-1)]


def grad(t):
    """Gradient of a leaf as a list (zeros when nothing reached it, e.g. an expert with no rows)."""
    return flat(t.grad if t.grad is not None else torch.zeros_like(t))


def leaf(t):
    return t.clone().requires_grad_(True)


# ---------------------------------------------------------------------------- blocks

def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def rope_cos_sin(S, dim, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    freqs = torch.outer(torch.arange(S, dtype=torch.float64), inv_freq)  # [S, dim/2]
    return freqs.cos(), freqs.sin()


def apply_rope(x, cos, sin, style):
    """x [..., S, d]; neox pairs (i, i + d/2), interleaved pairs (2i, 2i+1)."""
    d = x.shape[-1]
    if style == "neox":
        a, b = x[..., : d // 2], x[..., d // 2:]
        return torch.cat((a * cos - b * sin, b * cos + a * sin), dim=-1)
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * cos - b * sin, b * cos + a * sin), dim=-1).reshape(x.shape)


def attention(x, p, B, S, nh, nkv, hd, theta, style, qk_norm="none", eps=1e-5, clip=None):
    """x [B*S, H]; p: wq wk wv wo, optional bq bk bv, q_norm k_norm. Causal, GQA, RoPE per
    sequence. qk_norm "whole" (OLMoE): RMSNorm over the whole q / k projection; "per_head"
    (Qwen3-MoE): over each head's head_dim. clip (OLMoE clip_qkv): clamp q, k, v after the norms."""
    q, k, v = linear(x, p["wq"], p.get("bq")), linear(x, p["wk"], p.get("bk")), linear(x, p["wv"], p.get("bv"))
    if qk_norm == "whole":
        q, k = rms_norm(q, p["q_norm"], eps), rms_norm(k, p["k_norm"], eps)
    q, k, v = q.view(B, S, nh, hd), k.view(B, S, nkv, hd), v.view(B, S, nkv, hd)
    if qk_norm == "per_head":
        q, k = rms_norm(q, p["q_norm"], eps), rms_norm(k, p["k_norm"], eps)
    if clip is not None:
        q, k, v = q.clamp(-clip, clip), k.clamp(-clip, clip), v.clamp(-clip, clip)
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, heads, S, hd]
    cos, sin = rope_cos_sin(S, hd, theta)
    q, k = apply_rope(q, cos, sin, style), apply_rope(k, cos, sin, style)
    rep = nh // nkv
    k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
    mask = torch.ones(S, S, dtype=torch.bool).tril()
    probs = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    ctx = (probs @ v).transpose(1, 2).reshape(B * S, nh * hd)
    return linear(ctx, p["wo"])


def swiglu(x, gate, up, down):
    g = x @ gate.T
    return (g * torch.sigmoid(g) * (x @ up.T)) @ down.T


def cross_entropy(logits, targets):
    keep = targets >= 0
    logp = torch.log_softmax(logits[keep], dim=-1)
    return -logp.gather(1, targets[keep][:, None]).mean()


def ordered_topk(scores, k):
    """Top-k per row by descending score, ties to the lowest index; checks the k-th margin."""
    T, E = scores.shape
    idx = torch.empty(T, k, dtype=torch.long)
    for t in range(T):
        order = sorted(range(E), key=lambda e: (-float(scores[t, e]), e))
        idx[t] = torch.tensor(order[:k])
        if k < E:
            gap = float(scores[t, order[k - 1]] - scores[t, order[k]])
            assert gap > MIN_GAP, "top-k near-tie (gap %g) at token %d" % (gap, t)
    return idx


def route(logits, cfg):
    """Megatron-Core TopKRouter in one process. Returns (experts [T,k] with -1 for dropped,
    weights [T,k], aux_loss, z_loss, tokens_per_expert, dropped)."""
    T, E = logits.shape
    k = cfg["topk"]
    if cfg["pre_softmax"]:
        probs_all = torch.softmax(logits, dim=-1)
        idx = ordered_topk(probs_all, k)
        weights = probs_all.gather(1, idx)
    else:
        idx = ordered_topk(logits, k)
        weights = torch.softmax(logits.gather(1, idx), dim=-1)
    kept = torch.ones(T, k, dtype=torch.bool)
    if cfg.get("capacity_factor") is not None:
        capacity = math.ceil(T * k / E * cfg["capacity_factor"])
        for e in range(E):
            pairs = [(t, j) for t in range(T) for j in range(k) if int(idx[t, j]) == e]
            pairs.sort(key=lambda tj: -float(weights[tj]))
            if len(pairs) > capacity:
                gap = float(weights[pairs[capacity - 1]] - weights[pairs[capacity]])
                assert gap > MIN_GAP, "capacity near-tie (gap %g) at expert %d" % (gap, e)
                for tj in pairs[capacity:]:
                    kept[tj] = False
    weights = weights * kept
    experts = torch.where(kept, idx, torch.full_like(idx, -1))
    aux = torch.zeros(())
    if cfg["aux_loss_coeff"] > 0:
        p = torch.softmax(logits, dim=-1)
        counts = torch.zeros(E)
        for e in ordered_topk(p, k).reshape(-1):
            counts[e] += 1
        aux = cfg["aux_loss_coeff"] * E / (k * T * T) * (p.sum(0) * counts).sum()
    z = torch.zeros(())
    if cfg["z_loss_coeff"] > 0:
        z = cfg["z_loss_coeff"] * torch.logsumexp(logits, dim=-1).pow(2).mean()
    tokens_per_expert = [int((experts == e).sum()) for e in range(E)]
    return experts, weights, aux, z, tokens_per_expert, int((~kept).sum())


def moe_layer(x, p, cfg, noise=None):
    """x [T, H]; p: router [E,H], experts [(gate, up, down)], optional shared (gate, up, down)
    and shared_gate [1,H]. Returns (out, routing tuple)."""
    router_in = x if noise is None else x * noise
    logits = router_in @ p["router"].T
    experts, weights, aux, z, counts, dropped = route(logits, cfg)
    out = torch.zeros_like(x)
    for e, (g, u, d) in enumerate(p["experts"]):
        rows, slot = (experts == e).nonzero(as_tuple=True)
        if rows.numel() > 0:
            out = out.index_add(0, rows, swiglu(x[rows], g, u, d) * weights[rows, slot][:, None])
    if "shared" in p:
        out = out + torch.sigmoid(x @ p["shared_gate"].T) * swiglu(x, *p["shared"])
    return out, (experts, weights, aux, z, counts, dropped)


# ---------------------------------------------------------------------------- cases

def case_embedding(d):
    V, H, T = 11, 16, 7
    table, tokens, dout = leaf(d.normal((V, H))), d.tokens(T, V), d.normal((T, H))
    y = table[tokens]
    (y * dout).sum().backward()
    return {"V": V, "H": H, "tokens": tokens.tolist(), "table": flat(table), "dout": flat(dout),
            "out": flat(y), "d_table": grad(table)}


def case_rmsnorm(d):
    T, H, eps = 7, 16, 1e-5
    x, w, dout = leaf(d.normal((T, H), 2.0)), leaf(d.normal((H,), 0.1, 1.0)), d.normal((T, H))
    y = rms_norm(x, w, eps)
    (y * dout).sum().backward()
    return {"T": T, "H": H, "eps": eps, "x": flat(x), "w": flat(w), "dout": flat(dout),
            "out": flat(y), "dx": grad(x), "dw": grad(w)}


def case_linear(d):
    T, I, O = 7, 16, 12
    x, w, b, dout = leaf(d.normal((T, I))), leaf(d.normal((O, I), 0.3)), leaf(d.normal((O,))), d.normal((T, O))
    y = linear(x, w, b)
    (y * dout).sum().backward()
    return {"T": T, "I": I, "O": O, "x": flat(x), "w": flat(w), "b": flat(b), "dout": flat(dout),
            "out": flat(y), "dx": grad(x), "dw": grad(w), "db": grad(b)}


def case_attention(d, B, S, style, bias, qk_norm="none", clip=None):
    H, nh, nkv, hd, theta, eps = 16, 4, 2, 4, 10000.0, 1e-5
    x = leaf(d.normal((B * S, H)))
    p = {"wq": leaf(d.normal((nh * hd, H), 0.3)), "wk": leaf(d.normal((nkv * hd, H), 0.3)),
         "wv": leaf(d.normal((nkv * hd, H), 0.3)), "wo": leaf(d.normal((H, nh * hd), 0.3))}
    if bias:
        p.update(bq=leaf(d.normal((nh * hd,), 0.3)), bk=leaf(d.normal((nkv * hd,), 0.3)),
                 bv=leaf(d.normal((nkv * hd,), 0.3)))
    if qk_norm != "none":
        p.update(q_norm=leaf(d.normal((hd if qk_norm == "per_head" else nh * hd,), 0.1, 1.0)),
                 k_norm=leaf(d.normal((hd if qk_norm == "per_head" else nkv * hd,), 0.1, 1.0)))
    dout = d.normal((B * S, H))
    y = attention(x, p, B, S, nh, nkv, hd, theta, style, qk_norm, eps, clip)
    (y * dout).sum().backward()
    out = {"B": B, "S": S, "H": H, "n_heads": nh, "n_kv_heads": nkv, "head_dim": hd, "theta": theta,
           "style": style, "qk_norm": qk_norm, "eps": eps, "clip_qkv": clip,
           "x": flat(x), "dout": flat(dout), "out": flat(y), "dx": grad(x)}
    for name, t in p.items():
        out[name] = flat(t)
        out["d_" + name] = grad(t)
    return out


def case_swiglu(d):
    H, F, offsets = 16, 12, [0, 3, 3, 7, 9]  # 4 experts, expert 1 has no rows
    R = offsets[-1]
    x, dout = leaf(d.normal((R, H))), d.normal((R, H))
    experts = [[leaf(d.normal((F, H), 0.3)), leaf(d.normal((F, H), 0.3)), leaf(d.normal((H, F), 0.3))]
               for _ in range(len(offsets) - 1)]
    y = torch.cat([swiglu(x[offsets[e]:offsets[e + 1]], *experts[e]) for e in range(len(experts))])
    (y * dout).sum().backward()
    return {"H": H, "F": F, "offsets": offsets, "x": flat(x), "dout": flat(dout),
            "gate": [flat(e[0]) for e in experts], "up": [flat(e[1]) for e in experts],
            "down": [flat(e[2]) for e in experts], "out": flat(y), "dx": grad(x),
            "d_gate": [grad(e[0]) for e in experts], "d_up": [grad(e[1]) for e in experts],
            "d_down": [grad(e[2]) for e in experts]}


def case_cross_entropy(d):
    T, V = 7, 11
    logits = leaf(d.normal((T, V), 3.0))
    targets = d.tokens(T, V)
    targets[2] = -1  # no target at this position
    loss = cross_entropy(logits, targets)
    loss.backward()
    return {"T": T, "V": V, "logits": flat(logits), "targets": targets.tolist(), "loss": float(loss),
            "d_logits": grad(logits)}


def router_json(cfg):
    return {"num_experts": cfg["num_experts"], "topk": cfg["topk"], "pre_softmax": cfg["pre_softmax"],
            "aux_loss_coeff": cfg["aux_loss_coeff"], "z_loss_coeff": cfg["z_loss_coeff"],
            "capacity_factor": cfg.get("capacity_factor")}


def case_moe(d, cfg, jitter_eps, shared_ffn):
    T, H, F, E = 7, 16, 12, cfg["num_experts"]
    x, dout = leaf(d.normal((T, H))), d.normal((T, H))
    p = {"router": leaf(d.normal((E, H), 0.5)),
         "experts": [[leaf(d.normal((F, H), 0.3)), leaf(d.normal((F, H), 0.3)), leaf(d.normal((H, F), 0.3))]
                     for _ in range(E)]}
    if shared_ffn:
        p["shared"] = [leaf(d.normal((shared_ffn, H), 0.3)), leaf(d.normal((shared_ffn, H), 0.3)),
                       leaf(d.normal((H, shared_ffn), 0.3))]
        p["shared_gate"] = leaf(d.normal((1, H), 0.3))
    noise = d.uniform((T, H), 1 - jitter_eps, 1 + jitter_eps) if jitter_eps > 0 else None
    y, (experts, weights, aux, z, counts, dropped) = moe_layer(x, p, cfg, noise)
    ((y * dout).sum() + aux + z).backward()
    out = {"T": T, "H": H, "F": F, "shared_ffn": shared_ffn, "router_config": router_json(cfg),
           "x": flat(x), "dout": flat(dout), "noise": flat(noise) if noise is not None else [],
           "router": flat(p["router"]), "gate": [flat(e[0]) for e in p["experts"]],
           "up": [flat(e[1]) for e in p["experts"]], "down": [flat(e[2]) for e in p["experts"]],
           "out": flat(y), "experts": experts.tolist(), "weights": flat(weights), "aux_loss": float(aux),
           "z_loss": float(z), "tokens_per_expert": counts, "dropped": dropped, "dx": grad(x),
           "d_router": grad(p["router"]), "d_gate": [grad(e[0]) for e in p["experts"]],
           "d_up": [grad(e[1]) for e in p["experts"]], "d_down": [grad(e[2]) for e in p["experts"]]}
    if shared_ffn:
        for name, t in zip(("shared_gate_proj", "shared_up_proj", "shared_down_proj"), p["shared"]):
            out[name] = flat(t)
            out["d_" + name] = grad(t)
        out["shared_gate"] = flat(p["shared_gate"])
        out["d_shared_gate"] = grad(p["shared_gate"])
    return out


# ---------------------------------------------------------------------------- models

def model_tensors(d, c):
    """HF-named float64 leaves of a random model with config c."""
    H, V, E, F = c["hidden_size"], c["vocab_size"], c["num_experts"], c["expert_ffn"]
    nh, nkv, hd = c["n_heads"], c["n_kv_heads"], c["head_dim"]
    mixtral = c["arch"] == "mixtral"
    w = {"model.embed_tokens.weight": d.normal((V, H))}
    for l in range(c["n_layers"]):
        p = "model.layers.%d." % l
        w[p + "input_layernorm.weight"] = d.normal((H,), 0.1, 1.0)
        w[p + "self_attn.q_proj.weight"] = d.normal((nh * hd, H), 0.3)
        w[p + "self_attn.k_proj.weight"] = d.normal((nkv * hd, H), 0.3)
        w[p + "self_attn.v_proj.weight"] = d.normal((nkv * hd, H), 0.3)
        w[p + "self_attn.o_proj.weight"] = d.normal((H, nh * hd), 0.3)
        if c["qkv_bias"]:
            w[p + "self_attn.q_proj.bias"] = d.normal((nh * hd,), 0.1)
            w[p + "self_attn.k_proj.bias"] = d.normal((nkv * hd,), 0.1)
            w[p + "self_attn.v_proj.bias"] = d.normal((nkv * hd,), 0.1)
        if c["qk_norm"] != "none":
            per_head = c["qk_norm"] == "per_head"
            w[p + "self_attn.q_norm.weight"] = d.normal((hd if per_head else nh * hd,), 0.1, 1.0)
            w[p + "self_attn.k_norm.weight"] = d.normal((hd if per_head else nkv * hd,), 0.1, 1.0)
        w[p + "post_attention_layernorm.weight"] = d.normal((H,), 0.1, 1.0)
        moe = p + ("block_sparse_moe." if mixtral else "mlp.")
        w[moe + "gate.weight"] = d.normal((E, H), 0.5)
        for e in range(E):
            names = ("w1", "w3", "w2") if mixtral else ("gate_proj", "up_proj", "down_proj")
            ep = moe + "experts.%d." % e
            w[ep + names[0] + ".weight"] = d.normal((F, H), 0.3)
            w[ep + names[1] + ".weight"] = d.normal((F, H), 0.3)
            w[ep + names[2] + ".weight"] = d.normal((H, F), 0.3)
        if c["shared_expert_ffn"]:
            Fs = c["shared_expert_ffn"]
            w[p + "mlp.shared_expert.gate_proj.weight"] = d.normal((Fs, H), 0.3)
            w[p + "mlp.shared_expert.up_proj.weight"] = d.normal((Fs, H), 0.3)
            w[p + "mlp.shared_expert.down_proj.weight"] = d.normal((H, Fs), 0.3)
            w[p + "mlp.shared_expert_gate.weight"] = d.normal((1, H), 0.3)
    w["model.norm.weight"] = d.normal((H,), 0.1, 1.0)
    w["lm_head.weight"] = d.normal((V, H), 0.5)
    return {n: leaf(t) for n, t in w.items()}


def model_loss(w, c, tokens, targets):
    """Total loss = cross-entropy + sum over layers of (aux + z). tokens, targets [B][S]."""
    B, S = tokens.shape
    H, E = c["hidden_size"], c["num_experts"]
    mixtral = c["arch"] == "mixtral"
    h = w["model.embed_tokens.weight"][tokens.reshape(-1)]
    aux_total, z_total, dropped, per_layer = torch.zeros(()), torch.zeros(()), 0, []
    for l in range(c["n_layers"]):
        p = "model.layers.%d." % l
        a = rms_norm(h, w[p + "input_layernorm.weight"], c["rms_eps"])
        attn = {"wq": w[p + "self_attn.q_proj.weight"], "wk": w[p + "self_attn.k_proj.weight"],
                "wv": w[p + "self_attn.v_proj.weight"], "wo": w[p + "self_attn.o_proj.weight"]}
        if c["qkv_bias"]:
            attn.update(bq=w[p + "self_attn.q_proj.bias"], bk=w[p + "self_attn.k_proj.bias"],
                        bv=w[p + "self_attn.v_proj.bias"])
        if c["qk_norm"] != "none":
            attn.update(q_norm=w[p + "self_attn.q_norm.weight"], k_norm=w[p + "self_attn.k_norm.weight"])
        h = h + attention(a, attn, B, S, c["n_heads"], c["n_kv_heads"], c["head_dim"], c["rope_theta"], "neox",
                          c["qk_norm"], c["rms_eps"], c["clip_qkv"])
        m = rms_norm(h, w[p + "post_attention_layernorm.weight"], c["rms_eps"])
        moe = p + ("block_sparse_moe." if mixtral else "mlp.")
        names = ("w1", "w3", "w2") if mixtral else ("gate_proj", "up_proj", "down_proj")
        mp = {"router": w[moe + "gate.weight"],
              "experts": [[w[moe + "experts.%d.%s.weight" % (e, n)] for n in names] for e in range(E)]}
        if c["shared_expert_ffn"]:
            mp["shared"] = [w[p + "mlp.shared_expert.%s.weight" % n] for n in ("gate_proj", "up_proj", "down_proj")]
            mp["shared_gate"] = w[p + "mlp.shared_expert_gate.weight"]
        out, (_, _, aux, z, counts, drop) = moe_layer(m, mp, c["router"])
        h = h + out
        aux_total, z_total, dropped = aux_total + aux, z_total + z, dropped + drop
        per_layer.append(counts)
    h = rms_norm(h, w["model.norm.weight"], c["rms_eps"])
    lm = cross_entropy(h @ w["lm_head.weight"].T, targets.reshape(-1))
    return lm + aux_total + z_total, lm, aux_total, z_total, dropped, per_layer


def case_model(d, arch, router_cfg, shared_ffn, qkv_bias, qk_norm="none", clip=None):
    c = {"arch": arch, "qk_norm": qk_norm, "clip_qkv": clip, "vocab_size": 24, "hidden_size": 16, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2,
         "head_dim": 4, "expert_ffn": 8, "shared_expert_ffn": shared_ffn, "num_experts": 4, "topk": 2,
         "qkv_bias": qkv_bias, "rms_eps": 1e-5, "rope_theta": 10000.0, "router": router_cfg}
    B, S = 2, 5
    w = model_tensors(d, c)
    tokens = d.tokens(B * S, c["vocab_size"]).reshape(B, S)
    targets = d.tokens(B * S, c["vocab_size"]).reshape(B, S)
    targets[1, 4] = -1  # no target at the last position of the second sequence
    loss, lm, aux, z, dropped, counts = model_loss(w, c, tokens, targets)
    loss.backward()
    return {"config": {k: v for k, v in c.items() if k != "router"}, "router_config": router_json(router_cfg),
            "batch": B, "seq": S, "tokens": tokens.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
            "loss": float(loss), "lm_loss": float(lm), "aux_loss": float(aux), "z_loss": float(z),
            "dropped": dropped, "expert_tokens": counts,
            "shapes": {n: list(t.shape) for n, t in w.items()}, "params": {n: flat(t) for n, t in w.items()}, "grads": {n: grad(t) for n, t in w.items()}}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="the blocks' JSON")
    ap.add_argument("--model-out", required=True, help="the 2-layer models' JSON")
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args(argv)
    d = Draw(args.seed)
    renorm = {"num_experts": 4, "topk": 2, "pre_softmax": False, "aux_loss_coeff": 0.01, "z_loss_coeff": 0.001}
    softmax_capacity = {"num_experts": 4, "topk": 2, "pre_softmax": True, "aux_loss_coeff": 0.01,
                        "z_loss_coeff": 0.0, "capacity_factor": 1.0}
    blocks = {
        "embedding": case_embedding(d),
        "rmsnorm": case_rmsnorm(d),
        "linear": case_linear(d),
        "attention_neox_bias": case_attention(d, 2, 5, "neox", True),
        "attention_interleaved": case_attention(d, 1, 7, "interleaved", False),
        "swiglu_grouped": case_swiglu(d),
        "cross_entropy": case_cross_entropy(d),
        "moe_renorm_jitter": case_moe(d, renorm, 0.1, 0),
        "moe_capacity_shared": case_moe(d, softmax_capacity, 0.0, 8),
    }
    assert blocks["moe_capacity_shared"]["dropped"] > 0, "the capacity case drops nothing: pick another seed"
    models = {
        "mixtral": case_model(d, "mixtral", renorm, 0, False),
        "qwen2moe": case_model(d, "qwen2moe", softmax_capacity, 8, True),
    }
    # Drawn after the cases above, so adding them left those values unchanged.
    blocks["attention_qk_norm_per_head"] = case_attention(d, 2, 5, "neox", False, "per_head")
    blocks["attention_qk_norm_whole_clip"] = case_attention(d, 2, 5, "neox", False, "whole", 0.8)
    softmax_dropless = {"num_experts": 4, "topk": 2, "pre_softmax": True, "aux_loss_coeff": 0.01,
                        "z_loss_coeff": 0.001}
    models["olmoe"] = case_model(d, "olmoe", softmax_dropless, 0, False, "whole", 2.0)
    for name, m in models.items():
        print("%s: loss %.6f (lm %.6f aux %.6f z %.6f) dropped %d" % (
            name, m["loss"], m["lm_loss"], m["aux_loss"], m["z_loss"], m["dropped"]))
    command = "/usr/bin/python3 " + " ".join(shlex.quote(a) for a in
                                             ["tests/reference/block_grads_reference.py"] + sys.argv[1:])
    for path, key, value in ((args.out, "blocks", blocks), (args.model_out, "models", models)):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump({"command": command, "seed": args.seed, key: value}, f, separators=(",", ":"))
            f.write("\n")
        print("wrote", path)
    print("dropped pairs in moe_capacity_shared:", blocks["moe_capacity_shared"]["dropped"])


if __name__ == "__main__":
    sys.exit(main())
