"""Runs inside the test's container: a spinning thread and a sleeping main
thread. Writes its own view (pid, native ids, names) to argv[1], then parks."""
import json
import os
import sys
import threading
import time


def spin_here():
    x = 0
    while True:
        x += 1


def main():
    ready = threading.Event()
    infos = {}

    def spinner():
        infos["spinner"] = threading.get_native_id()
        ready.set()
        spin_here()

    t = threading.Thread(target=spinner, name="spinner", daemon=True)
    t.start()
    ready.wait()
    infos["MainThread"] = threading.get_native_id()
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"pid_inside": os.getpid(), "native_ids": infos, "executable": sys.executable}, f)
    os.rename(tmp, sys.argv[1])
    while True:
        time.sleep(1)


main()
