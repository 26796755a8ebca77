# `moe data` + `moe train` as a user runs them, single process: the loss falls on real English text
# (the King James Bible from Debian's bible-kjv), a run stopped and resumed has the same loss curve
# as one that was not, the checkpoint runs in `moe run`, and bad input gets one line and exit 1
# without touching the last checkpoint.
source "$(dirname "$0")/lib.bash"
cd "$WORK"

"$MOE" init --preset mixtral-tiny --out tiny >/dev/null 2>&1 || fail "init"
bible -f "Gen1:1-Jdg21:25" | sed 's/^[^ ]* //' > book.txt || fail "bible text (apt-get install bible-kjv)"
"$MOE" data --tokenizer tiny --in book.txt --out book > data.out || fail "moe data"
grep -q "wrote book.bin" data.out || fail "moe data output: $(cat data.out)"

cat > train.yaml <<'YAML'
model:
  model: mixtral-tiny
  num_layers: 2
  seq_length: 64
moe:
  moe_aux_loss_coeff: 0.01
  moe_z_loss_coeff: 0.001
training:
  micro_batch_size: 4
  global_batch_size: 8
  lr: 0.003
  min_lr: 0.0003
  lr_warmup_iters: 4
  train_iters: 40
  seed: 11
  threads: 2
data:
  data_path: book
  split: 98,2,0
logging:
  log_interval: 1
  eval_interval: 20
  eval_iters: 4
YAML

# The loss falls: evaluation loss after 40 updates well below ln(512) = 6.24 of a uniform guess.
"$MOE" train --config train.yaml --save full --log full.jsonl > full.out || fail "moe train: $(tail -3 full.out)"
python3 - full.jsonl <<'PY' || fail "loss did not fall: $(grep eval full.out)"
import json, sys
steps = [json.loads(l) for l in open(sys.argv[1])]
evals = [s["eval_loss"] for s in steps if "eval_loss" in s]
assert len(steps) == 40 and len(evals) == 2, (len(steps), evals)
assert steps[0]["lm_loss"] > 6.0, steps[0]["lm_loss"]
assert evals[-1] < 5.0 and evals[-1] < evals[0], evals
assert all(len(s["expert_tokens"]) == 2 and sum(s["expert_tokens"][0]) == 8 * 64 * 2 for s in steps)
PY

# Stopped at 20 and resumed: the same losses, digit for digit.
"$MOE" train --config train.yaml --save part --log part.jsonl --exit-interval 20 > part1.out || fail "part 1"
grep -q "exiting at iteration 20" part1.out || fail "exit_interval: $(tail -2 part1.out)"
"$MOE" train --config train.yaml --save part --load part --log part.jsonl > part2.out || fail "part 2"
grep -q "resumed from part/iter_0000020 at iteration 20" part2.out || fail "resume line: $(head -2 part2.out)"
python3 - full.jsonl part.jsonl <<'PY' || fail "resumed curve differs"
import json, sys
full = [json.loads(l)["loss"] for l in open(sys.argv[1])]
part = [json.loads(l) for l in open(sys.argv[2])]
assert part[20] == {"event": "resume", "step": 20, "from": "part/iter_0000020"}, part[20]
part = [p["loss"] for p in part if "loss" in p]
assert full == part, (full, part)
PY
[ "$(cat part/latest)" = "iter_0000040" ] || fail "latest: $(cat part/latest)"

# --profile: a table of the steps' seconds per phase; the blocks that run take time, the phases
# sum to the total, and the steps' losses are the unprofiled run's.
"$MOE" train --config train.yaml --train-iters 2 --profile --log prof.jsonl > prof.out || fail "--profile: $(tail -3 prof.out)"
"$MOE" train --config train.yaml --train-iters 2 --log plain.jsonl > plain.out || fail "2 steps: $(tail -3 plain.out)"
python3 - prof.out prof.jsonl plain.jsonl <<'PY' || fail "--profile table: $(cat prof.out)"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
at = next(i for i, l in enumerate(lines) if l.startswith("rank "))
names, row = lines[at].split()[1:], lines[at + 1].split()[1:]
assert names == ["attention", "router", "dispatch", "experts", "combine", "shared", "output", "comm",
                 "optimizer", "data", "other", "total", "comm%"], names
sec = dict(zip(names, map(float, row[:-1])))
assert all(sec[k] > 0 for k in ["attention", "router", "dispatch", "experts", "combine", "output", "optimizer"]), sec
assert sec["shared"] == 0 and sec["comm"] < 0.01, sec
assert abs(sum(v for k, v in sec.items() if k != "total") - sec["total"]) < 0.01, sec
losses = [[json.loads(l)["loss"] for l in open(f)] for f in sys.argv[2:]]
assert len(losses[0]) == 2 and losses[0] == losses[1], losses
PY

# The checkpoint is an HF model directory.
"$MOE" run --model full/iter_0000040 -p "And God said" -n 4 > run.out 2>&1 || fail "moe run on the checkpoint: $(tail -2 run.out)"

# Bad input: one line, exit 1, and the last checkpoint untouched.
before=$(cat part/latest; ls part)
printf 'training:\n  moe_router_topc: 2\n' > typo.yaml
expect_error "misspelt key" "typo.yaml.*unknown key 'moe_router_topc'.*did you mean 'moe_router_topk'" \
  "$MOE" train --config typo.yaml --data-path book
expect_error "bad value" "lr-decay-style: 'step'" "$MOE" train --config train.yaml --lr-decay-style step
expect_error "no data" "data_path is not set" "$MOE" train --model mixtral-tiny
"$MOE" init --preset qwen2moe-tiny --out qwen >/dev/null 2>&1
"$MOE" data --tokenizer qwen --in book.txt --out qbook >/dev/null || fail "qwen data"
expect_error "data of another tokenizer" "qbook.idx: made with another tokenizer" \
  "$MOE" train --config train.yaml --data-path qbook --save part
expect_error "checkpoint of another model" "checkpoint of another model" \
  "$MOE" train --config train.yaml --num-layers 3 --load part --save part
expect_error "not a checkpoint" "load: .*holds no checkpoint" "$MOE" train --config train.yaml --load tiny
[ "$before" = "$(cat part/latest; ls part)" ] || fail "a failed run changed the checkpoint directory"
finish
