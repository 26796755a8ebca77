#!/usr/bin/env bash
# Issue 7's offline EPLB targets, end to end: (1) `moe eplb --policy global|hierarchical` against
# DeepSeek's eplb.py (tests/reference/deepseek_eplb_reference.py) on seeded skewed load matrices;
# (2) the budgeted re-plan against a full global re-plan after the load drifts, with budgets of
# 10/20/30 % of the full re-plan's bytes. Needs /usr/bin/python3 with torch (1.13 tested).
#   bench/eplb_targets.sh BUILD/moe [WORK_DIR]      (figures: docs/PERFORMANCE.md, Wide-EP)
set -euo pipefail
moe=$(realpath "$1")
work=${2:-$(mktemp -d)}
here=$(dirname "$(realpath "$0")")
ref="/usr/bin/python3 $here/../tests/reference/deepseek_eplb_reference.py"
expert_bytes=44040192  # one DeepSeek-V3 expert: 3 * 7168 * 2048 weights at 1 byte (fp8)

mkdir -p "$work"
$ref gen --out-dir "$work"
while read -r name slots ranks nodes groups; do
  shape=(--slots "$slots" --ranks "$ranks" --nodes "$nodes" --groups "$groups")
  for policy in global hierarchical; do
    "$moe" eplb --stats "$work/$name.json" "${shape[@]}" --policy "$policy" --json \
      --out "$work/$name.$policy.placement.json" >"$work/$name.$policy.ours.json" 2>/dev/null
    $ref plan --stats "$work/$name.json" "${shape[@]}" --policy "$policy" >"$work/$name.$policy.ref.json"
  done
  # The global plan of the earlier load is in service; the load drifts; re-plan fully or on a budget.
  "$moe" eplb --stats "$work/$name.drift.json" "${shape[@]}" --policy global --json \
    --current "$work/$name.global.placement.json" --expert-bytes $expert_bytes \
    --out "$work/$name.full.placement.json" >"$work/$name.full.json" 2>/dev/null
  full_bytes=$(/usr/bin/python3 -c "import json,sys; print(min(r['bytes_moved'] for r in json.load(open(sys.argv[1]))))" "$work/$name.full.json")
  for pct in 10 20 30; do
    "$moe" eplb --stats "$work/$name.drift.json" "${shape[@]}" --policy budgeted --json \
      --current "$work/$name.global.placement.json" --expert-bytes $expert_bytes \
      --max-move-bytes $((full_bytes * pct / 100)) \
      --out "$work/$name.budget$pct.placement.json" >"$work/$name.budget$pct.json" 2>/dev/null
  done
done <"$work/cases.txt"
/usr/bin/python3 "$here/eplb_targets_summary.py" "$work"
