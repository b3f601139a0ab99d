#!/usr/bin/env bash
# The main job: installs what is missing, builds the liveconf command-line tool
# (release preset) and runs the live demo of `liveconf watch` over
# examples/demo/ (scripts/demo-driver.sh): a copy of the files is edited a few
# times and every change, refusal and fix is shown with where it came from.
# Exits by itself: 0 when every step showed up. Needs no external service.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target liveconf_cli
bash scripts/demo-driver.sh build/release/src/cli/liveconf
