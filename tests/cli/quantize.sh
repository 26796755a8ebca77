#!/usr/bin/env bash
# moe quantize: an init'ed model to q8_0 and q4_0 (and a GGUF to q4_K), with the dtypes `moe info`
# reports, generation, and perplexity near the f32 model's; bad options give one line, exit 1
# and no output file.
source "$(dirname "$0")/lib.bash"

"$MOE" init --preset mixtral-tiny --out "$WORK/f32" --seed 3 2>/dev/null || fail "init"

help=$("$MOE" quantize --help) || fail "quantize --help"
for word in --model --to --out --output-type --embedding-type q4_K q6_K "stay f32" "falls back" file_type; do
  echo "$help" | grep -q -- "$word" || fail "quantize --help does not mention $word"
done

"$MOE" quantize --model "$WORK/f32" --to q8_0 --out "$WORK/q8.gguf" -t 2 2>"$WORK/q8.log" || fail "quantize q8_0"
grep -q '^moe quantize: \[1/[0-9]*\] ' "$WORK/q8.log" || fail "quantize: no progress on stderr"
grep -q "moe quantize: wrote .*q8.gguf" "$WORK/q8.log" || fail "quantize: no final line"
"$MOE" quantize --model "$WORK/f32" --to q4_0 --out "$WORK/q4.gguf" -t 2 2>/dev/null || fail "quantize q4_0"
"$MOE" quantize --model "$WORK/q8.gguf" --to q4_K --out "$WORK/q4k.gguf" -t 2 2>/dev/null || fail "quantize gguf q4_K"

# The router and norms stay f32; q4_0 puts output.weight in q6_K as llama-quantize does.
info=$("$MOE" info --model "$WORK/q8.gguf") || fail "info q8"
echo "$info" | grep -qE "^weights: .*f32 .*q8_0 " || fail "info q8_0 dtypes: $(echo "$info" | grep weights)"
echo "$info" | grep -q "q4_0\|q6_K" && fail "info q8_0 shows other dtypes: $(echo "$info" | grep weights)"
info=$("$MOE" info --model "$WORK/q4.gguf") || fail "info q4"
echo "$info" | grep -qE "^weights: .*f32 .*q4_0 .*q6_K " || fail "info q4_0 dtypes: $(echo "$info" | grep weights)"
info=$("$MOE" info --model "$WORK/q4k.gguf") || fail "info q4_K"
echo "$info" | grep -qE "^weights: .*f32 .*q4_K .*q6_K " || fail "info q4_K dtypes: $(echo "$info" | grep weights)"

# A q8_0 file requantized to q8_0 is copied tensor by tensor: the same file.
"$MOE" quantize --model "$WORK/q8.gguf" --to q8_0 --out "$WORK/q8again.gguf" 2>/dev/null || fail "requantize q8_0"
cmp -s "$WORK/q8.gguf" "$WORK/q8again.gguf" || fail "q8_0 -> q8_0 changed the file"

for m in q8 q4 q4k; do
  json=$("$MOE" run --model "$WORK/$m.gguf" -p "The quick brown fox" -n 8 --temp 0 --json 2>/dev/null) || fail "run $m"
  echo "$json" | grep -qE '^\{"request":0,"prompt_tokens":\[1,[0-9,]+\],"tokens":\[[0-9,]+\],"text":".*"\}$' ||
    fail "run --json $m: $json"
done

for i in $(seq 1 40); do echo "The quick brown fox jumps over the lazy dog number $i."; done >"$WORK/text.txt"
p32=$("$MOE" eval --model "$WORK/f32" --perplexity "$WORK/text.txt" --ctx 64 --json 2>/dev/null) || fail "eval f32"
p8=$("$MOE" eval --model "$WORK/q8.gguf" --perplexity "$WORK/text.txt" --ctx 64 --json 2>/dev/null) || fail "eval q8"
p4=$("$MOE" eval --model "$WORK/q4.gguf" --perplexity "$WORK/text.txt" --ctx 64 --json 2>/dev/null) || fail "eval q4"
# Random weights are confidently wrong (perplexity ~1e12, mean log-loss ~28 nats), so compare the
# mean log-loss: q8_0 moves it by under 2%, q4_0 (with a q6_K output) by under 10%.
python3 - "$p32" "$p8" "$p4" <<'PY' || fail "perplexities out of range: f32 $p32, q8_0 $p8, q4_0 $p4"
import json, math, sys
f32, q8, q4 = (json.loads(a) for a in sys.argv[1:])
assert f32["tokens_scored"] == q8["tokens_scored"] == q4["tokens_scored"] > 0
loss = math.log(f32["perplexity"])
assert abs(math.log(q8["perplexity"]) - loss) < 0.02 * loss
assert abs(math.log(q4["perplexity"]) - loss) < 0.10 * loss
PY

expect_error "bad --to" "--to.*q3" "$MOE" quantize --model "$WORK/f32" --to q3 --out "$WORK/bad.gguf"
expect_error "f32 is not a --to" "--to.*f32" "$MOE" quantize --model "$WORK/f32" --to f32 --out "$WORK/bad.gguf"
expect_error "out not gguf" "--out.*bad.bin.*\.gguf" "$MOE" quantize --model "$WORK/f32" --to q8_0 --out "$WORK/bad.bin"
expect_error "bad --output-type" "--output-type.*q5" \
  "$MOE" quantize --model "$WORK/f32" --to q8_0 --out "$WORK/bad.gguf" --output-type q5
expect_error "missing input" "nowhere.*no such" "$MOE" quantize --model "$WORK/nowhere" --to q8_0 --out "$WORK/bad.gguf"
head -c 1000 "$WORK/q8.gguf" >"$WORK/truncated.gguf"
expect_error "truncated input" "truncated.gguf.*truncated" \
  "$MOE" quantize --model "$WORK/truncated.gguf" --to q4_0 --out "$WORK/bad.gguf"
[ ! -e "$WORK/bad.gguf" ] && [ ! -e "$WORK/bad.bin" ] || fail "a failed quantize left an output file"
ls "$WORK" | grep -q '\.tmp\.' && fail "a temporary file was left behind"

finish
