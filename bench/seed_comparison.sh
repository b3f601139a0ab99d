#!/usr/bin/env bash
# Environment poll and merge: liveconf (bench/env_bench) against the seed's own
# Python (bench/seed_python_bench.py, which takes the code from the seed
# document at run time), in one run, alternating, and prints the table of
# BENCHMARKS.md: medians, spreads and the ratio Python / liveconf.
#
#   bench/seed_comparison.sh [path/to/env_bench]      (default: build/release/bench/env_bench)
#
# Settings (environment): ROUNDS=5 (runs of each program, alternating which
# goes first), REPS=11 (timed repetitions per case per run), TARGET_MS=20 (time
# of one repetition), CLOCK=cpu (each thread's CPU time, so time the scheduler
# gives to other processes on a shared machine is not counted; CLOCK=wall for
# wall-clock time), SEED=path to configuration-watchers.md (default:
# ../shared/seed/configuration-watchers.md from the repository root),
# RAW=file to keep the raw JSON lines.
#
# Both programs run under `env -i PATH=/usr/bin:/bin LANG=C.UTF-8`, so both
# see the same environment: those 2 variables plus the 1,000 watched ones each
# sets itself (LANG is set so Python does not add LC_CTYPE, PEP 538).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
bin=${1:-$repo/build/release/bench/env_bench}
rounds=${ROUNDS:-5}
reps=${REPS:-11}
target_ms=${TARGET_MS:-20}
clock=${CLOCK:-cpu}
seed=${SEED:-$repo/../shared/seed/configuration-watchers.md}
# The interpreter itself, not a wrapper (a pyenv shim would add its own variables).
python=$(python3 -c 'import sys; print(sys.executable)') ||
  { echo "seed_comparison: python3 not found" >&2; exit 1; }

if [[ ! -x $bin ]]; then
  echo "seed_comparison: $bin not found; build it with" >&2
  echo "  cmake --preset release && cmake --build build/release --target env_bench" >&2
  exit 1
fi
if [[ ! -r $seed ]]; then
  echo "seed_comparison: the seed $seed is not readable (set SEED=...)" >&2
  exit 1
fi

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
clean_env=(env -i PATH=/usr/bin:/bin LANG=C.UTF-8)
run_cpp() {
  "${clean_env[@]}" "$bin" --reps "$reps" --target-ms "$target_ms" --clock "$clock" >>"$raw"
}
run_python() {
  "${clean_env[@]}" "$python" "$here/seed_python_bench.py" --seed "$seed" --reps "$reps" \
    --target-ms "$target_ms" --clock "$clock" >>"$raw"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= rounds; r++)); do
  echo "{\"type\":\"round\",\"round\":$r}" >>"$raw"
  echo "round $r/$rounds ..." >&2
  if ((r % 2)); then
    run_cpp
    run_python
  else
    run_python
    run_cpp
  fi
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
if [[ -n ${RAW:-} ]]; then
  cp "$raw" "$RAW"
fi

"$python" - "$raw" "$rounds" "$reps" "$clock" "$load_before" "$load_after" \
  "$("$python" --version)" <<'EOF'
import json
import os
import sys
from collections import defaultdict

raw, rounds, reps, clock, load_before, load_after, py_version = sys.argv[1:]
samples = defaultdict(list)                          # (impl, case) -> [ns]
per_round = defaultdict(lambda: defaultdict(list))   # (impl, case) -> round -> [ns]
env_size = defaultdict(set)                          # impl -> sizes seen in env cases
checks = defaultdict(set)
rnd = 0
with open(raw) as f:
    for line in f:
        d = json.loads(line)
        if d["type"] == "round":
            rnd = d["round"]
        elif d["type"] == "sample":
            samples[d["impl"], d["case"]].append(d["ns_per_op"])
            per_round[d["impl"], d["case"]][rnd].append(d["ns_per_op"])
        elif d["type"] == "summary" and d["case"].startswith("env_"):
            env_size[d["impl"]].add(d["env_size"])
        elif d["type"] == "check":
            checks[d["impl"]].add(json.dumps({k: v for k, v in d.items() if k != "impl"},
                                             sort_keys=True))

def pct(v, p):
    v = sorted(v)
    pos = p * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)

problems = []
if env_size["liveconf"] != env_size["seed_python"] or len(env_size["liveconf"]) != 1:
    problems.append(f"environment sizes differ: {dict(env_size)}")
if checks["liveconf"] != checks["seed_python"] or len(checks["liveconf"]) != 1:
    problems.append(f"the merges disagree: {dict(checks)}")

def fmt(ns, unit):
    return f"{ns / 1e6:.2f}" if unit == "ms" else f"{ns / 1e3:.1f}"

rows = [
    # (label, liveconf case, python case, unit)
    ("poll, no change (steady state)", "env_poll_nochange", "env_poll_nochange", "µs"),
    ("poll, 10 changed (poll alone)", "env_poll_changed", "env_poll_changed", "µs"),
    ("poll, 10 changed, Python with `_notify_callbacks`", "env_poll_changed",
     "env_poll_changed_notify", "µs"),
    ("setting the 10 variables alone", "env_set_only", "env_set_only", "µs"),
    ("set 10 + poll, timed whole", "env_set_and_poll", "env_set_and_poll", "µs"),
    ("merge, 3 layers x 10,000 keys", "merge_3x10k", "merge_3x10k", "ms"),
]
print(f"env_bench vs seed Python: {rounds} rounds x {reps} repetitions each, alternating;"
      f" {clock} time;"
      f" {py_version}; {os.cpu_count()} CPUs; load average {load_before} before,"
      f" {load_after} after")
print(f"variables in the environment during the env cases: "
      f"{', '.join(f'{k} {sorted(v)}' for k, v in sorted(env_size.items()))}")
print(f"merge check (both): {sorted(checks['liveconf'])[0] if checks['liveconf'] else '-'}")
print()
print("| case | liveconf median | p10–p90 | min–max | seed Python median | p10–p90 | min–max "
      "| Python / liveconf (per-round range) |")
print("|---|---|---|---|---|---|---|---|")
for label, cc, pc, unit in rows:
    c, p = samples.get(("liveconf", cc)), samples.get(("seed_python", pc))
    if not c or not p:
        problems.append(f"missing samples for {label}")
        continue
    ratios = []
    for r in sorted(per_round["liveconf", cc]):
        if per_round["seed_python", pc].get(r):
            ratios.append(pct(per_round["seed_python", pc][r], 0.5) /
                          pct(per_round["liveconf", cc][r], 0.5))
    print(f"| {label} ({unit}) | {fmt(pct(c, .5), unit)} | {fmt(pct(c, .1), unit)}–"
          f"{fmt(pct(c, .9), unit)} | {fmt(min(c), unit)}–{fmt(max(c), unit)} "
          f"| {fmt(pct(p, .5), unit)} | {fmt(pct(p, .1), unit)}–{fmt(pct(p, .9), unit)} "
          f"| {fmt(min(p), unit)}–{fmt(max(p), unit)} "
          f"| **{pct(p, .5) / pct(c, .5):.1f}x** ({min(ratios):.1f}–{max(ratios):.1f}) |")
for impl in ("liveconf", "seed_python"):
    both = samples.get((impl, "env_set_and_poll"))
    alone = samples.get((impl, "env_set_only"))
    if both and alone:
        print(f"\n{impl}: set+poll median minus set-only median = "
              f"{(pct(both, .5) - pct(alone, .5)) / 1e3:.1f} µs", end="")
print()
if problems:
    for p in problems:
        print(f"seed_comparison: {p}", file=sys.stderr)
    sys.exit(1)
EOF
