"""Integration target "basic": a main thread, two named sleeping workers and
a spinning thread (runs on Python 2.7 and 3.6+).

  python basic.py TRUTH_PATH [HEARTBEAT_PATH]

"worker-1" sleeps two calls deep, "worker-2" sleeps in common.park_forever(),
"spinner" loops forever on spin-marked lines. If HEARTBEAT_PATH (a file of at
least 8 bytes) is given, the spinner stores its iteration count there as a
little-endian uint64 through a shared mapping, so the runner can see that the
process keeps making progress after a --blocking dump. See common.py for the
truth protocol.
"""
import mmap
import struct
import time

import common


def wait_for_request():
    while True:
        time.sleep(3600)  # park


def serve_requests():
    wait_for_request()


def flush_loop():
    common.park_forever()


def spin(counter):
    n = 0
    while True:  # spin
        n += 1; counter[0:8] = struct.pack("<Q", n)  # spin


def main(argv):
    if len(argv) > 2:
        with open(argv[2], "r+b") as f:
            counter = mmap.mmap(f.fileno(), 8)
    else:
        counter = bytearray(8)
    threads = [
        common.start_thread("worker-1", serve_requests),
        common.start_thread("worker-2", flush_loop),
        common.start_thread("spinner", spin, counter),
    ]
    common.report_and_park(argv[1], threads)


if __name__ == "__main__":
    common.run(main)
