#!/usr/bin/env bash
# The README's test command: set-up and build (scripts/setup.sh), then the whole suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cd build
ctest --output-on-failure -j "$(nproc)" --timeout 600 "$@"
