#!/bin/sh
# Perplexity of the trained KJV model (tests/reference/train_kjv.py) in every weight format moe.cpp
# writes, scored by `moe eval` and, for the GGUF files, by llama.cpp's llama-perplexity on the same
# file, text and window (f32 KV cache, no flash attention): the "Quantization quality" table of
# docs/PERFORMANCE.md. fp8 is calibrated on the last 1000 verses of the training text.
# Usage: scripts/kjv_quality.sh MOE LLAMA_PERPLEXITY MODEL_DIR TEXT_DIR OUT_DIR [CTX]
set -eu
moe=$1 llama=$2 model=$3 text=$4 out=$5 ctx=${6:-256}
mkdir -p "$out"
"$moe" convert --in "$model" --out "$out/f32.gguf" >&2
for to in f16 bf16 q8_0 q4_0 q4_K q6_K; do
  "$moe" quantize --model "$model" --to $to --out "$out/$to.gguf" -t 1 >&2
done
"$moe" quantize --model "$model" --to int8 --out "$out/int8" -t 1 >&2
"$moe" quantize --model "$model" --to fp8 --out "$out/fp8-weight-only" -t 1 >&2
tail -n 1000 "$text/train.txt" > "$out/calib.txt"
"$moe" quantize --model "$model" --to fp8 --calib "$out/calib.txt" --out "$out/fp8" -t 1 >&2

moe_ppl() {
  "$moe" eval --model "$1" --perplexity "$text/test.txt" --ctx "$ctx" -t 1 --json 2>/dev/null |
    sed 's/.*"perplexity":\([0-9.]*\).*/\1/'
}
llama_ppl() {
  "$llama" -m "$1" -f "$text/test.txt" -c "$ctx" -t 1 -fa off -ctk f32 -ctv f32 2>&1 |
    sed -n 's/.*Final estimate: PPL = \([0-9.]*\).*/\1/p'
}
row() {  # format, moe perplexity, llama perplexity or -
  awk -v f="$1" -v m="$2" -v l="$3" -v r="$reference" \
    'BEGIN { printf "%s\t%.4f\t%+.3f %%\t%s\n", f, m, (m / r - 1) * 100, l }'
}
reference=$(moe_ppl "$model")
printf 'format\tmoe eval\tvs HF f32\tllama-perplexity\n'
row "HF f32" "$reference" -
for to in f32 f16 bf16 q8_0 q4_0 q4_K q6_K; do
  row "$to" "$(moe_ppl "$out/$to.gguf")" "$(llama_ppl "$out/$to.gguf")"
done
for dir in int8 fp8-weight-only fp8; do row "$dir" "$(moe_ppl "$out/$dir")" -; done
