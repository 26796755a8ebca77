#!/usr/bin/env bash
# moe bench: llama-bench's table and JSON rows on a small init'ed model (f32 and q8_0), with the
# bound each row is measured against (read bandwidth, fp32 FMA peak, or the int8 dot peak for
# q8_0 prefill on CPUs with AVX-512 VNNI), and --batch's batched-decode rows; bad options give one
# line and exit 1. Speed itself is never asserted.
source "$(dirname "$0")/lib.bash"

"$MOE" init --preset mixtral-tiny --out "$WORK/f32" --seed 5 2>/dev/null || fail "init"
"$MOE" quantize --model "$WORK/f32" --to q8_0 --out "$WORK/q8.gguf" 2>/dev/null || fail "quantize q8_0"
limits=(--limit-gbps 10 --limit-gflops 100 --limit-int8-gops 400)

table=$("$MOE" bench --model "$WORK/f32" -p 16 -n 4 -t 1 -r 2 "${limits[@]}" 2>/dev/null) || fail "bench table"
echo "$table" | grep -qE '^\| model +\|.*\| +t/s \| of bound' || fail "no table header: $table"
echo "$table" | grep -qE '^\| f32 .*\| f32 +\| +1 \| +pp16 \| +[0-9.]+ ± [0-9.]+ \| [0-9.]+ % of 100.0 GFLOP/s' ||
  fail "no pp16 row: $table"
echo "$table" | grep -qE '\| +tg4 \| +[0-9.]+ ± [0-9.]+ \| [0-9.]+ % of 10.0 GB/s' || fail "no tg4 row: $table"

# JSON: one object per row with the fields the issue names; the prefill bound of q8_0 weights is
# the int8 dot peak where the CPU has VNNI (moe bench --limits lists it then), else the FMA peak.
json=$("$MOE" bench --model "$WORK/q8.gguf" -p 16 -n 4 -t 1 -r 2 --json "${limits[@]}" 2>/dev/null) || fail "bench json"
[ "$(echo "$json" | wc -l)" -eq 2 ] || fail "bench --json: expected 2 rows: $json"
python3 - "$json" <<'PY' || fail "bench --json fields"
import json, sys
rows = [json.loads(line) for line in sys.argv[1].splitlines()]
assert [r["test"] for r in rows] == ["pp16", "tg4"], rows
for r in rows:
    for key in ("threads", "tokens_per_s", "stddev", "bound_fraction", "samples", "dtype"):
        assert key in r, (key, r)
    assert r["tokens_per_s"] > 0 and len(r["samples"]) == 2 and r["dtype"] == "q8_0", r
pp, tg = rows
assert tg["bound"] == "bandwidth" and tg["limit_gbps"] == 10, tg
if pp["bound"] == "int8_dot":
    assert pp["limit_gops"] == 400, pp
else:
    assert pp["bound"] == "fma" and pp["limit_gflops"] == 100, pp
PY
limit_rows=$("$MOE" bench --limits -t 1 --json 2>/dev/null) || fail "bench --limits"
echo "$limit_rows" | grep -q '"limit":"read_bandwidth"' || fail "--limits: no read bandwidth: $limit_rows"
if echo "$json" | grep -q '"bound":"int8_dot"'; then
  echo "$limit_rows" | grep -q '"limit":"int8_dot_peak"' || fail "--limits: no int8 dot peak: $limit_rows"
fi

# -n 0 (llama-bench's spelling): prefill only.
only_pp=$("$MOE" bench --model "$WORK/f32" -p 8 -n 0 -t 1 -r 1 --json "${limits[@]}" 2>/dev/null) || fail "bench -n 0"
[ "$(echo "$only_pp" | grep -c '"test":"pp8"')" -eq 1 ] && [ "$(echo "$only_pp" | wc -l)" -eq 1 ] ||
  fail "bench -n 0: $only_pp"
# --batch: one row per B with the aggregate decode rate and its ratio to the first B.
batched=$("$MOE" bench --model "$WORK/q8.gguf" --batch 1,3 -p 5 -n 4 -t 1 -r 2 --json 2>/dev/null) || fail "bench --batch"
python3 - "$batched" <<'PY' || fail "bench --batch rows"
import json, sys
rows = [json.loads(line) for line in sys.argv[1].splitlines()]
assert [r["batch"] for r in rows] == [1, 3], rows
for r in rows:
    assert r["n_prompt"] == 5 and r["n_gen"] == 4 and r["tokens_per_s"] > 0 and len(r["samples"]) == 2, r
assert rows[0]["ratio_to_first_batch"] == 1.0, rows
assert abs(rows[1]["ratio_to_first_batch"] - rows[1]["tokens_per_s"] / rows[0]["tokens_per_s"]) < 1e-9, rows
PY
table=$("$MOE" bench --model "$WORK/q8.gguf" --batch 2 -p 3 -n 2 -t 1 -r 1 2>/dev/null) || fail "bench --batch table"
echo "$table" | grep -qE '^\| q8.gguf +\| q8_0 +\| +1 \| +2 \| pp3\+tg2 +\| +[0-9.]+ ± [0-9.]+ \| +1.00 \|' ||
  fail "no --batch row: $table"
expect_error "batch with two prompt sizes" "^moe: error: --batch takes one prompt length \(-p\) and one decode length" \
  "$MOE" bench --model "$WORK/q8.gguf" --batch 2 -p 3,4 -n 2
expect_error "bad --batch" "^moe: error: --batch: '0' in '1,0' is not a positive integer" \
  "$MOE" bench --model "$WORK/q8.gguf" --batch 1,0

expect_error "no test" "^moe: error: -p and -n: every size is 0" "$MOE" bench --model "$WORK/f32" -p 0 -n 0
expect_error "bad -p" "^moe: error: -p: 'x' in 'x' is not a positive integer" "$MOE" bench --model "$WORK/f32" -p x
expect_error "bad int8 limit" "^moe: error: --limit-int8-gops" "$MOE" bench --model "$WORK/f32" -t 1 --limit-int8-gops abc
finish
