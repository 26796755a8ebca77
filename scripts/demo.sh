#!/usr/bin/env bash
# The README's demo command: set-up and build, make a tiny random-weight Mixtral with `moe init`,
# show what it is, and generate text from it; then train a small one on the King James Bible (Debian's
# bible-kjv) for about half a minute and generate from the checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
mkdir -p models
./build/moe init --preset mixtral-tiny --out models/mixtral-tiny --seed 1
./build/moe info --model models/mixtral-tiny
./build/moe run --model models/mixtral-tiny -p "The quick brown fox" -n 32 --temp 0

bible -f "Gen1:1-Jdg21:25" | sed 's/^[^ ]* //' > models/book.txt
./build/moe data --tokenizer models/mixtral-tiny --in models/book.txt --out models/book
./build/moe train --model mixtral-tiny --num-layers 2 --seq-length 64 --data-path models/book \
  --micro-batch-size 8 --train-iters 300 --lr 3e-3 --lr-warmup-iters 20 --moe-aux-loss-coeff 0.01 \
  --log-interval 50 --save models/trained
./build/moe run --model models/trained/iter_0000300 -p "And God said" -n 24 --temp 0
