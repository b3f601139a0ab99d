#!/usr/bin/env bash
# Installs every Debian 12 package liveconf needs to build, test and benchmark.
# Idempotent: installs only what is missing; runs as root (or with sudo).
# docs/dependencies.md says why each package is here.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git python3
  libyaml-dev            # YAML: libyaml's event parser (iterative, marks, alias control)
  libtomlplusplus-dev    # TOML: toml++
  libxxhash-dev          # content hashes of sources
  libcli11-dev           # the liveconf command-line tool
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc  # liveconf::etcd (gRPC)
  etcd-server etcd-client    # the real etcd the needs-etcd tests and benchmarks run
  libgtest-dev libgmock-dev  # tests
  libbenchmark-dev       # bench/
  libsimdjson-dev        # the JSON baseline in bench/reload_bench
  libmicrohttpd-dev      # liveconf::admin: the HTTP server of the admin endpoint
  prometheus-cpp-dev     # liveconf::admin: Prometheus exposition (its core library only)
  libsystemd-dev         # liveconf::admin: sd_notify (READY=1, STATUS=, WATCHDOG=1)
  libcurl4-openssl-dev   # `liveconf status` and the admin tests: an HTTP client
  libsodium-dev          # liveconf::journal: secrets sealed (XSalsa20-Poly1305) in the journal
  prometheus             # promtool and a real Prometheus server for the admin tests
  clang libclang-rt-14-dev   # fuzzing and -Wthread-safety builds
  libc++-14-dev libc++abi-14-dev googletest  # the libcxx preset (GoogleTest built from source)
  clang-format clang-tidy
  vim emacs-nox          # real editors replayed by the save-pattern tests (BEHAVIOUR 4, 5)
  zsh                    # the zsh completion script is loaded by a test (bash is always there)
  meson                  # a Meson project consumes the installed liveconf.pc in a test (packaging.meson)
  man-db groff-base      # liveconf(1) is rendered by groff in a test, and found by man -w after dpkg -i
  lintian                # the Debian packages (scripts/package.sh, packaging.deb test) are checked with it
  python3-dev pybind11-dev  # the Python module liveconf (issue 16): CPython 3.11 headers, pybind11
  python3-pytest python3-yaml python3-attr  # the Python tests (tests/python, run by ctest) and bench/python_bench.py: the guide imports yaml and attrs
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
