"""A CPU-bound workload of fixed size for the slowdown benchmark: prints its
own wall time (seconds) when done. argv[1]: work units."""
import sys
import time


def leaf(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def middle(n, depth):
    if depth == 0:
        return leaf(n)
    return middle(n, depth - 1)


def main():
    units = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()  # the benchmark attaches, then says go
    t0 = time.perf_counter()
    for _ in range(units):
        middle(20000, 30)
    sys.stdout.write("%.6f\n" % (time.perf_counter() - t0))


main()
