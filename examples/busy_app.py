"""A small, realistic multi-threaded program for pyflare to look at (runs on
Python 2.7 and 3.6+).

  python examples/busy_app.py [--max-seconds N]

The main thread runs a dispatch loop that hands jobs to a pool of worker
threads and collects their results; the workers do real CPU work (counting
primes, hashing); a "metrics" thread wakes up now and then to report and
spends most of its life asleep. Once everything is running the program prints
"ready" on stdout. It exits by itself after --max-seconds (default 300) so a
forgotten demo does not run forever.
"""
from __future__ import print_function

import hashlib
import sys
import threading
import time

try:
    import queue
except ImportError:       # Python 2
    import Queue as queue

WORKERS = 3


def is_prime(n):
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True


def count_primes(lo, hi):
    return sum(1 for n in range(lo, hi) if is_prime(n))


def hash_chain(seed, rounds):
    digest = seed.encode("ascii")
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest[:4]


def worker(jobs, results):
    """Take (kind, args) jobs until a None arrives; post (kind, result)."""
    while True:
        job = jobs.get()
        if job is None:
            return
        kind, args = job
        if kind == "primes":
            results.put((kind, count_primes(*args)))
        else:
            results.put((kind, hash_chain(*args)))


class Metrics(object):
    """Counters shared by the dispatcher and the reporter thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.done = 0

    def add(self, n):
        with self.lock:
            self.done += n

    def report_forever(self, stop):
        while not stop.is_set():
            stop.wait(5.0)    # mostly asleep
            with self.lock:
                done = self.done
            print("metrics: %d jobs done" % done, file=sys.stderr)


def dispatch(jobs, results, metrics, deadline):
    """The main loop: keep the pool busy and tally results."""
    batch = 0
    while time.time() < deadline:
        batch += 1
        for i in range(WORKERS * 2):
            if i % 2:
                jobs.put(("primes", (batch * 1000, batch * 1000 + 20000)))
            else:
                jobs.put(("hash", ("job-%d-%d" % (batch, i), 20000)))
        for _ in range(WORKERS * 2):
            results.get()
        metrics.add(WORKERS * 2)


def main():
    max_seconds = 300.0
    if "--max-seconds" in sys.argv:
        max_seconds = float(sys.argv[sys.argv.index("--max-seconds") + 1])
    jobs, results = queue.Queue(), queue.Queue()
    metrics, stop = Metrics(), threading.Event()

    pool = [threading.Thread(target=worker, args=(jobs, results), name="worker-%d" % (i + 1))
            for i in range(WORKERS)]
    reporter = threading.Thread(target=metrics.report_forever, args=(stop,), name="metrics")
    for t in pool + [reporter]:
        t.daemon = True
        t.start()

    print("ready")
    sys.stdout.flush()
    dispatch(jobs, results, metrics, time.time() + max_seconds)
    stop.set()


if __name__ == "__main__":
    main()
