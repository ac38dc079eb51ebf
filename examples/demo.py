"""`make demo`: show pyflare on a running program.

Starts examples/busy_app.py as a child process, waits until it reports that
it is running, runs `build/pyflare dump --pid <child>` (every thread's stack,
once), then `build/pyflare record` for three seconds into busy_app.svg, an
interactive flame graph (the binary is found relative to the repository root;
the PYFLARE environment variable overrides it), then stops the child.
"""
from __future__ import print_function

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYFLARE = os.environ.get("PYFLARE") or os.path.join(ROOT, "build", "pyflare")
APP = os.path.join(ROOT, "examples", "busy_app.py")


def run_pyflare(args):
    """Run pyflare, echoing the command line; return its exit status."""
    cmd = [PYFLARE] + args
    print("$ " + " ".join(["build/pyflare"] + args))
    sys.stdout.flush()
    return subprocess.call(cmd)


def show_dump(pid):
    """Every thread of the running app, with its stack (innermost first)."""
    return run_pyflare(["dump", "--pid", str(pid)])


def show_record(pid):
    """Sample the app for a few seconds into a flame graph and a folded file."""
    svg = os.path.join(ROOT, "busy_app.svg")
    status = run_pyflare(["record", "--pid", str(pid), "--duration", "3", "--rate", "500", "--threads",
                          "-o", svg])
    if status == 0:
        print("\nOpen %s in a browser: an interactive flame graph of busy_app.py." % svg)
    return status


def main():
    if not os.access(PYFLARE, os.X_OK):
        print("demo: %s not found - run `make` first" % PYFLARE, file=sys.stderr)
        return 1
    app = subprocess.Popen([sys.executable, APP, "--max-seconds", "120"],
                           stdout=subprocess.PIPE, universal_newlines=True)
    try:
        if app.stdout.readline().strip() != "ready":
            print("demo: busy_app.py did not start", file=sys.stderr)
            return 1
        time.sleep(0.5)   # let the workers get into their stride
        print("busy_app.py is running as pid %d\n" % app.pid)
        status = show_dump(app.pid)
        status = show_record(app.pid) or status
        return status
    finally:
        app.kill()
        app.wait()


if __name__ == "__main__":
    sys.exit(main())
