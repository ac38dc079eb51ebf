"""Subprocess target for tests/record/run.py.

    python pool.py TRUTH_PATH

A multiprocessing.Pool(2) runs work_item 14 times; each call burns 0.4 s of
its worker's CPU and returns the worker's pid. TRUTH_PATH gets the parent's
pid and the workers' pids (JSON) before the pool is shut down.
"""
import json
import multiprocessing
import os
import sys
import time

try:
    cpu = time.process_time
except AttributeError:
    cpu = time.clock


def work_item(n):
    end = cpu() + 0.4
    x = 0
    while cpu() < end:
        x += 1
    return os.getpid()


def main():
    pool = multiprocessing.Pool(2)
    pids = pool.map(work_item, range(14), 1)
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"parent": os.getpid(), "workers": sorted(set(pids))}, f)
    os.rename(tmp, sys.argv[1])
    pool.close()
    pool.join()


if __name__ == "__main__":
    main()
