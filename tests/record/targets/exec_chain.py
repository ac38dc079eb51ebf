"""exec() target for tests/record/run.py (Python 2.7 and 3.x).

    python exec_chain.py READY_PATH BEFORE_S (python|sleep) AFTER_S

Spins in before_exec() for BEFORE_S seconds (writing READY_PATH, unless "-",
once it spins), then replaces itself with exec(): "python" runs this same
interpreter on spinner-like code that spins in after_exec() for AFTER_S
seconds and exits 0; "sleep" runs /bin/sleep AFTER_S (not Python), which
exits 0 too. The process id stays the same throughout.
"""
import json
import os
import sys
import time

wall = getattr(time, "monotonic", time.time)

AFTER = """
import time
wall = getattr(time, "monotonic", time.time)
def after_exec(seconds):
    end = wall() + seconds
    while wall() < end:
        pass
after_exec(%s)
"""


def before_exec(seconds):
    end = wall() + seconds
    while wall() < end:
        pass


def main():
    ready, before, what, after = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
    if ready != "-":
        with open(ready + ".tmp", "w") as f:
            json.dump({"pid": os.getpid()}, f)
        os.rename(ready + ".tmp", ready)
    before_exec(before)
    sys.stdout.flush()
    if what == "python":
        os.execv(sys.executable, [sys.executable, "-c", AFTER % float(after)])
    os.execv("/bin/sleep", ["sleep", after])


main()
