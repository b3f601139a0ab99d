#!/usr/bin/env bash
# Installs what is missing, builds with a CMake preset and runs the whole ctest
# suite. Usage: scripts/test.sh [preset] [extra ctest args...]   (preset: dev, asan, tsan, release)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-dev}"
shift || true

bash scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)" "$@"
