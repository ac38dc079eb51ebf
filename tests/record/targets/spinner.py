"""Spinner target for tests/record/run.py (Python 2.7 and 3.x).

    python spinner.py READY_PATH LIFETIME

The main thread spins in spin_forever() (never sleeping) for LIFETIME seconds
(0: until killed), then exits with status 0. READY_PATH (unless "-") is
written once the loop runs.
"""
import json
import os
import sys
import time

wall = getattr(time, "monotonic", time.time)


def spin_forever(lifetime):
    start = wall()
    x = 0
    while lifetime <= 0 or wall() - start < lifetime:
        x += 1


def main():
    if sys.argv[1] != "-":
        tmp = sys.argv[1] + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"pid": os.getpid()}, f)
        os.rename(tmp, sys.argv[1])
    spin_forever(float(sys.argv[2]))


main()
