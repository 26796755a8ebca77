#!/usr/bin/env bash
# `moe train` with tensor + sequence parallelism under mpirun: TP 2, TP 2 x DP 2, TP 2 x EP 2 with
# the distributed optimizer, and Qwen2-MoE (qkv biases, a TP-split shared expert, input jitter,
# the sequence-level aux loss over the TP group, evaluation) on TP 2 x EP 4, each against one
# process: the same loss curve within fp32 reduction tolerance and the same expert loads. The
# TP 2 x EP 2 checkpoint (blocks gathered) is the one-process model; checkpoints resume across
# TP layouts both ways; the optimizer files hold each TP block's moments once.
source "$(dirname "$0")/train_lib.bash"
TP=(--tensor-model-parallel-size 2 --sequence-parallel)

train 1 "$WORK/single.jsonl" --save "$WORK/ck_single"
train 2 "$WORK/tp2.jsonl" "${TP[@]}"
train 4 "$WORK/tp2dp2.jsonl" "${TP[@]}"
train 4 "$WORK/tp2ep2.jsonl" "${TP[@]}" --expert-model-parallel-size 2 --use-distributed-optimizer --save "$WORK/ck_tp2ep2"
same_curve "$WORK/single.jsonl" "$WORK/tp2.jsonl" "TP 2 vs 1 process"
same_curve "$WORK/single.jsonl" "$WORK/tp2dp2.jsonl" "TP 2 x DP 2 vs 1 process"
same_curve "$WORK/single.jsonl" "$WORK/tp2ep2.jsonl" "TP 2 x EP 2 distributed optimizer vs 1 process"
same_perplexity "$WORK/ck_single/iter_0000050" "$WORK/ck_tp2ep2/iter_0000050" "TP 2 x EP 2"

# Each TP block's moments are saved once, under its slice ("rows 0/2", "cols 1/2", ...).
python3 - "$WORK/ck_tp2ep2/iter_0000050" <<'PY' || fail "TP optimizer files"
import glob, json, struct, sys
slices = {}
for path in sorted(glob.glob(sys.argv[1] + "/optimizer/rank_*.safetensors")):
    with open(path, "rb") as f:
        meta = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))["__metadata__"]
    for key, value in meta.items():
        if key.startswith("slice."):
            slices.setdefault(key[6:], []).append(value)
print(f"{len(slices)} TP-split parameters, e.g. {sorted(slices.items())[0]}")
assert len(slices) == 2 * 4, slices  # q, k, v, o of 2 layers
for name, where in slices.items():
    kind = "cols" if "o_proj" in name else "rows"
    assert sorted(where) == [f"{kind} 0/2", f"{kind} 1/2"], (name, where)
PY

# Resume across TP layouts: 1 process to 25 then TP 2 x EP 2; TP 2 x EP 2 to 25 then 1 process.
train 1 "$WORK/a.jsonl" --save "$WORK/ck_a" --save-interval 25 --exit-interval 25
train 4 "$WORK/a.jsonl" "${TP[@]}" --expert-model-parallel-size 2 --use-distributed-optimizer --load "$WORK/ck_a"
same_curve "$WORK/single.jsonl" "$WORK/a.jsonl" "1 process to 25, then TP 2 x EP 2: vs 1 process"
train 4 "$WORK/b.jsonl" "${TP[@]}" --expert-model-parallel-size 2 --use-distributed-optimizer --save "$WORK/ck_b" \
  --save-interval 25 --exit-interval 25
train 1 "$WORK/b.jsonl" --load "$WORK/ck_b"
same_curve "$WORK/single.jsonl" "$WORK/b.jsonl" "TP 2 x EP 2 to 25, then 1 process: vs 1 process"

MODEL=(--model qwen2moe-tiny --moe-ffn-hidden-size 64 --moe-input-jitter-eps 0.01 --split 90,10,0 --eval-interval 10
       --eval-iters 2 --moe-router-load-balancing-type seq_aux_loss)
train 1 "$WORK/qwen.jsonl"
train 4 "$WORK/qwen_tp2ep4.jsonl" "${TP[@]}" --expert-model-parallel-size 4 --use-distributed-optimizer
same_curve "$WORK/qwen.jsonl" "$WORK/qwen_tp2ep4.jsonl" "Qwen2-MoE TP 2 x EP 4 vs 1 process"
python3 - "$WORK/qwen.jsonl" "$WORK/qwen_tp2ep4.jsonl" <<'PY' || fail "Qwen2-MoE TP 2 x EP 4: evaluation differs"
import json, sys
a, b = ([json.loads(l) for l in open(p) if '"step"' in l] for p in sys.argv[1:])
ea, eb = [r["eval_loss"] for r in a if "eval_loss" in r], [r["eval_loss"] for r in b if "eval_loss" in r]
assert len(ea) == 5 and max(abs(x - y) for x, y in zip(ea, eb)) <= 1e-5, (ea, eb)
PY

finish
