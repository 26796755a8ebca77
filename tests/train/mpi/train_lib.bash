# Shared by the parallel-training tests: a tokenizer and a token file of random sentences, the
# common training flags (mixtral-tiny cut to 2 layers, hidden 64, micro 2, global 8: four
# micro-batches a step wherever they run, 50 steps), train NP LOG ARGS..., and same_curve A B WHAT
# [TOL], which compares two JSON-lines logs step by step, and same_perplexity CK_A CK_B WHAT, which
# compares two checkpoints under `moe eval`.
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


head -c 2000 "$WORK/text.txt" >"$WORK/short.txt"
# same_perplexity CK_A CK_B WHAT: the checkpoints give the same perplexity (relative 1e-4).
same_perplexity() {
  local a b
  a=$("$MOE" eval -m "$1" --perplexity "$WORK/short.txt" --ctx 32 --json 2>/dev/null) || fail "eval $1"
  b=$("$MOE" eval -m "$2" --perplexity "$WORK/short.txt" --ctx 32 --json 2>/dev/null) || fail "eval $2"
  python3 - "$a" "$b" "$3" <<'PY' || fail "$3: its checkpoint differs from the 1-process one"
import json, sys
a, b, what = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
print(f"perplexity of the checkpoints: 1 process {a['perplexity']:.6f}, {what} {b['perplexity']:.6f}")
assert a["tokens_scored"] == b["tokens_scored"] > 0 and abs(a["perplexity"] - b["perplexity"]) <= 1e-4 * a["perplexity"]
PY
}
