#!/usr/bin/env python3
"""The sampling clock's cost: pyflare beside the floor, in the same run.

    python3 bench/clock.py [SECONDS]

floor    an empty loop that sleeps to absolute deadlines (clock_nanosleep
         TIMER_ABSTIME on CLOCK_MONOTONIC, 1 ns timer slack, as pyflare does),
         built here with cc: what any sampler pays to wake up RATE times a
         second and do nothing;
pyflare  `pyflare record --pid` against bench/deep_target.py (one thread
         spinning at depth 100, CPython 3.12), default mode.
At 1 kHz and 5 kHz, each for SECONDS (default 5): CPU per tick (user +
system, RUSAGE_CHILDREN, divided by the ticks each made), pyflare's excess
over the floor, and the rate pyflare achieved (its own count of samples over
its own elapsed time) with its late count. Figures only: nothing is asserted."""
import os
import sys
import tempfile

from common import PYFLARE, ROOT, build_c, pyflare_summary, require, run_timed, start, stop, table

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
RATES = [1000, 5000]

FLOOR_C = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
int main(int argc, char **argv) {
    double rate = atof(argv[1]), seconds = atof(argv[2]);
    unsigned long long period = (unsigned long long)(1e9 / rate), ticks = 0;
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    unsigned long long next = (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec;
    unsigned long long end = next + (unsigned long long)(seconds * 1e9);
    while (next < end) {
        next += period;
        struct timespec until = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
        ticks++;
    }
    printf("%llu\n", ticks);
    return 0;
}
"""


def main():
    py = require("3.12")
    if not py:
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        floor = build_c(tmp, "floor", FLOOR_C)
        target = start([py, os.path.join(ROOT, "bench", "deep_target.py"), "100", "1"])
        try:
            for rate in RATES:
                cpu, out, _, _, _ = run_timed([floor, str(rate), str(SECONDS)])
                floor_us = cpu / int(out.strip()) * 1e6
                cpu, _, err, _, _ = run_timed([PYFLARE, "record", "--pid", str(target.pid), "--rate", str(rate),
                                               "--duration", str(SECONDS), "-o", os.path.join(tmp, "c.folded")])
                stacks, ticks, secs, hz, late = pyflare_summary(err)
                us = cpu / ticks * 1e6
                rows.append(["%d Hz" % rate, "%.1f" % floor_us, "%.1f" % us, "%+.1f" % (us - floor_us),
                             "%.1f" % hz, "%+.2f%%" % (100.0 * (hz - rate) / rate), late])
        finally:
            stop(target)
    table(rows, ["rate", "floor us/tick (CPU)", "pyflare us/sample (CPU)", "pyflare - floor", "achieved Hz",
                 "rate error", "late"])


if __name__ == "__main__":
    main()
