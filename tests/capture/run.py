#!/usr/bin/env python3
"""tests/capture/run.py — pyflare's capture format (.pyflare), end to end.

    PYFLARE=/abs/build/pyflare PYFLARE_BUILD=/abs/build python3 tests/capture/run.py [FILTER...]

The truth for "a capture converts to exactly what the recording would have
written" is the recording's own direct output: `record` takes -o several
times and writes each from the one profile, and the in-process module's
Profile.write can write one profile any number of times (clock="cpu": the
wall clock's TSC ratio is re-measured at each write, so two wall-clock writes
of one profile differ by design). Each direct file must equal, byte for
byte, what `convert` (and `flamegraph` for svg) makes from the capture.

Cases (FILTER keeps those whose name contains one of the words):
  INTERP/record    record threads.py (--threads, 1 kHz) and cpu_split.py (--idle)
                   to a capture and every other format at once; convert the
                   capture to each and compare bytes; flamegraph too
  INTERP/trace     pyflare.Profile (clock="cpu") on a known call tree written
                   as a capture and every format; convert compares bytes; and
                   `pyflare trace -o x.pyflare` then `convert x.pyflare x.pstats`:
                   pstats.Stats reads fib's exact call count (2 * fib(16) - 1
                   per call of fib(15)) and work's
  diff             diff of two captures, and of a capture and folded stacks
  folded           convert folded stacks to a capture (no samples): it converts
                   to what convert makes from the folded text, every format
  corrupt          every truncation and a bit flip in every byte of a real
                   capture: non-zero exit, one line on stderr naming the
                   offset (or the checksum; byte 0 flipped makes it folded
                   text, refused as such), no output file left
  INTERP/module    pyflare.load() of the record and trace captures: write() to
                   every format equals convert's (so record's) bytes; stats()
                   equals record's own pstats file read by pstats.Stats (every
                   Python function's calls, own and total time); samples()
                   are in time order and each thread's weight is what
                   record's folded text gives that thread; meta (rate, mode,
                   command, version, start time); those samples written in
                   format version 1's layout convert to the same bytes (old
                   captures are still read); trace: fib's exact calls
  bombs            a small file with a correct checksum claiming a 1 GB
                   column, and one claiming 100000 samples a byte (one
                   thread in one stack): each refused in one line naming the
                   offset, before the memory is asked for
  INTERP/module-corrupt  every truncation and bit flip of the corrupt case's
                   capture, loaded: ValueError naming the offset, no crash
  errors           record with several -o and --format; --rate with a capture
  size             synthetic 10 minutes at 1 kHz of 5 threads (gen_capture.c:
                   a program-like model and an adversarial one) and a real
                   5-second 5-thread recording: sizes of the capture and the
                   folded text, and the time to convert to SVG are printed
                   (figures; bench/capture_size.py measures 10 real minutes);
                   the program-like model's capture must be under half its
                   folded text and 3% under the same columns deflated (as
                   version 2 kept them), the real recording's under its
                   folded text
Interpreters: PYFLARE_PYTHONS=name,name (pyenv names; default 3.12.1 and 3.8.18).
Last line: "capture: N passed, N failed, N skipped"; exit status 1 on failure.
"""
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402  (the build under test, results, the summary line)
from harness import BUILD, PYFLARE, ROOT, Skip  # noqa: E402
import sections  # noqa: E402  (a capture taken apart and put back: sections.py here)
from sections import varint  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = os.path.join(ROOT, "tests", "record", "targets")
PYENV = harness.pyenv_versions() or "/nonexistent"  # pyenv root, never a guessed home
FORMATS = ["svg", "html", "folded", "speedscope", "callgrind", "pprof", "pstats", "text"]

TMP = tempfile.mkdtemp(prefix="pyflare-capture-")
suite = harness.Suite("capture", sys.argv[1:])


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def pf(*args, **kw):
    return subprocess.run([PYFLARE] + list(args), capture_output=True, timeout=kw.pop("timeout", 120), **kw)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def same_as_direct(base, capture, formats=FORMATS, extra=()):
    """convert the capture to each format; each must equal base.<fmt>."""
    bad = []
    for fmt in formats:
        out = "%s.from-capture.%s" % (base, fmt)
        r = pf("convert", *(list(extra) + [capture, out]))
        check(r.returncode == 0, "convert %s -> %s: %s" % (capture, fmt, r.stderr.decode()))
        if read(out) != read("%s.%s" % (base, fmt)):
            bad.append(fmt)
    check(not bad, "converted from the capture, these differ from the direct output: %s" % " ".join(bad))


def python(name):
    exe = os.path.join(PYENV, name, "bin", "python")
    if not os.path.exists(exe):
        raise Skip("no interpreter %s" % exe)
    return exe


def case_record(interp):
    exe = python(interp)
    # threads.py: spinners under thread roots, 1 kHz, CPU-weighted
    ready = os.path.join(TMP, "ready-%s" % interp)
    base = os.path.join(TMP, "rec-%s" % interp)
    outs = ["-o", base + ".pyflare"] + sum([["-o", "%s.%s" % (base, f)] for f in FORMATS], [])
    r = pf("record", "-d", "2", "-r", "1000", "--threads", *outs, "--", exe, os.path.join(TARGETS, "threads.py"),
           ready, timeout=90)
    check(r.returncode in (0, -15, 143) and os.path.exists(base + ".pyflare"), "record failed: %s" % r.stderr.decode())
    check(b"spin_alpha" in read(base + ".folded"), "the recording holds no spinner: %s" % r.stderr.decode()[-500:])
    same_as_direct(base, base + ".pyflare")
    r = pf("flamegraph", base + ".pyflare", "-o", base + ".fg.svg")
    check(r.returncode == 0 and read(base + ".fg.svg") == read(base + ".svg"),
          "flamegraph of the capture differs from record's svg: %s" % r.stderr.decode())
    # cpu_split.py under --idle (wall time, not CPU-weighted), reversed and inverted drawing options
    base2 = os.path.join(TMP, "idle-%s" % interp)
    outs = ["-o", base2 + ".pyflare"] + sum([["-o", "%s.%s" % (base2, f)] for f in ("svg", "html", "speedscope")], [])
    r = pf("record", "-d", "2", "--idle", "--reverse", "--title", "t <&>", *outs, "--", exe,
           os.path.join(TARGETS, "cpu_split.py"), timeout=90)
    check(os.path.exists(base2 + ".pyflare"), "record --idle failed: %s" % r.stderr.decode())
    same_as_direct(base2, base2 + ".pyflare", ("svg", "html", "speedscope"), extra=("--reverse",))


TRACE_SCRIPT = r'''
import sys, pyflare
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
def work():
    for i in range(3):
        fib(15)
        sorted(range(1000))
p = pyflare.Profile(clock="cpu")
p.enable()
work()
p.disable()
for path in sys.argv[1:]:
    p.write(path)
'''

FIB15_CALLS = 1973  # calls of fib made by one fib(15): 2 * fib(16) - 1


def module_dir(interp):
    """The tracer module for interp: this build's, else the normal build's."""
    for build in (BUILD, os.path.join(ROOT, "build")):
        d = os.path.join(build, "module", interp)
        if os.path.isdir(d):
            return d
    raise Skip("no tracer module built for %s" % interp)


def module_env(interp):
    """The environment importing interp's tracer module: under `make asan`
    the module is built with the sanitizers, whose runtime the (uninstrumented)
    interpreter must preload (build/asan/module/asan-runtime names it)."""
    d = module_dir(interp)
    env = dict(os.environ, PYTHONPATH=d)
    rt_file = os.path.join(os.path.dirname(os.path.dirname(d)), "module", "asan-runtime")
    if os.path.exists(rt_file):
        with open(rt_file) as f:
            env.update(LD_PRELOAD=f.read().strip(), ASAN_OPTIONS="detect_leaks=0")
    return env


def case_trace(interp):
    exe = python(interp)
    env = module_env(interp)
    script = os.path.join(TMP, "trace_script.py")
    with open(script, "w") as f:
        f.write(TRACE_SCRIPT)
    base = os.path.join(TMP, "tr-%s" % interp)
    paths = [base + ".pyflare"] + ["%s.%s" % (base, f) for f in FORMATS]
    r = subprocess.run([exe, script] + paths, env=env, capture_output=True, timeout=120)
    check(r.returncode == 0, "the traced script failed: %s" % r.stderr.decode()[-1000:])
    same_as_direct(base, base + ".pyflare")
    # pyflare trace itself, and the exact counts through a capture
    cap = base + ".trace.pyflare"
    work = os.path.join(TMP, "trace_work.py")
    with open(work, "w") as f:
        f.write(TRACE_SCRIPT.split("p = pyflare")[0] + "work()\n")
    # pyflare itself must not get the preload (it carries its own sanitizer
    # runtime): the interpreter it launches gets it through a wrapper.
    plain = dict(env)
    runner = exe
    if "LD_PRELOAD" in env:
        del plain["LD_PRELOAD"]
        runner = os.path.join(TMP, "python-%s" % interp)
        with open(runner, "w") as f:
            f.write("#!/bin/sh\nLD_PRELOAD=%s ASAN_OPTIONS=%s exec %s \"$@\"\n" %
                    (env["LD_PRELOAD"], env["ASAN_OPTIONS"], exe))
        os.chmod(runner, 0o755)
    r = pf("trace", "-o", cap, "--", runner, work, env=plain)
    check(r.returncode == 0, "pyflare trace failed: %s" % r.stderr.decode())
    r = pf("convert", cap, cap + ".pstats")
    check(r.returncode == 0, "convert failed: %s" % r.stderr.decode())
    st = pstats.Stats(cap + ".pstats").stats
    calls = {k[2]: v[1] for k, v in st.items()}
    check(calls.get("fib") == 3 * FIB15_CALLS, "fib's calls: %s, expected %d" % (calls.get("fib"), 3 * FIB15_CALLS))
    check(calls.get("work") == 1, "work's calls: %s" % calls.get("work"))


LOAD_SCRIPT = r'''
import json, sys, pyflare
c = pyflare.load(sys.argv[1])
out = {"meta": c.meta, "threads": c.threads(), "processes": c.processes()}
out["stats"] = [[list(k), v] for k, v in c.stats().items()]
fns = c.functions()
out["functions"] = fns
last, per_thread, n, ordered = 0, {}, 0, True
for time_ns, thread, node, weight in c.samples():
    ordered = ordered and time_ns >= last
    last = time_ns
    per_thread[thread] = per_thread.get(thread, 0) + weight
    n += 1
out["samples"] = {"n": n, "ordered": ordered, "per_thread": per_thread}
out["sample_list"] = list(c.samples()) if n < 200000 else None
tree = c.tree()
out["tree_self"] = sum(row[6] for row in tree)
if tree:
    deepest = max(tree, key=lambda row: len(c.stack(row[0])))
    out["deepest"] = [deepest[2], [fns[f][0] for f, line in c.stack(deepest[0])]]
for path in sys.argv[2:]:
    c.write(path)
print(json.dumps(out))
'''


def load_in(interp, cap, writes=()):
    """pyflare.load(cap) in interp (the module's view of the capture, as JSON),
    writing it to each path in writes."""
    script = os.path.join(TMP, "load_script.py")
    with open(script, "w") as f:
        f.write(LOAD_SCRIPT)
    r = subprocess.run([python(interp), script, cap] + list(writes), env=module_env(interp), capture_output=True,
                       timeout=120)
    check(r.returncode == 0, "pyflare.load(%s): %s" % (cap, r.stderr.decode()[-1500:]))
    return json.loads(r.stdout)


def case_module(interp):
    """pyflare.load() on record's and trace's captures, against what record
    wrote directly (its pstats read by pstats.Stats, its folded text) and the
    known call counts of a traced fib."""
    base = os.path.join(TMP, "rec-%s" % interp)
    if not os.path.exists(base + ".pyflare"):
        raise Skip("needs the %s/record case's recording" % interp)
    outs = ["%s.module.%s" % (base, f) for f in FORMATS]
    got = load_in(interp, base + ".pyflare", outs)
    # write(): what convert wrote from the same capture (equal to record's own, case_record)
    bad = [f for f, out in zip(FORMATS, outs) if read(out) != read("%s.%s" % (base, f))]
    check(not bad, "Capture.write differs from record's direct output: %s" % " ".join(bad))
    meta = got["meta"]
    check(meta["mode"] == "sampled" and meta["rate_hz"] == 1000 and meta["period_ns"] == 1000000,
          "meta: %r" % meta)
    check("threads.py" in meta["command"] and meta["python"] == interp, "command/python: %r" % meta)
    check(meta["format_version"] == 3 and meta["cpu_weighted"], "meta: %r" % meta)
    made = os.path.getmtime(base + ".pyflare")
    check(made - 120 < meta["start_unix_ns"] / 1e9 <= made, "start %s, file made %s" % (meta["start_unix_ns"], made))
    # per-function figures: record's own pstats file, read by pstats
    st = pstats.Stats(base + ".pstats").stats
    unit = meta["period_ns"] / 1e9
    mine = {tuple(k): v for k, v in got["stats"] if v["kind"] == "python"}
    theirs = {k: v for k, v in st.items() if k[0] != "~"}
    check(set(mine) == set(theirs), "functions differ from the pstats file: only here %s, only there %s" %
          (sorted(set(mine) - set(theirs))[:5], sorted(set(theirs) - set(mine))[:5]))
    for k, v in mine.items():
        cc, nc, tt, ct = theirs[k][:4]
        check((v["primitive_calls"], v["calls"]) == (cc, nc) and abs(v["self"] * unit - tt) < 1e-9 and
              abs(v["total"] * unit - ct) < 1e-9, "%s: module %r, pstats %r" % (k, v, theirs[k][:4]))
    check(any(k[2] == "spin_alpha" and v["self"] > 0 for k, v in mine.items()), "no spin_alpha in the stats")
    # samples: in time order, and each thread's weight what the folded text gives that thread's root
    sm = got["samples"]
    check(sm["ordered"] and sm["n"] == meta["samples"] and sm["n"] > 0, "samples: %r" % {**sm, "per_thread": 0})
    folded = {}
    for line in read(base + ".folded").decode().splitlines():
        stack, _, count = line.rpartition(" ")
        root = stack.split(";")[0]
        folded[root] = folded.get(root, 0) + int(count)
    by_name = {"thread %s" % (t["name"] if t["name"] is not None else t["thread_id"]):
               sm["per_thread"].get(str(t["index"]), 0) for t in got["threads"]}
    check({k: v for k, v in by_name.items() if v} == folded,
          "per-thread weights: module %r, folded %r" % (by_name, folded))
    check(got["tree_self"] == sum(folded.values()), "tree self %d, folded %d" % (got["tree_self"], sum(folded.values())))
    # version 1 (still read): the same samples, as the module saw them,
    # written in version 1's layout, convert to the same bytes
    # and version 2 (still read): the same columns, decoded here from their
    # range code by the format's description, kept as bytes
    v1 = as_version1(base + ".pyflare", got["sample_list"], len(got["threads"]))
    v2 = as_version2(base + ".pyflare")
    for old, v in ((v1, "v1"), (v2, "v2")):
        for fmt in ("folded", "speedscope", "html"):
            r = pf("convert", old, "%s.%s.%s" % (base, v, fmt))
            check(r.returncode == 0, "convert a version %s capture: %s" % (v, r.stderr.decode()))
            check(read("%s.%s.%s" % (base, v, fmt)) == read("%s.%s" % (base, fmt)),
                  "a version %s capture of the same samples converts to other %s" % (v[1], fmt))
    # trace: the exact counts
    cap = os.path.join(TMP, "tr-%s.trace.pyflare" % interp)
    if not os.path.exists(cap):
        raise Skip("needs the %s/trace case's capture" % interp)
    got = load_in(interp, cap)
    calls = {k[2]: v["calls"] for k, v in got["stats"]}
    check(got["meta"]["mode"] == "traced" and got["meta"]["weight_unit"] == "nanoseconds", "meta: %r" % got["meta"])
    check(calls.get("fib") == 3 * FIB15_CALLS and calls.get("work") == 1, "fib %s, work %s" %
          (calls.get("fib"), calls.get("work")))
    st = pstats.Stats(cap + ".pstats").stats
    for k, v in got["stats"]:
        if v["kind"] == "python":
            check(abs(v["total_ns"] / 1e9 - st[tuple(k)][3]) < 1e-9, "%s: total %s, pstats %s" %
                  (k, v["total_ns"], st[tuple(k)][3]))


def zig(v):
    return varint((v << 1) ^ (v >> 63) if v >= 0 else ((-v) << 1) - 1)


def as_version1(path, samples, nthreads):
    """path's capture with its SAMPLES section (tag 8) written in format
    version 1's layout (capture_read.h) from samples [(time_ns, thread, node,
    weight)]: four columns, time deltas in microseconds, threads, each
    thread's node delta, weights."""
    cols, last, prev = [bytearray() for _ in range(4)], 0, {}
    for time_ns, thread, node, weight in samples:
        us = time_ns // 1000
        cols[0] += zig(us - last)
        last = us
        cols[1] += varint(thread)
        slot = min(thread, nthreads)
        cols[2] += zig(node - prev.get(slot, 0))
        prev[slot] = node
        cols[3] += varint(weight)
    payload = varint(len(samples)) + b"".join(varint(len(c)) + bytes(c) for c in cols)
    header, found = sections.read(path)
    v1 = path + ".v1.pyflare"
    sections.write(v1, header, sections.replaced(found, sections.SAMPLES, payload), version=1)
    return v1


def decode_column(coded, n):
    """A version 3 column's n bytes from its range-coded ones, as
    capture_read.h describes the coder (written here from that text, not
    from the C): a tree of 16-bit probabilities of a 1 over each byte's bits,
    each moved 1/32 of the way to the bit seen; 32-bit bounds."""
    if n == 0:
        return b""
    prob, lo, hi, at = [1 << 15] * 256, 0, 0xFFFFFFFF, 4
    x = int.from_bytes(coded[:4].ljust(4, b"\0"), "big")
    out = bytearray()
    for _ in range(n):
        node = 1
        for _ in range(8):
            p = prob[node]
            mid = lo + (((hi - lo) * p) >> 16)
            bit = 1 if x <= mid else 0
            if bit:
                hi, prob[node] = mid, p + ((65536 - p) >> 5)
            else:
                lo, prob[node] = mid + 1, p - (p >> 5)
            node = node * 2 + bit
            while (lo ^ hi) & 0xFF000000 == 0:
                lo, hi = (lo << 8) & 0xFFFFFFFF, ((hi << 8) & 0xFFFFFFFF) | 0xFF
                x = ((x << 8) & 0xFFFFFFFF) | (coded[at] if at < len(coded) else 0)
                at += 1
        out.append(node & 0xFF)
    check(at == len(coded), "a column decoded from %d of its %d coded bytes" % (at, len(coded)))
    return bytes(out)


def encode_column(data):
    """data range-coded as a version 3 column (the inverse of decode_column)."""
    if not data:
        return b""
    prob, lo, hi, out = [1 << 15] * 256, 0, 0xFFFFFFFF, bytearray()
    for byte in data:
        node = 1
        for k in range(7, -1, -1):
            bit, p = (byte >> k) & 1, prob[node]
            mid = lo + (((hi - lo) * p) >> 16)
            if bit:
                hi, prob[node] = mid, p + ((65536 - p) >> 5)
            else:
                lo, prob[node] = mid + 1, p - (p >> 5)
            node = node * 2 + bit
            while (lo ^ hi) & 0xFF000000 == 0:
                out.append(hi >> 24)
                lo, hi = (lo << 8) & 0xFFFFFFFF, ((hi << 8) & 0xFFFFFFFF) | 0xFF
    return bytes(out) + lo.to_bytes(4, "big")


def with_samples(path, payload, dest):
    """path's capture with its SAMPLES section's payload replaced, written to
    dest with a correct length and checksum (so the reader gets past them),
    deflated at zlib's best (the bombs are smallest so); returns its size."""
    header, found = sections.read(path)
    return sections.write(dest, header, sections.replaced(found, sections.SAMPLES, payload), level=9)


def as_version2(path):
    """path's capture (version 3) in version 2's layout: the same sample
    columns, each decoded from its range code (decode_column) and kept as
    bytes; deflated as pyflare deflates. Returns the new file's path."""
    header, found = sections.read(path)
    check(header[8:12] == (3).to_bytes(4, "little"), "the capture is not version 3")
    get = harness.read_varint
    out = []
    for tag, sec in found:
        if tag == sections.SAMPLES:
            ns, p = get(sec, 0)
            payload = bytearray(varint(ns))
            for _ in range(8):  # the version 2 columns, in order
                n, p = get(sec, p)
                clen, p = get(sec, p)
                col = decode_column(sec[p:p + clen], n)
                p += clen
                payload += varint(len(col)) + col
            check(p == len(sec), "the samples section has %d bytes past its columns" % (len(sec) - p))
            sec = bytes(payload)
        out.append((tag, sec))
    v2 = path + ".v2.pyflare"
    sections.write(v2, header, out, version=2)
    return v2


CORRUPT_SCRIPT = r'''
import sys, pyflare
data = open(sys.argv[1], "rb").read()
bad = sys.argv[1] + ".bad"
good = pyflare.load(sys.argv[1])
refused = 0
cases = [data[:cut] for cut in range(len(data))]
for at in range(len(data)):
    flipped = bytearray(data)
    flipped[at] ^= 1 << (at % 8)
    cases.append(bytes(flipped))
for i, case in enumerate(cases):
    with open(bad, "wb") as f:
        f.write(case)
    try:
        pyflare.load(bad)
    except ValueError as e:
        msg = str(e)
        if "offset" not in msg and "checksum" not in msg or "\n" in msg:
            sys.exit("case %d: %r" % (i, msg))
        refused += 1
try:
    pyflare.load(bad + ".missing")
    sys.exit("a missing file loaded")
except (IOError, OSError):
    pass
print(refused, len(cases))
'''


def case_module_corrupt(interp):
    """Every truncation and a bit flip in every byte of a real capture, loaded
    by the module: ValueError naming the offset (or the checksum), never a
    crash; a missing file is OSError."""
    src = os.path.join(TMP, "small.pyflare")
    if not os.path.exists(src):
        raise Skip("needs the corrupt case's capture")
    script = os.path.join(TMP, "corrupt_script.py")
    with open(script, "w") as f:
        f.write(CORRUPT_SCRIPT)
    r = subprocess.run([python(interp), script, src], env=module_env(interp), capture_output=True, timeout=300)
    check(r.returncode == 0, "status %d: %s" % (r.returncode, (r.stdout + r.stderr).decode()[-1500:]))
    refused, cases = map(int, r.stdout.split())
    # deflate's unread padding bits may change nothing (case_corrupt): at most 3
    check(refused >= cases - 3, "%d of %d damaged captures refused" % (refused, cases))
    print("     pyflare.load refused %d of %d truncated or bit-flipped captures with ValueError naming the offset"
          % (refused, cases))


def case_diff():
    base = os.path.join(TMP, "rec-diff")
    ready = os.path.join(TMP, "ready-diff")
    r = pf("record", "-d", "1", "-r", "500", "-o", base + ".pyflare", "-o", base + ".folded", "--",
           sys.executable, os.path.join(TARGETS, "threads.py"), ready, timeout=90)
    check(os.path.exists(base + ".pyflare"), "record failed: %s" % r.stderr.decode())
    for other in (base + ".pyflare", base + ".folded"):
        out = base + ".diff.svg"
        r = pf("diff", other, base + ".pyflare", "-o", out)
        check(r.returncode == 0 and read(out).startswith(b"<?xml"), "diff %s: %s" % (other, r.stderr.decode()))
        check(b"spin_" in read(out), "the diff drew no spinner")


def case_folded():
    """convert as the producer: folded stacks (no sample log: empty columns) to
    a capture, which converts to what convert makes from the folded text."""
    src = os.path.join(TMP, "rec-diff.folded")
    if not os.path.exists(src):
        raise Skip("needs the diff case's recording")
    base = os.path.join(TMP, "fold")
    for fmt in FORMATS:
        r = pf("convert", "--rate", "500", src, "%s.%s" % (base, fmt))
        check(r.returncode == 0, "convert folded -> %s: %s" % (fmt, r.stderr.decode()))
    r = pf("convert", "--rate", "500", src, base + ".pyflare")
    check(r.returncode == 0, "convert folded -> capture: %s" % r.stderr.decode())
    same_as_direct(base, base + ".pyflare")


def one_line_error(r, what, out, offset=True):
    lines = r.stderr.decode(errors="replace").splitlines()
    check(r.returncode != 0, "%s: exit status 0" % what)
    check(r.returncode > 0, "%s: killed by signal %d" % (what, -r.returncode))
    check(len(lines) == 1, "%s: %d lines on stderr: %r" % (what, len(lines), lines[:3]))
    check(not offset or "offset" in lines[0] or "checksum" in lines[0], "%s: no offset named: %s" % (what, lines[0]))
    check(not os.path.exists(out), "%s: an output file was left" % what)


def case_corrupt():
    src = os.path.join(TMP, "small.pyflare")
    script = os.path.join(TMP, "small.py")
    with open(script, "w") as f:
        f.write(TRACE_SCRIPT)
    interp = "3.12.1"
    r = subprocess.run([python(interp), script, src], env=module_env(interp),
                       capture_output=True, timeout=60)
    check(r.returncode == 0, "making a capture failed: %s" % r.stderr.decode())
    data = read(src)
    bad = os.path.join(TMP, "bad.pyflare")
    out = os.path.join(TMP, "bad.svg")
    for cut in range(1, len(data)):
        with open(bad, "wb") as f:
            f.write(data[:cut])
        one_line_error(pf("convert", bad, out), "truncated to %d bytes" % cut, out)
    good = os.path.join(TMP, "good.svg")
    check(pf("convert", src, good).returncode == 0, "the intact capture does not convert")
    harmless = 0
    for at in range(len(data)):
        flipped = bytearray(data)
        flipped[at] ^= 1 << (at % 8)
        with open(bad, "wb") as f:
            f.write(bytes(flipped))
        r = pf("convert", bad, out)
        # deflate has bits no one reads (the last byte's padding, a code
        # length the block's codes never use): flipping one changes nothing
        # the capture decodes to (the body's CRC-32 refuses any other change),
        # and the output must show it.
        if r.returncode == 0 and read(out) == read(good):
            harmless += 1
            os.unlink(out)
            continue
        # Byte 0 flipped is no capture: it is read as folded stacks, and refused as such.
        one_line_error(r, "bit %d of byte %d flipped" % (at % 8, at), out, offset=at > 0)
    check(harmless <= 3, "%d bit flips were read as if nothing happened" % harmless)
    print("     %d truncations and %d bit flips of a %d-byte capture refused in one line (%d flip of deflate's "
          "padding changed nothing)" % (len(data) - 1, len(data) - harmless, len(data), harmless))


def case_bombs():
    """Small files that claim huge sample logs, with a correct checksum: a
    column of a gigabyte coded in a megabyte of zeros (which deflate takes to
    about a kilobyte), and a log of one thread in one stack for over 65536
    samples a byte of file (its skip column of 255s coded in next to
    nothing). Each is refused in one line, before the memory is asked for."""
    src = os.path.join(TMP, "small.pyflare")
    if not os.path.exists(src):
        raise Skip("needs the corrupt case's capture")
    bad, out = os.path.join(TMP, "bomb.pyflare"), os.path.join(TMP, "bomb.svg")
    empty = varint(0) + varint(0)
    cols = varint(1 << 30) + varint(1 << 20) + bytes(1 << 20) + empty * 7
    size = with_samples(src, varint(255) + cols, bad)
    r = pf("convert", bad, out, timeout=60)
    one_line_error(r, "a %d-byte file with a 1 GB column" % size, out)
    check(b"a file this small" in r.stderr, "the column bomb: %s" % r.stderr.decode())
    size = 2000
    for _ in range(3):  # the file's size depends on the count it holds
        n = size * 100000 // 255 * 255
        skip = bytes([255]) * (n // 255) + b"\0"
        payload = varint(n)
        for col in (skip, b"", b"", b"", b"\0", varint(n - 1), b"", b""):
            payload += varint(len(col)) + varint(len(encode_column(col))) + encode_column(col)
        size = with_samples(src, payload, bad)
    r = pf("convert", bad, out, timeout=60)
    one_line_error(r, "a %d-byte file of %d samples" % (size, n), out)
    check(b"a file this small" in r.stderr, "the sample bomb: %s" % r.stderr.decode())
    print("     a %d-byte file claiming %d samples refused: %s" % (size, n, r.stderr.decode().strip()))


def case_errors():
    r = pf("record", "-f", "svg", "-o", "a.pyflare", "-o", "b.svg", "--pid", "1")
    check(r.returncode == 2 and b"--format" in r.stderr, "several -o with --format: %r" % r.stderr)
    cap = os.path.join(TMP, "rec-diff.pyflare")
    if not os.path.exists(cap):
        raise Skip("needs the diff case's capture")
    r = pf("convert", "--rate", "100", cap, os.path.join(TMP, "x.svg"))
    check(r.returncode != 0 and len(r.stderr.splitlines()) == 1, "--rate with a capture: %r" % r.stderr)


def build_gen():
    exe = os.path.join(TMP, "gen_capture")
    lib = os.path.join(BUILD, "libpyflare.a")
    if not os.path.exists(lib):
        raise Skip("no %s" % lib)
    cc, flags = os.environ.get("CC", "cc"), []
    with open(lib, "rb") as fh:
        if b"__asan_" in fh.read():  # `make asan`'s library: link to match
            flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
            cc = os.environ.get("CC") or (shutil.which("clang") and "clang") or "cc"
    r = subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-O2"] + flags + ["-I" + os.path.join(ROOT, "src"),
                        os.path.join(HERE, "gen_capture.c"), lib, "-lz", "-lm", "-o", exe], capture_output=True,
                       text=True)
    check(r.returncode == 0, "cannot build gen_capture: %s" % r.stderr[-500:])
    return exe


def timed_svg(cap):
    t = time.monotonic()
    r = pf("convert", cap, cap + ".svg")
    check(r.returncode == 0, "convert to svg: %s" % r.stderr.decode())
    return time.monotonic() - t



def case_size():
    gen = build_gen()
    for model, what in (("real", "each thread looping over its own 64 hot stacks, 1-20 samples in one, thread 0 "
                                  "mostly waiting"),
                        ("hop", "adversarial: every thread hopping at random among all 4000 stacks, 1-10 samples "
                                "in one")):
        big = os.path.join(TMP, "big-%s.pyflare" % model)
        r = subprocess.run([gen, "600", "5", big, model], capture_output=True, text=True, timeout=300)
        check(r.returncode == 0, "gen_capture: %s" % r.stderr)
        cap, folded = os.path.getsize(big), os.path.getsize(big[:-len(".pyflare")] + ".folded")
        print("     synthetic 10 min, 1 kHz, 5 threads, 4000 distinct stacks, %s: capture %d bytes (%.3f a sample), "
              "folded %d bytes; convert to svg %.2f s" % (what, cap, cap / 3e6, folded, timed_svg(big)))
        # A model like a program: far under its folded text (the hop model
        # is not: see gen_capture.c), and the range-coded columns (version 3)
        # smaller than the same columns deflated (version 2): 454 against
        # 484 KB when written
        if model == "real":
            v2 = os.path.getsize(as_version2(big))
            print("     (the same capture in version 2's layout, its columns deflated: %d bytes)" % v2)
            check(cap < folded / 2, "the synthetic recording's capture (%d) is not well under its folded text (%d)" %
                  (cap, folded))
            check(cap < v2 * 0.97, "the range-coded capture (%d) is not under its columns deflated (%d)" % (cap, v2))
    # A real recording, sampled at 1 kHz: five threads, some busy, some waiting (five.py).
    five = os.path.join(HERE, "five.py")  # bench/capture_size.py's program too
    base = os.path.join(TMP, "five")
    r = pf("record", "-d", "5", "-r", "1000", "--idle", "-o", base + ".pyflare", "-o", base + ".folded", "--",
           sys.executable, five, timeout=90)
    check(os.path.exists(base + ".pyflare"), "record: %s" % r.stderr.decode())
    whole, folded = os.path.getsize(base + ".pyflare"), os.path.getsize(base + ".folded")
    cap = sections.without_sources(base + ".pyflare")
    print("     real 5 s, 1 kHz, 5 threads (--idle): capture %d bytes (%d with the source text of the files it "
          "names), folded %d bytes; convert to svg %.2f s" % (cap, whole, folded, timed_svg(base + ".pyflare")))
    check(cap < folded, "the real recording's capture (%d without its sources) is not smaller than its folded text "
          "(%d)" % (cap, folded))
    # A program shaped like a service (service.py: deep, many stacks, most of its time in the standard library):
    # the whole capture, library source excerpts included (report/excerpt.h), under its folded text. It was
    # not before the excerpts (the whole of every library file it names: over twice the folded text).
    base = os.path.join(TMP, "service")
    r = pf("record", "-d", "5", "-r", "1000", "--idle", "-o", base + ".pyflare", "-o", base + ".folded", "--",
           sys.executable, os.path.join(HERE, "service.py"), timeout=90)
    check(os.path.exists(base + ".pyflare"), "record: %s" % r.stderr.decode())
    whole, folded = os.path.getsize(base + ".pyflare"), os.path.getsize(base + ".folded")
    print("     real 5 s, 1 kHz, a 5-thread HTTP service (--idle): capture %d bytes (%d without source text), folded "
          "%d bytes; convert to svg %.2f s" % (whole, sections.without_sources(base + ".pyflare"), folded,
                                              timed_svg(base + ".pyflare")))
    check(whole < folded, "the service's capture (%d, with its source text) is not smaller than its folded text (%d)" %
          (whole, folded))


def main():
    if not os.path.exists(PYFLARE):
        suite.failed("pyflare", "no %s" % PYFLARE)
        return suite.finish()
    interps = [n for n in os.environ.get("PYFLARE_PYTHONS", "3.12.1,3.8.18").split(",") if n]
    for interp in interps:
        suite.run("%s/record" % interp, case_record, interp)
        suite.run("%s/trace" % interp, case_trace, interp)
    suite.run("diff", case_diff)
    suite.run("folded", case_folded)
    suite.run("corrupt", case_corrupt)
    suite.run("bombs", case_bombs)
    for interp in interps:
        suite.run("%s/module" % interp, case_module, interp)
        suite.run("%s/module-corrupt" % interp, case_module_corrupt, interp)
    suite.run("errors", case_errors)
    suite.run("size", case_size)
    shutil.rmtree(TMP, ignore_errors=True)
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
