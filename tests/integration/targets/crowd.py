"""Integration target "crowd": many threads at once (runs on Python 2.7 and 3.6+).

  python crowd.py TRUTH_PATH [HEARTBEAT_PATH]

Starts CROWD_THREADS threads (an environment variable, default 200), named
"crowd-0", "crowd-1", ..., each parked at a depth of 1 to 3 calls (i % 3), so
that a profiler must keep per-thread state for far more threads than the
handful of the other scenarios. The runner uses 200 on every interpreter and
10 000 on a few. See common.py for the truth protocol.
"""
import os
import threading

import common


def level1():
    common.park_forever()


def level2():
    level1()


def level3():
    level2()


DEPTHS = [level1, level2, level3]


def main(argv):
    count = int(os.environ.get("CROWD_THREADS", "200"))
    threading.stack_size(256 * 1024)  # 10 000 default-sized stacks would reserve 80 GB
    threads = [common.start_thread("crowd-%d" % i, DEPTHS[i % 3]) for i in range(count)]
    common.report_and_park(argv[1], threads, timeout=300)


if __name__ == "__main__":
    common.run(main)
