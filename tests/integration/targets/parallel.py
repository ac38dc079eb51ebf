"""Integration target "parallel": four threads spinning at once, each in its
own function, on a free-threaded build running without its GIL (3.13t).

  python parallel.py TRUTH_PATH

With no GIL all four run Python truly in parallel, so a dump must show each
one active, on its own spin line, and none holding a GIL. On a build with a
GIL the scenario does not apply (three of them would be waiting for it): it
reports a skip. See common.py for the truth protocol.
"""
import sys

import common


def spin_alpha():
    n = 0
    while True:  # spin
        n += 1  # spin


def spin_beta():
    s = 0
    while True:  # spin
        s = (s + 3) % 1000  # spin


def spin_gamma():
    xs = []
    while True:  # spin
        xs.append(1); xs.pop()  # spin


def spin_delta():
    d = {}
    while True:  # spin
        d["k"] = d.get("k", 0) + 1  # spin


def main(argv):
    if getattr(sys, "_is_gil_enabled", lambda: True)():
        common.skip("needs a free-threaded build running without its GIL")
    threads = [common.start_thread(f.__name__.replace("_", "-"), f)
               for f in (spin_alpha, spin_beta, spin_gamma, spin_delta)]
    common.report_and_park(argv[1], threads)


if __name__ == "__main__":
    common.run(main)
