#!/usr/bin/env bash
# The README's demo command: set-up and build, make a tiny random-weight Mixtral with `moe init`,
# show what it is, and generate text from it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
mkdir -p models
./build/moe init --preset mixtral-tiny --out models/mixtral-tiny --seed 1
./build/moe info --model models/mixtral-tiny
./build/moe run --model models/mixtral-tiny -p "The quick brown fox" -n 32 --temp 0
