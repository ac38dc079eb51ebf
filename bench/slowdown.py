#!/usr/bin/env python3
"""Target slowdown: the wall time of a CPU-bound workload alone and with
pyflare attached at 100 Hz, 1 kHz and 10 kHz (CPython 3.12), measured in the
same run, alternating configurations, median of ROUNDS runs each.

    python3 bench/slowdown.py [ROUNDS] [UNITS]

The workload times itself from the moment pyflare is attached (it waits for a
line on stdin), so pyflare's start-up is not counted. Figures only."""
import os
import signal
import statistics
import subprocess
import sys
import time

from common import PYFLARE, ROOT, python, table

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
UNITS = sys.argv[2] if len(sys.argv) > 2 else "150"
CONFIGS = [None, 100, 1000, 10000]


def one_run(py, rate):
    w = subprocess.Popen([py, os.path.join(ROOT, "bench", "slowdown_workload.py"), UNITS],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
    w.stdout.readline()
    prof = None
    if rate:
        prof = subprocess.Popen([PYFLARE, "record", "--pid", str(w.pid), "--rate", str(rate), "-o",
                                 "/tmp/pyflare-slowdown.folded"], stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # attached and sampling
    w.stdin.write("go\n")
    w.stdin.flush()
    seconds = float(w.stdout.readline())
    w.wait()
    if prof:
        prof.send_signal(signal.SIGINT)
        prof.wait()
    return seconds


def main():
    py = python("3.12")
    if not py:
        print("SKIP 3.12: not installed")
        return
    times = {c: [] for c in CONFIGS}
    for _ in range(ROUNDS):
        for c in CONFIGS:
            times[c].append(one_run(py, c))
    base = statistics.median(times[None])
    rows = []
    for c in CONFIGS:
        m = statistics.median(times[c])
        rows.append(["alone" if c is None else "%d Hz" % c, "%.3f s" % m, "%+.2f%%" % (100 * (m - base) / base),
                     " ".join("%.3f" % t for t in times[c])])
    table(rows, ["pyflare", "median wall", "slowdown", "runs"])


if __name__ == "__main__":
    main()
