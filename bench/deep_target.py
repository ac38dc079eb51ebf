"""A target for the sampling benchmarks: THREADS threads, each spinning at
stack depth DEPTH (argv: depth threads [distinct]). With "distinct" every
level is its own function (a realistic stack of many code objects) instead
of one recursive function. Compatible with 2.7 and 3.x."""
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


DISTINCT = len(sys.argv) > 3 and sys.argv[3] == "distinct"
if DISTINCT:
    # level_k calls level_{k-1}; level_0 spins: DEPTH - 4 distinct code objects
    source = ["def level_0():\n    spin()\n"]
    for k in range(1, DEPTH - 4):
        source.append("def level_%d():\n    level_%d()\n" % (k, k - 1))
    exec("".join(source))


def start():
    # the thread's own frames (bootstrap) count toward the depth
    if DISTINCT:
        globals()["level_%d" % (DEPTH - 5)]()
    else:
        descend(DEPTH - 4)


for _ in range(THREADS - 1):
    t = threading.Thread(target=start)
    t.daemon = True
    t.start()
start()
