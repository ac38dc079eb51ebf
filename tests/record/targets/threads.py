"""Threads target for tests/record/run.py (Python 2.7 and 3.x).

    python threads.py READY_PATH

Three daemon threads named alpha, beta and gamma spin in spin_alpha,
spin_beta and spin_gamma; the main thread sleeps in park() without ever
waking. READY_PATH is written once every spinner has gone round its loop.
The runner kills the target.
"""
import json
import os
import sys
import threading
import time

counts = {"alpha": 0, "beta": 0, "gamma": 0}


def spin_alpha():
    while True:
        counts["alpha"] += 1


def spin_beta():
    while True:
        counts["beta"] += 1


def spin_gamma():
    while True:
        counts["gamma"] += 1


def park():
    while True:
        time.sleep(3600)


def main():
    for name, func in (("alpha", spin_alpha), ("beta", spin_beta), ("gamma", spin_gamma)):
        t = threading.Thread(target=func, name=name)
        t.daemon = True
        t.start()
    while not all(counts.values()):
        time.sleep(0.01)
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"pid": os.getpid(), "threads": sorted(t.name for t in threading.enumerate())}, f)
    os.rename(tmp, sys.argv[1])
    park()


main()
