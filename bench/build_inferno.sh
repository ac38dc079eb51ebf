#!/usr/bin/env bash
# build_inferno.sh — builds inferno's flame graph tool (Rust), which bench/folded_to_svg.py
# compares `pyflare flamegraph` against. Optional: the bench skips inferno, by name, without it.
#
# inferno's crate sources and every crate it needs are Debian packages (librust-inferno-dev, in
# unstable), so the build is offline, with cargo, against /usr/share/cargo/registry. On a
# machine that is not Debian unstable this runs inside a Debian unstable root (chroot), by
# default /var/lib/pyflare/sid-root (the one the module build uses), or SID_ROOT=DIR; SID_ROOT=/
# builds on the machine itself. The binary goes to /var/lib/pyflare/inferno/bin (or OUT=DIR);
# nothing of inferno enters the checkout. Idempotent: a binary already there is kept.
#   bash bench/build_inferno.sh        (as root: it installs packages into the root)
set -euo pipefail

OUT=${OUT:-/var/lib/pyflare/inferno/bin}
SID_ROOT=${SID_ROOT:-/var/lib/pyflare/sid-root}
if [ -x "$OUT/inferno-flamegraph" ]; then
  echo "build_inferno: $OUT/inferno-flamegraph is already built"
  exit 0
fi
if [ "$SID_ROOT" != / ] && [ ! -x "$SID_ROOT/usr/bin/apt-get" ]; then
  echo "build_inferno: no Debian unstable root at $SID_ROOT (set SID_ROOT=DIR, or SID_ROOT=/ on Debian unstable)" >&2
  exit 1
fi
in_root() { if [ "$SID_ROOT" = / ]; then "$@"; else chroot "$SID_ROOT" "$@"; fi; }

in_root apt-get -o Acquire::Check-Valid-Until=false install -y --no-install-recommends cargo librust-inferno-dev
crate=$(cd "$SID_ROOT/usr/share/cargo/registry" && ls -d inferno-[0-9]* | sort -V | tail -1)
build=/var/tmp/inferno-build         # inside the root
src="$SID_ROOT$build/src"
rm -rf "$src" && mkdir -p "$src"
cp -r "$SID_ROOT/usr/share/cargo/registry/$crate/." "$src/"
# Tests, benches and examples need crates Debian does not ship with it: drop those sections.
awk '/^\[/ { skip = ($0 ~ /^\[dev-dependencies/ || $0 ~ /^\[\[(bench|test|example)\]\]/) } !skip' \
  "$src/Cargo.toml" > "$src/Cargo.toml.new" && mv "$src/Cargo.toml.new" "$src/Cargo.toml"
mkdir -p "$src/.cargo"
cat > "$src/.cargo/config.toml" <<'TOML'
[source.crates-io]
replace-with = "debian"
[source.debian]
directory = "/usr/share/cargo/registry"
[net]
offline = true
TOML
in_root sh -c "cd $build/src && CARGO_HOME=$build/cargo-home cargo build --release --features cli --bin inferno-flamegraph -j2"
mkdir -p "$OUT"
cp "$src/target/release/inferno-flamegraph" "$OUT/"
echo "build_inferno: built $OUT/inferno-flamegraph ($crate)"
