"""Target for tests/top/run.py: a known CPU split on two threads.

    python target.py LIFETIME [single]

The main thread loops f1, f2, f5, burning 10, 20 and 50 ms of its clock each
(inline busy loops: each is the innermost frame while it burns), so their own
CPU shares are 1:2:5 of the main thread's. A thread named "worker" burns in
other() 10 ms then sleeps 30 ms, and one named "sleeper" only waits, as a service's
idle pool threads do (neither with "single": then the main thread is the only one,
and holds the GIL whenever it runs). Exits after LIFETIME seconds (0: never).
"""
import sys
import threading
import time

clock = time.thread_time if hasattr(time, "thread_time") else time.process_time
LIFETIME = float(sys.argv[1]) if len(sys.argv) > 1 else 0



def f1():
    end = clock() + 0.010
    while clock() < end:
        pass


def f2():
    end = clock() + 0.020
    while clock() < end:
        pass


def f5():
    end = clock() + 0.050
    while clock() < end:
        pass


def other():
    end = clock() + 0.010
    while clock() < end:
        pass


def worker():
    while True:
        other()
        time.sleep(0.030)


def sleeper():
    threading.Event().wait()


def main():
    if sys.argv[2:] != ["single"]:
        threading.Thread(target=worker, name="worker", daemon=True).start()
        threading.Thread(target=sleeper, name="sleeper", daemon=True).start()
    start = time.time()
    while LIFETIME <= 0 or time.time() - start < LIFETIME:
        f1()
        f2()
        f5()


main()
