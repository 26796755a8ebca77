#!/usr/bin/env bash
# DeepSeek models as a user meets them: `moe init --preset deepseek-tiny` writes DeepSeek-V3's
# config.json and tensor names, `moe info` tells MLA and the KV bytes per token (the latent cache),
# `moe run` generates the same text with a KV pool that must preempt (paged latent blocks), with
# every KV dtype's pool alike, under attention TP, PP and attention DP + EP; GGUF output and
# training are refused in one line.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

"$MOE" init --preset deepseek-tiny --out "$WORK/m" --seed 3 2>/dev/null || fail "init"
grep -q '"model_type": "deepseek_v3"' "$WORK/m/config.json" || fail "config.json model_type"
python3 - "$WORK/m/model.safetensors" <<'PY' || fail "tensor names"
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    names = set(json.loads(f.read(struct.unpack("<Q", f.read(8))[0])))
want = ["model.layers.0.mlp.gate_proj.weight", "model.layers.1.self_attn.q_a_proj.weight",
        "model.layers.1.self_attn.q_a_layernorm.weight", "model.layers.1.self_attn.q_b_proj.weight",
        "model.layers.1.self_attn.kv_a_proj_with_mqa.weight", "model.layers.1.self_attn.kv_a_layernorm.weight",
        "model.layers.1.self_attn.kv_b_proj.weight", "model.layers.1.mlp.gate.e_score_correction_bias",
        "model.layers.1.mlp.shared_experts.up_proj.weight", "model.layers.3.mlp.experts.15.down_proj.weight"]
missing = [n for n in want if n not in names]
sys.exit("missing: %s" % missing if missing else 0)
PY
"$MOE" info -m "$WORK/m" >"$WORK/info" || fail "info"
grep -q "^MLA: *q_lora_rank 128, kv_lora_rank 64, qk_nope 32, qk_rope 16, v 32, YaRN" "$WORK/info" || fail "info MLA"
grep -q "^kv cache: *1.28 KB per token (f32, MLA latent; decompressed k and v: 12.29 KB)" "$WORK/info" ||
  fail "info kv cache: $(grep kv "$WORK/info")"

for i in 1 2 3 4; do echo "Once upon a time there was a fox number $i who lived in the forest by the river"; done \
  >"$WORK/prompts.txt"
run() { "$MOE" run -m "$WORK/m" --prompts "$WORK/prompts.txt" -n 40 --temp 0.8 --seed 9 --json -t 1 "$@"; }
want=$(run 2>/dev/null) || fail "run"
[ "$(echo "$want" | wc -l)" = 4 ] || fail "four results: $want"
got=$(run --kv-blocks 2 2>"$WORK/log") || fail "--kv-blocks 2: $(cat "$WORK/log")"
[ "$got" = "$want" ] || fail "--kv-blocks 2 generates differently: $got"
grep -Eq "ranks, [1-9][0-9]* KV preemptions" "$WORK/log" || fail "--kv-blocks 2: no preemption: $(cat "$WORK/log")"
for dtype in f16 int8 fp8; do
  a=$(run --kv-dtype $dtype 2>/dev/null) || fail "--kv-dtype $dtype"
  b=$(run --kv-dtype $dtype --kv-blocks 2 2>/dev/null) || fail "--kv-dtype $dtype --kv-blocks 2"
  [ "$a" = "$b" ] || fail "--kv-dtype $dtype: a pool of 2 blocks generates differently: $b"
done
for layout in "--tp 2" "--pp 2" "--tp 2 --moe-ep 2 --enable-attention-dp"; do
  got=$(mpirun -np 2 "$MOE" run -m "$WORK/m" --prompts "$WORK/prompts.txt" -n 40 --temp 0.8 --seed 9 --json -t 1 \
    $layout 2>"$WORK/log" | sort) || fail "$layout: $(tail -3 "$WORK/log")"
  [ "$got" = "$(echo "$want" | sort)" ] || fail "$layout generates differently: $got"
done

expect_error "GGUF output" "cannot be written as GGUF yet" "$MOE" convert --in "$WORK/m" --out "$WORK/m.gguf"
"$MOE" data --tokenizer "$WORK/m" --in "$WORK/prompts.txt" --out "$WORK/tokens" >/dev/null 2>&1 || fail "moe data"
expect_error "training" "not supported by training yet" "$MOE" train --model "$WORK/m" --data-path "$WORK/tokens" \
  --train-iters 1
finish
