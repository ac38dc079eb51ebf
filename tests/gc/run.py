#!/usr/bin/env python3
"""Tests for the <GC> frame: a sample of the thread running the garbage
collector gets a synthetic `<GC>` frame on top of its Python stack, in record
(every format) and dump, on every installed CPython.

    PYFLARE=/abs/path/to/build/pyflare python3 tests/gc/run.py [FILTER...]

Standard library only; Python 3.7+ (the system python3). The targets in
targets/ run on 2.7 and 3.6+ and measure their own truth.

Jobs (FILTER arguments keep the jobs whose name contains one of them):
  INTERP/share   cycles.py makes reference cycles over a large live graph for
                 3 s (automatic collections and a full one every few rounds),
                 launched by `record --rate 1000`: the share of the CPU under
                 main() whose innermost frame is <GC> is within 5 points of the
                 share of main()'s CPU the target measured inside collections
                 itself (gc.callbacks' start/stop; 2.7, without callbacks: each
                 explicit gc.collect() timed, the automatic collector off).
  INTERP/none    the same loop with the collector disabled, recorded attached
                 once it is: not one <GC> frame (the allocation counters beside
                 the flag still move).
  INTERP/threads cycles.py's loop (automatic collections only) beside a
                 thread spinning on arithmetic, under --threads: the spinner
                 gets no <GC> frame, the collecting main thread does (the one
                 rule for which thread gets it: the GIL holder; 3.13t the
                 thread that stopped the world, else the last one found).
  INTERP/dump    stuck.py: `dump --json` while it sleeps outside a collection
                 shows no <GC>; while a weakref callback the collector runs
                 sleeps inside gc.collect(), the main thread's innermost frame
                 is <GC> with the callback's frames (wait_for, on_collected)
                 beneath it, then trigger(); the text dump prints the <GC> line.
  formats        (3.12) a recording written as a capture and converted to
                 folded, svg and html keeps <GC>: a folded frame, an SVG frame
                 in the legend's "other" colour with "other" in the legend, an
                 HTML function of kind and legend "other"; folded read back
                 (folded -> svg) still colours it "other".
  top            (3.12) `top --pid -d 3` through a pipe (plain tables) on the
                 collecting loop shows a <GC> row.

Interpreters: harness.EXPECTED (pyenv's, system-3.11, 3.13t, the sid root's
3.14/3.15); missing ones are SKIPped by name, as are builds whose collector
state pyflare cannot read (NOT_READABLE: none of the expected ones).
PYFLARE_PYTHONS=name,name restricts the run.

Output: PASS/FAIL/SKIP lines and "gc: N passed, N failed, N skipped".
"""

import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import sid_root  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGETS = os.path.join(HERE, "targets")
PYFLARE = os.environ.get("PYFLARE") or os.path.join(ROOT, "build", "pyflare")
EXPECTED = harness.EXPECTED
ONCE_ON = "3.12.1"
WORKERS = 2
SHARE_TOLERANCE = 0.05      # <GC>'s share of the profile vs the collector's own CPU share
READY_TIMEOUT = 60          # seconds for a target to reach a point (a loaded machine)
RUN_TIMEOUT = 120           # seconds for one pyflare run
GC = "<GC>"
# Builds whose `collecting` flag cannot be read (README, "The <GC> frame"): a
# stripped 2.7/3.6 lacks the static's symbol. Every expected build here is readable.
NOT_READABLE = {}

check = harness.check


def env():
    e = dict(os.environ)
    for var in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        e.pop(var, None)
    e.update(LC_ALL="C.UTF-8", PYTHONDONTWRITEBYTECODE="1")
    return e


def pyflare(args, cwd, extra_env=None):
    """(returncode, stdout, stderr) of a pyflare run, killed on timeout."""
    e = env()
    e.update(extra_env or {})
    p = subprocess.Popen([PYFLARE] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=cwd, env=e, start_new_session=True)
    try:
        out, err = p.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return -1, out, b"timed out: " + err
    return p.returncode, out, err


def workdir(py):
    """A fresh directory the target can write (under the sid root for its interpreters)."""
    if py.root:
        return sid_root.mkdtemp("gc", "gc-")
    return tempfile.mkdtemp(prefix="pyflare-gc-")


def targets(py):
    return sid_root.stage_tree("gc", TARGETS) if py.root else TARGETS


def read_folded(path):
    """[(frames, weight)] of a folded file."""
    stacks = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            stack, _, weight = line.rstrip("\n").rpartition(" ")
            stacks.append((stack.split(";"), int(weight)))
    return stacks


def under_main(frames):
    return any(f.split(" (")[0] == "main" for f in frames)


def gc_share(stacks):
    """<GC>'s share of the weight under main() (the window the target measures itself), and that weight."""
    stacks = [(frames, w) for frames, w in stacks if under_main(frames)]
    total = sum(w for _, w in stacks)
    gc = sum(w for frames, w in stacks if frames[-1] == GC)
    return (gc / float(total) if total else 0.0), total


def record_cycles(py, work, mode, out, options=()):
    """Launches cycles.py under `record`; (problems, truth)."""
    truth = os.path.join(work, "truth-%s.json" % mode)
    script = os.path.join(targets(py), "cycles.py")
    rc, _, err = pyflare(["record", "--rate", "1000", "-o", out] + list(options) +
                         ["--", py.path, script, truth, "3", mode], work)
    if rc != 0:
        return ["record failed (status %d): %s" % (rc, err.decode("utf-8", "replace").strip()[-400:])], None
    try:
        with open(truth) as f:
            return [], json.load(f)
    except (OSError, ValueError) as e:
        return ["the target wrote no truth: %s" % e], None


def job_share(py):
    work = workdir(py)
    try:
        out = os.path.join(work, "collect.folded")
        problems, truth = record_cycles(py, work, "collect", out)
        if not problems:
            got, total = gc_share(read_folded(out))
            want = truth["gc_cpu"] / truth["cpu"] if truth["cpu"] > 0 else 0.0
            note = "<GC> %.1f%% of %d ms of CPU, the collector's own %.1f%% (%d collections)" % (
                100 * got, total, 100 * want, truth["collections"])
            if truth["collections"] < 5 or want < 0.1:
                problems.append("the target hardly collected: " + note)
            elif abs(got - want) > SHARE_TOLERANCE:
                problems.append("%s: more than %d points apart" % (note, round(100 * SHARE_TOLERANCE)))
            return [check(py.name + "/share", problems, note)]
        return [check(py.name + "/share", problems)]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def job_none(py):
    """Attached once the target has disabled its collector: the interpreter's
    own start collects (really), so a launched recording would see those."""
    work = workdir(py)
    ready = os.path.join(work, "ready")
    proc = subprocess.Popen([py.path, os.path.join(targets(py), "cycles.py"), os.path.join(work, "truth.json"),
                             "8", "none", ready], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=work, env=env(), start_new_session=True)
    problems = []
    try:
        if not wait_for(ready, proc):
            return [check(py.name + "/none", ["the target did not start: %s" % proc.stderr.read(400)])]
        out = os.path.join(work, "none.folded")
        rc, _, err = pyflare(["record", "--pid", str(proc.pid), "--rate", "1000", "--duration", "2", "-o", out],
                             work)
        if rc != 0:
            problems.append("record failed (status %d): %s" % (rc, err.decode("utf-8", "replace").strip()[-400:]))
        else:
            stacks = read_folded(out)
            seen = sum(w for frames, w in stacks if GC in frames)
            total = sum(w for _, w in stacks)
            if total < 100:
                problems.append("only %d ms of CPU recorded" % total)
            if seen:
                problems.append("%d of %d ms carry a <GC> frame, yet the target never collected" % (seen, total))
        return [check(py.name + "/none", problems)]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def job_threads(py):
    """The rule for which thread gets <GC>: only the one collecting."""
    work = workdir(py)
    try:
        out = os.path.join(work, "threads.folded")
        problems, truth = record_cycles(py, work, "threads", out, ["--threads"])
        if not problems:
            by_root = {}
            for frames, w in read_folded(out):
                root = by_root.setdefault(frames[0], [0, 0])
                root[0] += w
                root[1] += w if frames[-1] == GC else 0
            main = by_root.pop("thread MainThread", [0, 0])
            spinner = [sum(r[0] for r in by_root.values()), sum(r[1] for r in by_root.values())]  # every other root
            note = "MainThread %d ms (<GC> %d), spinner %d ms (<GC> %d)" % (main[0], main[1], spinner[0], spinner[1])
            if spinner[0] < 50 or main[0] < 50:
                problems.append("a thread hardly ran: " + note)
            elif spinner[1]:
                problems.append("the spinner, which never collects, got <GC>: " + note)
            elif not main[1]:
                problems.append("the collecting thread got no <GC>: " + note)
            return [check(py.name + "/threads", problems, note)]
        return [check(py.name + "/threads", problems)]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def job_top(py):
    """`top` through a pipe (plain tables, NO_COLOR) on the collecting loop: a <GC> row."""
    work = workdir(py)
    ready = os.path.join(work, "ready")
    proc = subprocess.Popen([py.path, os.path.join(targets(py), "cycles.py"), os.path.join(work, "truth.json"),
                             "10", "collect", ready], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=work, env=env(), start_new_session=True)
    problems = []
    try:
        if not wait_for(ready, proc):
            return [check("top", ["the target did not start: %s" % proc.stderr.read(400)])]
        rc, out, err = pyflare(["top", "--pid", str(proc.pid), "-d", "3"], work, {"NO_COLOR": "1"})
        text = out.decode("utf-8", "replace")
        if rc != 0:
            problems.append("top failed (status %d): %s" % (rc, err.decode("utf-8", "replace").strip()[-300:]))
        elif not re.search(r"\s<GC>$", text, re.M):
            problems.append("no <GC> row in top's tables: %s" % text[-600:])
        return [check("top", problems)]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def wait_for(path, proc):
    deadline = time.time() + READY_TIMEOUT
    while not os.path.exists(path):
        if proc.poll() is not None or time.time() > deadline:
            return False
        time.sleep(0.02)
    return True


def main_frames(doc):
    """The main thread's frames (the one running main()), innermost first: the
    target's own and synthetic ones (<GC>), not the standard library's its wait
    loop may be caught in (os.path.join, genericpath.exists)."""
    for t in doc["threads"]:
        names = [f["function"] for f in t["frames"] if not f["file"] or f["file"].endswith("stuck.py")]
        if "main" in names:
            return names
    return None


def job_dump(py):
    work = workdir(py)
    script = os.path.join(targets(py), "stuck.py")
    proc = subprocess.Popen([py.path, script, work], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=work, env=env(), start_new_session=True)
    problems = []
    try:
        if not wait_for(os.path.join(work, "ready1"), proc):
            return [check(py.name + "/dump", ["the target did not start: %s" % proc.stderr.read(400)])]
        rc, out, err = pyflare(["dump", "--pid", str(proc.pid), "--json"], work)
        frames = main_frames(json.loads(out.decode("utf-8"))) if rc == 0 else None
        if frames is None:
            problems.append("dump outside the collection failed (%d): %s" % (rc, err.decode().strip()))
        elif GC in frames:
            problems.append("outside any collection, the main thread shows <GC>: %s" % frames)
        open(os.path.join(work, "go"), "w").close()
        if not wait_for(os.path.join(work, "ready2"), proc):
            return [check(py.name + "/dump", problems + ["the target never reached its callback"])]
        rc, out, err = pyflare(["dump", "--pid", str(proc.pid), "--json"], work)
        frames = main_frames(json.loads(out.decode("utf-8"))) if rc == 0 else None
        if frames is None:
            problems.append("dump inside the collection failed (%d): %s" % (rc, err.decode().strip()))
        elif frames[:3] != [GC, "wait_for", "on_collected"] or "trigger" not in frames:
            problems.append("inside gc.collect(), the main thread's frames are %s (want <GC>, wait_for, "
                            "on_collected, trigger, ...)" % frames)
        rc, out, err = pyflare(["dump", "--pid", str(proc.pid)], work)
        if rc != 0 or not re.search(r"^    <GC>$", out.decode("utf-8", "replace"), re.M):
            problems.append("the text dump has no '    <GC>' line (%d): %s" % (rc, out.decode()[-400:]))
        open(os.path.join(work, "stop"), "w").close()
        try:
            proc.wait(timeout=READY_TIMEOUT)
        except subprocess.TimeoutExpired:
            problems.append("the target did not finish after its callback")
        return [check(py.name + "/dump", problems)]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def job_formats(py):
    work = workdir(py)
    try:
        cap = os.path.join(work, "gc.pyflare")
        problems, _ = record_cycles(py, work, "collect", cap)
        if problems:
            return [check("formats", problems)]
        for ext in ("folded", "svg", "html"):
            rc, _, err = pyflare(["convert", cap, os.path.join(work, "gc." + ext)], work)
            if rc != 0:
                problems.append("convert to %s failed: %s" % (ext, err.decode().strip()))
        rc, _, err = pyflare(["convert", os.path.join(work, "gc.folded"), os.path.join(work, "back.svg")], work)
        if rc != 0:
            problems.append("folded -> svg failed: %s" % err.decode().strip())
        if problems:
            return [check("formats", problems)]
        got, _ = gc_share(read_folded(os.path.join(work, "gc.folded")))
        if got <= 0:
            problems.append("the capture converted to folded has no <GC> frame")
        for name in ("gc.svg", "back.svg"):
            problems += svg_problems(name, open(os.path.join(work, name), encoding="utf-8").read())
        problems += html_problems(open(os.path.join(work, "gc.html"), encoding="utf-8").read())
        return [check("formats", problems)]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def svg_problems(name, svg):
    """<GC> frames drawn in the legend's "other" swatch (grey: r = g = b), "other" in the legend."""
    fills = re.findall(r'<rect [^>]*fill="#([0-9a-f]{6})"/><text [^>]*>&lt;GC&gt;</text>', svg)
    problems = []
    if not fills:
        problems.append("%s draws no <GC> frame" % name)
    for fill in fills:
        r, g, b = fill[0:2], fill[2:4], fill[4:6]
        if not (r == g == b):
            problems.append("%s colours <GC> #%s, not the grey of 'other'" % (name, fill))
            break
    if not re.search(r"<text [^>]*>other</text>", svg):
        problems.append("%s's legend has no 'other' entry" % name)
    return problems


def html_problems(page):
    m = re.search(r'<script type="application/json" id="pf-data">(.*?)</script>', page, re.S)
    if not m:
        return ["the html report has no pf-data"]
    doc = json.loads(m.group(1))
    strings, funcs = doc["strings"], doc["funcs"]
    kinds, legend = doc["enums"]["kind"], doc["enums"]["legend"]
    for i, s in enumerate(funcs["name"]):
        if strings[s] == GC:
            if funcs["kind"][i] != kinds["other"] or funcs["origin"][i] != legend["other"]:
                return ["the html report's <GC> is kind %d legend %d, not 'other'" % (funcs["kind"][i],
                                                                                    funcs["origin"][i])]
            return []
    return ["the html report has no <GC> function"]


def main():
    filters = sys.argv[1:]
    suite = harness.Suite("gc")
    jobs = []
    for py in harness.interpreters("gc", EXPECTED):
        if py.why:
            suite.skip(py.name, py.why)
            continue
        if py.name in NOT_READABLE:
            suite.skip(py.name, NOT_READABLE[py.name])
            continue
        jobs += [(py.name + "/share", job_share, py), (py.name + "/none", job_none, py),
                 (py.name + "/dump", job_dump, py), (py.name + "/threads", job_threads, py)]
        if py.name == ONCE_ON:
            jobs += [("formats", job_formats, py), ("top", job_top, py)]
    jobs = [j for j in jobs if not filters or any(f in j[0] for f in filters)]
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        futures = {pool.submit(fn, py): name for name, fn, py in jobs}
        for fut in concurrent.futures.as_completed(futures):
            try:
                for r in fut.result():
                    suite.add(r)
            except Exception as e:  # a job that crashed is a failure, not a lost result
                suite.failed(futures[fut], "crashed: %r" % e)
    sys.exit(suite.finish())


if __name__ == "__main__":
    main()
