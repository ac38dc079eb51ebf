#!/usr/bin/env python3
"""pyflare against CPython's own sampler, and every record format, on 3.14/3.15.

    PYFLARE=/abs/path/to/build/pyflare python3 tests/peer/run.py [FILTER...]

Standard library only; needs Python 3.7+ and root (the interpreters are those
of the Debian sid root, run under chroot: see tests/sid_root.py). Jobs:

  INTERP/peer/SCENARIO   (3.15, 3.15-pie, 3.15d) each integration scenario
                         target (tests/integration/targets) is parked; then
                         `python3.15 -m profiling.sampling dump -a --blocking PID`
                         (CPython's sampler, which no one here wrote) and
                         `pyflare dump --pid PID --blocking --json` must agree on
                         every thread (by native id): the same functions and
                         lines, frame by frame. A spinning thread's innermost
                         line moves between the two looks, so only it is
                         compared by function alone. CPython's sampler stops at
                         the frames it was built to show; pyflare's must equal
                         them all. The peer's file names are not compared (it
                         shows them relative to its own working directory).
  INTERP/formats/FORMAT  (every root interpreter) `pyflare record` of a spinning
                         program with -f FORMAT: the file is what a consumer of
                         that format reads (XML, JSON, gzip, marshal...) and
                         names the spinning function.

A missing root is a SKIP by name. FILTER arguments keep the jobs whose name
contains one of them; PYFLARE_PYTHONS=name,name restricts the interpreters.
Prints "peer: N passed, N failed, N skipped" last; exit status 1 on a failure.
"""

import concurrent.futures
import gzip
import importlib.util
import json
import marshal
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, TESTS)
import harness  # noqa: E402
import sid_root  # noqa: E402

# The integration suite's targets, Target class and comparison helpers.
_spec = importlib.util.spec_from_file_location("integration_run", os.path.join(TESTS, "integration", "run.py"))
it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(it)

PEER_PYTHONS = {"3.15": "python3.15", "3.15-pie": "python3.15-pie", "3.15d": "python3.15d"}
SCENARIOS = ["basic", "deep", "qualnames", "generators", "callbacks", "nonascii", "crowd"]
FORMATS = ["svg", "html", "folded", "speedscope", "callgrind", "pprof", "pstats", "text"]
SPIN_FUNCTION = "spin_here"
SPIN_PROGRAM = """
import time
def spin_here(end):
    x = 0
    while time.time() < end:
        x += 1
def main():
    spin_here(time.time() + 1.5)
main()
"""
WORKERS = 2
Result, check = harness.Result, harness.check


# ------------------------------------------------------------ the peer --

STACK_HEAD = re.compile(r"^Stack dump.*\bthread (\d+)\b")
FRAME = re.compile(r'^\s+File "(.*)", line (-?\d+), in (.*)$')


def parse_peer(text):
    """{native id: [(function, line), ... innermost first]} from CPython's dump."""
    threads, current = {}, None
    for line in text.splitlines():
        m = STACK_HEAD.match(line)
        if m:
            current = threads.setdefault(int(m.group(1)), [])
            continue
        m = FRAME.match(line)
        if m and current is not None:
            current.append((m.group(3), int(m.group(2))))
    return dict((tid, frames[::-1]) for tid, frames in threads.items())


def peer_problems(truth, dump, peer):
    problems = []
    spinning = set(t["native_id"] for t in truth["threads"] if t["state"] == "spinning")
    ours = dict((t["native_id"], t) for t in dump["threads"])
    if sorted(peer) != sorted(ours):
        problems.append("threads: CPython's sampler saw %s, pyflare %s" % (sorted(peer), sorted(ours)))
    for tid, theirs in sorted(peer.items()):
        if tid not in ours:
            continue
        mine = [(f["function"], f["line"]) for f in ours[tid]["frames"]]
        if tid in spinning and theirs and mine:
            theirs, mine = [(theirs[0][0], None)] + theirs[1:], [(mine[0][0], None)] + mine[1:]
        if mine != theirs:
            bad = next((i for i in range(max(len(mine), len(theirs)))
                        if i >= len(mine) or i >= len(theirs) or mine[i] != theirs[i]), None)
            at = lambda seq: "%s:%s" % seq[bad] if bad < len(seq) else "-"
            problems.append("thread %d (%s): frame #%d differs: CPython %s, pyflare %s (%d vs %d frames)"
                            % (tid, ours[tid].get("name"), bad, at(theirs), at(mine), len(theirs), len(mine)))
    return problems


def job_peer(interp, launcher, scenario):
    name = "%s/peer/%s" % (interp, scenario)
    workdir = sid_root.mkdtemp("peer", "pyflare-peer-")
    target = it.Target(launcher, scenario, workdir, sid_root.stage_tree("peer", it.TARGETS))
    try:
        try:
            target.start()
            truth = target.wait_ready()
        except (it.TargetError, OSError, ValueError) as e:
            lines = str(e).splitlines() or [type(e).__name__]
            return [Result("FAIL", name, "target not ready: " + lines[0], lines[1:])]
        if "skip" in truth:
            return [Result("SKIP", name, truth["skip"])]
        peer = subprocess.run([launcher, "-m", "profiling.sampling", "dump", "-a", "--blocking", str(target.pid)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                              env=dict(os.environ, PYTHONIOENCODING="utf-8", LC_ALL="C.UTF-8"))
        if peer.returncode != 0:
            return [check(name, ["CPython's sampler failed (status %d): %s"
                                 % (peer.returncode, peer.stderr.decode("utf-8", "replace").strip()[-400:])])]
        dump, problem = it.parse_json_dump(it.pyflare(["dump", "--pid", str(target.pid), "--blocking", "--json"]))
        if problem:
            return [check(name, [problem])]
        return [check(name, peer_problems(truth, dump, parse_peer(peer.stdout.decode("utf-8", "replace"))))]
    finally:
        target.stop()


# ------------------------------------------------------------ formats --

def format_problems(fmt, path):
    """Why the file is not a readable FORMAT profile naming SPIN_FUNCTION."""
    with open(path, "rb") as f:
        data = f.read()
    name = SPIN_FUNCTION.encode()
    if not data:
        return ["empty output"]
    if fmt == "svg":
        root = ET.fromstring(data)
        texts = " ".join(t for t in root.itertext())
        return [] if SPIN_FUNCTION in texts or name in data else ["the SVG never names %s" % SPIN_FUNCTION]
    if fmt == "html":
        head = data[:200].lower()
        if b"<!doctype html" not in head and b"<html" not in head:
            return ["not an HTML document: %r" % data[:60]]
        return []
    if fmt == "folded":
        lines = data.decode("utf-8").splitlines()
        ok = all(re.match(r"^.+ \d+$", l) for l in lines)
        hit = any(SPIN_FUNCTION in l for l in lines)
        return [] if ok and hit else ["folded lines malformed or %s missing" % SPIN_FUNCTION]
    if fmt == "speedscope":
        doc = json.loads(data.decode("utf-8"))
        names = [f.get("name") for f in doc["shared"]["frames"]]
        return [] if any(SPIN_FUNCTION in (n or "") for n in names) else ["no frame named %s" % SPIN_FUNCTION]
    if fmt == "callgrind":
        text = data.decode("utf-8")
        if not text.startswith("# callgrind format") and "events:" not in text:
            return ["no callgrind header"]
        return [] if re.search(r"^c?fn=.*%s" % SPIN_FUNCTION, text, re.M) else ["no fn= or cfn= line names %s" % SPIN_FUNCTION]
    if fmt == "pprof":
        raw = gzip.decompress(data)
        return [] if name in raw else ["the profile's string table lacks %s" % SPIN_FUNCTION]
    if fmt == "pstats":
        stats = marshal.loads(data)
        funcs = [k[2] for k in stats]
        return [] if SPIN_FUNCTION in funcs else ["pstats keys lack %s: %s" % (SPIN_FUNCTION, funcs[:5])]
    if fmt == "text":
        return [] if name in data else ["the text report never names %s" % SPIN_FUNCTION]
    return ["unknown format %s" % fmt]


def job_formats(interp, launcher):
    results = []
    workdir = sid_root.mkdtemp("peer", "pyflare-fmt-")
    script = os.path.join(workdir, "spin.py")
    with open(script, "w") as f:
        f.write(SPIN_PROGRAM)
    for fmt in FORMATS:
        name = "%s/formats/%s" % (interp, fmt)
        out = os.path.join(workdir, "out." + fmt)
        run = it.pyflare(["record", "--rate", "500", "-f", fmt, "-o", out, "--", launcher, script],
                         timeout=60)
        if run.failure or run.rc != 0:
            results.append(check(name, ["pyflare record failed: " + run.describe()]))
            continue
        try:
            results.append(check(name, format_problems(fmt, out)))
        except Exception as e:   # a consumer could not read it at all
            results.append(check(name, ["%s: %s" % (type(e).__name__, e)]))
    return results


# ------------------------------------------------------------------ main --

def main(argv):
    it.PYFLARE = os.environ.get("PYFLARE") or os.path.join(os.path.dirname(TESTS), "build", "pyflare")
    filters = argv[1:]
    selected = lambda job: not filters or any(f in job for f in filters)
    suite = harness.Suite("peer")
    found = {}
    if not os.access(it.PYFLARE, os.X_OK):
        suite.failed("setup", "no executable pyflare at %s (run make)" % it.PYFLARE)
    else:
        for py in harness.interpreters("peer", sid_root.NAMES, host=False):
            if py.why:
                suite.skip(py.name, py.why)
            else:
                found[py.name] = py.path
        if found:
            sid_root.stage_tree("peer", it.TARGETS)
    plan = []
    for interp in found:
        if interp in PEER_PYTHONS:
            for scenario in SCENARIOS:
                plan.append(("%s/peer/%s" % (interp, scenario), job_peer, (interp, found[interp], scenario)))
        plan.append(("%s/formats" % interp, job_formats, (interp, found[interp])))
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        jobs = [pool.submit(job, *args) for name, job, args in plan if selected(name)]
        for job in jobs:
            suite.add(job.result())
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
