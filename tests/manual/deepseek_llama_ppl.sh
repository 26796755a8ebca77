#!/usr/bin/env bash
# deepseek_llama_ppl.sh: manual check of a DeepSeek GGUF scored by `moe eval --perplexity` and by
# llama.cpp's llama-perplexity (docs/PERFORMANCE.md, "DeepSeek GGUF against llama-perplexity").
#
# Usage: tests/manual/deepseek_llama_ppl.sh MOE LLAMA_CPP_DIR WORK_DIR
# Makes `moe init --preset deepseek-tiny --seed 3` with lm_head scaled by 0.25 (the random model's
# logits otherwise span ~30 nats, where any rounding moves the perplexity by percent), converts it
# to GGUF with our writer (attn_kv_b layout) and with llama.cpp's convert_hf_to_gguf.py
# (tests/reference/llama_cpp_deepseek_gguf.py: split attn_k_b / attn_v_b), requantizes ours to F16,
# Q8_0 and Q4_0,
# and prints both scorers' perplexity of each file (ctx 64, 1 thread, llama.cpp with -fa off and
# an f32 KV cache). Needs LLAMA_CPP_DIR/build/bin/llama-perplexity.
set -eu
MOE=$(realpath "$1")
LLAMA=$(realpath "$2")
WORK=$3
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
"$MOE" init --preset deepseek-tiny --out m --seed 3 >/dev/null 2>&1
/usr/bin/python3 - <<'PY'
import json, struct, numpy as np
path = "m/model.safetensors"
data = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", data[:8])[0]
begin, end = json.loads(data[8:8 + n])["lm_head.weight"]["data_offsets"]
lm = np.frombuffer(bytes(data[8 + n + begin:8 + n + end]), dtype=np.float32) * np.float32(0.25)
data[8 + n + begin:8 + n + end] = lm.tobytes()
open(path, "wb").write(data)
PY
for i in $(seq 30); do echo "The river ran past the forest, and the fox watched the water number $i."; done >text.txt
"$MOE" convert --in m --out ours.gguf >/dev/null 2>&1
for t in f16 q8_0 q4_0; do "$MOE" quantize -m ours.gguf --to $t --out ours-$t.gguf >/dev/null 2>&1; done
/usr/bin/python3 "$HERE/../reference/llama_cpp_deepseek_gguf.py" "$LLAMA" m llama.gguf >/dev/null 2>&1
echo "moe eval m (HF): $("$MOE" eval --model m --perplexity text.txt --ctx 64 -t 1 --json 2>/dev/null)"
for f in ours.gguf llama.gguf ours-f16.gguf ours-q8_0.gguf ours-q4_0.gguf; do
  ours=$("$MOE" eval --model "$f" --perplexity text.txt --ctx 64 -t 1 --json 2>/dev/null)
  theirs=$(LD_LIBRARY_PATH="$LLAMA/build/bin" "$LLAMA/build/bin/llama-perplexity" -m "$f" -f text.txt -c 64 -t 1 \
    -fa off -ctk f32 -ctv f32 2>&1 | grep -o "Final estimate.*")
  echo "$f: moe eval $ours | llama-perplexity $theirs"
done
