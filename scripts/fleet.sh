#!/usr/bin/env bash
# The fleet's long form (issue 15, BENCHMARKS.md): SIZE `liveconf watch`
# processes on one etcd, RUNS times, PUTS puts each time; prints, per run, put
# -> the last instance's event beside a lone client's, what each instance
# costs etcd, and how the reconnects after an etcd SIGKILL spread. ctest runs
# one run of 50 with 20 puts (10 under ASan).
#   bash scripts/fleet.sh [SIZE=50] [RUNS=5] [PUTS=50]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target fleet_scale_test liveconf_cli
for run in $(seq "${2:-5}"); do
  echo "run ${run}:"
  LIVECONF_FLEET_SIZE="${1:-50}" LIVECONF_FLEET_PUTS="${3:-50}" \
    ./build/release/tests/integration/fleet_scale_test | grep -E '^(fleet|etcd|a quiet)|FAILED' || true
done
