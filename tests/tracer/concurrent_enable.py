# -*- coding: utf-8 -*-
"""Threads racing enable()/disable() on one Profile (issue 9, item 6): run.py
starts this once per interpreter, as its own process, since the defect it
guards against killed the interpreter (a heap-use-after-free when two
threads were inside disable() at once).

    python concurrent_enable.py [THREADS ROUNDS]

Prints "PASS concurrent-enable-disable" or "FAIL ...: reason"; a crash is
seen by run.py as the exit status. After the race the profile must still
work: no thread keeps a profile hook, it is disabled, and a clean run gives
exact call counts. Python 2.7 and 3.x syntax.
"""
from __future__ import print_function

import sys
import threading

import pyflare

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 8
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 2000


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


IMPORTED = """
import sys
prof = sys.modules["__main__"].SHARED[0]
for _ in range(200):
    prof.enable()
    prof.disable()
"""
SHARED = []


def import_while_switching(prof):
    import os
    import tempfile
    d = tempfile.mkdtemp()
    stop = []

    def hammer():
        while not stop:
            prof.enable()
            prof.disable()

    try:
        for i in range(20):
            with open(os.path.join(d, "enabling_%d.py" % i), "w") as f:
                f.write(IMPORTED)
        sys.path.insert(0, d)
        SHARED[:] = [prof]
        t = threading.Thread(target=hammer)
        t.daemon = True
        t.start()
        importer = threading.Thread(target=lambda: [__import__("enabling_%d" % i) for i in range(20)])
        importer.daemon = True
        importer.start()
        importer.join(60)
        stop.append(1)
        t.join(60)
        if importer.is_alive() or t.is_alive():
            return "a thread importing a module that enables the profile deadlocked against enable()/disable()"
        return None
    finally:
        sys.path.remove(d)
        for name in os.listdir(d):
            os.unlink(os.path.join(d, name))
        os.rmdir(d)


def main():
    # Switch threads as often as the interpreter allows, so that a thread is
    # often taken off the GIL inside enable()/disable().
    if hasattr(sys, "setswitchinterval"):
        sys.setswitchinterval(1e-6)
    else:
        sys.setcheckinterval(1)
    prof = pyflare.Profile()
    errors = []
    start = threading.Event()

    def hammer():
        start.wait()
        try:
            for i in range(ROUNDS):
                prof.enable()
                fib(3)
                prof.disable()
        except Exception as e:
            errors.append(repr(e))

    # Two threads inside disable() at once released the profile twice (and a
    # crash followed, or not): its reference count tells, every time.
    refs = sys.getrefcount(prof)
    threads = [threading.Thread(target=hammer) for _ in range(THREADS)]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join()
    if errors:
        return "enable()/disable() raised: %s" % errors[0]
    if sys.getrefcount(prof) != refs:
        return "the profile's reference count went from %d to %d" % (refs, sys.getrefcount(prof))
    if prof.enabled:
        return "still enabled after every thread disabled it"
    # (A thread's own sys.getprofile() at its end would hold the profile while
    # others still run: only this thread's hook and threading's are checked.)
    left = [h for h in (sys.getprofile(), getattr(threading, "_profile_hook", None)) if h is not None]
    if left:
        return "profile hooks left behind: %r" % left
    # A module whose import enables the profile, imported while another
    # thread enables and disables it: the importer holds import locks (2.7: the
    # global one) while it waits for enable(), so enable() must not import.
    problem = import_while_switching(prof)
    if problem:
        return problem
    prof.clear()
    prof.enable()
    fib(10)
    prof.disable()
    calls = [v["calls"] for k, v in prof.stats().items() if k[2].endswith("fib")]
    if calls != [177]:
        return "after the race, fib(10) counted %r calls, expected [177]" % calls
    return None


if __name__ == "__main__":
    problem = main()
    print("FAIL concurrent-enable-disable: %s" % problem if problem else "PASS concurrent-enable-disable")
