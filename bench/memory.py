#!/usr/bin/env python3
"""pyflare's memory after recording a steady workload for a long time.

    python3 bench/memory.py [SECONDS] [RATE]

Records examples/busy_app.py (several threads, a realistic mix of calls) at
RATE Hz (default 1000) for SECONDS (default 600) and reads pyflare's resident
set size (VmRSS, VmHWM) from /proc just before the recording ends. Figures only."""
import os
import signal
import subprocess
import sys
import tempfile
import time

from common import PYFLARE, ROOT, pyflare_summary, python

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 600
RATE = sys.argv[2] if len(sys.argv) > 2 else "1000"


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    py = python("3.12") or sys.executable
    app = subprocess.Popen([py, os.path.join(ROOT, "examples", "busy_app.py"), "--max-seconds", str(int(SECONDS) + 60)],
                           stdout=subprocess.DEVNULL)
    time.sleep(1)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "mem.html")
        prof = subprocess.Popen([PYFLARE, "record", "--pid", str(app.pid), "--rate", RATE, "--idle",
                                 "-o", os.path.join(tmp, "mem.folded")], stderr=subprocess.PIPE,
                                universal_newlines=True)
        time.sleep(SECONDS)
        rss, hwm = status_kb(prof.pid, "VmRSS"), status_kb(prof.pid, "VmHWM")
        prof.send_signal(signal.SIGINT)
        err = prof.communicate()[1]
        app.kill()
        app.wait()
        stacks, ticks, secs, hz, late = pyflare_summary(err)
        size = os.path.getsize(os.path.join(tmp, "mem.folded"))
    print("recorded %.0f s at %s Hz (--idle): %d stacks from %d samples, %.0f Hz achieved" % (secs, RATE, stacks, ticks, hz))
    print("pyflare RSS at the end: %.1f MB (peak %.1f MB); folded output %.1f KB" % (rss / 1024.0, hwm / 1024.0, size / 1024.0))


if __name__ == "__main__":
    main()
