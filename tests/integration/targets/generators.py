"""Integration target "generators": threads parked inside a generator being
iterated and inside a generator expression consumed by sum() (Python 2.7 and
3.6+), plus, on Python 3 only, inside a `yield from` delegate and inside a
coroutine driven by hand with send() (see _generators_py3.py). See common.py
for the truth protocol.
"""
import sys
import time

import common


def produce():
    yield 1
    while True:
        time.sleep(3600)  # park
    yield 2


def consume():
    total = 0
    for item in produce():
        total += item
    return total


def slow(x):
    while True:
        time.sleep(3600)  # park


def consume_genexpr():
    return sum(slow(x) for x in range(3))


def main(argv):
    threads = [
        common.start_thread("generator", consume),
        common.start_thread("genexpr", consume_genexpr),
    ]
    if sys.version_info[0] >= 3:
        import _generators_py3
        threads += [
            common.start_thread("yield-from", _generators_py3.drive_yield_from),
            common.start_thread("coroutine", _generators_py3.drive_coroutine),
        ]
    common.report_and_park(argv[1], threads)


if __name__ == "__main__":
    common.run(main)
