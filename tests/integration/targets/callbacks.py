"""Integration target "callbacks": threads parked in Python functions called
back from C code (runs on Python 2.7 and 3.6+): the key= function of
sorted(), the function given to map(), and a __hash__ method called by dict
insertion. The C function itself has no Python frame, so the stack goes
straight from the callback to the Python caller. See common.py for the truth
protocol.
"""
import time

import common


def by_length(word):
    while True:
        time.sleep(3600)  # park


def sort_words():
    return sorted(["pear", "fig", "banana"], key=by_length)


def transform(x):
    while True:
        time.sleep(3600)  # park


def apply_map():
    return list(map(transform, [1, 2, 3]))


class Key(object):
    def __hash__(self):
        while True:
            time.sleep(3600)  # park


def build_index():
    return {Key(): 1}


def main(argv):
    threads = [
        common.start_thread("sorted-key", sort_words),
        common.start_thread("map", apply_map),
        common.start_thread("hash", build_index),
    ]
    common.report_and_park(argv[1], threads)


if __name__ == "__main__":
    common.run(main)
