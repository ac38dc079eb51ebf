"""The tracer benchmark's inner half, run by each interpreter under test (see
tracer_overhead.py): times the workloads bare and under each profiler, the
modes interleaved round by round so drift hits all alike, and prints one JSON
object: {workload: {mode: [seconds per round]}, "calls": {...}}.

    PYTHONPATH=build/module/<tag> python bench/tracer_workload.py ROUNDS MODE...

Modes: base, cprofile, yappi, pyflare, and pyflare's bench knobs
pyflare-noop (callbacks return at once: the interpreter's dispatch cost),
pyflare-notimer (all bookkeeping, no clock reads), pyflare-mono
(clock_gettime instead of the TSC). Every profiler times builtins, with a
fresh profiler per round, except in cprofile-nobuiltins and
pyflare-nobuiltins (builtins=False for both). On a free-threaded build three
more workloads run fib(20) in 1, 4 and 8 threads at once (base and pyflare
only), timed by elapsed time (perf_counter), since what they measure is
threads waiting for each other, and by CPU time ("NAME cpu")."""
import json
import sys
import time

# CPU time, not elapsed: on a shared machine, time spent waiting for a CPU is
# noise that would swamp the differences measured here.
clock = time.process_time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def small(x):
    return x * 2 + 1


class Point(object):
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm1(self):
        return abs(self.x) + abs(self.y)


def words(i):
    s = "item-%d-%s" % (i, "abc" * (i % 4))
    return s.upper().replace("-", "_").split("_")


def mixed(n=3000):
    table = {}
    out = []
    for i in range(n):
        parts = words(i)
        key = "/".join(parts[:2])
        table[key] = table.get(key, 0) + small(i)
        out.append(len(parts))
        p = Point(i, -i)
        out.append(p.norm1())
        if i % 16 == 0:
            out.sort()
            del out[:8]
            isinstance(p, Point)
    text = ",".join(str(x) for x in out[:200])
    return sum(table.values()) + max(out) + len(text)


def fib_threads(n):
    """fib in n threads at once: truly in parallel on a free-threaded build,
    where a profiler that serialises its callbacks shows in the elapsed time."""
    import threading

    go = threading.Event()
    threads = [threading.Thread(target=lambda: (go.wait(), fib(20))) for _ in range(n)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()


WORKLOADS = {
    "fib": lambda: fib(23),
    "mixed": lambda: mixed(12000),
}
# Free-threaded builds only: with a GIL the threads take turns anyway.
FREE_THREADED = getattr(sys, "_is_gil_enabled", lambda: True)() is False
if FREE_THREADED:
    WORKLOADS["fib-1thread"] = lambda: fib_threads(1)
    WORKLOADS["fib-4threads"] = lambda: fib_threads(4)
    WORKLOADS["fib-8threads"] = lambda: fib_threads(8)


def run_once(mode, work, clock):
    if mode == "base":
        t0 = clock()
        work()
        return clock() - t0
    if mode in ("cprofile", "cprofile-nobuiltins"):
        import cProfile

        prof = cProfile.Profile(builtins=mode == "cprofile")
        t0 = clock()
        prof.enable()
        work()
        prof.disable()
        return clock() - t0
    if mode == "yappi":
        import yappi

        yappi.clear_stats()
        yappi.set_clock_type("wall")
        t0 = clock()
        yappi.start(builtins=True)
        work()
        yappi.stop()
        return clock() - t0
    import pyflare

    knob = mode[len("pyflare-"):] if mode.startswith("pyflare-") else ""
    if knob == "nobuiltins":
        prof = pyflare.Profile(builtins=False)
    else:
        prof = pyflare.Profile(builtins=True, _bench=knob)
    t0 = clock()
    prof.enable()
    work()
    prof.disable()
    return clock() - t0


def call_counts(work):
    """Python and builtin calls the workload makes (pyflare's exact counts)."""
    import pyflare

    prof = pyflare.Profile(builtins=True)
    prof.enable()
    work()
    prof.disable()
    py = nat = 0
    for v in prof.stats().values():
        if v["builtin"]:
            nat += v["calls"]
        else:
            py += v["calls"]
    return {"python": py, "builtin": nat}


def main():
    rounds = int(sys.argv[1])
    modes = sys.argv[2:]
    result = {"calls": {}}
    for name, work in sorted(WORKLOADS.items()):
        for _ in range(2):  # warm up caches, the allocator and the specializer
            work()
        # Threads in parallel: the elapsed time (CPU time would not show a
        # profiler making them wait for each other), and the CPU time beside
        # it, since on a small shared machine the elapsed time is mostly the
        # scheduler's. Only pyflare: cProfile on 3.13t, after threads ran in
        # parallel, takes minutes to free itself.
        parallel = "thread" in name
        here = [m for m in modes if m in ("base", "pyflare")] if parallel else modes
        times = dict((m, []) for m in here)
        cpu = dict((m, []) for m in here)
        for _ in range(rounds):
            for m in here:
                c0 = time.process_time()
                times[m].append(run_once(m, work, time.perf_counter if parallel else clock))
                cpu[m].append(time.process_time() - c0)
        result[name] = times
        if parallel:
            result[name + " cpu"] = cpu
        if any(m.startswith("pyflare") for m in modes):
            result["calls"][name] = call_counts(work)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
