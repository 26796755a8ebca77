#!/usr/bin/env bash
# `moe train` killed with SIGKILL at random moments, KILLS times ($3, default 20; seed $4): after
# each kill `latest` is absent (no checkpoint finished yet) or names a whole checkpoint, the next run
# resumes from it, and every loss any run logs equals that of a run never killed, bit for bit. A
# run that reaches the last iteration ends with the unkilled run's weights and Adam moments, byte
# for byte, and the cycle starts over in an empty directory. First, one kill at a known moment:
# inside a checkpoint write (MOE_FAULT_AT=checkpoint_write).
source "$(dirname "$0")/lib.bash"
KILLS="${3:-20}"
RANDOM="${4:-1}"
cd "$WORK"
make_training_setup

"$MOE" train --config train.yaml --save ref --save-interval 0 --log ref.jsonl >ref.out 2>&1 ||
  fail "the unkilled run: $(tail -2 ref.out)"

# finished_like_reference DIR: the last checkpoint holds the unkilled run's bytes; nothing temporary.
finished_like_reference() {
  [ "$(cat "$1/latest")" = iter_0000040 ] || fail "$1/latest: '$(cat "$1/latest")' after the last iteration"
  for file in model.safetensors optimizer/rank_00000.safetensors; do
    cmp -s "ref/iter_0000040/$file" "$1/iter_0000040/$file" || fail "$1/iter_0000040/$file differs from the unkilled run's"
  done
  local left
  left=$(find "$1" -maxdepth 1 -name '*.tmp.*')
  [ -z "$left" ] || fail "temporaries left in $1 after a complete run: $left"
}

# The known moment: 3 checkpoints, then a run killed while it writes the 4th.
"$MOE" train --config train.yaml --save save --log known_1.jsonl --exit-interval 3 >known_1.out 2>&1 || fail "3 updates"
MOE_FAULT_AT=checkpoint_write "$MOE" train --config train.yaml --save save --load save --log known_2.jsonl \
  >known_2.out 2>&1
rc=$?
[ "$rc" -eq 137 ] || fail "MOE_FAULT_AT=checkpoint_write: exit code $rc, expected 137 (SIGKILL)"
grep -q "moe: fault injection: rank 0 killed at checkpoint_write" known_2.out || fail "no fault line: $(cat known_2.out)"
[ "$(cat save/latest)" = iter_0000003 ] || fail "latest after a kill inside the 4th checkpoint: $(cat save/latest)"
[ ! -e save/iter_0000004 ] || fail "save/iter_0000004 exists after a kill inside its write"
ls -d save/iter_0000004.tmp.* >/dev/null 2>&1 || fail "no temporary of the killed write (was the kill inside it?)"
same_losses ref.jsonl known_1.jsonl known_2.jsonl >/dev/null || fail "losses before the known kill"
# As if a run had been killed between publishing iter_0000003 and replacing latest: the next save
# of iteration 3 must replace the complete older one (RENAME_EXCHANGE), which the loop then checks.
printf 'iter_0000002\n' >save/latest

kills=0 in_write=0 resumed=0 completed=0 checked=0 run=0
while [ "$kills" -lt "$KILLS" ] && [ "$failures" -eq 0 ]; do
  run=$((run + 1))
  load=()
  before=""
  if [ -f save/latest ]; then
    load=(--load save)
    before=$(cat save/latest)
  fi
  "$MOE" train --config train.yaml --save save "${load[@]}" --log "run_$run.jsonl" >"run_$run.out" 2>&1 &
  pid=$!
  delay=$((RANDOM % 1500))  # ms: about 0.6 s of start-up, then an update and a checkpoint each 0.1 s
  sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  if [ -n "$before" ] && grep -qs "^resumed from save/$before at iteration $((10#${before#iter_}))$" "run_$run.out"; then
    resumed=$((resumed + 1))
  elif [ -n "$before" ] && grep -qs "^resumed" "run_$run.out"; then
    fail "run $run: resumed from another checkpoint than latest's $before: $(grep '^resumed' "run_$run.out")"
  fi
  n=$(same_losses ref.jsonl "run_$run.jsonl") || fail "run $run: a loss differs from the unkilled run's"
  checked=$((checked + ${n:-0}))
  if [ "$rc" -eq 0 ]; then  # it finished before the kill
    completed=$((completed + 1))
    finished_like_reference save
    rm -rf save
    continue
  fi
  [ "$rc" -eq 137 ] || { fail "run $run: exit code $rc: $(tail -2 "run_$run.out")"; break; }
  kills=$((kills + 1))
  ls -d save/*.tmp."$pid" >/dev/null 2>&1 && in_write=$((in_write + 1))
  if [ -f save/latest ]; then
    name=$(cat save/latest)
    [[ "$name" =~ ^iter_[0-9]{7}$ ]] || { fail "kill $kills: latest holds '$name'"; continue; }
    for file in config.json model.safetensors train_state.json tokenizer.json optimizer/rank_00000.safetensors; do
      [ -s "save/$name/$file" ] || fail "kill $kills: latest names $name, which lacks $file"
    done
    [ -z "$before" ] || [ "$name" \> "$before" ] || [ "$name" = "$before" ] || fail "kill $kills: latest went back"
  fi
done

# The last run, not killed: it resumes from what the kills left and ends as the unkilled run did.
load=()
[ -f save/latest ] && load=(--load save)
"$MOE" train --config train.yaml --save save "${load[@]}" --log final.jsonl >final.out 2>&1 || fail "final run: $(tail -2 final.out)"
n=$(same_losses ref.jsonl final.jsonl) || fail "final run: a loss differs from the unkilled run's"
checked=$((checked + ${n:-0}))
finished_like_reference save
echo "$kills kills ($in_write inside a checkpoint write), $resumed runs resumed from latest, $completed runs" \
  "finished between kills; $checked logged losses equal the unkilled run's"
finish
