# A training `save` directory as a model path (Megatron's --load): `moe run --model save` runs its
# latest checkpoint, the same text as naming the iteration; a directory without a model or a
# `latest` gets one line naming it.
source "$(dirname "$0")/lib.bash"
cd "$WORK"

"$MOE" init --preset mixtral-tiny --out tiny >/dev/null 2>&1 || fail "init"
for i in $(seq 1 60); do echo "In the beginning number $i the quick brown fox jumps over the lazy dog."; done >book.txt
"$MOE" data --tokenizer tiny --in book.txt --out book >/dev/null || fail "moe data"
cat >train.yaml <<'YAML'
model:
  model: mixtral-tiny
  num_layers: 2
  seq_length: 32
training:
  micro_batch_size: 2
  global_batch_size: 2
  train_iters: 3
  threads: 1
data:
  data_path: book
YAML
"$MOE" train --config train.yaml --save save >train.out 2>&1 || fail "moe train: $(tail -2 train.out)"
[ "$(cat save/latest)" = "iter_0000003" ] || fail "latest: $(cat save/latest)"

by_dir=$("$MOE" run --model save -p "In the beginning" -n 6 --temp 0 --json 2>/dev/null) || fail "run --model save"
by_iter=$("$MOE" run --model save/iter_0000003 -p "In the beginning" -n 6 --temp 0 --json 2>/dev/null) ||
  fail "run --model save/iter_0000003"
[ -n "$by_dir" ] && [ "$by_dir" = "$by_iter" ] || fail "save dir and its checkpoint differ: '$by_dir' vs '$by_iter'"

mkdir -p empty
expect_error "no checkpoint" "empty: holds no model \(no config.json\) and no checkpoint \('latest' missing\)" \
  "$MOE" run --model empty -p hi
finish
