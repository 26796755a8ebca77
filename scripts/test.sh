#!/usr/bin/env bash
# The README's test command: set-up and build (scripts/setup.sh), the whole suite with ctest (extra
# arguments go to this ctest), then the hardening stages of docs/RELIABILITY.md: the suite (less
# the longest MPI runs) built with ASan + UBSan (scripts/sanitize.sh) and a short run of every fuzz
# target (scripts/fuzz.sh: 20,000 executions each from seed 1, about a minute in all).
# MOE_TEST_QUICK=1 stops after the first ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 600 "$@")
[ "${MOE_TEST_QUICK:-0}" = 1 ] && exit 0
./scripts/sanitize.sh
./scripts/fuzz.sh --execs 20000 --seed 1
