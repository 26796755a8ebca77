#!/usr/bin/env bash
# Wide-EP through `moe run` under mpirun: expert slots from a parallel.yaml (assignments, or a
# placement that `moe eplb` made from recorded statistics) and online EPLB generate the text of
# one process; --profile reports the layer moves; bad placements end the job with one line.
# `moe bench --ep-workload`: the simulated hot-rank workload's exact loads with and without
# online EPLB, and its option errors.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN="mpirun"

"$MOE" init --preset mixtral-tiny --out "$WORK/m" --seed 5 2>/dev/null || fail "init"
printf 'Hello world\nThe quick brown fox\nOnce upon a time there was\nA\nWide expert parallelism\n' >"$WORK/prompts.txt"
# run "launcher" flags...: generate for every prompt, greedy, one JSON line each.
run() {
  local launcher="$1"
  shift
  $launcher "$MOE" run -m "$WORK/m" --prompts "$WORK/prompts.txt" -n 8 --temp 0 --json "$@"
}
single=$(run "" --record-stats "$WORK/stats.json" 2>/dev/null) || fail "single run"

# Offline: a placement made by moe eplb from the recorded statistics, and hand-written slots.
"$MOE" eplb --stats "$WORK/stats.json" --slots 12 --ranks 2 --out "$WORK/p.json" >/dev/null 2>&1 || fail "eplb"
printf 'moe_load_balancer:\n  num_slots: 12\n  placement: p.json\n' >"$WORK/file.yaml"
out=$(run "$MPIRUN -np 2" --tp 2 --moe-ep 2 --enable-attention-dp --config "$WORK/file.yaml" 2>/dev/null)
[ "$out" = "$single" ] || fail "EP 2 with moe eplb's placement generates differently: $out"
cat >"$WORK/slots.yaml" <<'YAML'
moe_load_balancer:
  num_slots: 12
  initial_global_assignments:
    0: [0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1]
    1: [0, 1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7]
    2: [0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3]
    3: [3, 3, 3, 0, 1, 2, 4, 5, 6, 7, 3, 3]
YAML
for layout in "--tp 2 --moe-ep 2" "--tp 4 --moe-ep 4 --enable-attention-dp"; do
  np=2
  case "$layout" in *"--tp 4"*) np=4 ;; esac
  out=$(run "$MPIRUN -np $np" $layout --config "$WORK/slots.yaml" 2>/dev/null)
  [ "$out" = "$single" ] || fail "slots with $layout generate differently: $out"
done

# Online: re-plan every 2 steps; weights move between the ranks during the run.
printf 'moe_load_balancer:\n  num_slots: 12\n  update_interval: 2\n  window_size: 4\n' >"$WORK/online.yaml"
for layout in "--tp 2 --moe-ep 2 --enable-attention-dp" "--tp 4 --moe-ep 4"; do
  np=2
  case "$layout" in *"--tp 4"*) np=4 ;; esac
  out=$(run "$MPIRUN -np $np" $layout --config "$WORK/online.yaml" --profile 2>"$WORK/err.txt")
  [ "$out" = "$single" ] || fail "online EPLB with $layout generates differently: $out"
  grep -qE "^online EPLB rank 0: [1-9][0-9]* layer moves" "$WORK/err.txt" || fail "$layout: no layer moves: $(cat "$WORK/err.txt")"
  grep -qE "step [0-9]+ layer [0-9]+: [0-9]+ slots changed, received [1-9][0-9]* B, sent [0-9]+ B, stall [0-9.]+ ms, in flight [0-9.]+ ms" \
    "$WORK/err.txt" || fail "$layout: no move with bytes received: $(cat "$WORK/err.txt")"
done

# Routing counts do not depend on the machine: these loads are exact for the seed.
bench=$("$MOE" bench --ep-workload hot-rank --online-eplb --expert-hidden 64 --expert-ffn 64 --steps 64 --ep-tokens 256 \
  --update-interval 8 --window-size 8 --json 2>&1) || fail "bench --ep-workload: $bench"
python3 - "$bench" <<'PY' || fail "bench --ep-workload figures: $bench"
import json, sys
static, online = (json.loads(line) for line in sys.argv[1].splitlines())
assert static["balancer"] == "static" and online["balancer"] == "online"
assert static["layer_moves"] == 0 and online["layer_moves"] > 0 and online["bytes_moved"] > 0
assert static["late_max_mean"] > 1.5, static          # rank 0's 8 experts at weight 4
assert online["late_max_mean"] < 1.1, online
assert online["window_max_mean"] < 1.05, online
assert online["tokens_per_s"] > 0 and static["tokens_per_s"] > 0
PY
"$MOE" bench --help | grep -q -- "--ep-workload" || fail "bench --help does not mention --ep-workload"
expect_error "unknown workload" "^moe: error: --ep-workload: 'hot' is not one of hot-expert, hot-rank, rotating, burst$" \
  "$MOE" bench --ep-workload hot
expect_error "slots per rank" "^moe: error: --slots: 30 is not divisible by --ranks 4$" \
  "$MOE" bench --ep-workload burst --slots 30

bad() { printf 'moe_load_balancer:\n%s\n' "$1" >"$WORK/bad.yaml"; }

bad '  num_slots: 8
  initial_global_assignments: [[0, 1, 2, 3, 4, 5, 6, 6], [0, 1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 3, 4, 5, 6, 7], [0, 1, 2, 3, 4, 5, 6, 7]]'
expect_job_error "expert with no slot" "initial_global_assignments: layer 0: expert 7 has no slot" \
  $MPIRUN -np 2 "$MOE" run -m "$WORK/m" -p hi --tp 2 --moe-ep 2 --config "$WORK/bad.yaml"
bad '  num_slots: 10'
expect_job_error "slots that do not divide" "num_slots = 10 is not divisible by moe_expert_parallel_size = 4" \
  $MPIRUN -np 4 "$MOE" run -m "$WORK/m" -p hi --tp 4 --moe-ep 4 --config "$WORK/bad.yaml"
bad '  num_slots: 6'
expect_job_error "fewer slots than experts" "num_slots = 6 is less than num_experts = 8" \
  $MPIRUN -np 2 "$MOE" run -m "$WORK/m" -p hi --tp 2 --moe-ep 2 --config "$WORK/bad.yaml"
# A placement for another model: 12 experts, and one with 2 layers.
echo '[[1,2,3,4,5,6,7,8,9,10,11,12],[1,2,3,4,5,6,7,8,9,10,11,12]]' >"$WORK/other_load.json"
"$MOE" eplb --stats "$WORK/other_load.json" --slots 12 --ranks 2 --out "$WORK/other.json" >/dev/null 2>&1 || fail "eplb other"
bad "  num_slots: 12
  placement: $WORK/other.json"
expect_job_error "placement of another model" "placement .*other.json has 2 layers but the model has 4 MoE layers" \
  $MPIRUN -np 2 "$MOE" run -m "$WORK/m" -p hi --tp 2 --moe-ep 2 --config "$WORK/bad.yaml"
python3 - "$WORK/p.json" "$WORK/p12.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["num_experts"] = 12
json.dump(p, open(sys.argv[2], "w"))
PY
bad "  num_slots: 12
  placement: $WORK/p12.json"
expect_job_error "placement with another expert count" "p12.json: layer 0: logcnt has 8 entries, expected num_experts = 12" \
  $MPIRUN -np 2 "$MOE" run -m "$WORK/m" -p hi --tp 2 --moe-ep 2 --config "$WORK/bad.yaml"
bad '  num_slots: 12
  update_interval: 0'
expect_job_error "bad online key" "moe_load_balancer.update_interval must be >= 1, got 0" \
  $MPIRUN -np 2 "$MOE" run -m "$WORK/m" -p hi --tp 2 --moe-ep 2 --config "$WORK/bad.yaml"

finish
