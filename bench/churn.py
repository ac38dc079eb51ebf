#!/usr/bin/env python3
"""Per-sample cost under thread churn, and with 10 000 live threads.

    python3 bench/churn.py [SECONDS]

churn   bench/churn_target.py keeps 500 threads alive while they come and go
        (thousands a few seconds). pyflare records it at 1 kHz for SECONDS
        (default 20, attached, default mode); every 2 s the bench reads
        pyflare's CPU time (/proc/PID/stat) and how many threads the target
        has started so far, and prints pyflare's CPU per sample in that
        window (CPU / (1 kHz x 2 s)) beside the threads met. Per-sample cost
        must not grow with the number of threads ever seen: the last windows
        are compared with the first.
crowd   the same target with 10 000 threads parked (started once, asleep):
        pyflare at --rate 1000 --idle for 5 s; the achieved rate and CPU per
        sample (10 000 stacks each).
CPython 3.12. Figures only: nothing is asserted (the machine is shared)."""
import os
import subprocess
import sys
import tempfile
import time

from common import PYFLARE, ROOT, pyflare_summary, require, run_timed, stop, table

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
WINDOW = 2.0
RATE = 1000
TARGET = os.path.join(ROOT, "bench", "churn_target.py")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def read_count(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def start_target(py, live, count, *extra):
    target = subprocess.Popen([py, TARGET, str(live), count] + list(extra),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while read_count(count) < live and time.time() < deadline:
        time.sleep(0.1)
    return target


def churn(py, tmp):
    count = os.path.join(tmp, "count")
    target = start_target(py, 500, count)
    rows = []
    try:
        out = os.path.join(tmp, "churn.folded")
        rec = subprocess.Popen([PYFLARE, "record", "--pid", str(target.pid), "--rate", str(RATE),
                                "--duration", str(SECONDS), "-o", out],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        first = read_count(count)
        last_cpu, last_t = cpu_seconds(rec.pid), time.time()
        while rec.poll() is None:
            time.sleep(WINDOW)
            try:
                cpu, now = cpu_seconds(rec.pid), time.time()
            except OSError:
                break
            if rec.poll() is not None:
                break
            us = (cpu - last_cpu) / (RATE * (now - last_t)) * 1e6
            rows.append(["%.0f-%.0f s" % (WINDOW * len(rows), WINDOW * (len(rows) + 1)),
                         read_count(count) - first, "%.1f" % us])
            last_cpu, last_t = cpu, now
        err = rec.stderr.read().decode()
        rec.wait()
        stacks, ticks, secs, hz, late = pyflare_summary(err)
    finally:
        stop(target)
    table(rows, ["window", "threads started since the recording began", "pyflare CPU per sample (us)"])
    if len(rows) >= 4:
        head = sum(float(r[2]) for r in rows[:2]) / 2
        tail = sum(float(r[2]) for r in rows[-2:]) / 2
        print("churn: %.1f us per sample in the first two windows, %.1f in the last two (%+.0f%%), after %d threads; "
              "%.0f Hz of %d achieved, %d late" % (head, tail, 100.0 * (tail - head) / head, rows[-1][1], hz, RATE, late))


def crowd(py, tmp):
    count = os.path.join(tmp, "crowd-count")
    target = start_target(py, 10000, count, "parked")
    try:
        out = os.path.join(tmp, "crowd.folded")
        cpu, _, err, _, _ = run_timed([PYFLARE, "record", "--pid", str(target.pid), "--rate", "1000", "--idle",
                                       "--duration", "12", "-o", out])
        stacks, ticks, secs, hz, late = pyflare_summary(err)
    finally:
        stop(target)
    print("crowd: 10 000 parked threads, --idle: %.1f samples/s (of 1000 requested), %.0f us of CPU per sample "
          "(%.2f us per thread)" % (hz, cpu / ticks * 1e6, cpu / ticks * 1e6 / 10000))


def main():
    py = require("3.12")
    if not py:
        return
    with tempfile.TemporaryDirectory() as tmp:
        churn(py, tmp)
        crowd(py, tmp)


if __name__ == "__main__":
    main()
