"""Thread-churn target for tests/record/run.py (Python 2.7 and 3.x).

    python churn.py READY_PATH

The main thread starts short-lived threads without pause (each does a little
work in churn_work and ends), so threads are born and exit all the time.
READY_PATH is written once the first hundred have come and gone. Runs until
killed.
"""
import json
import os
import sys
import threading


def churn_work():
    x = 0
    for i in range(2000):
        x += i


def main():
    ready, started = sys.argv[1], 0
    while True:
        threads = [threading.Thread(target=churn_work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        started += 4
        if started == 100 and ready != "-":
            with open(ready + ".tmp", "w") as f:
                json.dump({"pid": os.getpid()}, f)
            os.rename(ready + ".tmp", ready)


main()
