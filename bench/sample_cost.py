#!/usr/bin/env python3
"""Profiler CPU per sample: pyflare (and austin, where Debian's old release can
read the interpreter) sampling a target that spins at a known stack depth.

    python3 bench/sample_cost.py [SECONDS]

For each interpreter (3.8, 3.12, 3.13, free-threaded 3.13t) and shape (depth 10, 100, 1000; 8 threads at
depth 50) it attaches to bench/deep_target.py and samples as fast as it can
(pyflare: --rate 1000000, so the clock never sleeps; austin: -i 1). CPU time
comes from the change in RUSAGE_CHILDREN (user + system), divided by the number of samples
the profiler reports (pyflare: clock ticks, each walking every thread;
austin 1.0: one output line per thread sample, so its figure is divided by the
thread count to compare per tick). Figures only: nothing is asserted.

MODES=plain,blocking,native adds a column per pyflare mode: --blocking (each
sample pauses the process) and --native (pauses it, and unwinds and names
every sampled thread's native stack too)."""
import os
import sys
import tempfile

from common import PYFLARE, ROOT, pyflare_summary, python, run_timed, start, stop, table

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
SHAPES = [(10, 1), (100, 1), (1000, 1), (50, 8)]
# 3.13 beside 3.13t (free-threaded: no GIL holder, so every thread's run state
# is read from /proc); VERSIONS=3.13,3.13t python3 bench/sample_cost.py for just those.
VERSIONS = os.environ.get("VERSIONS", "3.8,3.12,3.13,3.13t").split(",")
TARGET = os.path.join(ROOT, "bench", "deep_target.py")
MODES = [m for m in os.environ.get("MODES", "plain").split(",") if m != "plain"]
MODE_FLAGS = {"plain": [], "blocking": ["--blocking"], "native": ["--native"]}


def pyflare_cost(pid, out_dir, mode="plain"):
    out = os.path.join(out_dir, "cost.folded")
    cpu, _, err, _, _ = run_timed([PYFLARE, "record", "--pid", str(pid), "--rate", "1000000",
                                   "--duration", str(SECONDS), "-o", out] + MODE_FLAGS[mode])
    stacks, ticks, secs, hz, late = pyflare_summary(err)
    return cpu / ticks * 1e6, ticks / secs


def austin_cost(pid, threads):
    cpu, out, err, wall, rc = run_timed(["austin", "-i", "1", "-p", str(pid)], seconds=SECONDS)
    lines = sum(1 for l in out.splitlines() if l and not l.startswith("#"))
    if lines == 0:
        return None, None
    ticks = lines / float(threads)
    return cpu / ticks * 1e6, ticks / wall


def main():
    have_austin = os.system("command -v austin >/dev/null") == 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for version in VERSIONS:
            py = python(version)
            if not py:
                print("SKIP %s: not installed" % version)
                continue
            for depth, threads in SHAPES:
                target = start([py, TARGET, str(depth), str(threads)])
                try:
                    us, rate = pyflare_cost(target.pid, tmp)
                    row = [version, depth, threads, "%.2f" % us, "%.0f" % rate]
                    for mode in MODES:
                        m_us, m_rate = pyflare_cost(target.pid, tmp, mode)
                        row += ["%.1f" % m_us, "%.0f" % m_rate]
                    if have_austin:
                        a_us, a_rate = austin_cost(target.pid, threads)
                        row += ["%.1f" % a_us if a_us else "cannot read", "%.1fx" % (a_us / us) if a_us else "-"]
                    rows.append(row)
                finally:
                    stop(target)
    headers = ["python", "depth", "threads", "pyflare us/sample (CPU)", "pyflare max Hz"]
    for mode in MODES:
        headers += ["--%s us/sample" % mode, "--%s max Hz" % mode]
    if have_austin:
        headers += ["austin 1.0.1 us/sample", "austin/pyflare"]
    table(rows, headers)


if __name__ == "__main__":
    main()
