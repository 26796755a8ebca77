#!/usr/bin/env bash
# A write past the file-size limit (ulimit -f: EFBIG, SIGXFSZ ignored by moe) during a checkpoint,
# `moe convert`, `moe quantize` and `moe init`: one line naming the file, exit 1, the previous
# checkpoint intact and `latest` naming it, no partial output or temporary left, and the previous
# checkpoint resumes to the losses of a run that never failed. (full_disk.sh does the same on a
# full tmpfs where mounting is permitted.)
source "$(dirname "$0")/lib.bash"
cd "$WORK"
make_training_setup
"$MOE" train --config train.yaml --save ref --save-interval 0 --log ref.jsonl >/dev/null 2>&1 || fail "unkilled run"

# no_temporaries DIR: nothing named *.tmp.* left in DIR.
no_temporaries() {
  local left
  left=$(find "$1" -name '*.tmp.*')
  [ -z "$left" ] || fail "temporaries left: $left"
}

"$MOE" train --config train.yaml --save save --log part_1.jsonl --exit-interval 3 >/dev/null 2>&1 || fail "3 updates"
# 100 KiB: the log fits, the optimizer file (the first written, 1.6 MB) does not.
PROGRESS="^(training|resumed|step) " expect_error "checkpoint past the file-size limit" \
  "^moe: error: save/iter_0000004\.tmp\.[0-9]+/optimizer/rank_00000\.safetensors: write failed: File too large$" \
  bash -c 'ulimit -f 100 && exec "$@"' - "$MOE" train --config train.yaml --save save --load save --log part_2.jsonl
[ "$(cat save/latest)" = iter_0000003 ] || fail "latest after the failed save: $(cat save/latest)"
[ ! -e save/iter_0000004 ] || fail "save/iter_0000004 exists after its write failed"
no_temporaries save
"$MOE" train --config train.yaml --save save --load save --log part_3.jsonl >part_3.out 2>&1 || fail "resume: $(tail -2 part_3.out)"
grep -q "^resumed from save/iter_0000003 at iteration 3$" part_3.out || fail "resume line: $(head -2 part_3.out)"
n=$(same_losses ref.jsonl part_1.jsonl part_2.jsonl part_3.jsonl) || fail "a loss differs from the run that never failed"
[ "${n:-0}" -eq 41 ] || fail "$n losses logged, expected 41 (3, then step 4 before its failed save, then 4 to 40)"
for file in model.safetensors optimizer/rank_00000.safetensors; do
  cmp -s "ref/iter_0000040/$file" "save/iter_0000040/$file" || fail "save/iter_0000040/$file differs from the unfailed run's"
done

# Conversions: the output never appears, not even in part.
mkdir out
limited() { bash -c 'ulimit -f 100 && exec "$@"' - "$@"; }
expect_error "convert to GGUF" "^moe: error: out/m\.gguf: write failed: File too large$" \
  limited "$MOE" convert --in tok --out out/m.gguf
expect_error "convert to an HF directory" \
  "^moe: error: out/m\.tmp\.[0-9]+/model\.safetensors: write failed: File too large$" \
  limited "$MOE" convert --in tok --out out/m
PROGRESS="^moe quantize: \[" expect_error "quantize" "^moe: error: out/q\.gguf: write failed: File too large$" \
  limited "$MOE" quantize -m tok --to q8_0 --out out/q.gguf
PROGRESS="^moe init: generating" expect_error "init" "^moe: error: out/i\.tmp\.[0-9]+/model\.safetensors: write failed: File too large$" \
  limited "$MOE" init --preset mixtral-tiny --out out/i
[ -z "$(ls -A out)" ] || fail "left in out/: $(ls -A out)"
finish
