# -*- coding: utf-8 -*-
"""The tracer tests that run inside the interpreter under test (run.py starts
this once per interpreter, with PYTHONPATH at that interpreter's module build).

    python cases.py OUTDIR [CASE...]

Prints one line per case: "PASS name", "FAIL name: reason" or "SKIP name:
reason". Files for run.py to check with other tools (pstats, callgrind) are
left in OUTDIR and announced as "FILE kind path". Python 2.7 and 3.x syntax.
"""
from __future__ import print_function

import json
import os
import sys
import threading
import time
import traceback

import pyflare

OUT = sys.argv[1]
PY3 = sys.version_info[0] >= 3
V = sys.version_info[:2]


class Fail(Exception):
    pass


def check(cond, message, *args):
    if not cond:
        raise Fail(message % args if args else message)


def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def find(stats, name, builtin=None):
    """The stats entry of the function called `name` (qualified names, and
    builtins like "<built-in method time.sleep>", end with ".name")."""
    hits = [v for k, v in stats.items()
            if (k[2] == name or k[2].rstrip(">").endswith("." + name)) and (builtin is None or v["builtin"] == builtin)]
    check(len(hits) == 1, "expected one function %r in the profile, found %d", name, len(hits))
    return hits[0]


def node_rows(prof):
    return dict((row[0], row) for row in prof.tree())


CASES = []


def case(f):
    CASES.append(f)
    return f


@case
def fib_calls():
    prof = pyflare.Profile()
    prof.enable()
    fib(15)
    prof.disable()
    s = find(prof.stats(), "fib")
    want = 2 * fibonacci(16) - 1
    check(s["calls"] == want, "fib(15): %d calls, expected 2*F(16)-1 = %d", s["calls"], want)
    check(s["primitive_calls"] == 1, "fib(15): %d primitive calls, expected 1", s["primitive_calls"])


@case
def self_sums_to_total():
    prof = pyflare.Profile()
    prof.enable()
    fib(14)
    sorted([str(i) for i in range(2000)], key=len)
    "-".join(x.upper() for x in "a b c d".split())
    prof.disable()
    rows = prof.tree()
    self_sum = sum(r[6] for r in rows)
    top = sum(r[7] for r in rows if r[1] == 0)
    check(top > 0, "nothing measured")
    check(abs(self_sum - top) <= top * 0.01, "self times sum to %d ns, top-level totals to %d ns", self_sum, top)


def fib_caller():
    return fib(16)


@case
def recursion_total_not_double_counted():
    prof = pyflare.Profile()
    prof.enable()
    fib_caller()
    prof.disable()
    stats = prof.stats()
    f, c = find(stats, "fib"), find(stats, "fib_caller")
    # fib is fib_caller's only callee: its total is the caller's total less
    # the caller's own time, not a sum over every recursion level.
    callee = c["total_ns"] - c["self_ns"]
    check(abs(f["total_ns"] - callee) <= max(callee * 0.01, 1000),
          "fib total %d ns, but fib_caller spent %d ns in it", f["total_ns"], callee)
    check(f["total_ns"] <= c["total_ns"], "fib total %d ns exceeds its caller's %d ns", f["total_ns"], c["total_ns"])
    check(abs(sum(r[6] for r in prof.tree() if r[2].endswith("fib")) - f["self_ns"]) <= 16,
          "fib's self time is not the sum over its nodes")


def slow_generator(n):
    for i in range(n):
        yield fib(5) + i


@case
def generators_count_starts_and_running_time():
    prof = pyflare.Profile()
    prof.enable()
    got = []
    for g in (slow_generator(4), slow_generator(3)):
        for v in g:
            got.append(v)
            time.sleep(0.05)  # the generator is suspended meanwhile
    unstarted = slow_generator(2)  # noqa: F841 (created, never run: not a call)
    prof.disable()
    stats = prof.stats()
    s = find(stats, "slow_generator")
    check(s["calls"] == 2, "2 generators ran: %d calls counted", s["calls"])
    check(find(stats, "fib")["calls"] == 7 * 15, "fib inside the generators: %d calls", find(stats, "fib")["calls"])
    # Running, the generators take microseconds; the consumer sleeps 350 ms
    # meanwhile. A bound of half of that leaves room for a loaded machine.
    slept = find(stats, "sleep", builtin=True)["total_ns"]
    check(s["total_ns"] < slept * 0.5, "generator total %.1f ms includes time suspended (%.1f ms of sleeps)",
          s["total_ns"] / 1e6, slept / 1e6)
    rows = node_rows(prof)
    for r in rows.values():
        if r[2].endswith("slow_generator"):
            check(r[5] <= 2, "a generator node counted %d calls (resumptions counted)", r[5])


def catching_generator():
    while True:
        try:
            yield fib(3)
        except KeyError:
            fib(2)


@case
def generator_throw_and_close():
    prof = pyflare.Profile()
    prof.enable()
    depth0 = prof._depth()
    g = catching_generator()
    next(g)
    g.throw(KeyError)
    next(g)
    g.close()
    unstarted = catching_generator()
    try:
        unstarted.throw(ValueError)
    except ValueError:
        pass
    depth1 = prof._depth()
    prof.disable()
    check(depth0 == depth1, "shadow stack depth %d before, %d after", depth0, depth1)
    stats = prof.stats()
    s = find(stats, "catching_generator")
    check(1 <= s["calls"] <= 2, "one generator ran (one thrown into unstarted): %d calls", s["calls"])
    check(find(stats, "fib")["calls"] == 3 * 5 + 3, "fib: %d calls", find(stats, "fib")["calls"])


COROUTINE_SRC = '''
async def leaf(x):
    return x * 2

async def coro(n):
    total = 0
    for i in range(n):
        total += await leaf(i)
        await Yield()
    return total

class Yield:
    def __await__(self):
        yield
'''


@case
def coroutines():
    if V < (3, 5):
        raise SkipCase("no async def before 3.5")
    ns = {}
    exec(COROUTINE_SRC, ns)
    prof = pyflare.Profile()
    prof.enable()
    c = ns["coro"](5)
    try:
        while True:
            c.send(None)
    except StopIteration:
        pass
    prof.disable()
    stats = prof.stats()
    check(find(stats, "coro")["calls"] == 1, "coroutine resumed 5 times: %d calls", find(stats, "coro")["calls"])
    check(find(stats, "leaf")["calls"] == 5, "leaf: %d calls", find(stats, "leaf")["calls"])


def raiser_c():
    raise ValueError("deep")


def raiser_b():
    raiser_c()


def raiser_a():
    raiser_b()


def after():
    return fib(3)


@case
def exceptions_unwind():
    prof = pyflare.Profile()
    prof.enable()
    depth0 = prof._depth()
    for _ in range(3):
        try:
            raiser_a()
        except ValueError:
            pass
        try:
            int("not a number")  # a builtin raising
        except ValueError:
            pass
    depth1 = prof._depth()
    after()
    prof.disable()
    check(depth0 == depth1, "shadow stack depth %d before, %d after the exceptions", depth0, depth1)
    stats = prof.stats()
    a, b, c = find(stats, "raiser_a"), find(stats, "raiser_b"), find(stats, "raiser_c")
    check(a["calls"] == b["calls"] == c["calls"] == 3, "calls a=%d b=%d c=%d", a["calls"], b["calls"], c["calls"])
    check(a["total_ns"] >= b["total_ns"] >= c["total_ns"] > 0, "totals not nested: %d %d %d",
          a["total_ns"], b["total_ns"], c["total_ns"])
    rows = node_rows(prof)
    level = [r[1] for r in rows.values() if r[2].endswith("raiser_a")]
    for r in rows.values():
        if r[2].endswith("after"):  # beside raiser_a, not inside what raised
            check([r[1]] == level, "after() recorded under node %r, raiser_a under %r", r[1], level)
        if r[2].endswith("raiser_b"):
            check(rows[r[1]][2].endswith("raiser_a"), "raiser_b under %r", rows[r[1]][2])


def thread_work():
    return fib(12)


@case
def thread_started_after_enable():
    prof = pyflare.Profile()
    prof.enable()
    t = threading.Thread(target=thread_work)
    t.start()
    t.join()
    prof.disable()
    stats = prof.stats()
    s = find(stats, "thread_work")
    check(s["calls"] == 1, "thread_work: %d calls", s["calls"])
    check(find(stats, "fib")["calls"] == 2 * fibonacci(13) - 1, "fib in the thread: %d calls",
          find(stats, "fib")["calls"])


def waiting_thread(go, done):
    go.wait()
    thread_work()
    done.set()


@case
def thread_started_before_enable():
    go, done = threading.Event(), threading.Event()
    t = threading.Thread(target=waiting_thread, args=(go, done))
    t.start()
    time.sleep(0.05)
    prof = pyflare.Profile()
    prof.enable()
    go.set()
    done.wait(10)
    t.join()
    prof.disable()
    s = find(prof.stats(), "thread_work")
    check(s["calls"] == 1, "thread_work in a thread started before enable(): %d calls", s["calls"])


def fib_calls_by_root(prof):
    """{thread root name: calls of fib in its subtree} (threads=True)."""
    rows = node_rows(prof)
    out = {}
    for r in rows.values():
        if r[2] == "fib":
            root = r
            while root[1]:
                root = rows[root[1]]
            out[root[2]] = out.get(root[2], 0) + r[5]
    return out


def parallel_fib(start, n, box):
    start.wait()
    box.append(fib(n))


@case
def threads_in_parallel():
    """8 threads calling fib at once (truly in parallel on a free-threaded
    build): every call counted exactly, in the shared tree and per thread."""
    prof = pyflare.Profile(threads=True)
    start = threading.Event()
    boxes = [[] for _ in range(8)]
    threads = [threading.Thread(target=parallel_fib, args=(start, 20, boxes[i]), name="par-%d" % i)
               for i in range(8)]
    prof.enable()
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join()
    prof.disable()
    check(all(b == [6765] for b in boxes), "fib results %r", boxes)
    want = 2 * fibonacci(21) - 1
    check(find(prof.stats(), "fib")["calls"] == 8 * want, "fib: %d calls, expected %d",
          find(prof.stats(), "fib")["calls"], 8 * want)
    rows = node_rows(prof)
    per_root = {}
    for r in rows.values():
        if r[2] == "fib" and rows.get(r[1], (0, 0, ""))[2] != "fib":  # the outermost fib
            root = r
            while root[1]:
                root = rows[root[1]]
            per_root[root[2]] = per_root.get(root[2], 0) + 1
    check(sorted(per_root) == ["par-%d" % i for i in range(8)], "outermost fib under roots %r", per_root)
    # each thread's own subtree: the sum of its fib nodes' calls
    calls_by_root = fib_calls_by_root(prof)
    bad = dict((k, v) for k, v in calls_by_root.items() if v != want)
    check(not bad, "fib calls per thread %r, expected %d each", bad, want)


def fib_rounds(start, rounds):
    start.wait()
    for _ in range(rounds):
        fib(12)


@case
def read_while_threads_run():
    """stats(), tree() and write() while 4 threads call fib in parallel:
    each read merges the threads' own trees into the profile while they go
    on recording (free-threaded: they wait for no lock in between), and
    the final counts are exact."""
    prof = pyflare.Profile()
    start = threading.Event()
    threads = [threading.Thread(target=fib_rounds, args=(start, 40)) for _ in range(4)]
    prof.enable()
    for t in threads:
        t.start()
    start.set()
    reads, seen = 0, []
    while any(t.is_alive() for t in threads) or not reads:
        st = prof.stats()
        seen.append(sum(v["calls"] for k, v in st.items() if k[2].endswith("fib")))
        prof.tree()
        prof.write(os.path.join(OUT, "live.folded"))
        reads += 1
    for t in threads:
        t.join()
    prof.disable()
    want = 4 * 40 * (2 * fibonacci(13) - 1)
    got = find(prof.stats(), "fib")["calls"]
    check(got == want, "fib: %d calls, expected %d (after %d reads while running)", got, want, reads)
    check(seen == sorted(seen) and seen[-1] <= want, "counts read while running went backwards or over: %r",
          seen[:20])


@case
def ended_threads_folded():
    """60 threads that start, call fib and end, one after another: each ended
    thread's calls stay in the profile (its own structure is folded into the
    profile and freed as threads end), in the shared tree and in its own
    root."""
    prof = pyflare.Profile(threads=True)
    prof.enable()
    for i in range(60):
        t = threading.Thread(target=fib, args=(8,), name="short-%d" % i)
        t.start()
        t.join()
        if i == 30:
            prof.stats()  # a read in between folds those ended so far
    prof.disable()
    want = 2 * fibonacci(9) - 1
    got = find(prof.stats(), "fib")["calls"]
    check(got == 60 * want, "fib: %d calls, expected %d", got, 60 * want)
    per_root = fib_calls_by_root(prof)
    check(sorted(per_root) == sorted("short-%d" % i for i in range(60)) and set(per_root.values()) == {want},
          "fib calls per thread root %r", sorted(per_root.items())[:5])


@case
def thread_roots():
    prof = pyflare.Profile(threads=True)
    prof.enable()
    t = threading.Thread(target=thread_work, name="worker-7")
    t.start()
    t.join()
    prof.disable()
    rows = node_rows(prof)
    roots = [r[2] for r in rows.values() if r[1] == 0]
    check("worker-7" in roots, "thread roots %r lack worker-7", roots)
    for r in rows.values():
        if r[2].endswith("thread_work"):
            root = r
            while root[1]:
                root = rows[root[1]]
            check(root[2] == "worker-7", "thread_work under the root %r", root[2])


@case
def current_thread_only():
    prof = pyflare.Profile(all_threads=False)
    prof.enable()
    t = threading.Thread(target=thread_work)
    t.start()
    t.join()
    fib(3)
    prof.disable()
    names = [k[2] for k in prof.stats()]
    check(not any(n.endswith("thread_work") for n in names), "another thread was profiled")
    check(any(n.endswith("fib") for n in names), "the calling thread was not profiled")


@case
def builtins_named_and_optional():
    prof = pyflare.Profile()
    prof.enable()
    items = []
    for i in range(10):
        items.append(len(str(i)))
    prof.disable()
    stats = prof.stats()
    lens = [v for k, v in stats.items() if k[2] in ("<built-in method builtins.len>", "<built-in method __builtin__.len>")]
    check(len(lens) == 1 and lens[0]["calls"] == 10, "len: %r", lens)
    appends = [v for k, v in stats.items() if k[2] == "<method 'append' of 'list' objects>"]
    check(len(appends) == 1 and appends[0]["calls"] == 10, "list.append: %r", appends)
    check(all(k[0] == "~" and k[1] == 0 for k, v in stats.items() if v["builtin"]), "builtins not at ~:0")
    prof = pyflare.Profile(builtins=False)
    prof.enable()
    len("x")
    fib(2)
    prof.disable()
    check(not any(v["builtin"] for v in prof.stats().values()), "builtins=False still timed builtins")


def sleeper():
    time.sleep(0.05)


@case
def cpu_clock():
    wall, cpu = pyflare.Profile(clock="wall"), pyflare.Profile(clock="cpu")
    for prof in (wall, cpu):
        prof.enable()
        sleeper()
        prof.disable()
    w, c = find(wall.stats(), "sleeper")["total_ns"], find(cpu.stats(), "sleeper")["total_ns"]
    check(w >= 45000000, "wall clock: sleeping 50 ms took %d ns", w)
    check(c < 20000000, "cpu clock: sleeping 50 ms cost %d ns of CPU", c)


@case
def context_manager_and_enable_twice():
    with pyflare.Profile() as prof:
        fib(4)
    check(not prof.enabled, "still enabled after the with block")
    check(find(prof.stats(), "fib")["calls"] == 9, "fib(4) in a with block")
    prof.enable()
    fib(4)
    prof.disable()
    check(find(prof.stats(), "fib")["calls"] == 18, "enabling again does not accumulate")
    other = pyflare.Profile()
    prof.enable()
    try:
        other.enable()
        raise Fail("two profiles enabled at once")
    except RuntimeError:
        pass
    finally:
        prof.disable()
    names = [k[2] for k in prof.stats()]
    check(not any("enable" in n or "disable" in n for n in names), "pyflare's own methods profiled: %r", names)


@case
def writers():
    prof = pyflare.Profile()
    prof.enable()
    fib(15)
    sorted(range(100), key=lambda x: -x)
    prof.disable()
    for fmt, name in (("pstats", "fib.pstats"), ("callgrind", "fib.callgrind"), ("svg", "fib.svg"),
                      ("html", "fib.html"), ("speedscope", "fib.speedscope.json"), ("folded", "fib.folded"),
                      ("text", "fib.text")):
        path = os.path.join(OUT, name)
        try:
            prof.write(path)  # the format from the name
        except ValueError as e:
            if "not available yet" in str(e):
                print("FILE %s-missing %s" % (fmt, e))
                continue
            raise
        check(os.path.getsize(path) > 0, "%s is empty", path)
        print("FILE %s %s" % (fmt, path))
    try:
        prof.write(os.path.join(OUT, "x.unknown"))
        raise Fail("an unknown suffix was accepted")
    except ValueError:
        pass


def wsgi_app(environ, start_response):
    fib(10)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello ", environ.get("QUERY_STRING", "").encode("ascii")]


def wsgi_get(app, query, headers=None):
    from wsgiref.util import setup_testing_defaults

    environ = {"QUERY_STRING": query, "PATH_INFO": "/items/7"}
    environ.update(headers or {})
    setup_testing_defaults(environ)
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return got["status"], got["headers"], body


@case
def wsgi_middleware():
    import tempfile
    from pyflare.wsgi import ProfilerMiddleware

    app = ProfilerMiddleware(wsgi_app)
    status, headers, body = wsgi_get(app, "a=1")
    check(status == "200 OK" and body == b"hello a=1", "unprofiled request changed: %r %r", status, body)
    status, headers, body = wsgi_get(app, "a=1&pyflare")
    check(headers["Content-Type"].startswith("text/html") and len(body) > 100, "?pyflare did not return HTML")
    check(headers.get("X-Pyflare-Status") == "200 OK", "the app's status is not reported: %r", headers)
    path = os.path.join(OUT, "wsgi.pstats")
    status, headers, body = wsgi_get(app, "pyflare=pstats&a=1")
    with open(path, "wb") as f:
        f.write(body)
    print("FILE wsgi-pstats %s" % path)
    status, headers, body = wsgi_get(app, "", {"HTTP_X_PYFLARE": "1"})
    check(headers["Content-Type"].startswith("text/html"), "X-Pyflare: 1 did not profile")
    status, headers, body = wsgi_get(app, "pyflare=nope")
    check(status.startswith("400"), "an unknown format gave %r", status)
    outdir = tempfile.mkdtemp(dir=OUT)
    app = ProfilerMiddleware(wsgi_app, output_dir=outdir)
    status, headers, body = wsgi_get(app, "pyflare=callgrind&b=2")
    check(body == b"hello b=2", "with output_dir the app's response must pass: %r", body)
    files = os.listdir(outdir)
    check(len(files) == 1 and files[0].endswith(".callgrind"), "output_dir holds %r", files)


def format_body_fits(name, media, binary, body):
    """A problem with body as a file of format name and media type, or None:
    what the bytes are, read independently of pyflare's table."""
    if not body:
        return "%s: empty" % name
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if binary:
        return None if text is None or "\0" in text else "%s: binary format but plain UTF-8 text" % name
    if text is None:
        return "%s: a text format that is not UTF-8" % name
    if media.startswith("application/json"):
        try:
            json.loads(text)
        except ValueError as e:
            return "%s: served as JSON but does not parse: %s" % (name, e)
    if media.startswith("image/svg+xml") and "<svg" not in text:
        return "%s: served as SVG without an <svg> element" % name
    if media.startswith("text/html") and "<html" not in text.lower():
        return "%s: served as HTML without <html>" % name
    return None


@case
def every_format():
    """Each format pyflare.formats() lists is written by Profile.write (by name
    and by its extension) and served by the middleware's ?pyflare=NAME with its
    media type."""
    from pyflare.wsgi import ProfilerMiddleware

    table = pyflare.formats()
    check(len(table) >= 8 and len(set(t[0] for t in table)) == len(table), "formats() = %r", table)
    prof = pyflare.Profile()
    prof.enable()
    fib(12)
    prof.disable()
    app = ProfilerMiddleware(wsgi_app)
    for name, ext, media, binary in table:
        check(ext.startswith(".") and "/" in media, "row %r", (name, ext, media, binary))
        for path, fmt in ((os.path.join(OUT, "every-by-name.out"), name),
                          (os.path.join(OUT, "every-by-ext" + ext), None)):
            prof.write(path, format=fmt)
            with open(path, "rb") as f:
                problem = format_body_fits(name, media, binary, f.read())
            check(problem is None, "Profile.write(%r, format=%r): %s", path, fmt, problem)
        status, headers, body = wsgi_get(app, "pyflare=%s&a=1" % name)
        check(status == "200 OK" and headers["Content-Type"] == media,
              "?pyflare=%s gave %r %r", name, status, headers.get("Content-Type"))
        problem = format_body_fits(name, media, binary, body)
        check(problem is None, "?pyflare=%s: %s", name, problem)


def other_hook(frame, event, arg):
    other_hook.events += 1


other_hook.events = 0


@case
def other_profilers_not_replaced():
    """Before 3.12 a thread has one profile hook: enable() refuses while another
    profiler holds it (one line), and leaves it working; a cProfile started
    inside takes the hook (it cannot know), and disable() warns and leaves it.
    3.12+: cProfile and pyflare want the same sys.monitoring tool id, the
    second is refused; a sys.setprofile hook works beside pyflare."""
    import cProfile
    import warnings
    prof = pyflare.Profile()
    sys.setprofile(other_hook)
    try:
        if V < (3, 12):
            try:
                prof.enable()
                prof.disable()
                raise Fail("enable() replaced a sys.setprofile hook")
            except RuntimeError as e:
                check("other_hook" in str(e) and "\n" not in str(e), "message %r", str(e))
        else:
            with prof:
                fib(5)
            check(find(prof.stats(), "fib")["calls"] == 15, "fib beside a sys.setprofile hook")
        check(sys.getprofile() is other_hook, "sys.setprofile hook replaced by %r", sys.getprofile())
        before = other_hook.events
        fib(3)
        check(other_hook.events > before, "the sys.setprofile hook no longer runs")
    finally:
        sys.setprofile(None)
    if PY3:
        c = cProfile.Profile()
        c.enable()
        try:
            prof.enable()
            prof.disable()
            raise Fail("enable() inside cProfile was accepted")
        except RuntimeError as e:
            check("cProfile" in str(e) or "tool id" in str(e), "message %r", str(e))
        finally:
            c.disable()
    # A cProfile started inside pyflare.
    prof = pyflare.Profile()
    c = cProfile.Profile()
    prof.enable()
    try:
        c.enable()
        took = True
    except ValueError:  # 3.12+: the tool id is taken
        took = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prof.disable()
    if V < (3, 12):
        check(took, "cProfile refused to start")
        check(sys.getprofile() is c, "disable() removed cProfile's hook: %r", sys.getprofile())
        check(any(issubclass(w.category, RuntimeWarning) and "replaced" in str(w.message) for w in caught),
              "no warning that cProfile took over: %r", [str(w.message) for w in caught])
        c.disable()
    else:
        check(not took, "cProfile started while pyflare held the tool id")
        check(not caught, "warnings %r", [str(w.message) for w in caught])
    check(sys.getprofile() is None, "a profile hook is left: %r", sys.getprofile())


@case
def forked_child_cannot_write():
    if not hasattr(os, "fork"):
        raise SkipCase("no fork")
    prof = pyflare.Profile()
    prof.enable()
    fib(5)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            msg = "enabled=%s" % prof.enabled
            if V >= (3, 7) and prof.enabled:
                msg += " (still profiling)"
            try:
                prof.write(os.path.join(OUT, "child.pstats"))
                msg += " wrote"
            except RuntimeError as e:
                msg += " refused: %s" % e
            fresh = pyflare.Profile()
            try:
                fresh.enable()
                fib(2)
                fresh.disable()
                msg += " fresh=%d" % find(fresh.stats(), "fib")["calls"]
            except Exception as e:
                msg += " fresh failed: %r" % e
            os.write(w, msg.encode("utf-8"))
        finally:
            os._exit(0)
    os.close(w)
    got = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        got += chunk
    os.close(r)
    os.waitpid(pid, 0)
    prof.disable()
    got = got.decode("utf-8")
    check(" refused: " in got and "fork" in got, "the child could write the parent's profile: %r", got)
    check(not os.path.exists(os.path.join(OUT, "child.pstats")), "the child wrote a file")
    if V >= (3, 7):
        check("still profiling" not in got and "fresh=3" in got, "the child: %r", got)
    check(find(prof.stats(), "fib")["calls"] == 15, "the parent's profile changed")


class SkipCase(Exception):
    pass


def main():
    wanted = sys.argv[2:]
    for f in CASES:
        if wanted and f.__name__ not in wanted:
            continue
        try:
            f()
            print("PASS %s" % f.__name__)
        except SkipCase as e:
            print("SKIP %s: %s" % (f.__name__, e))
        except Fail as e:
            print("FAIL %s: %s" % (f.__name__, e))
        except Exception:
            print("FAIL %s: %s" % (f.__name__, traceback.format_exc().strip().replace("\n", " | ")))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
