"""Recursive target for tests/record/run.py (Python 2.7 and 3.x).

    python recursive.py SECONDS

Computes fib() by plain recursion for SECONDS seconds, then exits 0. Before
3.11 every call makes a frame object, freed and reused from the free list
as the recursion unwinds and descends again, so the frame chain a sampler
reads changes under it all the time: the case where torn reads are common.
"""
import sys
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main():
    end = time.time() + float(sys.argv[1])
    while time.time() < end:
        fib(18)


main()
