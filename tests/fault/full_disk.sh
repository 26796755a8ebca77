#!/usr/bin/env bash
# A full disk (a 6 MiB tmpfs: two checkpoints of the tiny model fit, the third does not) during a
# checkpoint write and during `moe convert`: one line naming the file and "No space left on
# device", exit 1, `latest` naming the previous checkpoint, which resumes to the losses of a run that
# never failed; the partial files removed (the space in use is what it was before). Exit code 77
# (skipped) where tmpfs cannot be mounted (not root, or a container without CAP_SYS_ADMIN);
# file_size_limit.sh tests the same paths everywhere.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
mkdir disk
if ! mount -t tmpfs -o size=6m tmpfs disk 2>/dev/null; then
  echo "skipped: cannot mount a tmpfs here"
  exit 77
fi
trap 'umount "$WORK/disk"' EXIT
make_training_setup
"$MOE" train --config train.yaml --save ref --save-interval 0 --log ref.jsonl >/dev/null 2>&1 || fail "unfailed run"

used() { df --output=used -B1 "$WORK/disk" | tail -1; }

PROGRESS="^(training|step|saved) " expect_error "checkpoint on a full disk" \
  "^moe: error: disk/save/iter_0000003\.tmp\.[0-9]+/[a-z_/0-9]+\.safetensors: write failed: No space left on device$" \
  "$MOE" train --config train.yaml --save disk/save --log part_1.jsonl
[ "$(cat disk/save/latest)" = iter_0000002 ] || fail "latest after the failed save: $(cat disk/save/latest)"
[ ! -e disk/save/iter_0000003 ] || fail "disk/save/iter_0000003 exists after its write failed"
left=$(find disk -name '*.tmp.*')
[ -z "$left" ] || fail "temporaries left: $left"
"$MOE" train --config train.yaml --load disk/save --save save --log part_2.jsonl >part_2.out 2>&1 ||
  fail "resume from the full disk's last checkpoint: $(tail -2 part_2.out)"
grep -q "^resumed from disk/save/iter_0000002 at iteration 2$" part_2.out || fail "resume line: $(head -2 part_2.out)"
n=$(same_losses ref.jsonl part_1.jsonl part_2.jsonl) || fail "a loss differs from the run that never failed"
[ "${n:-0}" -eq 41 ] || fail "$n losses logged, expected 41 (1 to 3, then 3 to 40)"

# Conversions onto the full disk: nothing appears, and the space in use is what it was.
before=$(used)
expect_error "convert to GGUF" "^moe: error: disk/m\.gguf: write failed: No space left on device$" \
  "$MOE" convert --in tok --out disk/m.gguf
expect_error "convert to an HF directory" \
  "^moe: error: disk/m\.tmp\.[0-9]+/model\.safetensors: write failed: No space left on device$" \
  "$MOE" convert --in tok --out disk/m
[ "$(ls -A disk)" = save ] || fail "left on the disk: $(ls -A disk)"
[ "$(used)" = "$before" ] || fail "$(used) bytes in use after the failed conversions, $before before"
finish
