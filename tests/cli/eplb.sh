#!/usr/bin/env bash
# moe eplb: the deepseek-ai/EPLB README example through the command line, both stats forms, the
# budgeted policy from a current placement, --json, and one-line errors with no output left behind.
source "$(dirname "$0")/lib.bash"

help=$("$MOE" eplb --help) || fail "eplb --help"
for word in --stats --slots --ranks --nodes --groups --policy --current --max-move-bytes \
  --expert-bytes --out --json hierarchical budgeted expert_tokens phy2log max_mean_before; do
  echo "$help" | grep -q -- "$word" || fail "eplb --help does not mention $word"
done

cat >"$WORK/readme.json" <<'JSON'
[[ 90, 132,  40,  61, 104, 165,  39,   4,  73,  56, 183,  86],
 [ 20, 107, 104,  64,  19, 197, 187, 157, 172,  86,  16,  27]]
JSON
echo '{"expert_tokens": [[90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86], [20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27]]}' >"$WORK/recorded.json"

out=$("$MOE" eplb --stats "$WORK/readme.json" --slots 16 --ranks 8 --nodes 2 --groups 4 \
  --out "$WORK/p.json" 2>"$WORK/log") || fail "eplb README example: $(cat "$WORK/log")"
grep -q "moe eplb: wrote .*p.json (hierarchical, 2 layers, 16 slots on 8 ranks)" "$WORK/log" || fail "eplb: no final line: $(cat "$WORK/log")"
echo "$out" | grep -qE '^layer 0: max/mean [0-9.]+ -> [0-9.]+, [0-9]+ slots changed$' || fail "eplb text output: $out"
# The README's printed phy2log, and the tables python's json module reads back.
python3 - "$WORK/p.json" <<'PY' || fail "README example phy2log"
import json, sys
p = json.load(open(sys.argv[1]))
assert p["num_slots"] == 16 and p["ranks"] == 8 and p["num_experts"] == 12, p
assert p["layers"][0]["phy2log"] == [5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1], p["layers"][0]
assert p["layers"][1]["phy2log"] == [7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1], p["layers"][1]
for layer in p["layers"]:
    for e, (cnt, row) in enumerate(zip(layer["logcnt"], layer["log2phy"])):
        assert sorted(row[:cnt]) == [s for s, x in enumerate(layer["phy2log"]) if x == e]
        assert row[cnt:] == [-1] * (len(row) - cnt)
PY

# The recorded-stats form gives the same file; --json gives one array.
json=$("$MOE" eplb --stats "$WORK/recorded.json" --slots 16 --ranks 8 --nodes 2 --groups 4 \
  --out "$WORK/p2.json" --json 2>/dev/null) || fail "eplb recorded stats"
cmp -s "$WORK/p.json" "$WORK/p2.json" || fail "the two stats forms gave different placements"
echo "$json" | grep -qE '^\[\{"bytes_moved":null,"layer":0,"max_mean_after":[0-9.e-]+,"max_mean_before":[0-9.e-]+\},\{.*"layer":1.*\}\]$' ||
  fail "eplb --json: $json"
python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert all(x['max_mean_after'] < x['max_mean_before'] for x in r), r" "$json" ||
  fail "eplb did not improve on the identity placement: $json"

# Global policy, then budgeted from the identity-like placement p.json with a budget of 2 experts.
"$MOE" eplb --stats "$WORK/readme.json" --slots 16 --ranks 8 --policy global --out "$WORK/g.json" >/dev/null 2>&1 || fail "eplb global"
json=$("$MOE" eplb --stats "$WORK/readme.json" --slots 16 --ranks 4 --policy global --out "$WORK/g4.json" --json 2>/dev/null) || fail "eplb global 4 ranks"
json=$("$MOE" eplb --stats "$WORK/readme.json" --slots 16 --ranks 4 --policy budgeted --current "$WORK/g4.json" \
  --expert-bytes 1000 --max-move-bytes 2500 --out "$WORK/b.json" --json 2>/dev/null) || fail "eplb budgeted"
python3 -c "
import json, sys
for x in json.loads(sys.argv[1]):
    assert x['bytes_moved'] <= 2500 and x['bytes_moved'] % 1000 == 0, x
    assert x['max_mean_after'] <= x['max_mean_before'] + 1e-12, x
" "$json" || fail "eplb budgeted figures: $json"

# Errors: one line, exit 1, no placement file.
echo "[[1, 2], [3]]" >"$WORK/ragged.json"
echo "[[1, 2" >"$WORK/broken.json"
S="$WORK/readme.json"
expect_error "missing stats" "nowhere.json: cannot open" "$MOE" eplb --stats "$WORK/nowhere.json" --slots 16 --ranks 8 --out "$WORK/e.json"
expect_error "ragged stats" "ragged.json: layer 1 has 1 experts, layer 0 has 2" "$MOE" eplb --stats "$WORK/ragged.json" --slots 4 --ranks 2 --out "$WORK/e.json"
expect_error "broken stats" "broken.json: not valid JSON" "$MOE" eplb --stats "$WORK/broken.json" --slots 4 --ranks 2 --out "$WORK/e.json"
expect_error "slots < experts" "--slots: 8 slots is fewer than the 12 experts" "$MOE" eplb --stats "$S" --slots 8 --ranks 4 --out "$WORK/e.json"
expect_error "slots % ranks" "--slots: 16 slots do not divide evenly over --ranks 5" "$MOE" eplb --stats "$S" --slots 16 --ranks 5 --out "$WORK/e.json"
expect_error "nodes not dividing ranks" "--nodes: 3 nodes do not divide --ranks 8" "$MOE" eplb --stats "$S" --slots 16 --ranks 8 --nodes 3 --out "$WORK/e.json"
expect_error "groups not dividing experts" "--groups: 5 groups do not divide the 12 experts" "$MOE" eplb --stats "$S" --slots 16 --ranks 8 --groups 5 --policy hierarchical --out "$WORK/e.json"
expect_error "hierarchical, nodes not dividing groups" "--groups: the hierarchical policy needs --nodes \(2\) to divide --groups \(3\)" "$MOE" eplb --stats "$S" --slots 16 --ranks 8 --nodes 2 --groups 3 --policy hierarchical --out "$WORK/e.json"
expect_error "unknown policy" "--policy: unknown policy 'best'" "$MOE" eplb --stats "$S" --slots 16 --ranks 8 --policy best --out "$WORK/e.json"
expect_error "budgeted without current" "--policy budgeted: needs --current" "$MOE" eplb --stats "$S" --slots 16 --ranks 8 --policy budgeted --expert-bytes 10 --out "$WORK/e.json"
expect_error "budgeted without expert bytes" "--policy budgeted: needs --expert-bytes" "$MOE" eplb --stats "$S" --slots 16 --ranks 8 --policy budgeted --current "$WORK/p.json" --out "$WORK/e.json"
expect_error "budget without budgeted" "--max-move-bytes: only the budgeted policy" "$MOE" eplb --stats "$S" --slots 16 --ranks 8 --max-move-bytes 10 --out "$WORK/e.json"
expect_error "negative budget" "--max-move-bytes: must be >= 0, got -1" "$MOE" eplb --stats "$S" --slots 16 --ranks 8 --policy budgeted --current "$WORK/p.json" --expert-bytes 10 --max-move-bytes -1 --out "$WORK/e.json"
expect_error "zero expert bytes" "--expert-bytes: must be > 0, got 0" "$MOE" eplb --stats "$S" --slots 16 --ranks 8 --expert-bytes 0 --out "$WORK/e.json"
expect_error "current with other slots" "p.json: 16 slots on 8 ranks, but --slots 24 --ranks 8" "$MOE" eplb --stats "$S" --slots 24 --ranks 8 --current "$WORK/p.json" --out "$WORK/e.json"
echo "[[1, 2, 3]]" >"$WORK/three.json"
expect_error "current with other experts" "p.json: 12 experts, but .*three.json has 3" "$MOE" eplb --stats "$WORK/three.json" --slots 16 --ranks 8 --current "$WORK/p.json" --out "$WORK/e.json"
echo "[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]" >"$WORK/one_layer.json"
expect_error "current with other layers" "p.json: 2 layers, but .*one_layer.json has 1" "$MOE" eplb --stats "$WORK/one_layer.json" --slots 16 --ranks 8 --current "$WORK/p.json" --out "$WORK/e.json"
sed '0,/"logcnt": \[1,2/s//"logcnt": [2,2/' "$WORK/p.json" >"$WORK/bad_placement.json"
expect_error "inconsistent current" "bad_placement.json: layer 0: expert 0: logcnt says 2 replicas but phy2log gives it 1" "$MOE" eplb --stats "$S" --slots 16 --ranks 8 --current "$WORK/bad_placement.json" --out "$WORK/e.json"
expect_error "missing --out" "--out" "$MOE" eplb --stats "$S" --slots 16 --ranks 8
[ ! -e "$WORK/e.json" ] || fail "a failed eplb left a placement file"
ls "$WORK" | grep -q '\.tmp\.' && fail "a temporary file was left behind"

finish
