#!/usr/bin/env bash
# Batched decode of moe against llama.cpp's llama-batched-bench on the same GGUF file: B sequences,
# each with its own -p token prompt, decode -n tokens together; the aggregate decode rate (S_TG,
# B * n / decode seconds) per B and thread count. Side by side: for each round, thread count and
# B, llama-batched-bench runs once, then `moe bench --batch` (one timed run after its warm-up).
# Medians over the rounds, moe/llama.cpp, and each engine's rate at B against its own B = first.
#
# llama.cpp is not part of this repository: build its llama-batched-bench elsewhere and give its
# path. This script builds, downloads and installs nothing. Run it on a quiet machine.
#
#   bench/compare_batched.sh --llama-batched-bench PATH --moe PATH --gguf FILE \
#       [--batch 1,4,16,64] [--threads 1,2] [-p 128] [-n 64] [--rounds 3] [--raw FILE]
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

LLAMA="" MOE="" GGUF="" BATCH="1,4,16,64" THREADS="1,2" NP=128 NG=64 ROUNDS=3 RAW=""
while [ $# -gt 0 ]; do
  case "$1" in
    --llama-batched-bench) LLAMA=$2; shift 2 ;;
    --moe) MOE=$2; shift 2 ;;
    --gguf) GGUF=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --threads|-t) THREADS=$2; shift 2 ;;
    -p) NP=$2; shift 2 ;;
    -n) NG=$2; shift 2 ;;
    --rounds|-r) ROUNDS=$2; shift 2 ;;
    --raw) RAW=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done
if [ -z "$LLAMA" ] || [ -z "$MOE" ] || [ -z "$GGUF" ]; then
  echo "need --llama-batched-bench, --moe and --gguf" >&2; usage 2
fi
[ -x "$LLAMA" ] || { echo "not executable: $LLAMA" >&2; exit 2; }
[ -x "$MOE" ] || { echo "not executable: $MOE" >&2; exit 2; }
[ -f "$GGUF" ] || { echo "no such file: $GGUF" >&2; exit 2; }
RAW=${RAW:-$(mktemp)}
: > "$RAW"
max_b=$(echo "$BATCH" | tr ',' '\n' | sort -n | tail -1)
ctx=$(( max_b * (NP + NG) + 256 ))
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for round in $(seq 1 "$ROUNDS"); do
  for t in ${THREADS//,/ }; do
    for b in ${BATCH//,/ }; do
      # llama-batched-bench's table row: | PP | TG | B | N_KV | T_PP | S_PP | T_TG | S_TG | T | S |
      llama=$("$LLAMA" -m "$GGUF" -c "$ctx" -b 2048 -ub 512 -npp "$NP" -ntg "$NG" -npl "$b" -t "$t" 2>/dev/null |
        awk -F'|' -v b="$b" '$4+0 == b && $2+0 > 0 { gsub(/ /, "", $9); print $9 }')
      moe=$("$MOE" bench -m "$GGUF" --batch "$b" -p "$NP" -n "$NG" -t "$t" -r 1 --json 2>/dev/null |
        python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["tokens_per_s"])')
      echo "$round $t $b $llama $moe" >> "$RAW"
      echo "round $round, $t threads, B $b: llama.cpp $llama, moe $moe tokens/s" >&2
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$RAW" "$BATCH" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
first_b = int(sys.argv[2].split(",")[0])
med = {}
for key in sorted({(int(r[1]), int(r[2])) for r in rows}):
    llama = [float(r[3]) for r in rows if (int(r[1]), int(r[2])) == key]
    moe = [float(r[4]) for r in rows if (int(r[1]), int(r[2])) == key]
    med[key] = (statistics.median(llama), statistics.median(moe), min(moe), max(moe))
print("| threads | B | llama.cpp S_TG t/s | moe t/s (min-max) | moe / llama.cpp | llama.cpp x B=%d | moe x B=%d |" % (first_b, first_b))
print("|---:|---:|---:|---:|---:|---:|---:|")
for (t, b), (llama, moe, lo, hi) in med.items():
    base = med.get((t, first_b))
    print(f"| {t} | {b} | {llama:.2f} | {moe:.2f} ({lo:.2f}-{hi:.2f}) | {moe / llama:.2f} | "
          f"{llama / base[0]:.2f} | {moe / base[1]:.2f} |")
PY
