#!/usr/bin/env bash
# The health gate's long form (issue 14, BENCHMARKS.md): TRIALS poisoned saves
# of a real file, each reverted within bake (200 ms) + one probe interval
# (20 ms), its content quarantined against a touch, then new good content
# applied and baked. ctest runs 200; this runs 1,000 (about four minutes) in
# the release build and prints the publish-to-revert latencies.
#   bash scripts/health_gate.sh [TRIALS=1000]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target health_gate_test liveconf_cli
LIVECONF_HEALTH_TRIALS="${1:-1000}" ./build/release/tests/integration/health_gate_test \
  --gtest_filter='HealthGateTest.B54_RevertsWithinBakePlusIntervalQuarantinesAndAppliesNewContent'
