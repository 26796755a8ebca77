#!/usr/bin/env bash
# Prefill and decode speed of one model under each parallel layout, measured side by side:
# the layouts run interleaved (A B C ... A B C ...) REPEATS times and medians are reported, with
# the communication share (--profile, max over ranks) and peak RSS per rank.
#
#   bench/parallel_layouts.sh MOE MODEL [PROMPT_WORDS] [GEN_TOKENS] [REPEATS]
#   bench/parallel_layouts.sh build/moe models/mixtral-bench 100 32 3
set -euo pipefail
MOE=${1:?moe binary}
MODEL=${2:?model path}
WORDS=${3:-100}
GEN=${4:-32}
REPEATS=${5:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
words=(the quick brown fox jumps over a lazy dog while seven wise owls watch from old oak trees)
prompt=""
for i in $(seq 1 "$WORDS"); do prompt+="${words[$((i % ${#words[@]}))]} "; done

# name|ranks|threads per rank|flags
layouts=(
  "1 rank x 1 thread|1|1|"
  "1 rank x 2 threads|1|2|"
  "EP 2|2|1|--tp 2 --moe-ep 2"
  "TP 2|2|1|--tp 2"
  "attention DP + EP 2|2|1|--tp 2 --moe-ep 2 --enable-attention-dp"
  "PP 2|2|1|--pp 2"
)

# Warm-up: bring the model file into the page cache so no layout pays for disk reads.
"$MOE" run -m "$MODEL" -p "$prompt" -n 2 --temp 0 >/dev/null 2>&1

declare -A prefill decode comm rss
for repeat in $(seq 1 "$REPEATS"); do
  for entry in "${layouts[@]}"; do
    IFS='|' read -r name ranks threads flags <<<"$entry"
    cmd=("$MOE" run -m "$MODEL" -p "$prompt" -n "$GEN" --temp 0 -t "$threads" --profile $flags)
    [ "$ranks" -gt 1 ] && cmd=(mpirun -np "$ranks" "${cmd[@]}")
    "${cmd[@]}" >/dev/null 2>"$work/err"
    line=$(grep '^prompt:' "$work/err")
    prefill[$name]+="$(echo "$line" | sed -E 's/.*prompt: [0-9]+ tokens, ([0-9.]+) tokens.*/\1/') "
    decode[$name]+="$(echo "$line" | sed -E 's/.*generated: [0-9]+ tokens, ([0-9.]+) tokens.*/\1/') "
    share=$(grep -E '^(max|0) ' "$work/err" | tail -1 | awk '{print $NF}')
    comm[$name]+="${share%\%} "
    rss[$name]=$(grep '^peak RSS' "$work/err" | sed 's/peak RSS per rank: //' || true)
    echo "run $repeat: $name: $line" >&2
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
tokens=$(grep '^prompt:' "$work/err" | sed -E 's/prompt: ([0-9]+) tokens.*/\1/')
echo "model $MODEL, prompt $tokens tokens, $GEN generated, median of $REPEATS interleaved runs"
echo
echo "| layout | prefill tok/s | decode tok/s | comm share (max rank) | peak RSS per rank |"
echo "|---|---|---|---|---|"
for entry in "${layouts[@]}"; do
  IFS='|' read -r name _ _ _ <<<"$entry"
  echo "| $name | $(echo "${prefill[$name]}" | median) | $(echo "${decode[$name]}" | median) | $(echo "${comm[$name]}" | median) % | ${rss[$name]:-} |"
done
