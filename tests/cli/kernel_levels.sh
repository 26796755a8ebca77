#!/usr/bin/env bash
# The kernel levels agree bit for bit end to end: f32, f16, q8_0 and q4_0 matmuls and attention
# follow one order on ref, AVX2 and AVX-512 (matmul_kernels.h, kernels/attention), so `moe run`
# prints the same tokens and `moe eval` the same perplexity digits with MOE_KERNELS=ref, avx2 and
# avx512 (those this CPU has), weights in panels or not.
source "$(dirname "$0")/lib.bash"

"$MOE" init --preset mixtral-tiny --out "$WORK/f32" --seed 9 2>/dev/null || fail "init"
# output.weight in q4_0 too: q6_K's kernels sum in lanes of the level's width (not this order).
for t in f16 q8_0 q4_0; do
  "$MOE" quantize --model "$WORK/f32" --to "$t" --output-type "$t" --out "$WORK/$t.gguf" 2>/dev/null ||
    fail "quantize $t"
done
for i in $(seq 1 12); do echo "In the beginning was the word, and the word was number $i."; done >"$WORK/text.txt"

for model in "$WORK/f32" "$WORK/f16.gguf" "$WORK/q8_0.gguf" "$WORK/q4_0.gguf"; do
  reference=""
  for level in ref avx2 avx512; do
    MOE_KERNELS=$level "$MOE" info --model "$model" >/dev/null 2>&1 || continue  # this CPU lacks it
    out=$(MOE_KERNELS=$level "$MOE" run --model "$model" -p "The quick brown fox" -n 12 --temp 0 --json -t 2 \
          2>/dev/null) || fail "run $model $level"
    ppl=$(MOE_KERNELS=$level "$MOE" eval --model "$model" --perplexity "$WORK/text.txt" --ctx 48 --json -t 2 \
          2>/dev/null) || fail "eval $model $level"
    if [ -z "$reference" ]; then
      reference="$out $ppl"
    elif [ "$out $ppl" != "$reference" ]; then
      fail "$(basename "$model") on $level: '$out $ppl' differs from ref's '$reference'"
    fi
  done
done
finish
