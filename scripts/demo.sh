#!/usr/bin/env bash
# The main job: installs what is missing, builds liveconf (release) and runs
# the live demo on the bundled example config. Needs no external service.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target typed_config_example
./build/release/examples/typed_config_example
