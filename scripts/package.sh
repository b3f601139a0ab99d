#!/usr/bin/env bash
# Builds liveconf's Debian packages from a release build and checks them
# with lintian:
#
#   bash scripts/package.sh [OUT_DIR]     (default: build/package/deb)
#
# Packages (cmake/packaging.cmake): liveconf (the tool, completion, man page),
# libliveconf-dev (headers, static libraries, CMake and pkg-config files) and
# python3-liveconf (the Python module). Install them with
#   apt-get install ./build/package/deb/*.deb
# The version is the project's (CMakeLists.txt), revision 1.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/package/deb}
build=build/package

bash scripts/install-deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DLIVECONF_BUILD_TESTS=OFF -DLIVECONF_BUILD_BENCH=OFF -DLIVECONF_BUILD_EXAMPLES=OFF
cmake --build "$build" -j"$(nproc)"
mkdir -p "$out"
(cd "$build" && cpack -G DEB -B "$(cd - >/dev/null && realpath "$out")")
rm -rf "$out/_CPack_Packages"
for deb in "$out"/*.deb; do
  echo "== $deb"
  dpkg-deb --field "$deb" Package Version Installed-Size Depends
done
# Errors fail the script; warnings are printed (docs/dependencies.md says which remain and why).
lintian --fail-on error --suppress-tags-from-file packaging/lintian-overrides.txt "$out"/*.deb
