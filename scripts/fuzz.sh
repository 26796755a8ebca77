#!/usr/bin/env bash
# Fuzzes every parser of untrusted input (tests/fuzz, docs/RELIABILITY.md): builds the libFuzzer
# targets with clang into build-asan/ (scripts/asan_configure.sh: ASan + UBSan + coverage, the
# build scripts/sanitize.sh tests), writes their seed corpora with moe_fuzz_seeds, then runs each
# target in turn.
#   scripts/fuzz.sh [--execs N | --seconds S] [--seed K] [TARGET...]   (default: --seconds 15, every target)
# --execs with --seed is CI's short run: a fixed budget from a fixed start (two runs here differed
# only slightly in coverage), so that CI takes the same time on any machine; --seconds explores
# further.
# Each target keeps its corpus in build-asan/corpus/<target>/ between runs. A crash, sanitizer
# report, leak, hang (> 10 s on one input) or allocation over 1 GiB stops that target with the input
# saved as build-asan/findings/<target>/<kind>-<sha1>; the script then exits 1. The last lines
# printed (also build-asan/summary.txt) give each target's executions and coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

limit=(-max_total_time=15)
seed=()
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --execs) limit=(-runs="$2"); shift 2 ;;
    --seconds) limit=(-max_total_time="$2"); shift 2 ;;
    --seed) seed=(-seed="$2"); shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

build=$(./scripts/asan_configure.sh)
cmake --build "$build" -j "$(nproc)" --target fuzz

cd "$build"
rm -rf seeds
./tests/fuzz/moe_fuzz_seeds seeds "$root"
if [ ${#targets[@]} -eq 0 ]; then
  for src in "$root"/tests/fuzz/*_fuzz.cpp; do
    name=$(basename "$src" .cpp)
    targets+=("${name%_fuzz}")
  done
fi

# The targets write each input to a file (the parsers read paths): in memory when /dev/shm is there.
[ -w /dev/shm ] && export TMPDIR=${TMPDIR:-/dev/shm}
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
: >summary.txt
status=0
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "findings/$target"
  log="findings/$target.log"
  if ./tests/fuzz/moe_fuzz_"$target" "${limit[@]}" "${seed[@]}" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
      -print_final_stats=1 -artifact_prefix="findings/$target/" "corpus/$target" "seeds/$target" >"$log" 2>&1; then
    result=ok
  else
    result="FOUND $(ls "findings/$target" | head -1)"
    status=1
    tail -40 "$log" >&2
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  printf '%-20s %12s execs  cov %6s  ft %6s  corpus %5s  %s\n' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
    "$(ls "corpus/$target" | wc -l)" "$result" | tee -a summary.txt
done
exit $status
