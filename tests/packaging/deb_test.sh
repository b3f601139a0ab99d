#!/usr/bin/env bash
# The Debian packages of this build, end to end (ctest packaging.deb):
# cpack makes them (prefix /usr), lintian finds no error, dpkg installs them,
# the installed tool runs with its man page and completion in place, a
# Makefile consumer (flags from pkg-config), a CMake (find_package) and a
# Meson consumer build against /usr and run, the Python module imports from
# dist-packages, and purging leaves nothing behind.
#
#   deb_test.sh BUILD_DIR WORK_DIR CXX
#
# It changes the system (dpkg -i), so it needs root; it cleans up on any exit.
set -euo pipefail
build=$1 work=$2 cxx=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
packages=(python3-liveconf libliveconf-dev liveconf)
if [[ $(id -u) -ne 0 ]]; then
  echo "deb_test: needs root (dpkg -i); skipped"
  exit 77
fi
for p in "${packages[@]}"; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # Only ours (this machine's earlier run) may be replaced: its Maintainer says so.
    if ! dpkg-query -W -f='${Maintainer}' "$p" | grep -q "liveconf developers"; then
      echo "deb_test: a package named $p that is not liveconf's is installed; not touching it" >&2
      exit 1
    fi
    dpkg --purge "$p" >/dev/null
  fi
done
lintian_pid=
cleanup() {
  [[ -z $lintian_pid ]] || kill "$lintian_pid" 2>/dev/null || true
  dpkg --purge "${packages[@]}" >/dev/null 2>&1 || true
}
trap cleanup EXIT

rm -rf "$work" && mkdir -p "$work"
(cd "$build" && cpack -G DEB -B "$work/deb" -D CPACK_PACKAGING_INSTALL_PREFIX=/usr \
  -D CPACK_DEBIAN_COMPRESSION_TYPE=gzip >"$work/cpack.log") ||
  { cat "$work/cpack.log"; exit 1; }
debs=("$work"/deb/*.deb)
printf 'built: %s\n' "${debs[@]##*/}"
[[ ${#debs[@]} -ge 2 ]] || { echo "expected at least liveconf and libliveconf-dev" >&2; exit 1; }

# lintian reads only the .deb files, so it runs beside the rest on the second
# core: on a Debug build's libliveconf-dev it takes about 100 s (it reads every
# symbol of the unoptimised archives; a release build's takes 8 s).
lintian --fail-on error --suppress-tags-from-file "$here/../../packaging/lintian-overrides.txt" \
  "${debs[@]}" >"$work/lintian.log" 2>&1 &
lintian_pid=$!

dpkg -i "${debs[@]}" >"$work/dpkg.log" || { cat "$work/dpkg.log"; exit 1; }
version=$(/usr/bin/liveconf --version | head -1)
echo "installed: $version"
[[ $version == "liveconf "* ]]
# Minimal images (Debian's docker "slim" ones) tell dpkg not to install man pages.
if grep -qs 'path-exclude.*/usr/share/man' /etc/dpkg/dpkg.cfg /etc/dpkg/dpkg.cfg.d/*; then
  echo "man page: checked in the package only; dpkg here excludes /usr/share/man"
  dpkg-deb -c "$work"/deb/liveconf_*.deb | grep -q '/usr/share/man/man1/liveconf.1.gz$'
else
  dpkg -L liveconf | grep -qx /usr/share/man/man1/liveconf.1.gz
  man -w liveconf | grep -q /usr/share/man/man1/liveconf.1.gz
fi
dpkg -L liveconf | grep -qx /usr/share/bash-completion/completions/liveconf
dpkg -L liveconf | grep -qx /usr/share/zsh/vendor-completions/_liveconf
# The tool's dependencies were computed (dpkg-shlibdeps), not left empty.
dpkg-query -W -f='${Depends}\n' liveconf | grep -q libc6

# A consumer of the installed headers and libraries, flags from pkg-config alone.
env -u PKG_CONFIG_PATH make --no-print-directory -C "$here/pkg_config" OUT="$work" CXX="$cxx" \
  STATIC=1 "$work/parts"
"$work/parts" "$work"
# A CMake project: find_package(liveconf) finds /usr's package files.
cmake -S "$here/find_package" -B "$work/cmake" -DCMAKE_CXX_COMPILER="$cxx" >"$work/cmake.log" &&
  cmake --build "$work/cmake" >>"$work/cmake.log" || { cat "$work/cmake.log"; exit 1; }
grep -q "liveconf_DIR:PATH=/usr/lib/" "$work/cmake/CMakeCache.txt"
"$work/cmake/consumer"
# And a Meson project: dependency('liveconf') from /usr's pkg-config files.
if command -v meson >/dev/null; then
  env -u PKG_CONFIG_PATH CXX="$cxx" meson setup "$work/meson" "$here/meson" >"$work/meson.log" ||
    { cat "$work/meson.log"; exit 1; }
  meson compile -C "$work/meson" >>"$work/meson.log" || { cat "$work/meson.log"; exit 1; }
  "$work/meson/parts" "$work/meson"
fi

if dpkg -s python3-liveconf >/dev/null 2>&1; then
  # Debian's interpreter, the one the package is for (PATH may lead to another).
  (cd "$work" && /usr/bin/python3 -c 'import liveconf, sys; print("python:", liveconf.__file__)' |
    grep -q "/usr/lib/python3/dist-packages/liveconf/")
  echo "python: liveconf imports from /usr/lib/python3/dist-packages"
  # Pinned to the CPython minor version the extension was built for.
  dpkg-query -W -f='${Depends}\n' python3-liveconf | grep -Eq 'python3 \(>= 3\.[0-9]+~\), python3 \(<< 3\.[0-9]+\)'

fi

if ! wait "$lintian_pid"; then
  cat "$work/lintian.log"
  echo "lintian found errors" >&2
  exit 1
fi
lintian_pid=
grep -v '^running with root privileges' "$work/lintian.log" || true
echo "lintian: no errors"

dpkg --purge "${packages[@]}" >/dev/null
[[ ! -e /usr/bin/liveconf && ! -e /usr/include/liveconf ]] ||
  { echo "purge left files behind" >&2; exit 1; }
echo "purged: nothing left"
