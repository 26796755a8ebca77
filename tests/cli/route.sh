#!/usr/bin/env bash
# moe route: golden cases of tests/golden/megatron_router_cases.json (Megatron-Core's routing in
# float64) through the command line in JSON and .npy form, flags and --config, the table output, and
# one-line errors for bad input.
source "$(dirname "$0")/lib.bash"
GOLDEN="$(dirname "$0")/../golden/megatron_router_cases.json"

help=$("$MOE" route --help) || fail "route --help"
for word in --logits --config --expert-bias --seq-length --json --num-experts --moe-router-topk \
  --moe-router-load-balancing-type --moe-aux-loss-coeff --moe-z-loss-coeff \
  --moe-expert-capacity-factor --moe-token-drop-policy --moe-pad-expert-input-to-capacity \
  --moe-router-pre-softmax --moe-router-score-function --moe-router-num-groups \
  --moe-router-group-topk --moe-router-topk-scaling-factor --moe-router-enable-expert-bias \
  tokens_per_expert; do
  echo "$help" | grep -q -- "$word" || fail "route --help does not mention $word"
done

# Writes a golden case's logits (JSON, or .npy float32 when $3 = npy), bias and the flags of its
# config; prints the flags.
case_files() {
  python3 - "$GOLDEN" "$1" "$WORK" "${2:-json}" <<'PY'
import json, struct, sys
golden, name, work, form = sys.argv[1:5]
case = next(c for c in json.load(open(golden))["cases"] if c["name"] == name)
if form == "npy":
    rows, cols = len(case["logits"]), len(case["logits"][0])
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(f"{work}/{name}.npy", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        f.write(b"".join(struct.pack("<f", v) for row in case["logits"] for v in row))
else:
    json.dump(case["logits"], open(f"{work}/{name}.json", "w"))
json.dump(case["expert_bias"], open(f"{work}/{name}.bias.json", "w"))
flags = []
for key, value in case["config"].items():
    flag = "--" + key.replace("_", "-")
    if value is True:
        flags.append(flag)
    elif value is not False:
        flags += [flag, str(value)]
if case["expert_bias"]:
    flags += ["--expert-bias", f"{work}/{name}.bias.json"]
if case["seq_length"]:
    flags += ["--seq-length", str(case["seq_length"])]
print(" ".join(flags))
PY
}

# Checks moe route's JSON ($2) against golden case $1 (weights to fp32 rounding).
check_case() {
  python3 - "$GOLDEN" "$1" "$2" <<'PY'
import json, sys
golden, name, text = sys.argv[1:4]
case = next(c for c in json.load(open(golden))["cases"] if c["name"] == name)
got = json.loads(text)
assert got["experts"] == case["experts"], (got["experts"], case["experts"])
for row, want in zip(got["weights"], case["weights"]):
    assert all(abs(a - b) <= 1e-6 * max(1, abs(b)) for a, b in zip(row, want)), (row, want)
assert got["tokens_per_expert"] == case["tokens_per_expert"], got["tokens_per_expert"]
assert got["dropped"] == case["dropped"], got["dropped"]
assert got["capacity"] == (case["capacity"] or None), got["capacity"]
for key in ("aux_loss", "z_loss"):
    assert abs(got[key] - case[key]) <= 1e-10 * abs(case[key]) + 1e-15, (key, got[key], case[key])
PY
}

for name in softmax_k2_aux_z capacity_probs capacity_position_pad sigmoid_bias_groups_k4 \
  seq_aux_softmax_k2 sinkhorn_k2_z; do
  flags=$(case_files "$name") || { fail "$name: golden case"; continue; }
  # shellcheck disable=SC2086
  out=$("$MOE" route --logits "$WORK/$name.json" $flags --json 2>"$WORK/log") ||
    { fail "$name: $(cat "$WORK/log")"; continue; }
  check_case "$name" "$out" || fail "$name: JSON differs from the golden case"
done

# .npy float32 logits give the same answer.
flags=$(case_files capacity_sigmoid_k2_scaled npy)
# shellcheck disable=SC2086
out=$("$MOE" route --logits "$WORK/capacity_sigmoid_k2_scaled.npy" $flags --json 2>"$WORK/log") ||
  fail "npy logits: $(cat "$WORK/log")"
check_case capacity_sigmoid_k2_scaled "$out" || fail "npy logits: JSON differs from the golden case"

# --config: the same case from a training YAML's moe: section (other sections ignored).
case_files softmax_k2_aux_z >/dev/null
cat >"$WORK/train.yaml" <<'YAML'
model: {preset: mixtral-tiny}
training: {steps: 10}
moe:
  moe_router_topk: 2
  moe_aux_loss_coeff: 0.01
  moe_z_loss_coeff: 0.001
YAML
out=$("$MOE" route --logits "$WORK/softmax_k2_aux_z.json" --config "$WORK/train.yaml" --json 2>"$WORK/log") ||
  fail "--config: $(cat "$WORK/log")"
check_case softmax_k2_aux_z "$out" || fail "--config: JSON differs from the golden case"
# A flag overrides the file.
out=$("$MOE" route --logits "$WORK/softmax_k2_aux_z.json" --config "$WORK/train.yaml" \
  --moe-router-topk 3 --json 2>/dev/null) || fail "--config with a flag"
python3 -c "import json,sys; assert all(len(r) == 3 for r in json.loads(sys.argv[1])['experts'])" "$out" ||
  fail "--moe-router-topk 3 did not override the file: $out"

# Hand case: top-2 of logits {0, ln 3, ln 2, -20} -> experts 1, 2 with 0.6, 0.4; table output.
echo '[[0, 1.0986122886681098, 0.6931471805599453, -20], [5, 0, 0, 0]]' >"$WORK/hand.json"
table=$("$MOE" route --logits "$WORK/hand.json" 2>"$WORK/log") || fail "table: $(cat "$WORK/log")"
echo "$table" | grep -q "^2 tokens, softmax top-2 of 4 experts, aux_loss coeff 0$" || fail "table header: $table"
echo "$table" | grep -qE "^ +0  1 +2 +0\.600000 0\.400000$" || fail "table row 0: $table"
echo "$table" | grep -q "^tokens per expert: 1 2 1 0$" || fail "table loads: $table"
echo "$table" | grep -q "^dropped: 0 of 4 (token, expert) pairs$" || fail "table drops: $table"
echo "$table" | grep -q "^aux_loss: 0$" || fail "table aux_loss: $table"

# sqrtsoftplus (Megatron's third score function): logits {ln 3, 0, 30, -20}, top-2 of
# sqrt(softplus): sqrt(30) = 5.477226 and sqrt(ln 4) = 1.177410, normalised: 0.8230, 0.1770.
echo '[[1.0986122886681098, 0, 30, -20]]' >"$WORK/soft.json"
table=$("$MOE" route --logits "$WORK/soft.json" --moe-router-score-function sqrtsoftplus 2>"$WORK/log") ||
  fail "sqrtsoftplus: $(cat "$WORK/log")"
echo "$table" | grep -q "^1 tokens, sqrtsoftplus top-2 of 4 experts" || fail "sqrtsoftplus header: $table"
echo "$table" | grep -qE "^ +0  2 +0 +0\.8230[0-9]+ 0\.1769[0-9]+$" || fail "sqrtsoftplus row: $table"
expect_error "unknown score function" "must be softmax, sigmoid or sqrtsoftplus, got 'softplus'" \
  "$MOE" route --logits "$WORK/soft.json" --moe-router-score-function softplus

# Errors: one line, exit 1.
H="$WORK/hand.json"
echo '[[1, 2, 3], [4, 5]]' >"$WORK/ragged.json"
echo '[[1, 2' >"$WORK/broken.json"
printf 'moe:\n  moe_router_topk_: 2\n' >"$WORK/typo.yaml"
expect_error "ragged JSON" "ragged.json: row 1 has 2 values, row 0 has 3" "$MOE" route --logits "$WORK/ragged.json"
expect_error "broken JSON" "broken.json" "$MOE" route --logits "$WORK/broken.json"
expect_error "missing logits" "nowhere.json: cannot open" "$MOE" route --logits "$WORK/nowhere.json"
expect_error "unknown key" "typo.yaml: unknown router key 'moe_router_topk_' \(did you mean 'moe_router_topk'\?\)" \
  "$MOE" route --logits "$H" --config "$WORK/typo.yaml"
expect_error "topk > experts" "moe_router_topk: 5 exceeds num_experts = 4" "$MOE" route --logits "$H" --moe-router-topk 5
expect_error "bad policy" "--moe-token-drop-policy must be probs or position" \
  "$MOE" route --logits "$H" --moe-token-drop-policy random
expect_error "sinkhorn + sigmoid" "moe_router_score_function: sinkhorn" "$MOE" route --logits "$H" \
  --moe-router-load-balancing-type sinkhorn --moe-router-score-function sigmoid
expect_error "group_topk alone" "moe_router_group_topk: needs moe_router_num_groups" \
  "$MOE" route --logits "$H" --moe-router-group-topk 2
expect_error "num_experts mismatch" "4 experts per row but num_experts = 8" "$MOE" route --logits "$H" --num-experts 8
expect_error "bias without enable" "--expert-bias: needs --moe-router-enable-expert-bias" \
  "$MOE" route --logits "$H" --expert-bias "$WORK/softmax_k2_aux_z.bias.json"
expect_error "seq length" "--seq-length: seq_aux_loss needs" "$MOE" route --logits "$H" \
  --moe-router-load-balancing-type seq_aux_loss --moe-aux-loss-coeff 0.1 --seq-length 3
expect_error "no logits" "--logits is required" "$MOE" route

finish
