"""A target for bench/churn.py (argv: LIVE COUNT_PATH [parked]).

Keeps LIVE threads alive while they come and go: each sleeps 20-60 ms, adds
up a few thousand numbers and ends, and the main thread starts another in
its place, so thousands of threads are met every few seconds. How many have
been started so far is written to COUNT_PATH every 0.2 s. With "parked",
LIVE threads are started once and sleep for ever (no churn)."""
import os
import random
import sys
import threading
import time

LIVE, COUNT_PATH = int(sys.argv[1]), sys.argv[2]
PARKED = len(sys.argv) > 3 and sys.argv[3] == "parked"


def short_life():
    time.sleep(random.uniform(0.02, 0.06))
    x = 0
    for i in range(3000):
        x += i


def parked():
    while True:
        time.sleep(3600)


def write_count(n):
    with open(COUNT_PATH + ".tmp", "w") as f:
        f.write("%d\n" % n)
    os.rename(COUNT_PATH + ".tmp", COUNT_PATH)


def main():
    threading.stack_size(128 * 1024)
    started, next_write = 0, 0.0
    live = []
    while True:
        live = [t for t in live if t.is_alive()]
        while len(live) < LIVE:
            t = threading.Thread(target=parked if PARKED else short_life)
            t.daemon = True
            t.start()
            live.append(t)
            started += 1
        if time.time() >= next_write:
            write_count(started)
            next_write = time.time() + 0.2
        time.sleep(0.005 if not PARKED else 0.2)


main()
