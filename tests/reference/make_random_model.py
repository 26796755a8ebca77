#!/usr/bin/python3
"""Writes random HF-format MoE directories (config.json + safetensors) with the
tiny-preset shapes of DESIGN.md section 5, using our own safetensors writer.
They exercise moe_reference.py / make_golden.py before `moe init` exists; the
golden files for the C++ tests are made from `moe init` output, not from these.

    /usr/bin/python3 tests/reference/make_random_model.py --type mixtral --out /tmp/rm/mixtral [--seed 7]
        [--dtype F32|F16|BF16] [--shards N] [--tie]
    /usr/bin/python3 tests/reference/make_random_model.py --all --out /tmp/rm

Weights: embeddings and lm_head N(0, 1), norms 1 + N(0, 0.1), other matrices
N(0, 0.1) (DESIGN.md section 5: logits with std near 10).
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

COMMON = dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=8, vocab_size=512,
              rms_norm_eps=1e-5, rope_theta=10000.0, hidden_act="silu", max_position_embeddings=4096,
              tie_word_embeddings=False)

CONFIGS = {
    "mixtral": dict(COMMON, model_type="mixtral", architectures=["MixtralForCausalLM"],
                    num_key_value_heads=4, intermediate_size=512, num_local_experts=8,
                    num_experts_per_tok=2, sliding_window=None),
    "qwen2_moe": dict(COMMON, model_type="qwen2_moe", architectures=["Qwen2MoeForCausalLM"],
                      num_key_value_heads=4, intermediate_size=512, moe_intermediate_size=256,
                      shared_expert_intermediate_size=512, num_experts=16, num_experts_per_tok=4,
                      norm_topk_prob=False, decoder_sparse_step=1, mlp_only_layers=[], rms_norm_eps=1e-6),
    "qwen3_moe": dict(COMMON, model_type="qwen3_moe", architectures=["Qwen3MoeForCausalLM"],
                      num_key_value_heads=4, head_dim=32, intermediate_size=512, moe_intermediate_size=256,
                      num_experts=16, num_experts_per_tok=4, norm_topk_prob=True,
                      decoder_sparse_step=1, mlp_only_layers=[], attention_bias=False, rms_norm_eps=1e-6),
    "olmoe": dict(COMMON, model_type="olmoe", architectures=["OlmoeForCausalLM"],
                  num_key_value_heads=8, intermediate_size=256, num_experts=16, num_experts_per_tok=4,
                  norm_topk_prob=False, clip_qkv=None, attention_bias=False),
}


# ---------------------------------------------------------------- safetensors writer
def _encode(arr, dtype):
    a = np.ascontiguousarray(arr, dtype=np.float32)
    if dtype == "F32":
        return a.astype("<f4").tobytes()
    if dtype == "F16":
        return a.astype("<f2").tobytes()
    if dtype == "BF16":
        u = a.view(np.uint32)
        # round to nearest even
        r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")
        return r.tobytes()
    raise ValueError(dtype)


def write_safetensors(path, tensors, dtype="F32"):
    """tensors: {name: np.ndarray}. Header padded with spaces to 8 bytes."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        b = _encode(tensors[name], dtype)
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def random_tensors(cfg, seed):
    rng = np.random.RandomState(seed)
    H, L, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    mt = cfg["model_type"]
    hd = H // nh if mt == "olmoe" else (cfg.get("head_dim") or H // nh)
    t = {}

    def mat(name, *shape, std=0.1):
        t[name] = (rng.standard_normal(shape) * std).astype(np.float32)

    def norm(name, n):
        t[name] = (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    mat("model.embed_tokens.weight", V, H, std=1.0)
    norm("model.norm.weight", H)
    if not cfg.get("tie_word_embeddings"):
        mat("lm_head.weight", V, H, std=1.0)
    for l in range(L):
        p = "model.layers.%d." % l
        norm(p + "input_layernorm.weight", H)
        norm(p + "post_attention_layernorm.weight", H)
        mat(p + "self_attn.q_proj.weight", nh * hd, H)
        mat(p + "self_attn.k_proj.weight", nkv * hd, H)
        mat(p + "self_attn.v_proj.weight", nkv * hd, H)
        mat(p + "self_attn.o_proj.weight", H, nh * hd)
        if mt == "qwen2_moe":
            mat(p + "self_attn.q_proj.bias", nh * hd)
            mat(p + "self_attn.k_proj.bias", nkv * hd)
            mat(p + "self_attn.v_proj.bias", nkv * hd)
        if mt == "qwen3_moe":
            norm(p + "self_attn.q_norm.weight", hd)
            norm(p + "self_attn.k_norm.weight", hd)
        if mt == "olmoe":
            norm(p + "self_attn.q_norm.weight", nh * hd)
            norm(p + "self_attn.k_norm.weight", nkv * hd)
        if mt == "mixtral":
            E, F = cfg["num_local_experts"], cfg["intermediate_size"]
            mat(p + "block_sparse_moe.gate.weight", E, H)
            for e in range(E):
                q = p + "block_sparse_moe.experts.%d." % e
                mat(q + "w1.weight", F, H)
                mat(q + "w3.weight", F, H)
                mat(q + "w2.weight", H, F)
        else:
            E = cfg["num_experts"]
            F = cfg["intermediate_size"] if mt == "olmoe" else cfg["moe_intermediate_size"]
            mat(p + "mlp.gate.weight", E, H)
            for e in range(E):
                q = p + "mlp.experts.%d." % e
                mat(q + "gate_proj.weight", F, H)
                mat(q + "up_proj.weight", F, H)
                mat(q + "down_proj.weight", H, F)
            if mt == "qwen2_moe":
                S = cfg["shared_expert_intermediate_size"]
                mat(p + "mlp.shared_expert.gate_proj.weight", S, H)
                mat(p + "mlp.shared_expert.up_proj.weight", S, H)
                mat(p + "mlp.shared_expert.down_proj.weight", H, S)
                mat(p + "mlp.shared_expert_gate.weight", 1, H)
    return t


def write_model(model_type, out, seed=7, dtype="F32", shards=1, tie=False, overrides=None):
    cfg = dict(CONFIGS[model_type])
    cfg["tie_word_embeddings"] = bool(tie)
    cfg["torch_dtype"] = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype]
    if overrides:
        cfg.update(overrides)
    t = random_tensors(cfg, seed)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.endswith(".safetensors") or f == "model.safetensors.index.json":
            os.remove(os.path.join(out, f))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    if shards <= 1:
        write_safetensors(os.path.join(out, "model.safetensors"), t, dtype)
    else:
        names = sorted(t)
        weight_map = {}
        for s in range(shards):
            fn = "model-%05d-of-%05d.safetensors" % (s + 1, shards)
            part = {n: t[n] for i, n in enumerate(names) if i % shards == s}
            write_safetensors(os.path.join(out, fn), part, dtype)
            weight_map.update({n: fn for n in part})
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=2)
    return cfg


# variants used by --all: every dtype, sharding and tie path gets exercised once
ALL = [
    ("mixtral", dict(dtype="F32", shards=1, tie=False)),
    ("qwen2_moe", dict(dtype="BF16", shards=1, tie=False)),
    ("qwen3_moe", dict(dtype="F16", shards=3, tie=True)),
    ("olmoe", dict(dtype="F32", shards=2, tie=False)),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description="write random tiny HF MoE directories")
    ap.add_argument("--type", choices=sorted(CONFIGS))
    ap.add_argument("--all", action="store_true", help="write every type under --out/<type>")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"])
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--tie", action="store_true")
    args = ap.parse_args(argv)
    if args.all:
        for mt, kw in ALL:
            write_model(mt, os.path.join(args.out, mt), seed=args.seed, **kw)
            print("wrote", os.path.join(args.out, mt), kw)
    elif args.type:
        write_model(args.type, args.out, args.seed, args.dtype, args.shards, args.tie)
        print("wrote", args.out)
    else:
        ap.error("give --type or --all")


if __name__ == "__main__":
    sys.exit(main())
