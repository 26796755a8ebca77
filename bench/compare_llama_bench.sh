#!/usr/bin/env bash
# Prefill (ppN) and decode (tgN) speed of moe against llama.cpp on the same GGUF file, measured
# side by side: for each round and thread count, llama-bench runs once and then `moe bench` runs
# once (A B A B ...), each with one timed repetition after its own warm-up. Medians over the
# rounds, the spread (min-max) of each engine, the ratio moe/llama.cpp, and moe's share of the
# machine's limit (bound_fraction: read bandwidth for tgN, FMA peak for ppN) are printed as a
# markdown table.
#
# llama.cpp is not part of this repository: build it elsewhere (see docs/INTEROP.md) and give
# the path of its llama-bench. This script builds, downloads and installs nothing.
#
#   bench/compare_llama_bench.sh --llama-bench PATH --moe PATH --gguf FILE \
#       [--threads 1,2] [-p 128] [-n 32] [--rounds 3] [--llama-args "-fa on"] [--raw FILE]
#       [--limit-gbps X,Y --limit-gflops X,Y [--limit-int8-gops X,Y]] [--wait-quiet SECONDS]
#   bench/compare_llama_bench.sh --llama-bench /work/peers/llama.cpp/build/bin/llama-bench \
#       --moe build/moe --gguf /tmp/mb-q8_0.gguf --threads 1,2 -p 128 -n 32 --rounds 3
#
# llama-bench runs with `-fa on` by default (override with --llama-args): moe's attention is
# fused (tiled, online softmax: kernels/attention), as llama.cpp's flash-attention path is, and
# that path is llama.cpp's faster one at pp512 here (Q8_0, 1 thread: 148.5 against 142.1 t/s with
# -fa off). llama-bench offers no f32 KV cache, so its K/V stay f16 (moe's are f32).
#
# moe's limits (read bandwidth, FMA peak, int8 dot peak with VNNI: the prefill bound of q8_0 /
# q4_0 files) are measured once per thread count at the start with `moe bench --limits`, not in
# every run (or taken from --limit-gbps/--limit-gflops/--limit-int8-gops, one value per --threads
# entry, GFLOP/s for the ISA moe's kernels use); each run gets dummy limits of 1 and the achieved
# GB/s, GFLOP/s or GOP/s is divided by the limit afterwards. Run on a quiet machine: the
# script prints the load average and counts compiler processes (cc1plus) seen between runs;
# with --wait-quiet S it first waits (up to S seconds, checking every 10 s) for no cc1plus
# before each llama/moe pair. Other loads (test binaries) are not detected: check `top`.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

LLAMA_BENCH="" MOE="" GGUF="" THREADS="1,2" NP=128 NG=32 ROUNDS=3 LLAMA_ARGS="-fa on" RAW="" LGBPS="" LGFLOPS="" LGOPS="" WAIT_QUIET=0
while [ $# -gt 0 ]; do
  case "$1" in
    --llama-bench) LLAMA_BENCH=$2; shift 2 ;;
    --moe) MOE=$2; shift 2 ;;
    --gguf) GGUF=$2; shift 2 ;;
    --threads|-t) THREADS=$2; shift 2 ;;
    -p) NP=$2; shift 2 ;;
    -n) NG=$2; shift 2 ;;
    --rounds|-r) ROUNDS=$2; shift 2 ;;
    --llama-args) LLAMA_ARGS=$2; shift 2 ;;
    --raw) RAW=$2; shift 2 ;;
    --limit-int8-gops) LGOPS=$2; shift 2 ;;
    --limit-gbps) LGBPS=$2; shift 2 ;;
    --limit-gflops) LGFLOPS=$2; shift 2 ;;
    --wait-quiet) WAIT_QUIET=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done
if [ -z "$LLAMA_BENCH" ] || [ -z "$MOE" ] || [ -z "$GGUF" ]; then
  echo "need --llama-bench, --moe and --gguf" >&2; usage 2
fi
[ -x "$LLAMA_BENCH" ] || { echo "not executable: $LLAMA_BENCH" >&2; exit 2; }
[ -x "$MOE" ] || { echo "not executable: $MOE" >&2; exit 2; }
[ -f "$GGUF" ] || { echo "no such file: $GGUF" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed to read the JSON" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
raw="$work/raw.jsonl"   # one line per sample: {"engine","test","threads","tps",["bound","rate","isa"]}
IFS=',' read -r -a thread_list <<<"$THREADS"

busy=0 checks=0
check_quiet() {
  checks=$((checks + 1))
  if pgrep -x cc1plus >/dev/null 2>&1; then busy=$((busy + 1)); fi
}

echo "file: $GGUF ($(stat -c %s "$GGUF") bytes)" >&2
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Page cache warm-up and moe's limits, once per thread count.
cat "$GGUF" >/dev/null
limits="$work/limits.jsonl"
if [ -n "$LGBPS" ] && [ -n "$LGFLOPS" ]; then
  IFS=',' read -r -a gbps_list <<<"$LGBPS"
  IFS=',' read -r -a gflops_list <<<"$LGFLOPS"
  for i in "${!thread_list[@]}"; do
    echo "{\"limit\":\"read_bandwidth\",\"threads\":${thread_list[$i]},\"gbps\":${gbps_list[$i]}}" >>"$limits"
    echo "{\"limit\":\"fma_peak\",\"isa\":null,\"threads\":${thread_list[$i]},\"gflops\":${gflops_list[$i]}}" >>"$limits"
  done
  if [ -n "$LGOPS" ]; then
    IFS=',' read -r -a gops_list <<<"$LGOPS"
    for i in "${!thread_list[@]}"; do
      echo "{\"limit\":\"int8_dot_peak\",\"threads\":${thread_list[$i]},\"gops\":${gops_list[$i]}}" >>"$limits"
    done
  fi
else
  for t in "${thread_list[@]}"; do
    "$MOE" bench --limits -t "$t" --json 2>/dev/null >>"$limits"
  done
fi

for round in $(seq 1 "$ROUNDS"); do
  for t in "${thread_list[@]}"; do
    waited=0
    while [ "$waited" -lt "$WAIT_QUIET" ] && pgrep -x cc1plus >/dev/null 2>&1; do
      sleep 10; waited=$((waited + 10))
    done
    check_quiet
    echo "round $round/$ROUNDS, $t threads: llama-bench" >&2
    # shellcheck disable=SC2086  # LLAMA_ARGS is a list of flags
    "$LLAMA_BENCH" -m "$GGUF" -p "$NP" -n "$NG" -t "$t" -r 1 $LLAMA_ARGS -o jsonl 2>"$work/llama.err" \
      >"$work/llama.out" || { cat "$work/llama.err" >&2; exit 1; }
    python3 - "$work/llama.out" >>"$raw" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    test = f"pp{r['n_prompt']}" if r["n_gen"] == 0 else f"tg{r['n_gen']}"
    print(json.dumps({"engine": "llama", "test": test, "threads": r["n_threads"],
                      "tps": r["avg_ts"], "fa": r.get("flash_attn"), "type_k": r.get("type_k"),
                      "commit": r.get("build_commit")}))
EOF
    check_quiet
    echo "round $round/$ROUNDS, $t threads: moe bench" >&2
    "$MOE" bench --model "$GGUF" -p "$NP" -n "$NG" -t "$t" -r 1 --json \
      --limit-gbps 1 --limit-gflops 1 --limit-int8-gops 1 2>"$work/moe.err" >"$work/moe.out" \
      || { cat "$work/moe.err" >&2; exit 1; }
    python3 - "$work/moe.out" >>"$raw" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    # With limits of 1, bound_fraction is the achieved GB/s (decode), GFLOP/s (prefill) or int8
    # GOP/s (prefill of q8_0 / q4_0 weights on VNNI).
    print(json.dumps({"engine": "moe", "test": r["test"], "threads": r["threads"],
                      "tps": r["tokens_per_s"], "bound": r.get("bound"),
                      "rate": r.get("bound_fraction"), "isa": r.get("isa"),
                      "dtype": r.get("dtype")}))
EOF
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
[ -n "$RAW" ] && cp "$raw" "$RAW"

python3 - "$raw" "$limits" "$GGUF" "$busy" "$checks" "$LLAMA_ARGS" <<'EOF'
import json, os, statistics, sys
raw, limits_path, gguf, busy, checks, llama_args = sys.argv[1:7]
rows = [json.loads(l) for l in open(raw) if l.strip()]
limits = {}
for l in open(limits_path):
    if not l.strip():
        continue
    r = json.loads(l)
    if r["limit"] == "read_bandwidth":
        limits[("bandwidth", None, r["threads"])] = r["gbps"]
    elif r["limit"] == "int8_dot_peak":
        limits[("int8_dot", None, r["threads"])] = r["gops"]
    else:
        limits[("fma", r["isa"], r["threads"])] = r["gflops"]

def order(key):
    test, threads = key
    return (0 if test.startswith("pp") else 1, int(test[2:]), threads)

keys = sorted({(r["test"], r["threads"]) for r in rows}, key=order)
dtype = next((r.get("dtype") for r in rows if r["engine"] == "moe"), "?")
commit = next((r.get("commit") for r in rows if r["engine"] == "llama"), "?")
print(f"{os.path.basename(gguf)} ({dtype}); llama.cpp {commit} `{llama_args}`; "
      f"compiler seen in {busy} of {checks} checks between runs\n")
print("| test | threads | llama.cpp t/s (median) | llama.cpp min-max | moe t/s (median) | moe min-max "
      "| moe/llama | moe of bound (median) |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for key in keys:
    test, threads = key
    ll = [r["tps"] for r in rows if r["engine"] == "llama" and (r["test"], r["threads"]) == key]
    mm = [r for r in rows if r["engine"] == "moe" and (r["test"], r["threads"]) == key]
    mt = [r["tps"] for r in mm]
    lmed = statistics.median(ll) if ll else float("nan")
    mmed = statistics.median(mt) if mt else float("nan")
    bound = "n/a"
    if mm:
        b = mm[0]["bound"]
        lim = limits.get(("bandwidth", None, threads)) if b == "bandwidth" else \
              limits.get(("int8_dot", None, threads)) if b == "int8_dot" else \
              limits.get(("fma", mm[0]["isa"], threads), limits.get(("fma", None, threads)))
        if lim:
            frac = statistics.median(r["rate"] for r in mm) / lim
            unit = {"bandwidth": "GB/s", "int8_dot": "GOP/s int8"}.get(b, "GFLOP/s")
            bound = f"{100 * frac:.1f} % of {lim:.1f} {unit}"
    spread = lambda v: f"{min(v):.2f}-{max(v):.2f}" if v else "n/a"
    print(f"| {test} | {threads} | {lmed:.2f} | {spread(ll)} | {mmed:.2f} | {spread(mt)} "
          f"| {mmed / lmed:.2f}x | {bound} |")
EOF
