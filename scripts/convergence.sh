#!/usr/bin/env bash
# The convergence test's long form (tests/integration/convergence_test.cpp):
# a seeded random driver over every file and environment source; after every
# step the live manager must equal a fresh load of the same sources.
#
#   scripts/convergence.sh [steps] [preset]     (default: 20000 steps, dev)
#   scripts/convergence.sh 0                    (no limit: runs until it fails
#                                                or is stopped; for hours)
#   LIVECONF_CONVERGENCE_SEED=N scripts/convergence.sh 500   (replay a seed)
#
# Each run prints its seed; a failure prints the recent steps and the command
# that replays it. ctest runs 120 steps (80 with etcd), .ci/run 2000 (about
# 15 s each thousand on two cores). The etcd variant (the suite's real etcd as
# a sixth source) runs a quarter of the steps: each of its checks starts a
# fresh etcd session.
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-20000}"
preset="${2:-dev}"
if ! [[ "$steps" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/convergence.sh [steps] [preset]" >&2
  exit 2
fi
bash scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)" --target convergence_test convergence_etcd_test
binary="build/$preset/tests/integration/convergence_test"
etcd_binary="build/$preset/tests/integration/convergence_etcd_test"
run() {
  LIVECONF_CONVERGENCE_STEPS="$1" "$binary" --gtest_filter='ConvergenceTest.*'
  LIVECONF_CONVERGENCE_STEPS="$(($1 / 4))" "$etcd_binary" --gtest_filter='ConvergenceTest.*'
}
if [ "$steps" -eq 0 ]; then
  round=0
  while true; do
    round=$((round + 1))
    echo "convergence: round $round"
    run 5000
  done
fi
run "$steps"
