#!/usr/bin/env bash
# moe quantize --to int8 / fp8: HF checkpoint directories with the published scale tensors and
# quantization_config, fp8 calibrated on a text file; `moe info` shows the dtype and scheme, `moe
# run` and `moe eval` load them (fp8 KV cache too); bad options give one line, exit 1, no output.
source "$(dirname "$0")/lib.bash"

"$MOE" init --preset mixtral-tiny --out "$WORK/f32" --seed 3 2>/dev/null || fail "init"
for i in $(seq 1 30); do echo "The quick brown fox jumps over the lazy dog number $i."; done >"$WORK/calib.txt"

help=$("$MOE" quantize --help) || fail "quantize --help"
for word in int8 fp8 --calib --fp8-scales "per output" "W8A8" "weight-only"; do
  echo "$help" | grep -q -- "$word" || fail "quantize --help does not mention $word"
done

"$MOE" quantize --model "$WORK/f32" --to int8 --out "$WORK/i8" -t 2 2>"$WORK/i8.log" || fail "quantize int8"
grep -q "wrote .*i8 (int8 weight-only, per-channel weight scales)" "$WORK/i8.log" ||
  fail "int8 log: $(cat "$WORK/i8.log")"
"$MOE" quantize --model "$WORK/f32" --to fp8 --out "$WORK/f8w" -t 2 2>"$WORK/f8w.log" || fail "quantize fp8"
grep -q "no --calib: fp8 weight-only, activations stay f32" "$WORK/f8w.log" || fail "fp8 without --calib says nothing"
"$MOE" quantize --model "$WORK/f32" --to fp8 --calib "$WORK/calib.txt" --out "$WORK/f8" -t 2 2>"$WORK/f8.log" ||
  fail "quantize fp8 --calib"
grep -q "calibrating on [0-9]* tokens" "$WORK/f8.log" || fail "fp8 --calib log: $(cat "$WORK/f8.log")"
"$MOE" quantize --model "$WORK/f32" --to fp8 --fp8-scales channel --out "$WORK/f8c" -t 2 2>/dev/null ||
  fail "quantize fp8 per channel"

# Tensor names, dtypes and quantization_config as the published conventions have them.
python3 - "$WORK" <<'PY' || fail "checkpoint layout"
import json, struct, sys
work = sys.argv[1]
def header(d):
    with open(f"{work}/{d}/model.safetensors", "rb") as f:
        return json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
w = "model.layers.0.block_sparse_moe.experts.3.w2"
h = header("i8")
assert h[w + ".weight"]["dtype"] == "I8" and h[w + ".weight_scale"]["shape"] == [256, 1], h[w + ".weight_scale"]
assert h["lm_head.weight"]["dtype"] == "F32" and h["model.layers.0.block_sparse_moe.gate.weight"]["dtype"] == "F32"
q = json.load(open(f"{work}/i8/config.json"))["quantization_config"]
assert q["quant_method"] == "compressed-tensors" and q["format"] == "int-quantized", q
h = header("f8")
assert h[w + ".weight"]["dtype"] == "F8_E4M3" and h[w + ".weight_scale"]["shape"] == [], h[w + ".weight_scale"]
assert h[w + ".input_scale"]["dtype"] == "F32" and h[w + ".input_scale"]["shape"] == []
q = json.load(open(f"{work}/f8/config.json"))["quantization_config"]
assert q == {"quant_method": "fp8", "activation_scheme": "static", "ignored_layers": q["ignored_layers"]}, q
assert "lm_head" in q["ignored_layers"]
assert json.load(open(f"{work}/f8w/config.json"))["quantization_config"]["activation_scheme"] == "dynamic"
assert w + ".input_scale" not in header("f8w")
q = json.load(open(f"{work}/f8c/config.json"))["quantization_config"]
assert q["format"] == "float-quantized" and q["config_groups"]["group_0"]["weights"]["strategy"] == "channel", q
PY

info=$("$MOE" info --model "$WORK/i8") || fail "info int8"
echo "$info" | grep -qE "^weights: .*f32 .*i8 " || fail "info int8 dtypes: $(echo "$info" | grep weights)"
echo "$info" | grep -q "^quantization: *int8 weight-only, per-channel weight scales" || fail "info int8: $info"
echo "$info" | grep -qE "^kernels: *i8/" || fail "info int8 kernel: $(echo "$info" | grep kernels)"
info=$("$MOE" info --model "$WORK/f8") || fail "info fp8"
echo "$info" | grep -qE "^weights: .*f8_e4m3 " || fail "info fp8 dtypes: $(echo "$info" | grep weights)"
echo "$info" | grep -q "^quantization: *fp8 e4m3 with a static input scale.*per-tensor" || fail "info fp8: $info"

for m in i8 f8w f8 f8c; do
  json=$("$MOE" run --model "$WORK/$m" -p "The quick brown fox" -n 8 --temp 0 --json 2>/dev/null) || fail "run $m"
  echo "$json" | grep -qE '^\{"request":0,"prompt_tokens":\[1,[0-9,]+\],"tokens":\[[0-9,]+\],"text":".*"\}$' ||
    fail "run --json $m: $json"
done
"$MOE" run --model "$WORK/f8" -p "The quick brown fox" -n 8 --temp 0 --kv-dtype fp8 --json >/dev/null 2>&1 ||
  fail "run --kv-dtype fp8"
p32=$("$MOE" eval --model "$WORK/f32" --perplexity "$WORK/calib.txt" --ctx 64 --json 2>/dev/null) || fail "eval f32"
p8=$("$MOE" eval --model "$WORK/i8" --perplexity "$WORK/calib.txt" --ctx 64 --json 2>/dev/null) || fail "eval int8"
pf8=$("$MOE" eval --model "$WORK/f8" --perplexity "$WORK/calib.txt" --ctx 64 --json 2>/dev/null) || fail "eval fp8"
"$MOE" eval --model "$WORK/f8" --perplexity "$WORK/calib.txt" --ctx 64 --kv-dtype fp8 --json >/dev/null 2>&1 ||
  fail "eval fp8 --kv-dtype fp8"
# Mean log-loss of the random model (~28 nats) against f32: measured int8 +0.2%, fp8 W8A8 +2.5%.
python3 - "$p32" "$p8" "$pf8" <<'PY' || fail "perplexities out of range: f32 $p32, int8 $p8, fp8 $pf8"
import json, math, sys
f32, i8, f8 = (json.loads(a) for a in sys.argv[1:])
loss = math.log(f32["perplexity"])
assert abs(math.log(i8["perplexity"]) - loss) < 0.01 * loss
assert abs(math.log(f8["perplexity"]) - loss) < 0.05 * loss
PY
# An int8 checkpoint converts to another HF directory unchanged (scales carried).
"$MOE" convert --in "$WORK/i8" --out "$WORK/i8copy" 2>/dev/null || fail "convert int8 HF -> HF"
cmp -s "$WORK/i8/model.safetensors" "$WORK/i8copy/model.safetensors" || fail "int8 HF -> HF changed the tensors"

expect_error "unknown --to" "--to.*int4.*int8 or fp8" "$MOE" quantize --model "$WORK/f32" --to int4 --out "$WORK/bad"
expect_error "int8 to gguf" "--out.*bad.gguf.*GGUF has no int8" \
  "$MOE" quantize --model "$WORK/f32" --to int8 --out "$WORK/bad.gguf"
expect_error "calib file missing" "nowhere.txt: cannot open" \
  "$MOE" quantize --model "$WORK/f32" --to fp8 --calib "$WORK/nowhere.txt" --out "$WORK/bad"
expect_error "calib with int8" "--calib.*fp8" \
  "$MOE" quantize --model "$WORK/f32" --to int8 --calib "$WORK/calib.txt" --out "$WORK/bad"
expect_error "bad --fp8-scales" "--fp8-scales.*row" \
  "$MOE" quantize --model "$WORK/f32" --to fp8 --fp8-scales row --out "$WORK/bad"
expect_error "int8 model to gguf" "GGUF" "$MOE" convert --in "$WORK/i8" --out "$WORK/bad.gguf"
expect_error "bad --kv-dtype" "--kv-dtype.*fp4.*fp8" \
  "$MOE" run --model "$WORK/i8" -p "x" -n 1 --kv-dtype fp4
[ ! -e "$WORK/bad" ] && [ ! -e "$WORK/bad.gguf" ] || fail "a failed quantize left an output"
ls "$WORK" | grep -q '\.tmp\.' && fail "a temporary file was left behind"

finish
