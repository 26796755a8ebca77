#!/usr/bin/env bash
# Expert statistics as a user records and reads them: --record-stats on eval and run, the same
# counts in one process and under EP 2 / attention DP, `moe stats` tables and a PNG that decodes.
source "$(dirname "$0")/lib.bash"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

"$MOE" init --preset qwen2moe-tiny --out "$WORK/m" --seed 4 2>/dev/null || fail "init"
for i in $(seq 1 20); do echo "The quick brown fox jumps over the lazy dog number $i."; done >"$WORK/text.txt"
printf 'Hello world\nThe quick brown fox\nOnce upon a time\n' >"$WORK/prompts.txt"

"$MOE" eval -m "$WORK/m" --perplexity "$WORK/text.txt" --ctx 32 --record-stats "$WORK/one.json" >/dev/null 2>&1 || fail "eval"
mpirun -np 2 "$MOE" eval -m "$WORK/m" --perplexity "$WORK/text.txt" --ctx 32 --tp 2 --moe-ep 2 \
  --record-stats "$WORK/ep2.json" >/dev/null 2>&1 || fail "eval EP 2"
"$MOE" run -m "$WORK/m" --prompts "$WORK/prompts.txt" -n 4 --temp 0 --record-stats "$WORK/run1.json" >/dev/null 2>&1 || fail "run"
mpirun -np 2 "$MOE" run -m "$WORK/m" --prompts "$WORK/prompts.txt" -n 4 --temp 0 --tp 2 --moe-ep 2 \
  --enable-attention-dp --record-stats "$WORK/run2.json" >/dev/null 2>&1 || fail "run attention DP"

python3 - "$WORK" <<'PY' || fail "statistics differ between layouts"
import json, sys
w = sys.argv[1]
one, ep2 = json.load(open(w + "/one.json")), json.load(open(w + "/ep2.json"))
assert one["expert_tokens"] == ep2["expert_tokens"], "eval: EP 2 counts differ"
assert sum(one["expert_tokens"][0]) > 0 and sum(one["expert_tokens"][0]) % 4 == 0  # top-4 per token
r1, r2 = json.load(open(w + "/run1.json")), json.load(open(w + "/run2.json"))
assert r1["expert_tokens"] == r2["expert_tokens"], "run: attention-DP counts differ"
assert ep2["moe_expert_parallel_size"] == 2 and len(ep2["rows_received_per_rank"][0]) == 2
assert sum(ep2["rows_received_per_rank"][0]) == sum(one["expert_tokens"][0])
PY

out=$("$MOE" stats "$WORK/ep2.json" --png "$WORK/heat.png") || fail "stats"
echo "$out" | grep -q "max/mean rank" || fail "stats table: $out"
[ "$(echo "$out" | grep -cE '^ +[0-9]+ ')" -eq 4 ] || fail "stats: expected 4 layer rows: $out"
# 4 layers of 16-pixel cells and the margins of plot/heatmap.h (the width follows the title); the
# largest load's dark red.
python3 "$(dirname "$0")/png_check.py" "$WORK/heat.png" --size '*x112' --has 155,0,0 || fail "PNG does not decode"
json=$("$MOE" stats "$WORK/one.json" --ranks 4 --json) || fail "stats --json"
echo "$json" | grep -q '"max_mean"' || fail "stats --json: $json"
echo "[[1, 2], [3]]" >"$WORK/bad.json"
expect_error "ragged matrix" "bad.json: layer 1 has 1 experts" "$MOE" stats "$WORK/bad.json"
expect_error "ranks that do not divide" "--ranks: 3 does not divide" "$MOE" stats "$WORK/one.json" --ranks 3
finish
