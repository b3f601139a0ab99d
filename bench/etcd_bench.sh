#!/usr/bin/env bash
# Starts a throwaway etcd on 127.0.0.1 (free ports, a temporary data dir) and
# runs bench/etcd_bench against it ROUNDS times: put -> callback latency of a
# liveconf subscriber beside `etcdctl watch` in the same run, and the initial
# load of KEYS keys. Prints the JSON lines of every round.
#
#   bench/etcd_bench.sh [path/to/etcd_bench]     (default: build/release/bench/etcd_bench)
#
# Settings (environment): ROUNDS=5, SAMPLES=200 (puts per round), KEYS=10000.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
bin=${1:-$repo/build/release/bench/etcd_bench}
rounds=${ROUNDS:-5}
samples=${SAMPLES:-200}
keys=${KEYS:-10000}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d "${TMPDIR:-/tmp}/liveconf-etcd-bench.XXXXXX")
client=$(free_port)
peer=$(free_port)
etcd --name bench --data-dir "$work/data" \
  --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "bench=http://127.0.0.1:$peer" --log-level error >"$work/etcd.log" 2>&1 &
etcd_pid=$!
trap 'kill $etcd_pid 2>/dev/null; wait $etcd_pid 2>/dev/null; rm -rf "$work"' EXIT
export ETCDCTL_API=3
for _ in $(seq 1 100); do
  etcdctl --endpoints="127.0.0.1:$client" endpoint health >/dev/null 2>&1 && break
  sleep 0.1
done
for r in $(seq 1 "$rounds"); do
  echo "# round $r"
  "$bin" "127.0.0.1:$client" "$samples" "$keys"
done
