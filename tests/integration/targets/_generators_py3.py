"""Python-3-only half of the "generators" target: `yield from` delegation and
a native coroutine (async def, 3.5+) driven by hand with send(). Imported by
generators.py on Python 3 only; this file does not parse on Python 2.
"""
import time


def inner_gen():
    while True:
        time.sleep(3600)  # park
    yield 1


def outer_gen():
    result = yield from inner_gen()
    return result


def drive_yield_from():
    for _ in outer_gen():
        pass


async def handler():
    while True:
        time.sleep(3600)  # park


async def request():
    return await handler()


def drive_coroutine():
    coro = request()
    coro.send(None)
