#!/usr/bin/env python3
"""The size of a capture (.pyflare) against the folded text of the same
recording, and the time to turn the capture into an SVG.

    python3 bench/capture_size.py [SECONDS] [--program service|five] [--keep DIR] [--python EXE]
    python3 bench/capture_size.py --measure CAPTURE FOLDED

Records a real five-thread program with
`pyflare record -r 1000 --idle -d SECONDS -o x.pyflare -o x.folded`
(default 600 s: the issue's "10 minutes at 1 kHz of a 5-thread program"),
then prints the bytes of each, the capture's bytes without the source text
it keeps (folded stacks carry none), and the wall time of `pyflare convert
x.pyflare x.svg` (best of 3). The programs (tests/capture/):
  service  (default) a small HTTP service on the loopback: a server thread,
           two clients posting JSON orders, a thread restocking an SQLite
           table, the main thread reporting; deep stacks, many of them, most
           of the time in the standard library, as a real service's are
  five     the opposite case: two threads of json/re work whose few, shallow
           stacks change at almost every sample, one that mostly sleeps, one
           woken by a queue for difflib bursts the main thread feeds it
--measure does only the second half, on files already recorded (e.g. a
capture re-encoded by a newer pyflare: `pyflare convert old.pyflare
new.pyflare`). --keep DIR leaves the files there. Figures only, nothing
asserted."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

from common import PYFLARE, python

# A capture's sections (tests/capture/sections.py, shared with the capture tests).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "capture"))
from sections import without_sources  # noqa: E402

# The programs recorded (tests/capture/run.py records them too, for 5 s).
PROGRAMS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "capture")


def measure(cap, folded):
    svg = cap + ".svg"
    best = None
    for _ in range(3):
        t = time.monotonic()
        r = subprocess.run([PYFLARE, "convert", cap, svg], capture_output=True, text=True)
        took = time.monotonic() - t
        if r.returncode != 0:
            sys.exit("convert failed: %s" % r.stderr.strip())
        best = took if best is None else min(best, took)
    nsamples = sum(1 for _ in open(folded, "rb"))  # lines, not samples: for the record only
    cs, fs, bare = os.path.getsize(cap), os.path.getsize(folded), without_sources(cap)
    print("capture      %10d bytes (%d without the source text it keeps)" % (cs, bare))
    print("folded text  %10d bytes (%d lines)" % (fs, nsamples))
    print("ratio        %10.3f (capture / folded; %.3f without the source text, which folded text lacks)" %
          (cs / fs, bare / fs))
    print("convert to svg %8.3f s (best of 3)" % best)


def main():
    args = sys.argv[1:]
    if args[:1] == ["--measure"] and len(args) == 3:
        return measure(args[1], args[2])
    seconds, keep, exe, program = "600", None, python("3.12") or sys.executable, "service"
    while args:
        a = args.pop(0)
        if a == "--keep":
            keep = args.pop(0)
        elif a == "--python":
            exe = args.pop(0)
        elif a == "--program":
            program = args.pop(0)
            if program not in ("service", "five"):
                sys.exit("--program: service or five")
        else:
            seconds = a
    tmp = keep or tempfile.mkdtemp(prefix="pyflare-capsize-")
    os.makedirs(tmp, exist_ok=True)
    cap, folded = os.path.join(tmp, "x.pyflare"), os.path.join(tmp, "x.folded")
    r = subprocess.run([PYFLARE, "record", "-r", "1000", "--idle", "-d", seconds, "-o", cap, "-o", folded,
                        "--", exe, os.path.join(PROGRAMS, program + ".py")], capture_output=True, text=True)
    print("\n".join(l for l in r.stderr.splitlines() if "samples" in l) or "(record said nothing of samples)")
    if not os.path.exists(cap):
        sys.exit("record failed: %s" % r.stderr.strip())
    print("%s.py, %s s at 1 kHz, 5 threads (--idle), %s" % (program, seconds, exe))
    measure(cap, folded)
    if not keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
