"""Garbage-collection target for tests/gc/run.py (Python 2.7 and 3.x).

    python cycles.py TRUTH_PATH SECONDS MODE [READY_PATH]

MODE "collect": the main thread makes reference cycles in a loop over a large
live graph (so each collection has work to do) and asks for a full
collection every few rounds, besides the automatic ones. It measures the
process CPU time spent inside collections itself: with gc.callbacks (3.3+,
its "start" and "stop" calls bracket every collection, automatic or not), or
on 2.7, which has no callbacks, with the automatic collector disabled and
each explicit gc.collect() timed.
MODE "threads": the loop with the collector as it comes (automatic
collections only, no Python code run inside them), beside a thread named
"spinner" that spins in spin() on arithmetic, allocating no container: every
collection is the main thread's.
MODE "none": the same loop with the collector disabled and no gc.collect():
the interpreter never collects once READY_PATH (if given) is written (its
allocation counters still move).

After SECONDS it writes TRUTH_PATH (JSON, atomically): {"cpu": CPU seconds
spent in main(), "gc_cpu": CPU seconds inside collections during main(),
"collections": their count} - main()'s own, so that the runner compares it
with the stacks under main() (the interpreter's start, before pyflare sees
it, is in neither).
"""
import gc
import sys
import time

try:
    cpu = time.process_time
except AttributeError:      # 2.7: time.clock() is the process's CPU time on Linux
    cpu = time.clock

TRUTH, SECONDS, MODE = sys.argv[1], float(sys.argv[2]), sys.argv[3]
READY = sys.argv[4] if len(sys.argv) > 4 else None
state = {"gc_cpu": 0.0, "collections": 0, "began": None, "in_main": False}
CALLBACKS = MODE == "collect" and hasattr(gc, "callbacks")


def on_gc(phase, info):
    if not state["in_main"]:
        return
    if phase == "start":
        state["began"] = cpu()
    elif state["began"] is not None:
        state["gc_cpu"] += cpu() - state["began"]
        state["collections"] += 1
        state["began"] = None


# Before anything else allocates: the truth covers the process's whole life.
if CALLBACKS:
    gc.callbacks.append(on_gc)
    # Fewer, larger young collections: the callbacks' own cost (a call, a
    # clock read) lies inside the collector's flag but outside what they time.
    gc.set_threshold(20000, 10, 10)
elif MODE != "threads":
    gc.disable()

import json  # noqa: E402
import os  # noqa: E402


class Node(object):
    def __init__(self):
        self.other = None
        self.items = [self, None]


def make_cycles(n):
    for _ in range(n):
        a, b = Node(), Node()
        a.other, b.other = b, a


def full_collect():
    if hasattr(gc, "callbacks"):
        gc.collect()
        return
    began = cpu()
    gc.collect()
    state["gc_cpu"] += cpu() - began
    state["collections"] += 1


def spin(stop):
    x = 1
    while not stop:
        x = (x * 7 + 1) % 1000003


def main():
    stop = []
    if MODE == "threads":
        import threading
        spinner = threading.Thread(target=spin, args=(stop,), name="spinner")
        spinner.daemon = True
        spinner.start()
    state["in_main"] = True
    start = cpu()
    collect = MODE == "collect"
    live = [[i, [i]] for i in range(60000)]  # tracked containers every full collection visits
    if READY:
        with open(READY, "w") as f:
            f.write("1")
    deadline = time.time() + SECONDS
    rounds = 0
    while time.time() < deadline:
        make_cycles(2000)
        rounds += 1
        if collect and rounds % 10 == 0:
            full_collect()
    used = cpu() - start
    stop.append(1)
    if CALLBACKS:
        gc.callbacks.remove(on_gc)
    tmp = TRUTH + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"cpu": used, "gc_cpu": state["gc_cpu"], "collections": state["collections"],
                   "live": len(live)}, f)
    os.rename(tmp, TRUTH)


main()
