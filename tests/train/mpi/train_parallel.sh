#!/usr/bin/env bash
# `moe train` under mpirun (mixtral-tiny cut to 2 layers, hidden 64): data parallel (2, 4 ranks), expert parallel (EP 2, EP 2 x DP 2) and
# the distributed optimizer run the same micro-batches as one process (micro 2, global 8: four
# micro-batches a step wherever they run) and must give its loss curve within fp32 reduction
# tolerance; a checkpoint resumes the same curve in the same layout and in another one; each
# rank's optimizer file of the distributed optimizer holds only its shard.
source "$(dirname "$0")/../../cli/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
TOL=${TRAIN_LOSS_TOL:-1e-5}  # max |loss difference| at any step (fp32 sums in another order; seen ~1e-7)

"$MOE" init --preset mixtral-tiny --out "$WORK/tok" --seed 1 >/dev/null 2>&1 || fail "init"
python3 - "$WORK/text.txt" <<'PY'
import random, sys
random.seed(7)
words = "the quick brown fox jumps over a lazy dog while seven red birds sing in an old green tree".split()
with open(sys.argv[1], "w") as f:
    for _ in range(400):
        f.write(" ".join(random.choice(words) for _ in range(12)) + ".\n")
PY
"$MOE" data --tokenizer "$WORK/tok" --in "$WORK/text.txt" --out "$WORK/data" >/dev/null 2>&1 || fail "moe data"

COMMON=(--tokenizer "$WORK/tok" --num-layers 2 --hidden-size 64 --seq-length 32 --micro-batch-size 2
        --global-batch-size 8 --train-iters 50 --lr 3e-3 --min-lr 3e-4 --lr-warmup-iters 5
        --moe-aux-loss-coeff 1e-2 --moe-z-loss-coeff 1e-3 --data-path "$WORK/data" --threads 1 --seed 5)
MODEL=(--model mixtral-tiny --moe-ffn-hidden-size 128 --split 100,0,0)  # what train() trains
train() {  # train NP LOG ARGS...
  local np=$1 log=$2
  shift 2
  if [ "$np" = 1 ]; then "$MOE" train "${COMMON[@]}" "${MODEL[@]}" --log "$log" "$@" >"$log.out" 2>&1
  else mpirun -np "$np" "$MOE" train "${COMMON[@]}" "${MODEL[@]}" --log "$log" "$@" >"$log.out" 2>&1; fi || fail "train $np $*: $(tail -3 "$log.out")"
}
# same_curve A B WHAT [TOL]: equal step numbers, |loss| differences at most TOL; prints the max.
same_curve() {
  python3 - "$1" "$2" "$3" "${4:-$TOL}" <<'PY' || fail "$3"
import json, sys
def load(path):
    return {r["step"]: r for r in map(json.loads, open(path)) if "step" in r and "loss" in r}
a, b, what, tol = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3], float(sys.argv[4])
steps = sorted(set(a) & set(b))
assert len(steps) >= 25, f"{what}: only {len(steps)} common steps"
diff = max(abs(a[s]["loss"] - b[s]["loss"]) for s in steps)
tokens = all(a[s]["expert_tokens"] == b[s]["expert_tokens"] for s in steps)
print(f"{what}: {len(steps)} steps, max |loss diff| {diff:.3g}, same expert_tokens every step: {tokens}")
assert diff <= tol, f"{what}: max loss difference {diff} > {tol}"
assert a[steps[-1]]["loss"] < a[steps[0]]["loss"] - 0.5, f"{what}: the loss did not fall"
PY
}

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
# one-process model: the same perplexity under `moe eval`.
head -c 2000 "$WORK/text.txt" >"$WORK/short.txt"
ppl() { "$MOE" eval -m "$1" --perplexity "$WORK/short.txt" --ctx 32 --json 2>/dev/null; }
python3 - "$(ppl "$WORK/ck_single_50/iter_0000050")" "$(ppl "$WORK/ck_ep2dp2_dist/iter_0000050")" <<'PY' ||
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"perplexity of the 50-step checkpoints: 1 process {a['perplexity']:.6f}, EP 2 x DP 2 {b['perplexity']:.6f}")
assert a["tokens_scored"] == b["tokens_scored"] > 0 and abs(a["perplexity"] - b["perplexity"]) <= 1e-4 * a["perplexity"]
PY
  fail "EP 2 x DP 2 checkpoint differs from the 1-process one"

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
