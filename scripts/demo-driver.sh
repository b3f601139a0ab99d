#!/usr/bin/env bash
# The live demo of `liveconf watch`, run against an already built binary.
# Usage: scripts/demo-driver.sh PATH/TO/liveconf
#
# Copies examples/demo/ to a fresh temporary directory, starts `liveconf watch`
# over its JSON, YAML, TOML and .env files (with a schema and one environment
# variable), edits the files the ways editors and people do, and waits (with a
# deadline) for each expected line of output before going on. Exits 0 when every
# step showed up, 1 when one did not; ctest runs it (example.cli_demo).
# LIVECONF_DEMO_PAUSE (seconds, default 1) is a pause between steps for the
# reader; nothing depends on it. LIVECONF_DEMO_TIMEOUT (seconds, default 10) is
# each step's deadline.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 PATH/TO/liveconf" >&2
  exit 2
fi
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
demo_src="$(cd "$(dirname "$0")/../examples/demo" && pwd)"
pause_s="${LIVECONF_DEMO_PAUSE:-1}"
timeout_s="${LIVECONF_DEMO_TIMEOUT:-10}"

work="$(mktemp -d "${TMPDIR:-/tmp}/liveconf-demo.XXXXXX")"
log="$work/watch.log"   # liveconf's stdout and stderr; outside the watched directory
watch_pid=""
cleanup() {
  local rc=$?
  if [ -n "$watch_pid" ] && kill -0 "$watch_pid" 2>/dev/null; then
    kill -TERM "$watch_pid" 2>/dev/null || true
    wait "$watch_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir "$work/conf"
: >"$log"
cp -R "$demo_src/." "$work/conf/"
cd "$work/conf"

sources=(--file base.json --file service.yaml --file limits.toml --dotenv demo.env
         --env DEMO --schema schema.yaml)

# --- output of the background watcher -----------------------------------------
# liveconf writes to $log; this script copies its complete lines to the terminal
# as it polls, so the narration and the tool's output never interleave.
shown=0        # lines of $log already printed
step_from=0    # the current step looks for its output after this line

now_ms() {
  local t="${EPOCHREALTIME//[.,]/}"   # microseconds, whatever the locale's decimal point
  echo $((t / 1000))
}

show_new() {
  local total
  total=$(wc -l <"$log")   # newlines: complete lines only
  if [ "$total" -gt "$shown" ]; then
    sed -n "$((shown + 1)),${total}p" "$log"
    shown=$total
  fi
}

# narrate TEXT: one line saying what comes next; later output is matched after it.
narrate() {
  show_new
  printf '\n==> %s\n' "$*"
  step_from=$shown
}

# expect WHAT ERE: wait until a line of the watcher's output since the last
# narration matches the extended regular expression ERE; fail after the deadline.
expect() {
  local what="$1" ere="$2" deadline
  deadline=$(($(now_ms) + timeout_s * 1000))
  while :; do
    show_new
    # The pattern goes through ENVIRON: awk -v would process its backslashes.
    if RE="$ere" awk -v from="$step_from" -v to="$shown" \
         'NR > from && NR <= to && $0 ~ ENVIRON["RE"] { found = 1; exit } END { exit !found }' "$log"; then
      return 0
    fi
    if ! kill -0 "$watch_pid" 2>/dev/null; then
      printf '\ndemo: FAILED: liveconf watch exited before %s\n' "$what" >&2
      exit 1
    fi
    if [ "$(now_ms)" -ge "$deadline" ]; then
      printf '\ndemo: FAILED: no %s within %ss (wanted a line matching /%s/)\n' \
        "$what" "$timeout_s" "$ere" >&2
      exit 1
    fi
    sleep 0.05
  done
}

# pause: a moment for the reader, still showing the watcher's output.
pause() {
  local end
  end=$(($(now_ms) + ${pause_s%.*} * 1000))
  while [ "$(now_ms)" -lt "$end" ]; do
    show_new
    sleep 0.05
  done
  show_new
}

# --- the demo ------------------------------------------------------------------
echo "liveconf live demo in $work/conf:"
echo "  base.json < service.yaml < limits.toml < demo.env < \$DEMO_* (later wins), typed by schema.yaml"

narrate "start: DEMO_LOG_LEVEL=debug liveconf watch ${sources[*]} --debounce 50ms"
echo "    (the variable is set at start: nothing outside a process can change its environment later)"
DEMO_LOG_LEVEL=debug "$bin" watch "${sources[@]}" --debounce 50ms >"$log" 2>&1 &
watch_pid=$!
expect "initial load" '^loaded generation 1 '
# shellcheck disable=SC2016  # a literal $ in the pattern
expect "the env override" '^  log_level = "debug"  \(\$DEMO_LOG_LEVEL\)'
pause

narrate "provenance: liveconf explain log_level (a separate process, same sources, same variable)"
DEMO_LOG_LEVEL=debug "$bin" explain log_level "${sources[@]}"
pause

narrate "atomic save of service.yaml (write a temp file, rename it over: what most editors do): roll out new_checkout, 12 workers"
cat >.service.yaml.tmp <<'EOF'
# Overrides for this deployment of the shop service; wins over base.json.
server:
  workers: 12           # more workers than the base default
db:
  host: db.internal     # the shared database, not localhost
  pool_size: 10
features:
  new_checkout: true    # rolled out
EOF
mv -f .service.yaml.tmp service.yaml
expect "the service.yaml change" '~ features\.new_checkout: false -> true  \(service\.yaml:'
pause

narrate "in-place write of limits.toml (truncate and write the same file, like cat > file): raise the rate limit"
cat >limits.toml <<'EOF'
# Rate limits, owned by the platform team; wins over service.yaml.
[rate_limit]
requests_per_second = 250
burst = 500

[timeouts]
request = "30s"
idle = "2m"
EOF
expect "the limits.toml change" '~ rate_limit\.requests_per_second: 100 -> 250  \(limits\.toml:'
pause

narrate ".env edit of demo.env (sed -i): rotate the API key (a secret: never printed), cache_ttl 5m -> 10m"
sed -i -e 's/^api_key=.*/api_key=demo-key-0002/' -e 's/^cache_ttl=.*/cache_ttl=10m/' demo.env
expect "the demo.env change" '~ cache_ttl: "5m" -> "10m"  \(demo\.env:'
pause

narrate "invalid save of limits.toml: requests_per_second = 25000, above the schema's maximum of 10000"
echo "    (expect an error naming file:line:col; the last good config, with 250, keeps serving)"
sed -i 's/^requests_per_second = .*/requests_per_second = 25000/' limits.toml
expect "the refusal" '^liveconf: limits\.toml:[0-9]+:[0-9]+: .*requests_per_second.*generation [0-9]+ keeps serving'
pause

narrate "the fix: requests_per_second = 1000 is accepted"
sed -i 's/^requests_per_second = .*/requests_per_second = 1000/' limits.toml
expect "the accepted fix" '~ rate_limit\.requests_per_second: 250 -> 1000  \(limits\.toml:'
pause

narrate "liveconf get rate_limit.requests_per_second (a fresh process reads the same files)"
DEMO_LOG_LEVEL=debug "$bin" get rate_limit.requests_per_second "${sources[@]}"

narrate "stop: SIGTERM to liveconf watch"
kill -TERM "$watch_pid"
rc=0
wait "$watch_pid" || rc=$?
watch_pid=""
show_new
if [ "$rc" -ne 0 ]; then
  printf '\ndemo: FAILED: liveconf watch exited with %d after SIGTERM (want 0)\n' "$rc" >&2
  exit 1
fi
printf '\ndemo: done. Every save was picked up, diffed and traced to its file:line or variable;\n'
printf 'the invalid one was refused while the last good config kept serving. liveconf exited 0.\n'
