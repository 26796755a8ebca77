#!/usr/bin/env bash
# Two builds of moe side by side (a refactor's "behaviour and speed unchanged"): the same tests run by
# binary A then B, the order swapped every round (A B, B A, ...), then the median over all timed
# runs of each side and the ratio B / A. Three kinds of test, each optional:
#   --gguf FILE      moe bench -p PP -n TG -t THREADS on the file (repeatable)
#   --moe-layer      moe bench --moe-layer --backward --tokens 512 (one training MoE layer)
#   --train DATA     moe train on a token file (mixtral-tiny, seq 128, 12 updates; the log's
#                    tokens_per_s of updates 3.., the first two being warm-up)
# Usage: bench/compare_builds.sh A_MOE B_MOE [--gguf F]... [--moe-layer] [--train DATA]
#        [--rounds 3] [--threads 1,2] [--pp 512] [--tg 64] [--reps 3]
#        [--limit-gbps G --limit-gflops F --limit-int8-gops I] (moe bench's: the machine's limits
#        from one `moe bench --limits` instead of measuring them in every run)
# Run it on a quiet machine: nothing else of ours running (docs/PERFORMANCE.md).
set -euo pipefail
a=${1:?usage: $0 A_MOE B_MOE [options]}
b=${2:?usage: $0 A_MOE B_MOE [options]}
shift 2
ggufs=() moe_layer=0 train_data="" rounds=3 threads=1,2 pp=512 tg=64 reps=3 limits=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --gguf) ggufs+=("$2"); shift 2 ;;
    --moe-layer) moe_layer=1; shift ;;
    --train) train_data=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --pp) pp=$2; shift 2 ;;
    --tg) tg=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --limit-gbps|--limit-gflops|--limit-int8-gops) limits+=("$1" "$2"); shift 2 ;;
    *) echo "$0: unknown option '$1'" >&2; exit 1 ;;
  esac
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# run SIDE BINARY: every configured test once, results appended to $out/SIDE.jsonl as
# {"test": name, "value": tokens/s or ms} lines.
run() {
  local side=$1 moe=$2
  for f in "${ggufs[@]}"; do
    "$moe" bench -m "$f" -p "$pp" -n "$tg" -t "$threads" -r "$reps" --json "${limits[@]}" | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    name = "%s %s t%d tokens/s" % (sys.argv[1], r["test"], r["threads"])
    for s in r["samples"]:
        print(json.dumps({"test": name, "value": s}))
' "$(basename "$f")" >>"$out/$side.jsonl"
  done
  if [[ $moe_layer == 1 ]]; then
    "$moe" bench --moe-layer --backward --tokens 512 -t 2 -r "$reps" --json | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    for key in ("fwd_ms", "fwdbwd_ms"):
        print(json.dumps({"test": "moe-layer T%d %s" % (r["tokens"], key), "value": r[key]}))
' >>"$out/$side.jsonl"
  fi
  if [[ -n $train_data ]]; then
    "$moe" train --model mixtral-tiny --data-path "$train_data" --seq-length 128 --micro-batch-size 4 \
      --global-batch-size 8 --train-iters 12 --log-interval 1 --eval-interval 0 --lr 1e-3 --threads 2 \
      --log "$out/train.jsonl" >/dev/null 2>&1
    python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if "tokens_per_s" in l]
for r in rows[2:]:
    print(json.dumps({"test": "train mixtral-tiny tokens/s", "value": r["tokens_per_s"]}))
' "$out/train.jsonl" >>"$out/$side.jsonl"
    rm -f "$out/train.jsonl"
  fi
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for round in $(seq "$rounds"); do
  echo "round $round / $rounds" >&2
  if ((round % 2)); then run A "$a"; run B "$b"; else run B "$b"; run A "$a"; fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$out/A.jsonl" "$out/B.jsonl" <<'PY'
import json, statistics, sys
def load(path):
    rows = {}
    for line in open(path):
        r = json.loads(line)
        rows.setdefault(r["test"], []).append(r["value"])
    return rows
a, b = load(sys.argv[1]), load(sys.argv[2])
print("| test | A median | B median | B / A | runs |")
print("|---|---:|---:|---:|---:|")
for test in a:
    ma, mb = statistics.median(a[test]), statistics.median(b[test])
    print(f"| {test} | {ma:.2f} | {mb:.2f} | {mb / ma:.3f} | {len(a[test])} |")
PY
