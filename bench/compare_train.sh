#!/usr/bin/env bash
# Side by side: whole-model training tokens/s of `moe train` against bench/train_torch.py (Debian's
# torch, the same Mixtral-style model, batch and optimizer), on mixtral-tiny (13.6 M parameters)
# and the ~100M MoE of docs/PERFORMANCE.md (hidden 512, 6 layers, 8 heads, 4 kv heads, 8 experts
# of 1408, top-2: 109.1 M), micro-batch 4 x 128, 2 per update, AdamW, clip 1.0, lr 1e-3 constant;
# each at 1 and 2 threads, interleaved A B A B for ROUNDS rounds. Each run's figure is the median
# tokens/s of its updates after the first WARMUP; the table gives the median over rounds.
# Usage: bench/compare_train.sh MOE_BINARY DATA_PREFIX [ROUNDS=3]
#   DATA_PREFIX: a token file of `moe data` with a 512-token vocabulary (mixtral-tiny's tokenizer),
#   e.g. moe init --preset mixtral-tiny --out tiny && moe data --tokenizer tiny --in kjv.txt --out kjv
# Environment: ITERS (updates per run, default 12), WARMUP (default 2), THREADS (default "1 2"),
# MODELS (default "tiny 100m"), TORCH_THREADS (torch's intra-op threads, default 1; the BLAS gets
# the thread count under test).
# Torch's configuration (the issue's fair setting): OpenBLAS from Debian's libopenblas0-pthread
# when installed (its libblas.so.3 put first on LD_LIBRARY_PATH, ahead of the reference BLAS that
# libblas.so.3 may point at), OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset except
# OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs (OpenBLAS may misdetect them), and glibc malloc with
# large mmap and trim thresholds so the step's MB-sized tensors are not mapped anew every step.
set -euo pipefail
moe=${1:?usage: $0 MOE_BINARY DATA_PREFIX [ROUNDS]}
data=${2:?usage: $0 MOE_BINARY DATA_PREFIX [ROUNDS]}
rounds=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
iters=${ITERS:-12} warmup=${WARMUP:-2}
[[ -f $data.bin && -f $data.idx ]] || { echo "$0: no token file $data.bin / $data.idx (moe data)" >&2; exit 1; }

torch_env=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
           GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296)
grep -q avx512f /proc/cpuinfo && torch_env+=(OPENBLAS_CORETYPE=SkylakeX)
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
if [[ -e $openblas/libblas.so.3 ]]; then
  torch_env+=(LD_LIBRARY_PATH=$openblas${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH})
else
  echo "warning: libopenblas0-pthread is not installed: torch runs on $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)" >&2
fi

# name: moe train shape flags | train_torch.py shape flags
declare -A ours_shape=([tiny]="" [100m]="--hidden-size 512 --num-layers 6 --num-attention-heads 8 --num-query-groups 4 --moe-ffn-hidden-size 1408")
declare -A torch_shape=([tiny]="--hidden 256 --layers 4 --heads 8 --kv-heads 4 --ffn 512" [100m]="--hidden 512 --layers 6 --heads 8 --kv-heads 4 --ffn 1408")
common="--model mixtral-tiny --data-path $data --seq-length 128 --micro-batch-size 4 --global-batch-size 8
        --train-iters $iters --log-interval 1 --eval-interval 0 --lr 1e-3 --clip-grad 1.0"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
median_log() {  # median tokens_per_s of a moe train log's updates after the warm-up
  python3 -c 'import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if "tokens_per_s" in l]
print(statistics.median(r["tokens_per_s"] for r in rows[int(sys.argv[2]):]))' "$1" "$warmup"
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for model in ${MODELS:-tiny 100m}; do
  for threads in ${THREADS:-1 2}; do
    for round in $(seq "$rounds"); do
      echo "$model, $threads thread(s), round $round / $rounds" >&2
      # shellcheck disable=SC2086
      "$moe" train $common ${ours_shape[$model]} --threads "$threads" --log "$out/log.jsonl" >/dev/null
      echo "$model $threads $(median_log "$out/log.jsonl")" >>"$out/ours.txt"
      rm -f "$out/log.jsonl"
      # shellcheck disable=SC2086
      env "${torch_env[@]}" OPENBLAS_NUM_THREADS="$threads" /usr/bin/python3 "$here/train_torch.py" \
          ${torch_shape[$model]} --iters "$iters" --warmup "$warmup" --torch-threads "${TORCH_THREADS:-1}" --json |
        python3 -c 'import json, sys; print(sys.argv[1], sys.argv[2], json.load(sys.stdin)["tokens_per_s"])' \
          "$model" "$threads" >>"$out/torch.txt"
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$out/ours.txt" "$out/torch.txt" <<'PY'
import statistics, sys
def load(path):
    rows = {}
    for line in open(path):
        model, threads, rate = line.split()
        rows.setdefault((model, int(threads)), []).append(float(rate))
    return rows
ours, torch = load(sys.argv[1]), load(sys.argv[2])
print("| model | threads | moe train tokens/s | torch tokens/s | moe / torch |")
print("|---|---:|---:|---:|---:|")
for key in ours:
    o, t = statistics.median(ours[key]), statistics.median(torch[key])
    print(f"| {key[0]} | {key[1]} | {o:.0f} | {t:.0f} | {o / t:.2f}x |")
PY
