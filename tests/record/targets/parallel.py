"""Parallel-threads target for tests/record/run.py (free-threaded 3.13t).

    python parallel.py TRUTH_PATH READY_PATH

Four threads burn at the same time, each in its own function, for a known
part of the time: "a" runs burn_a() without pause; "b", "c" and "d" alternate
their burn (30, 20, 10 ms) with rest() (a 10, 20, 30 ms sleep), so of the time
they are recorded they burn 100, 75, 50 and 25 % of it. Each burn spins on the
clock, inline, and every call is logged as [function, start, end, cpu]: start
and end in time.time() seconds, cpu the thread's own CPU seconds in the call
(on a machine with fewer free cores than burning threads, a burn gets less CPU
than its wall time), so the runner takes the truth over exactly the window it
recorded. The target also logs its own CPU time (process_time) every 100 ms,
to set beside the profile's. The main thread sleeps in park(). READY_PATH is
written once every thread has burnt once; TRUTH_PATH (JSON, atomically) on
SIGTERM.
"""
import json
import os
import signal
import sys
import threading
import time

TRUTH, READY = sys.argv[1], sys.argv[2]
# thread name: (burn ms, rest ms)
DUTY = {"a": (20, 0), "b": (30, 10), "c": (20, 20), "d": (10, 30)}
calls = dict((name, []) for name in DUTY)
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


def burn_a():  # the loop is inline: burn_a is the innermost frame while it burns
    t0, c0 = time.time(), time.thread_time()
    end = time.monotonic() + DUTY["a"][0] / 1000.0
    while time.monotonic() < end:
        pass
    calls["a"].append(("burn_a", t0, time.time(), time.thread_time() - c0))


def burn_b():  # the loop is inline: burn_b is the innermost frame while it burns
    t0, c0 = time.time(), time.thread_time()
    end = time.monotonic() + DUTY["b"][0] / 1000.0
    while time.monotonic() < end:
        pass
    calls["b"].append(("burn_b", t0, time.time(), time.thread_time() - c0))


def burn_c():  # the loop is inline: burn_c is the innermost frame while it burns
    t0, c0 = time.time(), time.thread_time()
    end = time.monotonic() + DUTY["c"][0] / 1000.0
    while time.monotonic() < end:
        pass
    calls["c"].append(("burn_c", t0, time.time(), time.thread_time() - c0))


def burn_d():  # the loop is inline: burn_d is the innermost frame while it burns
    t0, c0 = time.time(), time.thread_time()
    end = time.monotonic() + DUTY["d"][0] / 1000.0
    while time.monotonic() < end:
        pass
    calls["d"].append(("burn_d", t0, time.time(), time.thread_time() - c0))


def rest(name):
    t0 = time.time()
    time.sleep(DUTY[name][1] / 1000.0)
    calls[name].append(("rest", t0, time.time(), 0.0))


def worker(name, burn):
    while True:
        burn()
        if DUTY[name][1]:
            rest(name)


def park():
    while True:
        cpu_marks.append((time.time(), time.process_time()))
        time.sleep(0.1)


def main():
    signal.signal(signal.SIGTERM, on_term)
    for name, burn in (("a", burn_a), ("b", burn_b), ("c", burn_c), ("d", burn_d)):
        threading.Thread(target=worker, args=(name, burn), name=name, daemon=True).start()
    while not all(calls.values()):
        time.sleep(0.01)
    write_json(READY, {"pid": os.getpid(), "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)()})
    park()


main()
