#!/usr/bin/env python3
"""The highest sampling rate pyflare holds within 1% of the request, on one
core, against a thread spinning at stack depth 50 (CPython 3.12).

    python3 bench/max_rate.py [SECONDS]

Each requested rate runs for SECONDS (default 3); pyflare's own summary gives
the achieved rate and the late count. Figures only."""
import os
import sys
import tempfile

from common import PYFLARE, ROOT, pyflare_summary, require, run_timed, start, stop, table

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
RATES = [1000, 2000, 5000, 10000, 20000, 30000, 50000]


def main():
    py = require("3.12")
    if not py:
        return
    rows = []
    best = 0
    target = start([py, os.path.join(ROOT, "bench", "deep_target.py"), "50", "1"])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for rate in RATES:
                cpu, _, err, wall, _ = run_timed([PYFLARE, "record", "--pid", str(target.pid), "--idle", "--rate",
                                                  str(rate), "--duration", str(SECONDS), "-o",
                                                  os.path.join(tmp, "r.folded")])
                stacks, ticks, secs, hz, late = pyflare_summary(err)
                held = abs(hz - rate) <= rate * 0.01
                if held:
                    best = max(best, rate)
                rows.append([rate, "%.0f" % hz, "%.2f%%" % (100.0 * (hz - rate) / rate), late,
                             "%.0f%%" % (100.0 * cpu / secs), "yes" if held else "no"])
    finally:
        stop(target)
    table(rows, ["requested Hz", "achieved Hz", "error", "late", "pyflare CPU", "within 1%"])
    print("highest rate held within 1%%: %d Hz" % best)


if __name__ == "__main__":
    main()
