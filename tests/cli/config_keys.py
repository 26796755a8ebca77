"""Runs `moe run` on every one-key variant of a preset's config.json (see config_keys.sh).

Usage: config_keys.py MOE WORK [PRESET]. PRESET: qwen2moe-tiny (default) or deepseek-tiny. Exit 0
when every variant is accepted correctly or refused by name.
"""
import json
import re
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

MOE, WORK = sys.argv[1], sys.argv[2]
PRESET = sys.argv[3] if len(sys.argv) > 3 else "qwen2moe-tiny"
VALUES = [-1, 0, 1e308, "x", None, [], True, 3.5, 2**31]
# Keys the engine does not read (HF's loader does not either, or only for layers moe.cpp refuses):
# any value loads and changes nothing.
UNREAD = {"architectures", "torch_dtype", "intermediate_size"}
# (key, value) that are supported and change the computation: accepted, other tokens allowed.
CHANGES = [("norm_topk_prob", True), ("tie_word_embeddings", True), ("num_experts_per_tok", 1),
           ("rope_theta", 3.5), ("rope_theta", 2**31), ("rope_theta", 1e308)]
# null where HF's configs mean "unset": the default, which here equals the file's value.
NULL_IS_DEFAULT = {"head_dim", "mlp_only_layers", "bos_token_id", "eos_token_id"}
# A larger context limit than the model was made with is fine for a short prompt; 0 is a valid id
# (the tokenizer's own special ids are the ones used).
FINE = [("max_position_embeddings", 2**31), ("bos_token_id", 0), ("eos_token_id", 0)]
# Valid configs that the checkpoint's tensors contradict: refused naming the mis-shaped or missing tensor
# (null num_key_value_heads is HF's "as many as num_attention_heads").
SHAPE_REFUSED = [("num_key_value_heads", None)]
if PRESET == "deepseek-tiny":
    # DeepseekV3Attention gives every head its own k and v (num_key_value_heads unread); the MTP
    # layers are not read; intermediate_size sizes the dense first layer.
    UNREAD = {"architectures", "torch_dtype", "num_key_value_heads", "num_nextn_predict_layers"}
    CHANGES = [("norm_topk_prob", True), ("norm_topk_prob", False), ("tie_word_embeddings", True),
               ("num_experts_per_tok", 1), ("rope_theta", 3.5), ("rope_theta", 2**31), ("rope_theta", 1e308),
               ("rope_scaling", None), ("routed_scaling_factor", 1e308), ("routed_scaling_factor", 3.5),
               ("routed_scaling_factor", 1), ("routed_scaling_factor", 2**31), ("topk_group", 1),
               ("first_k_dense_replace", 0), ("moe_layer_freq", 1)]
    NULL_IS_DEFAULT = {"bos_token_id", "eos_token_id"}
    SHAPE_REFUSED = [("intermediate_size", 1), ("intermediate_size", 2**31), ("q_lora_rank", None),
                     ("q_lora_rank", 1), ("q_lora_rank", 2**31), ("kv_lora_rank", 1), ("kv_lora_rank", 2**31),
                     ("n_shared_experts", 0), ("n_shared_experts", 1), ("moe_intermediate_size", 1),
                     ("moe_intermediate_size", 2**31), ("first_k_dense_replace", 0), ("first_k_dense_replace", 2**31),
                     ("moe_layer_freq", 2**31), ("v_head_dim", 1), ("v_head_dim", 2**31),
                     ("qk_nope_head_dim", 1), ("qk_nope_head_dim", 2**31), ("first_k_dense_replace", 1)]


def listed(key, value, pairs):
    """(key, value) is in pairs, with value of the same JSON type (True is not 1)."""
    return any(k == key and v == value and type(v) is type(value) for k, v in pairs)


def run(model_dir):
    cmd = [MOE, "run", "--model", model_dir, "-p", "Hello world", "-n", "4", "--temp", "0", "--json", "-t", "1"]
    return subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=120)


def main():
    base = os.path.join(WORK, "base")
    subprocess.run([MOE, "init", "--preset", PRESET, "--out", base, "--seed", "3", "--dtype", "bf16"],
                   check=True, capture_output=True)
    with open(os.path.join(base, "config.json")) as f:
        config = json.load(f)
    reference = run(base)
    assert reference.returncode == 0, reference.stderr
    expected = json.loads(reference.stdout)["tokens"]

    variants = []
    for key in config:
        for value in VALUES:
            name = f"{key}={json.dumps(value)}"
            d = os.path.join(WORK, f"v{len(variants)}")
            os.makedirs(d)
            for file in os.listdir(base):
                if file != "config.json":
                    os.symlink(os.path.join(base, file), os.path.join(d, file))
            changed = dict(config)
            changed[key] = value
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(changed, f)
            variants.append((key, value, name, d))

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda v: run(v[3]), variants))

    failures, counts = [], {"accepted, same tokens": 0, "accepted, computation changed": 0, "refused naming the key": 0,
                            "refused naming a mis-shaped or missing tensor": 0}
    for (key, value, name, _), result in zip(variants, results):
        lines = result.stderr.strip().splitlines()
        if result.returncode == 0:
            tokens = json.loads(result.stdout)["tokens"]
            legit = (key in UNREAD or (value is None and key in NULL_IS_DEFAULT) or listed(key, value, FINE)
                     or listed(key, value, [(key, config[key])]))
            if listed(key, value, CHANGES):
                counts["accepted, computation changed"] += 1
            elif legit and tokens == expected:
                counts["accepted, same tokens"] += 1
            else:
                failures.append(f"{name}: accepted (tokens {tokens}, unmodified {expected})")
        elif result.returncode == 1 and len(lines) == 1 and "config.json" in lines[0] and re.search(rf"\b{key}\b", lines[0]):
            counts["refused naming the key"] += 1
        elif (result.returncode == 1 and len(lines) == 1 and listed(key, value, SHAPE_REFUSED)
              and re.search(r"tensor '[^']*' has shape|missing tensor '[^']*'", lines[0])):
            counts["refused naming a mis-shaped or missing tensor"] += 1
        else:
            failures.append(f"{name}: exit {result.returncode}, stderr: {result.stderr.strip()[:300]!r}")
    print(f"{len(variants)} variants of {len(config)} keys: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
