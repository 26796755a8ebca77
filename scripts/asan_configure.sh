#!/usr/bin/env bash
# Configures the sanitized build that scripts/sanitize.sh and scripts/fuzz.sh share (one build, so
# that CI compiles the instrumented code once): clang with ASan + UBSan (-DMOE_SANITIZE) and the
# libFuzzer targets (-DMOE_FUZZ), the test suite, no benchmarks. Prints its directory:
# $MOE_ASAN_BUILD, default build-asan.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${MOE_ASAN_BUILD:-build-asan}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
  -DMOE_SANITIZE=address,undefined -DMOE_FUZZ=ON -DMOE_BUILD_TESTS=ON -DMOE_BUILD_BENCH=OFF \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
echo "$dir"
