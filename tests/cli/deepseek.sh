#!/usr/bin/env bash
# DeepSeek models as a user meets them: `moe init --preset deepseek-tiny` writes DeepSeek-V3's
# config.json and tensor names, `moe info` tells MLA and the KV bytes per token (the latent cache),
# `moe run` generates the same text with a KV pool that must preempt (paged latent blocks), with
# every KV dtype's pool alike, under attention TP, PP and attention DP + EP, and from GGUF (ours
# and llama.cpp's converter's); training is refused in one line.
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

# GGUF (llama.cpp's deepseek2, attn_kv_b layout): converted, initialised straight to GGUF and
# converted back, every form generates the same tokens and scores the same perplexity.
"$MOE" convert --in "$WORK/m" --out "$WORK/m.gguf" >/dev/null 2>&1 || fail "convert to GGUF"
"$MOE" init --preset deepseek-tiny --out "$WORK/i.gguf" --seed 3 >/dev/null 2>&1 || fail "init GGUF"
"$MOE" convert --in "$WORK/m.gguf" --out "$WORK/back" >/dev/null 2>&1 || fail "convert GGUF to HF"
cmp -s "$WORK/m/model.safetensors" "$WORK/back/model.safetensors" || fail "HF -> GGUF -> HF changed the tensors"
for form in m.gguf i.gguf back; do
  got=$("$MOE" run -m "$WORK/$form" --prompts "$WORK/prompts.txt" -n 40 --temp 0.8 --seed 9 --json -t 1 2>/dev/null) ||
    fail "run $form"
  [ "$got" = "$want" ] || fail "$form generates differently: $got"
done
for i in $(seq 30); do echo "The river ran past the forest, and the fox watched the water number $i."; done >"$WORK/text.txt"
ppl() { "$MOE" eval --model "$WORK/$1" --perplexity "$WORK/text.txt" --ctx 64 --json 2>/dev/null; }
p_hf=$(ppl m) || fail "eval HF"
[ "$(ppl m.gguf)" = "$p_hf" ] || fail "GGUF perplexity differs: $(ppl m.gguf) vs $p_hf"

# llama.cpp's own converter (tests/reference/llama_cpp_deepseek_gguf.py runs its
# convert_hf_to_gguf.py on our HF directory): the split attn_k_b / attn_v_b layout with
# head_count_kv 1 must generate and score as the HF directory does. Skipped without llama.cpp.
LLAMA_CPP_DIR=${LLAMA_CPP_DIR:-/work/peers/llama.cpp}
/usr/bin/python3 "$(dirname "$0")/../reference/llama_cpp_deepseek_gguf.py" "$LLAMA_CPP_DIR" "$WORK/m" \
  "$WORK/llama.gguf" >"$WORK/convert.log" 2>&1
rc=$?
if [ "$rc" = 77 ]; then
  echo "skipped: llama.cpp's converter ($(tail -1 "$WORK/convert.log"))"
elif [ "$rc" != 0 ]; then
  fail "llama.cpp's convert_hf_to_gguf.py: $(tail -3 "$WORK/convert.log")"
else
  grep -q "attn_k_b.weight" "$WORK/convert.log" || fail "llama.cpp's converter wrote no attn_k_b"
  got=$("$MOE" run -m "$WORK/llama.gguf" --prompts "$WORK/prompts.txt" -n 40 --temp 0.8 --seed 9 --json -t 1 \
    2>"$WORK/log") || fail "run llama.cpp's GGUF: $(tail -1 "$WORK/log")"
  [ "$got" = "$want" ] || fail "llama.cpp's GGUF generates differently: $got"
  [ "$(ppl llama.gguf)" = "$p_hf" ] || fail "llama.cpp's GGUF perplexity differs: $(ppl llama.gguf) vs $p_hf"
fi
"$MOE" data --tokenizer "$WORK/m" --in "$WORK/prompts.txt" --out "$WORK/tokens" >/dev/null 2>&1 || fail "moe data"
expect_error "training" "not supported by training yet" "$MOE" train --model "$WORK/m" --data-path "$WORK/tokens" \
  --train-iters 1
finish
