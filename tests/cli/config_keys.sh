#!/usr/bin/env bash
# A new user's experiment (issue 17): every key of a qwen2moe-tiny and of a deepseek-tiny config.json
# set in turn to -1, 0, 1e308, "x", null, [], true, 3.5 and 2^31. Each variant either loads and generates (the same
# tokens as the unmodified model, unless the key legitimately changes the computation) or exits 1
# with one stderr line naming the key. config_keys.py does the work; it prints the counts that
# docs/RELIABILITY.md quotes.
source "$(dirname "$0")/lib.bash"
mkdir -p "$WORK/qwen2moe" "$WORK/deepseek"
python3 "$(dirname "$0")/config_keys.py" "$MOE" "$WORK/qwen2moe" || fail "config.json variants (qwen2moe-tiny)"
python3 "$(dirname "$0")/config_keys.py" "$MOE" "$WORK/deepseek" deepseek-tiny || fail "config.json variants (deepseek-tiny)"
finish
