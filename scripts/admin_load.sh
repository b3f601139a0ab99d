#!/usr/bin/env bash
# The admin endpoint under load (issue 13, BENCHMARKS.md): CLIENTS threads
# polling /metrics and /status while CHANGES file saves publish one by one.
# Exits non-zero if a change was not published, a request failed or fds leaked.
#   bash scripts/admin_load.sh [CLIENTS=200] [CHANGES=1000] [ROUNDS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target admin_load_bench
for _ in $(seq "${3:-5}"); do
  ./build/release/bench/admin_load_bench "${1:-200}" "${2:-1000}"
done
