#!/usr/bin/env bash
# The k-quants beyond q4_K/q6_K: `moe quantize --to q5_K` (perplexity near the f32 model's), and a
# GGUF whose experts are Q3_K (gate/up) and Q2_K (down), rewritten from the q5_K file by
# kquant_gguf.py with random blocks: `moe info` reports the dtypes, `moe run` runs it on every
# kernel level this CPU has, and `moe eval` gives a finite perplexity.
source "$(dirname "$0")/lib.bash"

"$MOE" init --preset mixtral-tiny --out "$WORK/f32" --seed 3 2>/dev/null || fail "init"
"$MOE" quantize --model "$WORK/f32" --to q5_K --out "$WORK/q5k.gguf" -t 2 2>/dev/null || fail "quantize q5_K"
info=$("$MOE" info --model "$WORK/q5k.gguf") || fail "info q5_K"
echo "$info" | grep -qE "^weights: .*f32 .*q5_K " || fail "info q5_K dtypes: $(echo "$info" | grep weights)"
echo "$info" | grep -qE "q2_K|q3_K|q4_K" && fail "info q5_K shows other k-quants: $(echo "$info" | grep weights)"

rewritten=$(python3 "$(dirname "$0")/kquant_gguf.py" "$WORK/q5k.gguf" "$WORK/q23k.gguf") || fail "kquant_gguf.py"
[ "$rewritten" -gt 0 ] || fail "kquant_gguf.py rewrote no tensors"
info=$("$MOE" info --model "$WORK/q23k.gguf") || fail "info q2_K/q3_K"
for dtype in q2_K q3_K; do
  echo "$info" | grep -qE "^weights: .* $dtype " || fail "info does not report $dtype: $(echo "$info" | grep weights)"
done

for m in q5k q23k; do
  for level in ref avx2 avx512; do
    MOE_KERNELS=$level "$MOE" info --model "$WORK/$m.gguf" >/dev/null 2>&1 || continue  # this CPU lacks it
    json=$(MOE_KERNELS=$level "$MOE" run --model "$WORK/$m.gguf" -p "The quick brown fox" -n 8 --temp 0 --json \
      2>"$WORK/run.err") || fail "run $m $level: $(head -c 300 "$WORK/run.err")"
    echo "$json" | grep -qE '^\{"request":0,"prompt_tokens":\[1,[0-9,]+\],"tokens":\[[0-9,]+\],"text":".*"\}$' ||
      fail "run --json $m $level: $json"
  done
done

for i in $(seq 1 40); do echo "The quick brown fox jumps over the lazy dog number $i."; done >"$WORK/text.txt"
p32=$("$MOE" eval --model "$WORK/f32" --perplexity "$WORK/text.txt" --ctx 64 --json 2>/dev/null) || fail "eval f32"
p5=$("$MOE" eval --model "$WORK/q5k.gguf" --perplexity "$WORK/text.txt" --ctx 64 --json 2>/dev/null) || fail "eval q5k"
p23=$("$MOE" eval --model "$WORK/q23k.gguf" --perplexity "$WORK/text.txt" --ctx 64 --json 2>/dev/null) ||
  fail "eval q23k"
# Random weights are confidently wrong (mean log-loss ~28 nats), so compare the mean log-loss:
# q5_K (with a q5_K output) moves it by under 5%; the random Q2_K/Q3_K experts give a finite one.
python3 - "$p32" "$p5" "$p23" <<'PY' || fail "perplexities out of range: f32 $p32, q5_K $p5, q2_K/q3_K $p23"
import json, math, sys
f32, q5, q23 = (json.loads(a) for a in sys.argv[1:])
assert f32["tokens_scored"] == q5["tokens_scored"] == q23["tokens_scored"] > 0
loss = math.log(f32["perplexity"])
assert abs(math.log(q5["perplexity"]) - loss) < 0.05 * loss
assert math.isfinite(math.log(q23["perplexity"]))
PY

# q2_K and q3_K are read only: --to refuses them with the list of what it writes.
expect_error "q3_K is not a --to" "--to.*q3_K.*q5_K" "$MOE" quantize --model "$WORK/f32" --to q3_K --out "$WORK/bad.gguf"
[ ! -e "$WORK/bad.gguf" ] || fail "a failed quantize left an output file"

finish
