#!/usr/bin/env bash
# `moe plot` on a training log as `moe train` writes it (JSON lines): the summary on stdout, a PNG
# that decodes to the asked size with the curves' colours in it, and one-line errors for bad input.
source "$(dirname "$0")/lib.bash"

# 120 steps, 2 layers x 4 experts; layer 0 drifts towards expert 0, layer 1 stays even; an eval loss
# every 40 steps, and a resume event between steps.
python3 - "$WORK/train.jsonl" <<'PY'
import json, math, sys
with open(sys.argv[1], "w") as f:
    for step in range(1, 121):
        if step == 61:
            f.write(json.dumps({"event": "resume", "step": 60, "checkpoint": "ckpt"}) + "\n")
        lm = 2.0 + 8.0 * math.exp(-step / 30)
        skew = step // 10
        line = {"step": step, "loss": lm + 0.02, "lm_loss": lm, "aux_loss": 0.015 + 0.01 * math.exp(-step / 50),
                "z_loss": 0.002, "grad_norm": 1.0, "lr": 3e-4, "tokens_per_s": 5000.0,
                "expert_tokens": [[64 + 4 * skew, 64, 64, 64 - 4 * skew], [64, 64, 64, 64]], "dropped_tokens": 0}
        if step % 40 == 0:
            line["eval_loss"] = lm + 0.1
        f.write(json.dumps(line) + "\n")
PY

out=$("$MOE" plot --log "$WORK/train.jsonl" --out "$WORK/loss.png") || fail "plot: $out"
echo "$out" | grep -q "120 steps (1..120), 2 layers x 4 experts" || fail "summary steps: $out"
echo "$out" | grep -q "first 9.7577, last 2.1665, min 2.1665 at step 120" || fail "summary min loss: $out"
echo "$out" | grep -q "eval_loss: .* at step 120" || fail "summary eval loss: $out"
echo "$out" | grep -q "layer 0 1.750, layer 1 1.000" || fail "summary expert load: $out"  # 112 of 256 tokens
# The curves' colours: loss, lm_loss, eval_loss markers, aux_loss, z_loss.
python3 "$(dirname "$0")/png_check.py" "$WORK/loss.png" --size 1000x800 --has 31,119,180 --has 255,127,14 \
  --has 214,39,40 --has 44,160,44 --has 148,103,189 || fail "PNG does not decode to 1000x800 with the curves' colours"
"$MOE" plot --log "$WORK/train.jsonl" --out "$WORK/layer1.png" --layer 1 --width 640 --height 480 >/dev/null ||
  fail "plot --layer 1"
python3 "$(dirname "$0")/png_check.py" "$WORK/layer1.png" --size 640x480 || fail "--width/--height"
"$MOE" plot --help | grep -q -- "--layer" || fail "plot --help"

expect_error "missing log" "missing.jsonl: cannot open" "$MOE" plot --log "$WORK/missing.jsonl" --out "$WORK/x.png"
head -2 "$WORK/train.jsonl" >"$WORK/bad.jsonl"
echo '{"step": 3, "loss": 2.5,' >>"$WORK/bad.jsonl"
expect_error "malformed line" "bad.jsonl:3: not valid JSON" "$MOE" plot --log "$WORK/bad.jsonl" --out "$WORK/x.png"
echo '{"event": "start"}' >"$WORK/empty.jsonl"
expect_error "no step lines" "empty.jsonl: no training step lines" "$MOE" plot --log "$WORK/empty.jsonl" --out "$WORK/x.png"
expect_error "layer out of range" "--layer: '2' is neither 'all' nor a layer of the log \(0..1\)" \
  "$MOE" plot --log "$WORK/train.jsonl" --out "$WORK/x.png" --layer 2
expect_error "tiny image" "--width: 50 is not in 400..10000" "$MOE" plot --log "$WORK/train.jsonl" --out "$WORK/x.png" --width 50
[ ! -e "$WORK/x.png" ] || fail "a failed plot left $WORK/x.png"
finish
