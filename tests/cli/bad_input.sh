#!/usr/bin/env bash
# Bad input gives one line on stderr naming the file, tensor or option, exit code 1, and no output
# file left behind.
source "$(dirname "$0")/lib.bash"

"$MOE" init --preset mixtral-tiny --out "$WORK/good" --seed 1 2>/dev/null || fail "init"
"$MOE" init --preset mixtral-tiny --out "$WORK/good.gguf" --seed 1 2>/dev/null || fail "init gguf"

expect_error "missing model" "nowhere.*(no such|cannot open)" "$MOE" info --model "$WORK/nowhere"
head -c 1000 "$WORK/good.gguf" >"$WORK/truncated.gguf"
expect_error "truncated gguf" "truncated.gguf.*truncated" "$MOE" info --model "$WORK/truncated.gguf"
echo "just some text, not a model" >"$WORK/foreign.gguf"
expect_error "foreign file" "foreign.gguf.*not a GGUF" "$MOE" run --model "$WORK/foreign.gguf" -p hi

cp -r "$WORK/good" "$WORK/unknown_arch"
sed -i 's/"model_type": "mixtral"/"model_type": "gpt_bigcode"/' "$WORK/unknown_arch/config.json"
expect_error "unknown architecture" "config.json.*unknown architecture.*gpt_bigcode" "$MOE" info --model "$WORK/unknown_arch"

cp -r "$WORK/good" "$WORK/missing_tensor"
sed -i 's/"num_hidden_layers": 4/"num_hidden_layers": 5/' "$WORK/missing_tensor/config.json"
expect_error "missing tensor" "missing tensor 'model.layers.4" "$MOE" info --model "$WORK/missing_tensor"

cp -r "$WORK/good" "$WORK/bad_shape"
sed -i 's/"intermediate_size": 512/"intermediate_size": 256/' "$WORK/bad_shape/config.json"
expect_error "mis-shaped tensor" "tensor '.*experts.0.w1.weight' has shape \[512, 256\], expected \[256, 256\]" \
  "$MOE" info --model "$WORK/bad_shape"

cp -r "$WORK/good" "$WORK/truncated_st"
truncate -s 5000 "$WORK/truncated_st/model.safetensors"
expect_error "truncated safetensors" "model.safetensors" "$MOE" info --model "$WORK/truncated_st"

expect_error "bad temperature" "--temp" "$MOE" run --model "$WORK/good" -p hi --temp -1
expect_error "bad KV dtype" "--kv-dtype.*fp4" "$MOE" run --model "$WORK/good" -p hi --kv-dtype fp4
expect_error "unknown flag" "--bogus" "$MOE" run --model "$WORK/good" -p hi --bogus
expect_error "missing required option" "--model" "$MOE" run -p hi
expect_error "unknown preset" "--preset.*nope" "$MOE" init --preset nope --out "$WORK/x"
expect_error "quantized HF" "--dtype" "$MOE" init --preset mixtral-tiny --out "$WORK/q" --dtype q8_0
expect_error "bad dtype" "--dtype.*q3" "$MOE" init --preset mixtral-tiny --out "$WORK/q.gguf" --dtype q3
expect_error "missing text" "nothing.txt" "$MOE" eval --model "$WORK/good" --perplexity "$WORK/nothing.txt"
echo "too short" >"$WORK/short.txt"
expect_error "short text" "--perplexity.*fewer than --ctx" "$MOE" eval --model "$WORK/good" --perplexity "$WORK/short.txt"

# A failed conversion leaves no output behind.
expect_error "convert truncated" "truncated.gguf" "$MOE" convert --in "$WORK/truncated.gguf" --out "$WORK/out.gguf"
[ ! -e "$WORK/out.gguf" ] || fail "convert left a partial output file"
ls "$WORK" | grep -q '\.tmp\.' && fail "a temporary file was left behind"

finish
