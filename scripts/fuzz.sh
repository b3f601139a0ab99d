#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan + UBSan) and runs
# each one for a while. Usage:
#
#   scripts/fuzz.sh [seconds-per-target] [target...]     (default: 60 s, every target)
#   scripts/fuzz.sh 600 yaml toml                         (ten minutes each for two)
#
# Each target starts from a temporary copy of fuzz/corpus/<target> (plus the
# crashers in fuzz/regressions/<target>), so the checked-in corpus never grows
# here; new inputs are kept only in the temporary directory. Exits non-zero if
# any target crashed, timed out (-timeout=10 s per input) or ran out of memory
# (-rss_limit_mb=2048), and prints where each crash file is and how to turn it
# into a regression (fuzz/README.md).
#
# Targets run FUZZ_PARALLEL at a time (default: nproc; each is one process).
# Environment: FUZZ_BUILD_JOBS (default: nproc) for the build, FUZZ_WORK_DIR to
# keep the work directory somewhere else than a fresh mktemp -d, FUZZ_KEEP=1 to
# keep it even when nothing was found, FUZZ_NO_REGRESSIONS=1 to leave
# fuzz/regressions out of the seeds (a regression that is not fixed yet crashes
# its target at once, before any fuzzing; ctest replays them anyway).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [seconds-per-target] [target...]" >&2
  exit 2
fi

all_targets=(json yaml toml ini dotenv path text_values merge_diff env etcd journal)
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=("${all_targets[@]}")
fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "${FUZZ_BUILD_JOBS:-$(nproc)}"

work="${FUZZ_WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/liveconf-fuzz.XXXXXX")}"
mkdir -p "$work"
bin_dir="build/fuzz/fuzz"
failed=()

for t in "${targets[@]}"; do
  if [ ! -x "$bin_dir/${t}_fuzz" ]; then
    echo "fuzz: no target '$t' (known: ${all_targets[*]})" >&2
    exit 2
  fi
done

# One target: fuzz it, then write its report and its status (0 or 1) into
# its work directory. Always returns 0, so `wait -n` under `set -e` is safe.
run_one() {
  local t="$1"
  local bin="$bin_dir/${t}_fuzz"
  local dir="$work/$t"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -R "fuzz/corpus/$t/." "$dir/corpus/"
  rm -f "$dir/corpus/.gitkeep"
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048
              -print_final_stats=1 -artifact_prefix="$dir/artifacts/")
  if [ -f "fuzz/dict/$t.dict" ]; then
    args+=(-dict="fuzz/dict/$t.dict")
  fi
  # The first directory receives new inputs; the regressions only seed.
  local seeds=("$dir/corpus")
  if [ "${FUZZ_NO_REGRESSIONS:-0}" != "1" ]; then
    seeds+=("fuzz/regressions/$t")
  fi
  {
    echo "=== $t: ${seconds}s, corpus $(find "$dir/corpus" -type f | wc -l) inputs ==="
    local status=0
    "$bin" "${args[@]}" "${seeds[@]}" >"$dir/log.txt" 2>&1 || status=$?
    grep -E "^(#[0-9]+[[:space:]]+DONE|stat::|SUMMARY|==[0-9]+==ERROR|.*property violated)" \
      "$dir/log.txt" | sed "s/^/  /" || true
    echo "  corpus now: $(find "$dir/corpus" -type f | wc -l) inputs; log: $dir/log.txt"
    local crashes
    crashes=$(find "$dir/artifacts" -type f 2>/dev/null | sort)
    if [ "$status" -ne 0 ] || [ -n "$crashes" ]; then
      echo 1 >"$dir/status"
      echo "  FAILED (exit $status); the end of the log:"
      tail -n 40 "$dir/log.txt" | sed "s/^/  | /"
      for c in $crashes; do
        echo "  crash file: $c"
        echo "    replay:   $bin $c"
        echo "    minimise: $bin -minimize_crash=1 -runs=10000 -exact_artifact_path=$c.min $c"
        echo "    keep:     cp $c.min fuzz/regressions/$t/<short-name>"
      done
    else
      echo 0 >"$dir/status"
    fi
  } >"$dir/report.txt" 2>&1
  return 0
}

# FUZZ_PARALLEL targets at a time (default: nproc), reports printed in order.
parallel="${FUZZ_PARALLEL:-$(nproc)}"
running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait
for t in "${targets[@]}"; do
  cat "$work/$t/report.txt"
  if [ "$(cat "$work/$t/status" 2>/dev/null || echo 1)" != "0" ]; then
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]} (work directory kept: $work)" >&2
  exit 1
fi
echo "fuzz: no crashes in ${targets[*]}"
if [ "${FUZZ_KEEP:-0}" = "1" ] || [ -n "${FUZZ_WORK_DIR:-}" ]; then
  echo "fuzz: work directory: $work"
else
  rm -rf "$work"
fi
