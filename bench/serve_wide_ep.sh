#!/usr/bin/env bash
# Wide-EP on served traffic: `moe serve` under mpirun with EP 2 x 1 thread (attention DP 2 + EP 2),
# once with online EPLB (expert slots, moe_load_balancer) and once without, on a request mix whose
# routing is skewed: every prompt is one token repeated, and a logit_bias of +100 on that token
# keeps the generated tokens on it, so each layer sends all its rows to the same two experts.
# bench/serve_bench.mjs drives both runs with the same requests; the table gives output tok/s and
# per MoE layer the busiest rank's rows over the mean rank's during the measured run (from
# /metrics' moe:expert_rows_received_total, scraped after the warm-up and at the end).
#
#   bench/serve_wide_ep.sh MOE_BIN GGUF [--token T] [--concurrency 16] [--num-prompts N]
#       [--input-len 32] [--output-len 64] [--slots 12] [--update-interval 8] [--window 16]
#       [--warmup 4] [--out DIR]
#
# --token: the repeated token (default 29000; pick one whose experts share a rank: the script
# prints the skew of the run without EPLB). Measure on a quiet machine: ranks poll.
set -euo pipefail
die() { echo "serve_wide_ep: error: $*" >&2; exit 1; }
[ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ] && { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0; }
[ $# -ge 2 ] || die "usage: serve_wide_ep.sh MOE_BIN GGUF [options] (see --help)"
MOE=$1 GGUF=$2
shift 2
TOKEN=29000 CONC=16 NUM="" IN=32 OUTLEN=64 SLOTS=12 INTERVAL=8 WINDOW=16 WARMUP=4 OUT=""
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || die "$1 needs a value"
  case "$1" in
    --token) TOKEN=$2 ;; --concurrency) CONC=$2 ;; --num-prompts) NUM=$2 ;; --input-len) IN=$2 ;;
    --output-len) OUTLEN=$2 ;; --slots) SLOTS=$2 ;; --update-interval) INTERVAL=$2 ;; --window) WINDOW=$2 ;;
    --warmup) WARMUP=$2 ;; --out) OUT=$2 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift 2
done
[ -x "$MOE" ] || die "MOE_BIN '$MOE' is not an executable"
[ -f "$GGUF" ] || die "GGUF '$GGUF' is not a file"
for v in TOKEN CONC IN OUTLEN SLOTS INTERVAL WINDOW WARMUP; do [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v,,} must be a number"; done
NUM=${NUM:-$((4 * CONC))}
OUT=${OUT:-$(mktemp -d /tmp/serve_wide_ep.XXXXXX)}
mkdir -p "$OUT"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
BENCH="$(cd "$(dirname "$0")" && pwd)/serve_bench.mjs"
python3 -c "import json; print(json.dumps({'prompt': [$TOKEN] * $IN}))" >"$OUT/prompts.jsonl"
BODY="{\"logit_bias\": {\"$TOKEN\": 100}}"
printf 'moe_load_balancer:\n  num_slots: %s\n  update_interval: %s\n  window_size: %s\n' "$SLOTS" "$INTERVAL" "$WINDOW" \
  >"$OUT/online.yaml"

rows() { curl -sf "$1/metrics" | grep '^moe:expert_rows_received_total' || true; }

# run NAME EXTRA_FLAGS...: one server, warm-up, measured run; prints "NAME tok/s ratios...".
run() {
  local name=$1 log="$OUT/$1.log" pid url=""
  shift
  mpirun -np 2 --oversubscribe "$MOE" serve --model "$GGUF" -t 1 --tp 2 --moe-ep 2 --enable-attention-dp \
    --port 0 --max-num-seqs "$CONC" --max-queued "$NUM" --no-prefix-cache "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1200); do
    kill -0 "$pid" 2>/dev/null || die "$name: the server exited: $(tail -n 3 "$log" | tr '\n' ' ')"
    url=$(grep -o "serving .* on http://127\.0\.0\.1:[0-9]*" "$log" | grep -o "http://.*" || true)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || die "$name: no server within 120 s"
  node "$BENCH" --url "$url" --dataset "$OUT/prompts.jsonl" --output-len "$OUTLEN" --concurrency "$CONC" \
    --num-prompts "$WARMUP" --warmup 0 --extra-body "$BODY" --json >/dev/null
  rows "$url" >"$OUT/$name.before"
  node "$BENCH" --url "$url" --dataset "$OUT/prompts.jsonl" --output-len "$OUTLEN" --concurrency "$CONC" \
    --num-prompts "$NUM" --warmup 0 --extra-body "$BODY" --json >"$OUT/$name.json"
  rows "$url" >"$OUT/$name.after"
  kill -TERM "$(grep -o 'pid [0-9]*' "$log" | head -n 1 | cut -d' ' -f2)"
  wait "$pid" || true
  python3 - "$OUT" "$name" <<'PY'
import json, re, sys
out, name = sys.argv[1:]
def rows(path):
    values = {}
    for line in open(path):
        layer, rank = (int(x) for x in re.search(r'layer="(\d+)",rank="(\d+)"', line).groups())
        values[(layer, rank)] = float(line.rsplit(" ", 1)[1])
    return values
before, after = rows(f"{out}/{name}.before"), rows(f"{out}/{name}.after")
ratios = []
for layer in sorted({l for l, _ in after}):
    d = [after[(l, r)] - before.get((l, r), 0) for (l, r) in sorted(after) if l == layer]
    ratios.append(max(d) / (sum(d) / len(d)) if sum(d) else 1.0)
tps = json.load(open(f"{out}/{name}.json"))["results"][0]["output_throughput"]
print(f"| {name} | {tps:.2f} | {max(ratios):.3f} | {' '.join(f'{r:.2f}' for r in ratios)} |")
PY
}

echo "| run | output tok/s | max over layers of max/mean rank rows | per layer |"
echo "|---|---:|---:|---|"
run no_eplb
run online_eplb --config "$OUT/online.yaml"
echo "$GGUF, EP 2 x 1 thread, token $TOKEN x $IN in, $OUTLEN out, concurrency $CONC, $NUM requests; reports in $OUT"
