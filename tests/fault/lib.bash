# Helpers for the fault-injection tests: each script sources this with $1 = moe binary, $2 = scratch
# dir, and finds here a tiny training setup (the tokenizer of mixtral-tiny, a token file of
# generated English-like text, and train.yaml: 40 updates of a 2-layer model, a checkpoint after each).
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.bash"
MOE=$(readlink -f "$MOE")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

# make_training_setup: writes $WORK/tok (model), $WORK/data.{bin,idx} and $WORK/train.yaml.
make_training_setup() {
  "$MOE" init --preset mixtral-tiny --out "$WORK/tok" --seed 3 >/dev/null 2>&1 || fail "moe init"
  python3 - "$WORK/text.txt" <<'PY'
import random, sys
random.seed(3)
words = ("the of and to in a is that for it as was with be by on not he this are or his from at which "
         "but have an they you were her she there had one all we their").split()
with open(sys.argv[1], "w") as out:
    for _ in range(2000):
        out.write(" ".join(random.choice(words) for _ in range(random.randint(5, 40))) + "\n")
PY
  "$MOE" data --tokenizer "$WORK/tok" --in "$WORK/text.txt" --out "$WORK/data" >/dev/null || fail "moe data"
  cat >"$WORK/train.yaml" <<YAML
model:
  model: mixtral-tiny
  num_layers: 2
  hidden_size: 64
  num_experts: 4
  moe_ffn_hidden_size: 64
  seq_length: 32
training:
  micro_batch_size: 2
  global_batch_size: 4
  lr: 0.003
  lr_warmup_iters: 2
  train_iters: 40
  seed: 11
  threads: 1
data:
  data_path: $WORK/data
checkpoint:
  save_interval: 1
logging:
  log_interval: 1
YAML
}

# same_losses REFERENCE LOG...: every step each log records has the reference's loss, bit for bit
# (JSON numbers written shortest-round-trip, read back as the same doubles). A last line cut by a
# kill is ignored, as is a log the killed run had not yet opened. Prints the steps checked.
same_losses() {
  python3 - "$@" <<'PY'
import json, sys
ref = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "loss" in r: ref[r["step"]] = r["loss"]
checked = 0
for path in sys.argv[2:]:
    try:
        text = open(path).read()
    except FileNotFoundError:
        continue
    lines = text.split("\n")
    if not text.endswith("\n"): lines = lines[:-1]  # cut by the kill
    for line in lines:
        if not line: continue
        r = json.loads(line)
        if "loss" not in r: continue
        assert r["loss"] == ref[r["step"]], f"{path}: step {r['step']} loss {r['loss']!r}, reference {ref[r['step']]!r}"
        checked += 1
print(checked)
PY
}
