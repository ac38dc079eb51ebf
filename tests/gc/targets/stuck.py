"""A target stuck inside a garbage collection, for tests/gc/run.py (2.7, 3.x).

    python stuck.py DIR

First it waits in outside() (sleeping, not collecting) having written
DIR/ready1, until DIR/go exists. Then it makes a reference cycle whose object
a weak reference watches, and calls gc.collect(): the collector calls the
weak reference's callback, on_collected(), which writes DIR/ready2 and sleeps
(the GIL released) until DIR/stop exists, so the process stays inside the
collection while the runner reads it. (A weakref callback, not __del__: 2.7
never finalizes cycles with __del__.) At most 60 s per wait.
"""
import gc
import os
import sys
import time
import weakref

DIR = sys.argv[1]


def touch(name):
    with open(os.path.join(DIR, name), "w") as f:
        f.write("1")


def wait_for(name):
    deadline = time.time() + 60
    while not os.path.exists(os.path.join(DIR, name)) and time.time() < deadline:
        time.sleep(0.01)


def outside():
    touch("ready1")
    wait_for("go")


def on_collected(ref):
    touch("ready2")
    wait_for("stop")


class Node(object):
    pass


def trigger():
    a, b = Node(), Node()
    a.other, b.other = b, a
    watch = weakref.ref(a, on_collected)
    del a, b
    gc.collect()
    return watch


def main():
    gc.disable()  # only the collection asked for below
    outside()
    trigger()


main()
