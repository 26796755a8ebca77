#!/usr/bin/env bash
# A user's first commands: init (same seed, same bytes), info, run (text and --json), convert both
# ways losslessly, and eval on both forms with the same perplexity.
source "$(dirname "$0")/lib.bash"

"$MOE" init --preset mixtral-tiny --out "$WORK/a" --seed 5 2>/dev/null || fail "init a"
"$MOE" init --preset mixtral-tiny --out "$WORK/b" --seed 5 2>/dev/null || fail "init b"
"$MOE" init --preset mixtral-tiny --out "$WORK/c" --seed 6 2>/dev/null || fail "init c"
cmp -s "$WORK/a/model.safetensors" "$WORK/b/model.safetensors" || fail "same seed wrote different bytes"
cmp -s "$WORK/a/model.safetensors" "$WORK/c/model.safetensors" && fail "different seeds wrote the same bytes"
"$MOE" init --preset qwen2moe-tiny --out "$WORK/q1.gguf" --seed 5 2>/dev/null || fail "init gguf 1"
"$MOE" init --preset qwen2moe-tiny --out "$WORK/q2.gguf" --seed 5 2>/dev/null || fail "init gguf 2"
cmp -s "$WORK/q1.gguf" "$WORK/q2.gguf" || fail "same seed wrote different GGUF bytes"

info=$("$MOE" info --model "$WORK/a") || fail "info"
echo "$info" | grep -q "architecture: *mixtral" || fail "info: architecture"
echo "$info" | grep -q "experts: *8, top-2" || fail "info: experts"
echo "$info" | grep -q "softmax, top-2 of 8, renormalised" || fail "info: routing"

text=$("$MOE" run --model "$WORK/a" -p "The quick brown fox" -n 8 --temp 0 2>/dev/null) || fail "run"
case "$text" in "The quick brown fox"*) ;; *) fail "run: output does not start with the prompt: $text" ;; esac
json=$("$MOE" run --model "$WORK/a" -p "The quick brown fox" -n 8 --temp 0 --json 2>/dev/null) || fail "run --json"
echo "$json" | grep -qE '^\{"request":0,"prompt_tokens":\[1,[0-9,]+\],"tokens":\[[0-9,]+\],"text":".*"\}$' || fail "run --json: $json"

# HF -> GGUF -> HF is lossless: the same safetensors bytes, the same greedy tokens.
"$MOE" convert --in "$WORK/a" --out "$WORK/a.gguf" 2>/dev/null || fail "convert to gguf"
"$MOE" convert --in "$WORK/a.gguf" --out "$WORK/a2" 2>/dev/null || fail "convert back"
cmp -s "$WORK/a/model.safetensors" "$WORK/a2/model.safetensors" || fail "HF -> GGUF -> HF changed the weights"
json_gguf=$("$MOE" run --model "$WORK/a.gguf" -p "The quick brown fox" -n 8 --temp 0 --json 2>/dev/null)
[ "$json" = "$json_gguf" ] || fail "GGUF generates differently: $json_gguf"

# Compressed KV caches run and stay near the f32 cache's tokens (random model: no exact claim).
"$MOE" run --model "$WORK/a" -p "The quick brown fox" -n 8 --temp 0 --kv-dtype int8 --json >/dev/null 2>&1 || fail "run --kv-dtype int8"
"$MOE" run --model "$WORK/a" -p "The quick brown fox" -n 8 --temp 0 --kv-dtype f16 --json >/dev/null 2>&1 || fail "run --kv-dtype f16"

# Perplexity on both forms agrees.
for i in $(seq 1 40); do echo "The quick brown fox jumps over the lazy dog number $i."; done >"$WORK/text.txt"
p1=$("$MOE" eval --model "$WORK/a" --perplexity "$WORK/text.txt" --ctx 64 --json 2>/dev/null) || fail "eval"
p2=$("$MOE" eval --model "$WORK/a.gguf" --perplexity "$WORK/text.txt" --ctx 64 --json 2>/dev/null) || fail "eval gguf"
echo "$p1" | grep -q '"perplexity"' || fail "eval --json: $p1"
python3 - "$p1" "$p2" <<'PY' || fail "perplexities differ: $p1 vs $p2"
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["tokens_scored"] == b["tokens_scored"] > 0
assert abs(a["perplexity"] - b["perplexity"]) <= 1e-4 * a["perplexity"]
PY
finish
