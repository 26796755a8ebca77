#!/usr/bin/env bash
# Installs the Debian packages moe.cpp builds and tests with (DESIGN.md section 8; cairo and the
# DejaVu fonts draw `moe plot` and `moe stats --png`; cpp-httplib is `moe serve`'s HTTP; python3
# only for the CLI and server tests' JSON, HTTP and PNG checks and bible-kjv for the training
# test's English text, clang-format for the style test, never for the build; libdnnl2 is oneDNN, whose f32 GEMM training loads at
# run time when present; clang and its runtimes only for the fuzz targets, scripts/fuzz.sh), then
# configures and builds in Release into ./build. Safe to run again.
# The server's OpenAI-client test also runs node and npm: Debian's `npm` unless an npm is there
# already (NodeSource's nodejs bundles one); without the npm registry that test is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config git python3
          openmpi-bin libopenmpi-dev
          nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
          libgtest-dev libgmock-dev libbenchmark-dev
          libsentencepiece-dev libicu-dev libcairo2-dev fonts-dejavu-core bible-kjv libdnnl2 clang-format
          libcpp-httplib-dev clang libclang-rt-dev)
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
