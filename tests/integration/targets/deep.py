"""Integration target "deep": very deep stacks (runs on Python 2.7 and 3.6+).

Thread "recurser" recurses DEPTH frames deep in descend() and parks at the
bottom; the main thread goes MAIN_DEPTH frames deep through the mutually
recursive ping()/pong() before reporting and parking. See common.py for the
truth protocol.
"""
import sys
import time

import common

DEPTH = 800
MAIN_DEPTH = 150


def descend(depth):
    if depth > 0:
        return descend(depth - 1) + 1
    while True:
        time.sleep(3600)  # park


def ping(n, argv, threads):
    if n > 0:
        return pong(n - 1, argv, threads)
    common.report_and_park(argv[1], threads)


def pong(n, argv, threads):
    return ping(n - 1, argv, threads)


def main(argv):
    sys.setrecursionlimit(20000)
    threads = [common.start_thread("recurser", descend, DEPTH)]
    ping(MAIN_DEPTH, argv, threads)


if __name__ == "__main__":
    common.run(main)
