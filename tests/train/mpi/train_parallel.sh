#!/usr/bin/env bash
# `moe train` under mpirun (mixtral-tiny cut to 2 layers, hidden 64): data parallel (2, 4 ranks), expert parallel (EP 2, EP 2 x DP 2) and
# the distributed optimizer run the same micro-batches as one process (micro 2, global 8: four
# micro-batches a step wherever they run) and must give its loss curve within fp32 reduction
# tolerance; a checkpoint resumes the same curve in the same layout and in another one; each
# rank's optimizer file of the distributed optimizer holds only its shard.
source "$(dirname "$0")/train_lib.bash"

train 1 "$WORK/single.jsonl" --save "$WORK/ck_single_50"
train 2 "$WORK/dp2.jsonl"
train 4 "$WORK/dp4.jsonl"
train 2 "$WORK/ep2.jsonl" --expert-model-parallel-size 2
train 4 "$WORK/ep2dp2.jsonl" --expert-model-parallel-size 2
train 2 "$WORK/dp2_dist.jsonl" --use-distributed-optimizer --save "$WORK/ck_dp2_dist"
train 4 "$WORK/ep2dp2_dist.jsonl" --expert-model-parallel-size 2 --use-distributed-optimizer --save "$WORK/ck_ep2dp2_dist"
same_curve "$WORK/single.jsonl" "$WORK/dp2.jsonl" "DP 2 vs 1 process"
same_curve "$WORK/single.jsonl" "$WORK/dp4.jsonl" "DP 4 vs 1 process"
same_curve "$WORK/single.jsonl" "$WORK/ep2.jsonl" "EP 2 vs 1 process"
same_curve "$WORK/single.jsonl" "$WORK/ep2dp2.jsonl" "EP 2 x DP 2 vs 1 process"
same_curve "$WORK/single.jsonl" "$WORK/dp2_dist.jsonl" "DP 2 distributed optimizer vs 1 process"
same_curve "$WORK/single.jsonl" "$WORK/ep2dp2_dist.jsonl" "EP 2 x DP 2 distributed optimizer vs 1 process"
# Qwen2-MoE (16 experts, top 4, a shared expert) with capacity 1 padded, input jitter and evaluation,
# on EP 4 with the distributed optimizer.
MODEL=(--model qwen2moe-tiny --moe-ffn-hidden-size 64 --moe-expert-capacity-factor 1.0
       --moe-pad-expert-input-to-capacity --moe-input-jitter-eps 0.01 --split 90,10,0 --eval-interval 10 --eval-iters 2)
train 1 "$WORK/qwen.jsonl"
train 4 "$WORK/qwen_ep4.jsonl" --expert-model-parallel-size 4 --use-distributed-optimizer
same_curve "$WORK/qwen.jsonl" "$WORK/qwen_ep4.jsonl" "Qwen2-MoE EP 4 distributed optimizer vs 1 process"
python3 - "$WORK/qwen.jsonl" "$WORK/qwen_ep4.jsonl" <<'PY' || fail "Qwen2-MoE EP 4: evaluation or dropped tokens differ"
import json, sys
a, b = ([json.loads(l) for l in open(p) if '"step"' in l] for p in sys.argv[1:])
assert [r["dropped_tokens"] for r in a] == [r["dropped_tokens"] for r in b] and any(r["dropped_tokens"] for r in a)
ea, eb = [r["eval_loss"] for r in a if "eval_loss" in r], [r["eval_loss"] for r in b if "eval_loss" in r]
assert len(ea) == 5 and max(abs(x - y) for x, y in zip(ea, eb)) <= 1e-5, (ea, eb)
PY
MODEL=(--model mixtral-tiny --moe-ffn-hidden-size 128 --split 100,0,0)
[ "$(grep -c '^step' "$WORK/ep2dp2.jsonl.out")" = 50 ] || fail "EP 2 x DP 2: rank 0 alone should print 50 step lines"

# The HF checkpoint rank 0 wrote from EP 2 x DP 2 (experts gathered from both EP ranks) is the
# one-process model.
same_perplexity "$WORK/ck_single_50/iter_0000050" "$WORK/ck_ep2dp2_dist/iter_0000050" "EP 2 x DP 2"

# The distributed optimizer's files: every element's moments once, each rank a shard.
python3 - "$WORK/ck_ep2dp2_dist/iter_0000050" <<'PY' || fail "distributed optimizer files"
import glob, json, struct, sys
ck = sys.argv[1]
def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))
counts = []
for path in sorted(glob.glob(ck + "/optimizer/rank_*.safetensors")):
    h = header(path)
    counts.append(sum(v["shape"][0] for k, v in h.items() if k.startswith("exp_avg.")))
params = 0
for path in glob.glob(ck + "/*.safetensors"):
    for k, v in header(path).items():
        if k != "__metadata__":
            n = 1
            for d in v["shape"]: n *= d
            params += n
print(f"optimizer shards {counts}, model parameters {params}")
assert len(counts) == 4 and sum(counts) == params and max(counts) < params / 2, counts
PY

# Resume: EP 2 stopped at 25 continues the EP 2 curve exactly; a 1-process checkpoint at 25 taken
# up by EP 2 x DP 2 with the distributed optimizer continues the 1-process curve.
train 2 "$WORK/ep2_a.jsonl" --expert-model-parallel-size 2 --save "$WORK/ck_ep2" --save-interval 25 --exit-interval 25
train 2 "$WORK/ep2_a.jsonl" --expert-model-parallel-size 2 --save "$WORK/ck_ep2" --load "$WORK/ck_ep2"
same_curve "$WORK/ep2.jsonl" "$WORK/ep2_a.jsonl" "EP 2 resumed at 25 vs EP 2" 0
train 1 "$WORK/single_a.jsonl" --save "$WORK/ck_single" --save-interval 25 --exit-interval 25
cp "$WORK/single_a.jsonl" "$WORK/mixed.jsonl"
train 4 "$WORK/mixed.jsonl" --expert-model-parallel-size 2 --use-distributed-optimizer --load "$WORK/ck_single"
same_curve "$WORK/single.jsonl" "$WORK/mixed.jsonl" "1 process to 25, then EP 2 x DP 2 distributed: vs 1 process"

finish
