"""Integration target "qualnames": threads parked in a method, a staticmethod,
a classmethod, a method of a nested class, a closure and a lambda (runs on
Python 2.7 and 3.6+). On 3.11+ pyflare must report qualified names
(Widget.render, outer.<locals>.inner, ...), before that plain co_name. See
common.py for the truth protocol.
"""
import time

import common


class Widget(object):
    def render(self):
        while True:
            time.sleep(3600)  # park

    @staticmethod
    def helper():
        while True:
            time.sleep(3600)  # park

    @classmethod
    def build(cls):
        while True:
            time.sleep(3600)  # park

    class Inner(object):
        def method(self):
            while True:
                time.sleep(3600)  # park


def outer():
    label = "closure"

    def inner():
        while label:
            time.sleep(3600)  # park
    return inner()


def make_lambda():
    return lambda: common.park_forever()


def main(argv):
    threads = [
        common.start_thread("method", Widget().render),
        common.start_thread("staticmethod", Widget.helper),
        common.start_thread("classmethod", Widget.build),
        common.start_thread("nested-class", Widget.Inner().method),
        common.start_thread("closure", outer),
        common.start_thread("lambda", make_lambda()),
    ]
    common.report_and_park(argv[1], threads)


if __name__ == "__main__":
    common.run(main)
