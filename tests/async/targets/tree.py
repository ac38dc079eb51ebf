"""A known tree of asyncio tasks, for tests/async/run.py (CPython 3.14+).

    python tree.py READY_PATH

Every task waits on one event that is never set, so the tree holds still
while pyflare and `python -m asyncio pstree` read it:

    Task-1 (main) awaits fetch_all, which runs a TaskGroup of fetch-1 and
    fetch-2 (each fetch -> leaf -> Event.wait); waiter-1 and waiter-2 both
    await the one task "shared" (its awaiters are a set, not one task).

READY_PATH is written once every task has started; the process then waits
until it is killed.
"""
import asyncio
import sys


async def leaf(ev):
    await ev.wait()


async def fetch(ev):
    await leaf(ev)


async def fetch_all(ev):
    async with asyncio.TaskGroup() as tg:
        tg.create_task(fetch(ev), name="fetch-1")
        tg.create_task(fetch(ev), name="fetch-2")


async def shared_work(ev):
    await ev.wait()


async def waiter(task):
    await task


async def main():
    ev = asyncio.Event()
    shared = asyncio.create_task(shared_work(ev), name="shared")
    asyncio.create_task(waiter(shared), name="waiter-1")
    asyncio.create_task(waiter(shared), name="waiter-2")
    everything = asyncio.create_task(fetch_all(ev), name="fetch_all")
    await asyncio.sleep(0.1)
    with open(sys.argv[1], "w") as f:
        f.write("ready\n")
    await everything


asyncio.run(main())
