#!/usr/bin/python3
"""Self-test of the reference: compares moe_reference.py (vectorised torch)
against a deliberately naive numpy re-implementation (loops over tokens, heads,
experts; RoPE written as explicit pair rotations; top-k by Python sort), on
random models written by make_random_model.py into a temporary directory.
Also checks the safetensors reader/writer for F32/F16/BF16, tie-breaking of the
top-k, and causality (a prefix's logits do not depend on later tokens).

    /usr/bin/python3 tests/reference/selftest.py        # exits 0 when all pass
"""

import math
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_random_model as rmm  # noqa: E402
import moe_reference as ref  # noqa: E402

FAILS = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        FAILS.append(msg)


# ----------------------------------------------------------------- naive model
def naive_forward(cfg, W, tokens):
    W = {k: v.astype(np.float64) for k, v in W.items()}
    mt = cfg["model_type"]
    H, L, nh = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]
    nkv = cfg["num_key_value_heads"]
    hd = H // nh if mt == "olmoe" else (cfg.get("head_dim") or H // nh)
    eps, theta = cfg["rms_norm_eps"], cfg["rope_theta"]
    k_top = cfg["num_experts_per_tok"]
    E = cfg["num_local_experts"] if mt == "mixtral" else cfg["num_experts"]
    renorm = True if mt == "mixtral" else bool(cfg.get("norm_topk_prob"))
    T = len(tokens)

    def rms(v, w):
        return np.array([v[i] / math.sqrt(sum(x * x for x in v) / len(v) + eps) * w[i] for i in range(len(v))])

    def rope(vec, pos):                 # vec: one head [hd]; pairs (i, i + hd/2)
        out = vec.copy()
        half = hd // 2
        for i in range(half):
            ang = pos * theta ** (-(2.0 * i) / hd)
            c, s = math.cos(ang), math.sin(ang)
            a, b = vec[i], vec[i + half]
            out[i] = a * c - b * s
            out[i + half] = b * c + a * s
        return out

    def silu(z):
        return z / (1.0 + np.exp(-z))

    def mlp(x, g, u, d):
        return W[d] @ (silu(W[g] @ x) * (W[u] @ x))

    h = [W["model.embed_tokens.weight"][t].copy() for t in tokens]
    for l in range(L):
        p = "model.layers.%d." % l
        a = [rms(h[t], W[p + "input_layernorm.weight"]) for t in range(T)]
        Q, K, V = [], [], []
        for t in range(T):
            q = W[p + "self_attn.q_proj.weight"] @ a[t]
            k = W[p + "self_attn.k_proj.weight"] @ a[t]
            v = W[p + "self_attn.v_proj.weight"] @ a[t]
            if p + "self_attn.q_proj.bias" in W:
                q = q + W[p + "self_attn.q_proj.bias"]
                k = k + W[p + "self_attn.k_proj.bias"]
                v = v + W[p + "self_attn.v_proj.bias"]
            if mt == "olmoe":
                q = rms(q, W[p + "self_attn.q_norm.weight"])
                k = rms(k, W[p + "self_attn.k_norm.weight"])
                if cfg.get("clip_qkv") is not None:
                    c = cfg["clip_qkv"]
                    q, k, v = np.clip(q, -c, c), np.clip(k, -c, c), np.clip(v, -c, c)
            qh = [q[i * hd:(i + 1) * hd] for i in range(nh)]
            kh = [k[i * hd:(i + 1) * hd] for i in range(nkv)]
            vh = [v[i * hd:(i + 1) * hd] for i in range(nkv)]
            if mt == "qwen3_moe":
                qh = [rms(x, W[p + "self_attn.q_norm.weight"]) for x in qh]
                kh = [rms(x, W[p + "self_attn.k_norm.weight"]) for x in kh]
            Q.append([rope(x, t) for x in qh])
            K.append([rope(x, t) for x in kh])
            V.append(vh)
        for t in range(T):
            heads = []
            for i in range(nh):
                g = i // (nh // nkv)
                s = [float(Q[t][i] @ K[j][g]) / math.sqrt(hd) for j in range(t + 1)]
                m = max(s)
                e = [math.exp(x - m) for x in s]
                z = sum(e)
                heads.append(sum((e[j] / z) * V[j][g] for j in range(t + 1)))
            o = W[p + "self_attn.o_proj.weight"] @ np.concatenate(heads)
            h[t] = h[t] + o
        for t in range(T):
            x = rms(h[t], W[p + "post_attention_layernorm.weight"])
            gate = (p + "block_sparse_moe.gate.weight") if mt == "mixtral" else (p + "mlp.gate.weight")
            logits = W[gate] @ x
            m = max(logits)
            pr = [math.exp(v - m) for v in logits]
            z = sum(pr)
            pr = [v / z for v in pr]
            chosen = sorted(range(E), key=lambda e: (-pr[e], e))[:k_top]
            ws = [pr[e] for e in chosen]
            if renorm:
                s = sum(ws)
                ws = [w / s for w in ws]
            y = np.zeros(H)
            for e, w in zip(chosen, ws):
                if mt == "mixtral":
                    q = p + "block_sparse_moe.experts.%d." % e
                    y += w * mlp(x, q + "w1.weight", q + "w3.weight", q + "w2.weight")
                else:
                    q = p + "mlp.experts.%d." % e
                    y += w * mlp(x, q + "gate_proj.weight", q + "up_proj.weight", q + "down_proj.weight")
            if mt == "qwen2_moe":
                q = p + "mlp.shared_expert."
                sg = 1.0 / (1.0 + math.exp(-float(W[p + "mlp.shared_expert_gate.weight"][0] @ x)))
                y += sg * mlp(x, q + "gate_proj.weight", q + "up_proj.weight", q + "down_proj.weight")
            h[t] = h[t] + y
    head = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return np.stack([head @ rms(h[t], W["model.norm.weight"]) for t in range(T)])


# ----------------------------------------------------------------- tests
def test_safetensors(tmp):
    rng = np.random.RandomState(1)
    t = {"a": rng.standard_normal((3, 5)).astype(np.float32), "b": rng.standard_normal(7).astype(np.float32)}
    for dt, tol in (("F32", 0.0), ("F16", 1e-3), ("BF16", 8e-3)):
        path = os.path.join(tmp, "t_%s.safetensors" % dt)
        rmm.write_safetensors(path, t, dt)
        back = ref.read_safetensors(path)
        err = max(float(np.max(np.abs(back[n] - t[n]) / (np.abs(t[n]) + 1e-30))) for n in t)
        check(err <= tol and back["a"].shape == (3, 5), "safetensors %s round trip (rel err %.2e)" % (dt, err))
    # bf16 decode of known bit patterns
    import struct, json
    path = os.path.join(tmp, "bf.safetensors")
    bits = [0x3F80, 0xC000, 0x3EAA, 0x0000]          # 1.0, -2.0, 0.33203125, 0
    h = json.dumps({"x": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]}}).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + struct.pack("<4H", *bits))
    x = ref.read_safetensors(path)["x"]
    check(list(x) == [1.0, -2.0, 0.33203125, 0.0], "bf16 decode %s" % list(x))


def test_topk():
    s = torch.tensor([[0.1, 0.3, 0.3, 0.2, 0.3], [1.0, 1.0, 1.0, 1.0, 1.0]], dtype=torch.float64)
    _, idx = ref.stable_topk(s, 3)
    check(idx.tolist() == [[1, 2, 4], [0, 1, 2]], "stable top-k ties -> lowest index %s" % idx.tolist())
    check(ref.argmax_lowest(torch.tensor([0.0, 2.0, 2.0])) == 1, "argmax ties -> lowest id")


def test_models(tmp):
    toks = [1, 17, 42, 99, 256, 311, 7]
    variants = list(rmm.ALL) + [("olmoe", dict(dtype="F32", shards=1, tie=False, overrides={"clip_qkv": 0.8})),
                                ("qwen2_moe", dict(dtype="F32", shards=1, tie=False, overrides={"norm_topk_prob": True}))]
    for i, (mt, kw) in enumerate(variants):
        d = os.path.join(tmp, "%s_%d" % (mt, i))
        cfg = rmm.write_model(mt, d, seed=11 + i, **kw)
        W = ref.load_hf_weights(d)
        m = ref.MoEReference(cfg, W)
        got = m.forward(toks).numpy()
        want = naive_forward(cfg, W, toks)
        err = float(np.max(np.abs(got - want)))
        scale = float(np.max(np.abs(want)))
        check(err <= 1e-9 * max(scale, 1.0), "%s %s: torch vs naive max|diff| %.2e (logit scale %.1f)" % (mt, kw, err, scale))
        # causality: logits of a prefix equal the first rows of the full sequence
        pre = m.forward(toks[:4]).numpy()
        check(float(np.max(np.abs(pre - got[:4]))) <= 1e-9 * scale, "%s causal prefix" % mt)


def ds_gate_torch(logits, k, bias, n_group, topk_group, scale):
    """DeepSeek-V3 inference/model.py Gate.forward, transcribed (sigmoid, bias),
    with torch.topk; used only on the random (tie-free) router cases."""
    scores = torch.tensor(logits, dtype=torch.float64).sigmoid()
    original = scores
    scores = scores + torch.tensor(bias, dtype=torch.float64)
    if n_group > 1:
        scores = scores.view(scores.size(0), n_group, -1)
        gsc = scores.topk(2, dim=-1)[0].sum(dim=-1)
        ind = gsc.topk(topk_group, dim=-1)[1]
        mask = scores.new_ones(scores.size(0), n_group, dtype=bool).scatter_(1, ind, False)
        scores = scores.masked_fill_(mask.unsqueeze(-1), float("-inf")).flatten(1)
    ind = torch.topk(scores, k, dim=-1)[1]
    w = original.gather(1, ind)
    w = w / w.sum(dim=-1, keepdim=True) * scale
    return ind, w


def test_router_golden():
    import json
    import router_reference as rr
    cases = rr.build()
    for c in cases[:2]:
        for mode, grp in (("sigmoid_bias", 1), ("sigmoid_bias_group", 4)):
            ind, w = ds_gate_torch(c["logits"], c["k"], c["bias"], grp, 2, 2.5)
            e = c["modes"][mode]
            ok = True
            for t in range(c["tokens"]):
                got = dict(zip(e["experts"][t], e["weights"][t]))
                want = dict(zip(ind[t].tolist(), w[t].tolist()))
                ok &= set(got) == set(want) and all(abs(got[i] - want[i]) < 1e-12 for i in got)
            check(ok, "router %s %s matches a transcription of DeepSeek-V3 Gate" % (c["name"], mode))
        # renorm == renormalised softmax_topk, and HF-style softmax->topk->renorm
        a, b = c["modes"]["softmax_topk"], c["modes"]["renorm"]
        ok = all(ea == eb and all(abs(x / sum(wa) - y) < 1e-12 for x, y in zip(wa, wb))
                 for ea, eb, wa, wb in zip(a["experts"], b["experts"], a["weights"], b["weights"]))
        check(ok, "router %s: renorm equals renormalised softmax_topk" % c["name"])


# ------------------------------------------------------------- DeepSeek (MLA)
DS_BASE = {"hidden_size": 64, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 4,
           "vocab_size": 97, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": False,
           "kv_lora_rank": 24, "qk_nope_head_dim": 8, "qk_rope_head_dim": 8, "v_head_dim": 12,
           "n_routed_experts": 8, "num_experts_per_tok": 3, "n_shared_experts": 2, "moe_intermediate_size": 16,
           "intermediate_size": 48, "first_k_dense_replace": 1, "moe_layer_freq": 1, "hidden_act": "silu"}
DS_VARIANTS = [
    ("deepseek_v3", {"q_lora_rank": 32, "scoring_func": "sigmoid", "topk_method": "noaux_tc", "n_group": 4,
                     "topk_group": 2, "norm_topk_prob": True, "routed_scaling_factor": 2.5,
                     "rope_scaling": {"type": "yarn", "factor": 8.0, "original_max_position_embeddings": 64,
                                      "beta_fast": 32, "beta_slow": 1, "mscale": 0.8, "mscale_all_dim": 1.0}}),
    ("deepseek_v2", {"q_lora_rank": 32, "scoring_func": "softmax", "topk_method": "group_limited_greedy",
                     "n_group": 4, "topk_group": 2, "norm_topk_prob": False, "routed_scaling_factor": 3.0,
                     "rope_scaling": None}),
    ("deepseek_v2", {"q_lora_rank": None, "scoring_func": "softmax", "topk_method": "greedy", "n_group": 1,
                     "topk_group": 1, "norm_topk_prob": True, "routed_scaling_factor": 3.0,
                     "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32,
                                      "mscale": 0.707, "mscale_all_dim": 0.707}}),
]


def ds_random_weights(cfg, seed):
    rng = np.random.default_rng(seed)
    H, nh, r = cfg["hidden_size"], cfg["num_attention_heads"], cfg["kv_lora_rank"]
    qhd = cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"]
    W = {}
    def m(name, *shape):
        W[name] = (0.1 * rng.standard_normal(shape)).astype(np.float32)
    def n(name, size):
        W[name] = (1 + 0.1 * rng.standard_normal(size)).astype(np.float32)
    W["model.embed_tokens.weight"] = rng.standard_normal((cfg["vocab_size"], H)).astype(np.float32)
    m("lm_head.weight", cfg["vocab_size"], H)
    n("model.norm.weight", H)
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        n(p + "input_layernorm.weight", H)
        n(p + "post_attention_layernorm.weight", H)
        a = p + "self_attn."
        if cfg["q_lora_rank"]:
            m(a + "q_a_proj.weight", cfg["q_lora_rank"], H)
            n(a + "q_a_layernorm.weight", cfg["q_lora_rank"])
            m(a + "q_b_proj.weight", nh * qhd, cfg["q_lora_rank"])
        else:
            m(a + "q_proj.weight", nh * qhd, H)
        m(a + "kv_a_proj_with_mqa.weight", r + cfg["qk_rope_head_dim"], H)
        n(a + "kv_a_layernorm.weight", r)
        m(a + "kv_b_proj.weight", nh * (cfg["qk_nope_head_dim"] + cfg["v_head_dim"]), r)
        m(a + "o_proj.weight", H, nh * cfg["v_head_dim"])
        f = p + "mlp."
        if l < cfg["first_k_dense_replace"]:
            m(f + "gate_proj.weight", cfg["intermediate_size"], H)
            m(f + "up_proj.weight", cfg["intermediate_size"], H)
            m(f + "down_proj.weight", H, cfg["intermediate_size"])
            continue
        m(f + "gate.weight", cfg["n_routed_experts"], H)
        W[f + "gate.e_score_correction_bias"] = (0.05 * rng.standard_normal(cfg["n_routed_experts"])).astype(np.float32)
        F, S = cfg["moe_intermediate_size"], cfg["moe_intermediate_size"] * cfg["n_shared_experts"]
        for e in range(cfg["n_routed_experts"]):
            m(f + "experts.%d.gate_proj.weight" % e, F, H)
            m(f + "experts.%d.up_proj.weight" % e, F, H)
            m(f + "experts.%d.down_proj.weight" % e, H, F)
        m(f + "shared_experts.gate_proj.weight", S, H)
        m(f + "shared_experts.up_proj.weight", S, H)
        m(f + "shared_experts.down_proj.weight", H, S)
    return W


def naive_deepseek(cfg, W, tokens):
    """Loops over tokens and heads, RoPE as DeepSeek's inference/model.py applies it (each
    interleaved pair (2i, 2i+1) rotated in place as a complex number), attention on the
    decompressed k/v, routing by Python sorts."""
    W = {k: v.astype(np.float64) for k, v in W.items()}
    H, L, nh = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"]
    r, nope, rope, dv = cfg["kv_lora_rank"], cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    eps, theta, T = cfg["rms_norm_eps"], cfg["rope_theta"], len(tokens)
    rs = cfg.get("rope_scaling")
    def mscale(f, m):
        return 1.0 if f <= 1 else 0.1 * m * math.log(f) + 1.0
    inv_freq = [theta ** (-(2.0 * i) / rope) for i in range(rope // 2)]
    rot_scale, sm_scale = 1.0, (nope + rope) ** -0.5
    if rs:
        f, orig = rs["factor"], rs["original_max_position_embeddings"]
        dim_of = lambda rot: rope * math.log(orig / (rot * 2 * math.pi)) / (2 * math.log(theta))
        lo = max(math.floor(dim_of(rs.get("beta_fast", 32))), 0)
        hi = min(math.ceil(dim_of(rs.get("beta_slow", 1))), rope - 1)
        hi = hi + 0.001 if lo == hi else hi
        for i in range(rope // 2):
            ramp = min(max((i - lo) / (hi - lo), 0.0), 1.0)
            inv_freq[i] = inv_freq[i] / f * ramp + inv_freq[i] * (1 - ramp)
        rot_scale = mscale(f, rs.get("mscale", 1)) / mscale(f, rs.get("mscale_all_dim", 0))
        if rs.get("mscale_all_dim", 0):
            sm_scale *= mscale(f, rs["mscale_all_dim"]) ** 2

    def rms(v, w):
        return v / math.sqrt(float(np.dot(v, v)) / len(v) + eps) * w
    def rot(v, pos):
        out = v.copy()
        for i in range(rope // 2):
            c, s = math.cos(pos * inv_freq[i]) * rot_scale, math.sin(pos * inv_freq[i]) * rot_scale
            out[2 * i] = v[2 * i] * c - v[2 * i + 1] * s
            out[2 * i + 1] = v[2 * i + 1] * c + v[2 * i] * s
        return out
    def swiglu(x, p):
        g, u = W[p + "gate_proj.weight"] @ x, W[p + "up_proj.weight"] @ x
        return W[p + "down_proj.weight"] @ (g / (1 + np.exp(-g)) * u)
    def topk(vals, k):
        return sorted(range(len(vals)), key=lambda i: (-vals[i], i))[:k]

    h = [W["model.embed_tokens.weight"][t].copy() for t in tokens]
    for l in range(L):
        p = "model.layers.%d." % l
        a = p + "self_attn."
        x = [rms(v, W[p + "input_layernorm.weight"]) for v in h]
        qs, ks, vs = [], [], []
        for t in range(T):
            if cfg["q_lora_rank"]:
                q = W[a + "q_b_proj.weight"] @ rms(W[a + "q_a_proj.weight"] @ x[t], W[a + "q_a_layernorm.weight"])
            else:
                q = W[a + "q_proj.weight"] @ x[t]
            kva = W[a + "kv_a_proj_with_mqa.weight"] @ x[t]
            kv = W[a + "kv_b_proj.weight"] @ rms(kva[:r], W[a + "kv_a_layernorm.weight"])
            k_pe = rot(kva[r:], t)
            qs.append([np.concatenate([q[i * (nope + rope): i * (nope + rope) + nope],
                                       rot(q[i * (nope + rope) + nope: (i + 1) * (nope + rope)], t)]) for i in range(nh)])
            ks.append([np.concatenate([kv[i * (nope + dv): i * (nope + dv) + nope], k_pe]) for i in range(nh)])
            vs.append([kv[i * (nope + dv) + nope: (i + 1) * (nope + dv)] for i in range(nh)])
        for t in range(T):
            out = []
            for i in range(nh):
                sc = [float(np.dot(qs[t][i], ks[j][i])) * sm_scale for j in range(t + 1)]
                mx = max(sc)
                e = [math.exp(v - mx) for v in sc]
                out.append(sum(e[j] / sum(e) * vs[j][i] for j in range(t + 1)))
            h[t] = h[t] + W[a + "o_proj.weight"] @ np.concatenate(out)
        for t in range(T):
            m = rms(h[t], W[p + "post_attention_layernorm.weight"])
            f = p + "mlp."
            if l < cfg["first_k_dense_replace"]:
                h[t] = h[t] + swiglu(m, f)
                continue
            logits = W[f + "gate.weight"] @ m
            E, k, G = len(logits), cfg["num_experts_per_tok"], cfg["n_group"]
            if cfg["scoring_func"] == "sigmoid":
                s = [1 / (1 + math.exp(-z)) for z in logits]
                choice = [s[e] + W[f + "gate.e_score_correction_bias"][e] for e in range(E)]
                gscore = [sum(sorted(choice[g * E // G:(g + 1) * E // G], reverse=True)[:2]) for g in range(G)]
            else:
                ex = [math.exp(z - max(logits)) for z in logits]
                s = [v / sum(ex) for v in ex]
                choice = list(s)
                gscore = [max(choice[g * E // G:(g + 1) * E // G]) for g in range(G)]
            if cfg["topk_method"] != "greedy":
                keep = topk(gscore, cfg["topk_group"])
                choice = [c if e // (E // G) in keep else 0.0 for e, c in enumerate(choice)]
            chosen = topk(choice, k)
            w = [s[e] for e in chosen]
            norm = k > 1 and cfg["norm_topk_prob"]
            if norm:
                w = [v / (sum(w) + 1e-20) for v in w]
            if cfg["model_type"] == "deepseek_v3" or not norm:
                w = [v * cfg["routed_scaling_factor"] for v in w]
            y = sum(w[j] * swiglu(m, f + "experts.%d." % e) for j, e in enumerate(chosen))
            h[t] = h[t] + y + swiglu(m, f + "shared_experts.")
    return np.array([W["lm_head.weight"] @ rms(v, W["model.norm.weight"]) for v in h])


def test_deepseek():
    import deepseek_reference as dsr
    toks = [1, 17, 42, 90, 5, 33, 7, 64]
    for i, (mt, extra) in enumerate(DS_VARIANTS):
        cfg = dict(DS_BASE, model_type=mt, **extra)
        W = ds_random_weights(cfg, 100 + i)
        got = dsr.DeepseekReference(cfg, W).forward(toks).numpy()
        want = naive_deepseek(cfg, W, toks)
        err, scale = float(np.max(np.abs(got - want))), float(np.max(np.abs(want)))
        check(err <= 1e-9 * max(scale, 1.0), "%s (%s, q_lora %s, rope_scaling %s): torch vs naive max|diff| %.2e" % (
            mt, extra["topk_method"], extra["q_lora_rank"], bool(extra["rope_scaling"]), err))


def test_f32_error(tmp):
    """how far an honest f32 evaluation lands from the f64 golden (for tolerances)"""
    for mt, kw in rmm.ALL:
        d = os.path.join(tmp, "f32_" + mt)
        rmm.write_model(mt, d, seed=7, **kw)
        W = ref.load_hf_weights(d)
        cfg = ref.load_config(d)
        toks = [1, 17, 42, 99, 256, 311, 7, 128, 400, 63, 205, 480]
        a = ref.MoEReference(cfg, W, torch.float64).forward(toks).numpy()
        b = ref.MoEReference(cfg, W, torch.float32).forward(toks).double().numpy()
        rel = float(np.max(np.abs(a - b))) / float(np.max(np.abs(a)))
        check(rel < 1e-4, "%s: f32 evaluation vs f64 golden, max|diff|/max|logit| = %.2e" % (mt, rel))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        test_safetensors(tmp)
        test_topk()
        test_models(tmp)
        test_router_golden()
        test_deepseek()
        test_f32_error(tmp)
    print("%d failure(s)" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
