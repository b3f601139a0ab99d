#!/usr/bin/env bash
# Installs what is missing, builds with a CMake preset and runs the whole ctest
# suite. Usage: scripts/test.sh [preset] [extra ctest args...]
# (preset: dev, asan, tsan, release, libcxx). The libcxx presets build and run
# only the unit tests (CMakePresets.json says why); the others build everything.
#
# A skipped test fails the run unless tests/skip-allowlist.txt names it with
# the reason it cannot run here: a skip is a test that proved nothing, and
# CI would otherwise pass over it in silence.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-dev}"
shift || true

bash scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
ctest --preset "$preset" -j "$(nproc)" "$@" 2>&1 | tee "$log"
rc="${PIPESTATUS[0]}"
set -e
unlisted=0
while read -r name; do
  [ -n "$name" ] || continue
  if ! grep -qE "^${name//./\\.}([[:space:]]|$)" tests/skip-allowlist.txt; then
    echo "scripts/test.sh: $name was skipped and is not on tests/skip-allowlist.txt" >&2
    unlisted=1
  fi
done < <(sed -n 's/.*Test #[0-9]*: \([^ ]*\) .*\*\*\*Skipped.*/\1/p' "$log")
if [ "$rc" -ne 0 ]; then
  exit "$rc"
fi
if [ "$unlisted" -ne 0 ]; then
  echo "scripts/test.sh: add each with its reason to tests/skip-allowlist.txt, or make it run" >&2
  exit 1
fi
