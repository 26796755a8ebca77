#!/usr/bin/env bash
# `moe run` and `moe eval` under mpirun as a user runs them: a TensorRT-LLM-style parallel.yaml and
# flags give the single-process text and perplexity; bad layouts and a rank that cannot open the
# model end the job with one error line.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN="mpirun"

"$MOE" init --preset qwen2moe-tiny --out "$WORK/m" --seed 3 2>/dev/null || fail "init"
printf 'Hello world\nThe quick brown fox\nOnce upon a time there was\nA\n' >"$WORK/prompts.txt"
for i in $(seq 1 30); do echo "The quick brown fox jumps over the lazy dog number $i."; done >"$WORK/text.txt"

single=$("$MOE" run -m "$WORK/m" --prompts "$WORK/prompts.txt" -n 6 --temp 0 --json 2>/dev/null) || fail "single run"
ppl_single=$("$MOE" eval -m "$WORK/m" --perplexity "$WORK/text.txt" --ctx 32 --json 2>/dev/null) || fail "single eval"

cat >"$WORK/ep2.yaml" <<'YAML'
tensor_parallel_size: 2
moe_expert_parallel_size: 2
YAML
out=$($MPIRUN -np 2 "$MOE" run -m "$WORK/m" --prompts "$WORK/prompts.txt" -n 6 --temp 0 --json --config "$WORK/ep2.yaml" 2>/dev/null)
[ "$out" = "$single" ] || fail "EP 2 from parallel.yaml generates differently: $out"

for layout in "--tp 2" "--pp 2" "--dp 2" "--tp 2 --moe-ep 2 --enable-attention-dp" "--tp 4 --moe-tp 2 --moe-ep 2"; do
  np=2
  case "$layout" in *"--tp 4"*) np=4 ;; esac
  out=$($MPIRUN -np $np "$MOE" run -m "$WORK/m" --prompts "$WORK/prompts.txt" -n 6 --temp 0 --json $layout 2>/dev/null)
  [ "$out" = "$single" ] || fail "$layout generates differently: $out"
  ppl=$($MPIRUN -np $np "$MOE" eval -m "$WORK/m" --perplexity "$WORK/text.txt" --ctx 32 --json $layout 2>/dev/null)
  python3 - "$ppl_single" "$ppl" <<'PY' || fail "$layout: perplexity $ppl vs $ppl_single"
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["tokens_scored"] == b["tokens_scored"] > 0
assert abs(a["perplexity"] - b["perplexity"]) <= 1e-5 * a["perplexity"]
PY
done

# Plain text with a newline inside a generated text: the results reach rank 0 as typed structs.
text_single=$("$MOE" run -m "$WORK/m" --prompts "$WORK/prompts.txt" -n 6 --temp 0 2>/dev/null) || fail "single text run"
[ "$(echo "$text_single" | wc -l)" -gt 4 ] || fail "no generated newline to test: $text_single"
text_dp=$($MPIRUN -np 2 "$MOE" run -m "$WORK/m" --prompts "$WORK/prompts.txt" -n 6 --temp 0 --dp 2 2>/dev/null)
[ "$text_dp" = "$text_single" ] || fail "--dp 2 prints differently: $text_dp"


expect_job_error "layout that does not fill the world" "does not divide the world size 4" \
  $MPIRUN -np 4 "$MOE" run -m "$WORK/m" -p hi --tp 3
expect_job_error "experts that do not divide" "moe_expert_parallel_size = 3 does not divide num_experts = 16" \
  $MPIRUN -np 3 "$MOE" run -m "$WORK/m" -p hi --tp 3 --moe-ep 3 --enable-attention-dp
printf 'tensor_parallel: 2\n' >"$WORK/bad.yaml"
expect_job_error "unknown yaml key" "bad.yaml.*unknown key 'tensor_parallel'.*tensor_parallel_size" \
  $MPIRUN -np 2 "$MOE" run -m "$WORK/m" -p hi --config "$WORK/bad.yaml"
expect_job_error "model missing on rank 1" "rank 1: .*nowhere.*no such file" \
  $MPIRUN -np 2 bash -c 'm="$1"; [ "$OMPI_COMM_WORLD_RANK" = 1 ] && m=/nowhere; exec "$0" run -m "$m" -p hi --tp 2' \
  "$MOE" "$WORK/m"

finish
