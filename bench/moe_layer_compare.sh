#!/usr/bin/env bash
# Side by side: `moe bench --moe-layer --backward` against bench/moe_layer_torch.py (Debian's
# torch), interleaved A B A B for ROUNDS rounds, then the median over rounds of each side's
# per-round medians and the speed ratio (torch fwdbwd_ms / ours).
# Usage: bench/moe_layer_compare.sh MOE_BINARY [TOKENS=512,2048] [ROUNDS=3] [shape and mode options]
# The options (--hidden, --ffn, --experts, --topk; --bf16) go to both sides, but --bf16 only to ours:
# the reference stays PyTorch's fp32.
# Environment: THREADS (ours, default 2), TORCH_THREADS (default 1), BLAS_THREADS (default 2),
# REPS (timed runs per round, default 3). Torch's configuration (the fastest found on the 2-core
# Emerald Rapids VM, docs/PERFORMANCE.md): OpenBLAS (Debian's libopenblas0-pthread), whose CPU
# detection reads this CPU as "Prescott" (SSE3 kernels) so OPENBLAS_CORETYPE=SkylakeX is forced
# where the CPU has AVX-512; glibc malloc with large mmap and trim thresholds, so that the
# layer's MB-sized tensors are not mapped and unmapped (page faults) every step.
set -euo pipefail
moe=${1:?usage: $0 MOE_BINARY [TOKENS] [ROUNDS] [extra options]}
tokens=${2:-512,2048}
rounds=${3:-3}
shift $(($# < 3 ? $# : 3))
here=$(cd "$(dirname "$0")" && pwd)
threads=${THREADS:-2} reps=${REPS:-3}
if [[ -z ${OPENBLAS_CORETYPE:-} ]] && grep -q avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX; fi
torch_env=(OPENBLAS_NUM_THREADS=${BLAS_THREADS:-2}
           GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296)
torch_args=()
for arg in "$@"; do [[ $arg == --bf16 ]] || torch_args+=("$arg"); done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for round in $(seq "$rounds"); do
  echo "round $round / $rounds" >&2
  "$moe" bench --moe-layer --backward --tokens "$tokens" -t "$threads" -r "$reps" --json "$@" >>"$out/ours.jsonl"
  env "${torch_env[@]}" /usr/bin/python3 "$here/moe_layer_torch.py" --backward --tokens "$tokens" \
      --torch-threads "${TORCH_THREADS:-1}" -r "$reps" --json "${torch_args[@]}" >>"$out/torch.jsonl"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$out/ours.jsonl" "$out/torch.jsonl" <<'PY'
import json, statistics, sys
def load(path):
    rows = {}
    for line in open(path):
        r = json.loads(line)
        rows.setdefault(r["tokens"], []).append(r)
    return rows
ours, torch = load(sys.argv[1]), load(sys.argv[2])
med = lambda rows, key: statistics.median(r[key] for r in rows)
columns = ["tokens", "ours fwd_ms", "ours fwdbwd_ms", "ours GFLOP/s", "torch fwd_ms", "torch fwdbwd_ms",
           "torch GFLOP/s", "speed-up fwd", "speed-up fwdbwd"]
print("| " + " | ".join(columns) + " |")
print("|" + "|".join(" ---: " for _ in columns) + "|")
for t in sorted(ours):
    o, p = ours[t], torch[t]
    print(f"| {t} | {med(o,'fwd_ms'):.1f} | {med(o,'fwdbwd_ms'):.1f} | {med(o,'gflops'):.1f} | {med(p,'fwd_ms'):.1f} | "
          f"{med(p,'fwdbwd_ms'):.1f} | {med(p,'gflops'):.1f} | {med(p,'fwd_ms')/med(o,'fwd_ms'):.2f}x | "
          f"{med(p,'fwdbwd_ms')/med(o,'fwdbwd_ms'):.2f}x |")
PY
