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
# that replays it. ctest runs 120 steps, .ci/run 2000 (about 15 s each
# thousand on two cores).
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
cmake --build --preset "$preset" -j "$(nproc)" --target convergence_test
binary="build/$preset/tests/integration/convergence_test"
if [ "$steps" -eq 0 ]; then
  round=0
  while true; do
    round=$((round + 1))
    echo "convergence: round $round"
    LIVECONF_CONVERGENCE_STEPS=5000 "$binary" --gtest_filter='ConvergenceTest.*'
  done
fi
LIVECONF_CONVERGENCE_STEPS="$steps" "$binary" --gtest_filter='ConvergenceTest.*'
