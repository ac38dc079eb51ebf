"""Two asyncio tasks awaiting each other, for tests/async/run.py (CPython 3.14+).

    python cycle.py READY_PATH

"ping" awaits the task "pong" and "pong" awaits "ping": a cycle in the await
graph (a deadlock asyncio lets happen). READY_PATH is written once both
wait; the process then waits until it is killed.
"""
import asyncio
import sys

tasks = {}


async def wait_for(other):
    await asyncio.sleep(0.05)  # both exist before either awaits the other
    await tasks[other]


async def main():
    tasks["ping"] = asyncio.create_task(wait_for("pong"), name="ping")
    tasks["pong"] = asyncio.create_task(wait_for("ping"), name="pong")
    await asyncio.sleep(0.2)
    with open(sys.argv[1], "w") as f:
        f.write("ready\n")
    await asyncio.Event().wait()


asyncio.run(main())
