#!/usr/bin/env bash
# Installs everything pyflare's build, demo and tests need on a fresh Debian
# (bookworm) machine. Idempotent: only missing packages are installed, and
# apt-get update runs only when something is missing.
#   tools/setup-debian.sh      (as root, or as a user with sudo)
set -euo pipefail

# Installing packages needs root. A user is asked through sudo; a root-only machine
# (a fresh Debian container) often has no sudo, and needs none.
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -- bash "$0" "$@"
  fi
  echo "setup-debian.sh: installing packages needs root, and sudo is not installed: run this as root" >&2
  exit 1
fi

packages=(
  build-essential    # cc, make
  clang              # the ASan/UBSan build and the fuzzers
  python3            # test runners
  python3-dev        # the in-process module for Debian's python3.11
  zlib1g-dev         # gzip for pprof output
  libdw-dev libelf-dev  # elfutils: --native unwinds and names C/C++ frames (src/target/native.c)
  liblzma-dev libbz2-dev # what libdw.a needs besides zlib, for `make static`
  valgrind           # callgrind_annotate reads our callgrind files in tests
  golang-go          # go tool pprof reads our pprof files in tests
  python3-django     # the WSGI middleware test profiles a real Django app
  python3-yappi      # the tracer benchmark compares against yappi
  chromium           # the SVG/HTML viewers are tested in a real browser
  procps util-linux  # ps, setpriv, unshare for the permission and container tests
  libdevel-nytprof-perl # its flamegraph.pl is what bench/folded_to_svg.py compares against
  tmux               # tests/top drives pyflare top in a real terminal
)
# playwright-core (npm) drives that browser. A Node.js from elsewhere (e.g.
# NodeSource) bundles npm and conflicts with Debian's npm package: only ask
# Debian when there is no npm at all.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# playwright-core for the browser tests (package.json pins it; no browser download).
if [ -f tests/browser/package.json ] && [ ! -d tests/browser/node_modules/playwright-core ]; then
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
fi

# ---- CPython 3.14 and 3.15: a Debian sid root, kept outside the checkout ----
# Debian unstable ships them with their internal headers. The root lives at
# $PYFLARE_SID_ROOT (default /var/lib/pyflare/sid-root), outside any clone,
# so a second run costs a few dpkg queries and deleting a clone leaves nothing
# behind. This script mounts nothing; the test suites mount ROOT/proc (inside
# the root, not the clone) when a tool running there needs it.
# Without debootstrap (or a mirror) the 3.14/3.15 tests are skipped by name.
SID_ROOT=${PYFLARE_SID_ROOT:-/var/lib/pyflare/sid-root}
sid_packages=(
  python3.14 python3.14-dev python3.14-dbg python3.14-nopie  # python3.14, -pie, 3.14d
  python3.15 python3.15-dev python3.15-dbg python3.15-nopie  # python3.15, -pie, 3.15d
  python3-django     # the WSGI middleware test on 3.14/3.15
)
sid_apt=(-o Acquire::Check-Valid-Until=false)  # sid's Release file may be past Valid-Until
if ! command -v debootstrap >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends debootstrap ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap; } ||
    echo "setup-debian: no debootstrap: the CPython 3.14/3.15 tests will be skipped" >&2
fi
if command -v debootstrap >/dev/null 2>&1; then
  if [ ! -x "$SID_ROOT/usr/bin/apt-get" ]; then
    # Built aside and moved into place, so an interrupted run never leaves a
    # root that looks complete.
    mkdir -p "$(dirname "$SID_ROOT")"
    rm -rf "$SID_ROOT.partial"
    debootstrap --variant=minbase sid "$SID_ROOT.partial" >/dev/null
    mv "$SID_ROOT.partial" "$SID_ROOT"
  fi
  sid_missing=()
  for p in "${sid_packages[@]}"; do
    chroot "$SID_ROOT" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      sid_missing+=("$p")
  done
  if ((${#sid_missing[@]})); then
    chroot "$SID_ROOT" env DEBIAN_FRONTEND=noninteractive apt-get "${sid_apt[@]}" update -qq
    chroot "$SID_ROOT" env DEBIAN_FRONTEND=noninteractive \
      apt-get "${sid_apt[@]}" install -y -qq --no-install-recommends "${sid_missing[@]}"
  fi
fi

# ---- CPython 3.13t: a free-threaded build (no GIL), kept outside the checkout ----
# Built once from Debian trixie's python3.13 source package (its upstream
# 3.13.5 tarball, fetched with apt-get source through the sid root above) into
# $PYFLARE_PY313T (default /var/lib/pyflare/py313t); about 5-15 minutes on 2
# cores. Nothing happens when PY313T/bin/python3.13t exists. Without the sid
# root or the source package, the 3.13t tests are skipped by name.
PY313T=${PYFLARE_PY313T:-/var/lib/pyflare/py313t}
SRC313T=${PYFLARE_SRC313T:-/var/lib/pyflare/src313t}
if [ ! -x "$PY313T/bin/python3.13t" ] && [ -x "$SID_ROOT/usr/bin/apt-get" ]; then
  (
    set -e
    trixie_src="$SID_ROOT/etc/apt/sources.list.d/trixie-src.list"
    grep -qs "trixie main" "$trixie_src" ||
      echo "deb-src http://deb.debian.org/debian trixie main" >"$trixie_src"
    if ! ls "$SRC313T"/python3.13_3.13.5*.orig.tar.xz >/dev/null 2>&1; then
      chroot "$SID_ROOT" apt-get "${sid_apt[@]}" update -qq
      chroot "$SID_ROOT" sh -c 'rm -rf /tmp/py313src && mkdir /tmp/py313src && cd /tmp/py313src &&
        apt-get -o Acquire::Check-Valid-Until=false source --download-only python3.13/trixie >/dev/null'
      mkdir -p "$SRC313T"
      mv "$SID_ROOT"/tmp/py313src/python3.13_3.13.5* "$SRC313T"/
      rm -rf "$SID_ROOT/tmp/py313src"
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends libssl-dev libffi-dev libbz2-dev libsqlite3-dev \
      liblzma-dev libreadline-dev zlib1g-dev
    cd "$SRC313T"
    rm -rf Python-3.13.5
    tar -xJf python3.13_3.13.5.orig.tar.xz
    cd Python-3.13.5
    ./configure --disable-gil --without-ensurepip --prefix="$PY313T" >/dev/null
    make -j2 >/dev/null
    make install >/dev/null
    "$PY313T/bin/python3.13t" -c 'import sys; assert not sys._is_gil_enabled()'
  ) || echo "setup-debian: could not build the free-threaded CPython 3.13t: its tests will be skipped" >&2
fi
