#!/usr/bin/env bash
# One rank of a 2-rank mpirun job killed with SIGKILL (MOE_FAULT_AT=<phase>@1) while `moe run`
# loads, prefills, decodes and moves expert weights (online EPLB), and while `moe train` runs an
# update and writes a checkpoint: the job ends within 10 s of the kill with a non-zero exit code and
# a line naming rank 1, no rank process is left (running or zombie), and a checkpoint being
# written is never published (latest keeps naming the previous one). Prints the seconds from the
# kill to the job's end for each phase.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
make_training_setup
"$MOE" init --preset mixtral-tiny --out m --seed 5 >/dev/null 2>&1 || fail "init"
printf 'Hello world\nThe quick brown fox\nOnce upon a time there was\nA\nWide expert parallelism\n' >prompts.txt
printf 'moe_load_balancer:\n  num_slots: 12\n  update_interval: 2\n  window_size: 4\n' >online.yaml
"$MOE" train --config train.yaml --save save --exit-interval 2 >/dev/null 2>&1 || fail "2 updates"

now() { date +%s.%N; }
# killed PHASE cmd...: runs `mpirun -np 2 cmd` with rank 1 killed at PHASE and checks the ending.
killed() {
  local phase="$1"
  shift
  MOE_FAULT_AT="$phase@1" mpirun -np 2 "$@" >"$phase.out" 2>"$phase.err" &
  local job=$! start kill_time="" pids="" child
  start=$(now)
  while kill -0 "$job" 2>/dev/null; do  # the ranks' pids, and the moment rank 1 kills itself
    for child in $(pgrep -P "$job"); do [[ " $pids " == *" $child "* ]] || pids="$pids $child"; done
    if [ -z "$kill_time" ] && grep -q "fault injection: rank 1 killed at $phase" "$phase.err"; then kill_time=$(now); fi
    if [ -n "$kill_time" ] && awk -v a="$kill_time" -v b="$(now)" 'BEGIN { exit !(b - a > 10) }'; then
      fail "$phase: the job still runs 10 s after rank 1 was killed"
      kill -9 "$job" $pids 2>/dev/null
      break
    fi
    if awk -v a="$start" -v b="$(now)" 'BEGIN { exit !(b - a > 60) }'; then
      fail "$phase: rank 1 did not reach the phase in 60 s: $(tail -3 "$phase.err")"
      kill -9 "$job" $pids 2>/dev/null
      break
    fi
    sleep 0.02
  done
  wait "$job"
  local rc=$? end
  end=$(now)
  [ -n "$kill_time" ] || kill_time=$(grep -q "fault injection: rank 1 killed at $phase" "$phase.err" && echo "$end")
  [ -n "$kill_time" ] || { fail "$phase: rank 1 was not killed there: $(tail -3 "$phase.err")"; return; }
  [ "$rc" -ne 0 ] || fail "$phase: exit code 0 after rank 1 was killed"
  grep -qE "process rank 1 .*exited on signal 9" "$phase.err" || fail "$phase: no line names rank 1: $(cat "$phase.err")"
  local left
  left=$(ps -o pid=,stat=,args= -p "${pids// /,}" 2>/dev/null)
  [ -n "$pids" ] || fail "$phase: the ranks' pids were not seen"
  [ -z "$pids" ] || [ -z "$left" ] || fail "$phase: rank processes left: $left"
  echo "$phase: the job ended $(awk -v a="$kill_time" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s after rank 1" \
    "was killed (exit code $rc; $(echo $pids | wc -w) rank processes gone)"
}

killed load "$MOE" run -m m -p "Hello world" -n 8 --tp 2 --moe-ep 2
killed prefill "$MOE" run -m m -p "Hello world" -n 8 --tp 2 --moe-ep 2
killed decode "$MOE" run -m m -p "Hello world" -n 8 --tp 2 --moe-ep 2
killed eplb_move "$MOE" run -m m --prompts prompts.txt -n 8 --temp 0 --tp 2 --moe-ep 2 --enable-attention-dp \
  --config online.yaml
killed train_step "$MOE" train --config train.yaml --save save --load save --log train_step.jsonl
[ "$(cat save/latest)" = iter_0000002 ] || fail "latest after a kill in the first update: $(cat save/latest)"
killed checkpoint_write "$MOE" train --config train.yaml --save save --load save --log checkpoint_write.jsonl
[ "$(cat save/latest)" = iter_0000002 ] || fail "latest after a kill inside the next checkpoint: $(cat save/latest)"
[ ! -e save/iter_0000003 ] || fail "save/iter_0000003 published though rank 1 died writing it"
finish
