"""Two asyncio tasks burning CPU 1:3, for tests/async/run.py (CPython 3.14+).

    python split.py TRUTH_PATH READY_PATH

main (Task-1) runs a TaskGroup of tasks "alpha" and "beta": each loops
burning the CPU in burn() (30 ms for alpha, 90 ms for beta) and then awaits
asyncio.sleep(0), so they take turns on the one thread. The target measures
its own truth: the CPU time each task spent burning, written (JSON,
atomically) to TRUTH_PATH every 50 ms, so a runner can take the difference
over the window it recorded. READY_PATH is written once both tasks run.
"""
import asyncio
import json
import os
import sys
import time

TRUTH, READY = sys.argv[1], sys.argv[2]
cpu_in = {"alpha": 0.0, "beta": 0.0}


def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


async def work(name, ms):
    while True:
        c0 = time.process_time()
        burn(ms / 1000.0)
        cpu_in[name] += time.process_time() - c0
        await asyncio.sleep(0)


async def report():
    ready = False
    while True:
        await asyncio.sleep(0.05)
        with open(TRUTH + ".tmp", "w") as f:
            json.dump(cpu_in, f)
        os.rename(TRUTH + ".tmp", TRUTH)
        if not ready and cpu_in["alpha"] and cpu_in["beta"]:
            ready = True
            open(READY, "w").close()


async def main():
    async with asyncio.TaskGroup() as tg:
        tg.create_task(work("alpha", 30), name="alpha")
        tg.create_task(work("beta", 90), name="beta")
        tg.create_task(report(), name="report")


asyncio.run(main())
