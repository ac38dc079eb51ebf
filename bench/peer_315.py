#!/usr/bin/env python3
"""pyflare beside CPython 3.15's own sampler (python3.15 -m profiling.sampling
attach), on the same target in the same run: CPU per sample and the highest
rate each sustains, at stack depth 10 and 100.

    python3 bench/peer_315.py [SECONDS]

The target is bench/deep_target.py under the Debian sid root's python3.15
(tools/setup-debian.sh), run as `chroot ROOT python3.15 ...`; CPython's
sampler runs there too, against the same pid. For each depth:
  at 1 kHz   both sample for SECONDS; CPU (RUSAGE_CHILDREN, user + system,
             start-up included: what a user pays for one recording) divided by
             the samples each reports taking;
  top rate   both are asked for far more than they can do (pyflare --rate
             1000000, CPython -r 1000000); the rate each achieves and its CPU
             per sample there.
Figures and ratios only: nothing is asserted (the machine is shared)."""
import os
import re
import shutil
import subprocess
import sys
import time

from common import PYFLARE, ROOT, pyflare_summary, run_timed, stop, table

sys.path.insert(0, os.path.join(ROOT, "tests"))
import sid_root  # noqa: E402

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3  # CPython's -d takes whole seconds
DEPTHS = [10, 100]
PEER = re.compile(r"Captured (\d+) samples in ([\d.]+) seconds")


def pyflare_run(pid, rate, out):
    cpu, _, err, _, rc = run_timed([PYFLARE, "record", "--pid", str(pid), "--rate", str(rate),
                                    "--duration", str(SECONDS), "-f", "folded", "-o", out])
    stacks, ticks, secs, hz, late = pyflare_summary(err)
    return cpu / ticks * 1e6, ticks / secs


def peer_run(python, pid, rate, out):
    cpu, stdout, err, _, rc = run_timed([python, "-m", "profiling.sampling", "attach", "-r", str(rate),
                                         "-d", str(SECONDS), "--collapsed", "-o", out, str(pid)])
    m = PEER.search(stdout + err)
    if not m:
        raise RuntimeError("no summary from CPython's sampler (status %d):\n%s%s" % (rc, stdout, err))
    samples, secs = int(m.group(1)), float(m.group(2))
    return cpu / samples * 1e6, samples / secs


def main():
    found, missing = sid_root.interpreters("bench")
    if "3.15" not in found:
        print("SKIP 3.15: %s" % missing.get("3.15", "not installed"))
        return
    python = found["3.15"]
    work = sid_root.mkdtemp("bench", "peer-")
    target_script = os.path.join(work, "deep_target.py")
    shutil.copy(os.path.join(ROOT, "bench", "deep_target.py"), target_script)
    rows = []
    try:
        for depth in DEPTHS:
            target = subprocess.Popen([python, target_script, str(depth), "1"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                time.sleep(1.0)
                out = os.path.join(work, "out.txt")
                ours_us, ours_hz = pyflare_run(target.pid, 1000, out)
                peer_us, peer_hz = peer_run(python, target.pid, 1000, out)
                rows.append([depth, "1 kHz", "%.1f" % ours_us, "%.1f" % peer_us, "%.1fx" % (peer_us / ours_us),
                             "%.0f" % ours_hz, "%.0f" % peer_hz, "-"])
                ours_us, ours_hz = pyflare_run(target.pid, 1000000, out)
                peer_us, peer_hz = peer_run(python, target.pid, 1000000, out)
                rows.append([depth, "top", "%.2f" % ours_us, "%.2f" % peer_us, "%.1fx" % (peer_us / ours_us),
                             "%.0f" % ours_hz, "%.0f" % peer_hz, "%.1fx" % (ours_hz / peer_hz)])
            finally:
                stop(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table(rows, ["depth", "rate", "pyflare us/sample (CPU)", "CPython us/sample (CPU)", "CPython/pyflare",
                 "pyflare Hz", "CPython Hz", "pyflare/CPython Hz"])


if __name__ == "__main__":
    main()
