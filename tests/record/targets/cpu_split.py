"""CPU-split target for tests/record/run.py (Python 2.7 and 3.x).

    python cpu_split.py TRUTH_PATH READY_PATH LIFETIME EXIT_STATUS

The main thread loops: f1, f2 and f5 busy-loop for 10, 20 and 50 ms each
(spinning on the clock, inline, so each function is the innermost frame while
it burns and never blocks), then idle() sleeps 80 ms. The target measures its
own truth: the wall and CPU time spent in each function, the wall time spent
sleeping, the loop's total wall time, and every call as [function, start,
end, cpu] (start and end in time.time() seconds, cpu the process CPU seconds
the call used; so the runner can take the truth over exactly the window it
recorded). (On a loaded machine a busy thread is runnable longer than it
runs: its CPU split is what a CPU profile should show.) It writes READY_PATH (if not "-") once the loop runs, and
TRUTH_PATH (JSON, atomically) when LIFETIME seconds have passed (0: never) or
on SIGTERM, then exits with EXIT_STATUS; on SIGUSR1 it writes the truth so far
and runs on.
"""
import json
import os
import signal
import sys
import time

try:
    cpu = time.process_time
except AttributeError:      # 2.7: time.clock() is the process's CPU time on Linux
    cpu = time.clock
wall = getattr(time, "monotonic", time.time)

TRUTH, READY, LIFETIME, STATUS = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])

cpu_in = {"f1": 0.0, "f2": 0.0, "f5": 0.0}
wall_in = {"f1": 0.0, "f2": 0.0, "f5": 0.0, "idle": 0.0}
calls = []
state = {"rounds": 0, "start": None}


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.rename(tmp, path)


def finish(how):
    write_json(TRUTH, {"python": "%d.%d.%d" % sys.version_info[:3], "pid": os.getpid(),
                       "cpu": cpu_in, "wall": wall_in, "rounds": state["rounds"],
                       "loop_wall": wall() - state["start"], "calls": calls, "end": how})
    sys.stdout.flush()
    os._exit(STATUS)


def on_term(signum, frame):
    finish("sigterm")


def on_usr1(signum, frame):
    write_json(TRUTH, {"calls": list(calls), "end": "running"})


def f1():
    t0, c0, w0 = time.time(), cpu(), wall()
    end = w0 + 0.010
    while wall() < end:
        pass
    used = cpu() - c0
    cpu_in["f1"] += used
    wall_in["f1"] += wall() - w0
    calls.append(("f1", t0, time.time(), used))


def f2():
    t0, c0, w0 = time.time(), cpu(), wall()
    end = w0 + 0.020
    while wall() < end:
        pass
    used = cpu() - c0
    cpu_in["f2"] += used
    wall_in["f2"] += wall() - w0
    calls.append(("f2", t0, time.time(), used))


def f5():
    t0, c0, w0 = time.time(), cpu(), wall()
    end = w0 + 0.050
    while wall() < end:
        pass
    used = cpu() - c0
    cpu_in["f5"] += used
    wall_in["f5"] += wall() - w0
    calls.append(("f5", t0, time.time(), used))


def idle():
    t0, w0 = time.time(), wall()
    time.sleep(0.080)
    wall_in["idle"] += wall() - w0
    calls.append(("idle", t0, time.time(), 0.0))


def main():
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGUSR1, on_usr1)
    state["start"] = wall()
    if READY != "-":
        write_json(READY, {"pid": os.getpid()})
    while LIFETIME <= 0 or wall() - state["start"] < LIFETIME:
        f1()
        f2()
        f5()
        idle()
        state["rounds"] += 1
    finish("done")


main()
