"""Parallel-threads target for tests/record/run.py (free-threaded 3.13t).

    python parallel.py TRUTH_PATH READY_PATH

Two threads burn at the same time: "left" runs burn_left() without pause,
"right" alternates burn_right() (20 ms) and rest() (a 20 ms sleep), so of
the time they are recorded left spends all of it in burn_left and right half
of it in burn_right. Each burn spins on the clock, inline, and every call is
logged as [function, start, end] in time.time() seconds, so the runner takes
the truth over exactly the window it recorded. The target also reports its
own CPU time (process_time) at the ends of its log, to set beside the
profile's. The main thread sleeps in park(). READY_PATH is written once both
threads have burnt once; TRUTH_PATH (JSON, atomically) on SIGTERM.
"""
import json
import os
import signal
import sys
import threading
import time

TRUTH, READY = sys.argv[1], sys.argv[2]
calls = {"left": [], "right": []}
cpu_marks = []   # [time.time(), process_time()] every 100 ms, from the main thread


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.rename(tmp, path)


def on_term(signum, frame):
    write_json(TRUTH, {"pid": os.getpid(), "calls": calls, "cpu": cpu_marks,
                       "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)()})
    os._exit(0)


def burn_left():
    t0 = time.time()
    end = time.monotonic() + 0.020
    while time.monotonic() < end:
        pass
    calls["left"].append(("burn_left", t0, time.time()))


def burn_right():
    t0 = time.time()
    end = time.monotonic() + 0.020
    while time.monotonic() < end:
        pass
    calls["right"].append(("burn_right", t0, time.time()))


def rest():
    t0 = time.time()
    time.sleep(0.020)
    calls["right"].append(("rest", t0, time.time()))


def left():
    while True:
        burn_left()


def right():
    while True:
        burn_right()
        rest()


def park():
    while True:
        cpu_marks.append((time.time(), time.process_time()))
        time.sleep(0.1)


def main():
    signal.signal(signal.SIGTERM, on_term)
    for name, func in (("left", left), ("right", right)):
        threading.Thread(target=func, name=name, daemon=True).start()
    while not (calls["left"] and calls["right"]):
        time.sleep(0.01)
    write_json(READY, {"pid": os.getpid(), "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)()})
    park()


main()
