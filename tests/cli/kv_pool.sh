#!/usr/bin/env bash
# `moe run` with a KV pool too small for its prompts (--kv-blocks, --kv-cache-gib): requests wait
# for blocks and are preempted and recomputed, and the text is that of a pool that holds them all,
# with every KV dtype, in one process and under tensor, pipeline and attention-data parallelism
# (each rank its own pool).
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

"$MOE" init --preset qwen2moe-tiny --out "$WORK/m" --seed 3 2>/dev/null || fail "init"
# Four prompts of 40 tokens generating 40: 80 positions, two blocks of 64 each.
for i in 1 2 3 4; do echo "Once upon a time there was a fox number $i who lived in the forest by the river"; done \
  >"$WORK/prompts.txt"
run() { "$MOE" run -m "$WORK/m" --prompts "$WORK/prompts.txt" -n 40 --temp 0.8 --seed 9 --json -t 1 "$@"; }

want=$(run 2>/dev/null) || fail "run with a pool that grows"
[ "$(echo "$want" | wc -l)" = 4 ] || fail "four results: $want"
for flags in "--kv-blocks 3" "--kv-blocks 3 --no-prefix-cache" "--kv-blocks 2" "--kv-cache-gib 0.00075"; do
  got=$(run $flags 2>"$WORK/log") || fail "$flags: $(cat "$WORK/log")"
  [ "$got" = "$want" ] || fail "$flags generates differently: $got"
  grep -Eq "ranks, [1-9][0-9]* KV preemptions" "$WORK/log" || fail "$flags: no preemption: $(cat "$WORK/log")"
done

for dtype in f16 int8; do
  a=$(run --kv-dtype $dtype 2>/dev/null) || fail "--kv-dtype $dtype"
  b=$(run --kv-dtype $dtype --kv-blocks 2 2>/dev/null) || fail "--kv-dtype $dtype --kv-blocks 2"
  [ "$a" = "$b" ] || fail "--kv-dtype $dtype: a pool of 2 blocks generates differently: $b"
done

for layout in "--tp 2" "--pp 2" "--tp 2 --moe-ep 2 --enable-attention-dp"; do
  got=$(mpirun -np 2 "$MOE" run -m "$WORK/m" --prompts "$WORK/prompts.txt" -n 40 --temp 0.8 --seed 9 --json -t 1 \
    --kv-blocks 2 $layout 2>"$WORK/log") || fail "$layout: $(cat "$WORK/log")"
  [ "$got" = "$want" ] || fail "$layout with --kv-blocks 2 generates differently: $got"
done

expect_error "a request over the pool" "request 0: 80 positions .* do not fit the KV pool of 1 blocks" \
  "$MOE" run -m "$WORK/m" --prompts "$WORK/prompts.txt" -n 40 --kv-blocks 1
finish
