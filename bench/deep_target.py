"""A target for the sampling benchmarks: THREADS threads, each spinning at
stack depth DEPTH (argv: depth threads). Compatible with 2.7 and 3.x."""
import sys
import threading

DEPTH = int(sys.argv[1]) if len(sys.argv) > 1 else 100
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 1
sys.setrecursionlimit(DEPTH + 1000)


def spin():
    x = 0
    while True:
        x += 1


def descend(n):
    if n <= 0:
        spin()
    else:
        descend(n - 1)


def start():
    # the thread's own frames (bootstrap) count toward the depth
    descend(DEPTH - 4)


for _ in range(THREADS - 1):
    t = threading.Thread(target=start)
    t.daemon = True
    t.start()
start()
