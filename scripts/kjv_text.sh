#!/bin/sh
# Writes the King James Bible from Debian's bible-kjv-text package as plain text, one verse a line
# with the "Ge1:1 " references stripped, split by verse into OUT/train.txt (first 95 %) and
# OUT/test.txt (last 5 %): the corpus of the quantization-quality check (docs/PERFORMANCE.md).
# Usage: scripts/kjv_text.sh OUT_DIR   (needs the `bible` program: apt-get install bible-kjv)
set -eu
out=${1:?usage: scripts/kjv_text.sh OUT_DIR}
mkdir -p "$out"
bible -f "Gen1:1-Rev22:21" | sed 's/^[^ ]* //' > "$out/all.txt"
lines=$(wc -l < "$out/all.txt")
train=$((lines * 95 / 100))
head -n "$train" "$out/all.txt" > "$out/train.txt"
tail -n +"$((train + 1))" "$out/all.txt" > "$out/test.txt"
rm "$out/all.txt"
wc -l -c "$out/train.txt" "$out/test.txt"
