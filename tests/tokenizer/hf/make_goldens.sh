#!/usr/bin/env bash
# Regenerates tests/tokenizer/hf/golden_<name>.json: tokenizers.js's ids for texts.json with each
# small tokenizer.json here. Needs node and npm (fetches @huggingface/tokenizers into a scratch dir).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && npm pack --silent @huggingface/tokenizers@0.2.0 >/dev/null && tar xzf huggingface-tokenizers-0.2.0.tgz)
python3 "$here/make_small.py"
for json in "$here"/*.json; do
  name="$(basename "$json" .json)"
  case "$name" in texts | golden_*) continue ;; esac
  node "$here/reference.mjs" "$scratch/package" "$json" "$here/texts.json" >"$here/golden_$name.json"
done
