#!/bin/sh
# tsan.sh — the tracer under ThreadSanitizer on the free-threaded 3.13t.
#
#   sh tests/tracer/tsan.sh [CASE...]
#     (default: threads_in_parallel read_while_threads_run ended_threads_folded)
#
# Builds pyflare._tracer and the model it links (src/profile, src/report,
# src/output, src/base) with -fsanitize=thread into a temporary directory, then runs
# tests/tracer/cases.py in python3.13t with libtsan preloaded. The interpreter
# itself is not instrumented: only the module's own memory accesses are
# checked (its PyMutex is announced to TSan by the module, see tracer.c).
# Exit status: 0 and "tsan: no race" when TSan reported nothing; 1 otherwise.
# Missing interpreter or libtsan: "tsan: SKIP ..." and status 0.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=${PYFLARE_PY313T:-/var/lib/pyflare/py313t}/bin/python3.13t
CC=${CC:-cc}
TSAN=$($CC -print-file-name=libtsan.so)
[ -x "$PY" ] || { echo "tsan: SKIP: no $PY (tools/setup-debian.sh builds it)"; exit 0; }
[ -e "$TSAN" ] || { echo "tsan: SKIP: no libtsan for $CC"; exit 0; }
INC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
SUFFIX=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
WORK=$(mktemp -d /tmp/pyflare-tsan.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/pyflare" "$WORK/out"
cp "$ROOT"/module/pyflare/*.py "$WORK/pyflare/"
sh "$ROOT/tools/embed.sh" "$WORK/assets.c" "$ROOT"/src/output/assets/* # the writers' script and style
# shellcheck disable=SC2046
$CC -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=thread -fPIC -fvisibility=hidden -I"$ROOT/src" -isystem "$INC" \
  -shared -o "$WORK/pyflare/_tracer$SUFFIX" "$ROOT"/module/*.c \
  $(ls "$ROOT"/src/profile/*.c "$ROOT"/src/input/*.c "$ROOT"/src/report/*.c "$ROOT"/src/output/*.c "$ROOT"/src/base/*.c) "$ROOT"/src/cli/options.c "$WORK/assets.c" -lz
[ $# -gt 0 ] || set -- threads_in_parallel read_while_threads_run ended_threads_folded
# report_signal_unsafe=0: the interpreter's own signal handlers are not ours; exitcode=0:
# reports are judged below, by whose code they are in.
if PYTHONPATH="$WORK" LD_PRELOAD="$TSAN" TSAN_OPTIONS="halt_on_error=0 exitcode=0 report_signal_unsafe=0 log_path=$WORK/tsan" \
     "$PY" "$ROOT/tests/tracer/cases.py" "$WORK/out" "$@" >"$WORK/cases.txt" 2>&1; then rc=0; else rc=$?; fi
cat "$WORK/cases.txt"
# Only reports where one of the two racing accesses is made by the module's
# own code count (the first frame of its stack outside TSan's interceptors):
# the interpreter is not instrumented, so its own synchronisation (biased
# reference counting's queues, say) is invisible to TSan and shows as races
# inside python3.13t - also when pyflare's code is further down the stack,
# having called the C API that allocated the memory.
if ls "$WORK"/tsan.* >/dev/null 2>&1; then
  ours=$(cat "$WORK"/tsan.* | awk '
    /^WARNING: ThreadSanitizer/ { block = $0 "\n"; inside = 1; mine = 0; first = 0; next }
    inside { block = block $0 "\n" }
    inside && /^  [A-Z][a-z]* .* (of size|at 0x)/ { first = 1; next }
    inside && first && /^    #[0-9]+ / {
      if ($0 ~ /libsanitizer|tsan_interceptors|libtsan/) next
      if ($0 ~ /module\/tracer\.c|src\/(profile|output|base)\//) mine = 1
      first = 0
    }
    inside && /^SUMMARY: ThreadSanitizer/ {
      if (mine) { printf "%s", block; n++ }
      inside = 0
    }
    END { print "ours=" n+0 }')
  n=$(printf '%s\n' "$ours" | sed -n 's/^ours=//p')
  others=$(grep -c '^WARNING: ThreadSanitizer' "$WORK"/tsan.* | awk -F: '{s+=$NF} END {print s}')
  if [ "$n" -gt 0 ]; then
    printf '%s\n' "$ours"
    echo "tsan: $n report(s) in pyflare's code ($others in all)"
    exit 1
  fi
  echo "tsan: note: $others report(s) inside the uninstrumented interpreter only, not counted"
fi
grep -q '^FAIL' "$WORK/cases.txt" && { echo "tsan: a case failed"; exit 1; }
[ "$rc" -eq 0 ] || { echo "tsan: cases.py exited $rc"; exit 1; }
echo "tsan: no race"
