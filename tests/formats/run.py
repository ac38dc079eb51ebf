#!/usr/bin/env python3
"""tests/formats/run.py — the output formats, read back by their real consumers.

Builds tests/formats/mkprofile.c against the library, feeds it profiles whose
truth this script computes on its own, and checks what each format's real
reader makes of the files:
  callgrind   callgrind_annotate (valgrind): totals, per-function self and inclusive
  pprof       go tool pprof -top / -traces: totals, names, flat/cum per function
  pstats      pstats.Stats: exact cc/nc/tt/ct and callers, against cProfile itself
  speedscope  a check of the file-format-schema structure, stacks and event order
  text        the percentages printed, and that no raw escape reaches the terminal
Two profiles: SAMPLED (two threads, a sample log, recursion, hostile names)
and TRACED (built from the call events of a real Python run under a fake
clock, which cProfile also profiles, so cProfile's numbers are the truth).
When `pyflare record` works, a real program is also recorded in each format.

Stdlib only. Env: PYFLARE (the binary), PYFLARE_BUILD (the build dir with
libpyflare.a). A missing consumer is a SKIP with its reason, never silent.
Last line: "formats: N passed, N failed, N skipped"; exit status 1 on failure.
"""
import cProfile
import json
import os
import pstats
import random
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402  (tests/harness.py: the build under test, results, the summary line)
from harness import BUILD, PYFLARE, ROOT, Skip  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

suite = harness.Suite("formats")
run_test = suite.run  # an assertion or a consumer's crash: both are failures


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def close(a, b, rel=1e-9, abs_=1e-12):
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


# ---- the escapes the writers apply, re-implemented here from their specs ----

def utf8_len(b, i):
    """Length of the valid UTF-8 sequence at b[i], or 0 (as escape.c)."""
    c = b[i]
    if c < 0x80:
        return 1
    n = 4 if 0xF0 <= c <= 0xF4 else 3 if 0xE0 <= c < 0xF0 else 2 if 0xC2 <= c < 0xE0 else 0
    if not n or i + n > len(b):
        return 0
    if any((b[i + k] & 0xC0) != 0x80 for k in range(1, n)):
        return 0
    cp = b[i] & (0x1F if n == 2 else 0x0F if n == 3 else 0x07)
    for k in range(1, n):
        cp = cp << 6 | (b[i + k] & 0x3F)
    if (n == 3 and (cp < 0x800 or 0xD800 <= cp <= 0xDFFF)) or (n == 4 and (cp < 0x10000 or cp > 0x10FFFF)):
        return 0
    return n


def clean(b):
    """Invalid UTF-8 bytes become U+FFFD one by one (protobuf, marshal, JSON)."""
    out, i = [], 0
    while i < len(b):
        n = utf8_len(b, i)
        if n:
            out.append(b[i:i + n].decode("utf-8"))
            i += n
        else:
            out.append("\ufffd")
            i += 1
    return "".join(out)


def text_escape(b):
    """Control characters and invalid bytes made visible (text, callgrind)."""
    out, i = [], 0
    while i < len(b):
        n = utf8_len(b, i)
        c = b[i]
        if n == 1 and (c < 0x20 or c == 0x7F):
            out.append({0x0A: "\\n", 0x09: "\\t", 0x0D: "\\r"}.get(c, "\\x%02x" % c))
            i += 1
        elif n == 2 and c == 0xC2 and b[i + 1] < 0xA0:
            out.append("\\u%04x" % b[i + 1])
            i += 2
        elif not n:
            out.append("\\x%02x" % c)
            i += 1
        else:
            out.append(b[i:i + n].decode("utf-8"))
            i += n
    return "".join(out)


def hx(b):
    if isinstance(b, str):
        b = b.encode("utf-8")
    return "x" + b.hex()


# ---- profile descriptions ----

class Func:
    def __init__(self, fid, kind, name, file, firstline):
        self.id, self.kind, self.firstline = fid, kind, firstline
        self.name = name if isinstance(name, bytes) else name.encode("utf-8")
        self.file = file if isinstance(file, bytes) else file.encode("utf-8")

    def synthetic(self):
        return self.kind in ("thread", "process")

    def pstats_key(self):
        if self.kind in ("native", "other"):
            return ("~", 0, clean(self.name))
        return (clean(self.file), self.firstline, clean(self.name))

    def callgrind_name(self):
        return "%s:%s" % (text_escape(self.file or b"???"), text_escape(self.name or b"???"))

    def text_label(self):
        if self.kind in ("thread", "process", "other") or not self.file or self.file == b"~":
            return text_escape(self.name)
        return "%s  %s:%d" % (text_escape(self.name), text_escape(self.file), self.firstline)


class Spec:
    def __init__(self, mode):
        self.mode = mode
        self.lines = ["mode " + mode]
        self.funcs = []

    def func(self, kind, name, file=b"", firstline=0):
        f = Func(len(self.funcs) + 1, kind, name, file, firstline)
        self.funcs.append(f)
        self.lines.append("func %s %d %s %s" % (kind, firstline, hx(f.name), hx(f.file)))
        return f

    def write(self, path):
        with open(path, "w") as fh:
            fh.write("\n".join(self.lines) + "\n")


PERIOD = 10_000_000
COMMAND = b'python3 app.py --name "x"\n\x1b[31m'


def sampled_spec(log=True, seed=7):
    """Two threads of random stacks with recursion, mutual recursion, natives,
    an <idle> leaf, samples with no frames and hostile names."""
    s = Spec("sampled")
    s.lines.append("meta %d 100 4000000000 1700000000000000000 %s %s" % (PERIOD, hx(COMMAND), hx("3.11.7")))
    s.lines.append("log %d" % (1 if log else 0))
    s.lines.append("process 4242 %s" % hx(COMMAND))
    s.lines.append("thread 0 139000 4242 %s" % hx("MainThread"))
    s.lines.append("thread 0 139001 4243 %s" % hx('worker "W"\n\x01'))
    T = [s.func("thread", "MainThread"), s.func("thread", b'worker "W"\n\x01')]
    mod = s.func("python", "<module>", "app.py", 1)
    main = s.func("python", "main", "app.py", 10)
    fib = s.func("python", "fib", "app.py", 20)
    weird = s.func("python", b'we"ird\nname;\t\x1b[31mred\x1b[0m\xc2\x85', "dir with space/\u00e4.py", 30)
    bad = s.func("python", b"bad\xff\xfename", b"bad\xc3(file.py", 40)
    sleep = s.func("native", "<built-in method time.sleep>", "", 0)
    ping = s.func("python", "ping", "app.py", 50)
    pong = s.func("python", "pong", "app.py", 60)
    cxx = s.func("python", "Foo::bar[int]<T>", "app.py", 70)
    emoji = s.func("python", "emoji \U0001F525 \u03bb", "\u00fcn\u00ef/c\u00f4d\u00e9.py", 80)
    h1 = s.func("python", "helper", "app.py", 90)
    h2 = s.func("python", "helper", "app.py", 95)
    idle = s.func("other", "<idle>")
    layers = [s.func("python", "layer%d" % i, "framework.py", 100 + 10 * i) for i in range(8)]
    rnd = random.Random(seed)

    def stack():
        st = [(mod, rnd.choice([2, 3])), (main, rnd.choice([11, 12, 13]))]
        k = rnd.randrange(9)
        if k == 0:
            for _ in range(rnd.randrange(1, 6)):
                st.append((fib, rnd.choice([21, 22])))
            if rnd.random() < 0.3:
                st.append((sleep, 0))
        elif k == 1:
            for d in range(rnd.randrange(1, 7)):
                st.append((ping, 51) if d % 2 == 0 else (pong, 61))
        elif k == 2:
            st += [(weird, 31), (bad, 41)]
            if rnd.random() < 0.5:
                st.append((emoji, 81))
        elif k == 3:
            st += [(cxx, 71), (rnd.choice([h1, h2]), rnd.choice([91, 96]))]
        elif k == 4:
            st += [(weird, 32), (fib, 21), (weird, 33)]  # recursion through another function
        elif k == 5:
            st.append((sleep, 0))
        elif k == 6:
            return [(idle, 0)]
        elif k == 7:  # a long pass-through chain, for the text tree to collapse
            st = [(mod, 2), (main, 14)] + [(layer, layer.firstline + 1) for layer in layers]
            st.append(rnd.choice([(fib, 21), (sleep, 0)]))
        return st

    samples = []  # (thread index, time, full stack with the thread root)
    n = 0
    for i in range(300):
        for t in (0, 1):
            if t == 1 and i % 3 == 0:
                continue
            st = [] if rnd.random() < 0.01 else stack()
            samples.append((t, i * PERIOD + t * 3_000_000, [(T[t], 0)] + st))
            n += 1
    samples.append((0, 300 * PERIOD, [(T[0], 0)]))  # a sample with no Python frames
    for t, time_ns, st in samples:
        s.lines.append("sample %d %d 1 %s" % (t, time_ns, " ".join("%d:%d" % (f.id, ln) for f, ln in st)))
    s.samples = samples
    s.threads = T
    return s


# ---- expected figures, computed from the description ----

def expect_sampled(s):
    e = {"total": len(s.samples), "cg_self": {}, "cg_incl": {}, "pp_flat": {}, "pp_cum": {},
         "ps": {}, "text_self": {}, "text_total": {}}

    def add(d, k, v=1):
        d[k] = d.get(k, 0) + v

    sec = PERIOD / 1e9
    for _, _, st in s.samples:
        funcs = [f for f, _ in st]
        add(e["cg_self"], funcs[-1].callgrind_name())
        for name in set(f.callgrind_name() for f in funcs):
            add(e["cg_incl"], name)
        add(e["pp_flat"], clean(funcs[-1].name))
        for name in set(clean(f.name) for f in funcs):
            add(e["pp_cum"], name)
        # text: per function id, threads excluded
        if not funcs[-1].synthetic():
            add(e["text_self"], funcs[-1].id)
        for fid in set(f.id for f in funcs if not f.synthetic()):
            add(e["text_total"], fid)
        # pstats: functions merged by key, thread roots left out
        py = [f.pstats_key() for f in funcs if not f.synthetic()]
        for k in py:
            ent = e["ps"].setdefault(k, [0, 0, 0.0, 0.0, {}])
            ent[1] += 1  # nc: every level
        for k in set(py):
            ent = e["ps"][k]
            ent[0] += 1
            ent[3] += sec
        if py:
            e["ps"][py[-1]][2] += sec
        pairs = list(zip(py, py[1:]))
        for i, (a, b) in enumerate(pairs):
            c = e["ps"][b][4].setdefault(a, [0, 0, 0.0, 0.0])
            c[0] += 1
            if i == len(pairs) - 1:
                c[2] += sec
        for a, b in set(pairs):
            c = e["ps"][b][4][a]
            c[1] += 1
            c[3] += sec
    return e


# ---- consumers ----

def parse_annotate(text):
    """callgrind_annotate's per-function table: {"file:fn": cost}, and the program total."""
    total, costs, in_table = None, {}, False
    for line in text.split("\n"):
        m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+PROGRAM TOTALS", line)
        if m:
            total = int(m.group(1).replace(",", ""))
            continue
        if "file:function" in line:
            in_table = True
            continue
        if in_table:
            m = re.match(r"^\s*([\d,]+|\.)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*)$", line)
            if m and not line.startswith("-"):
                costs[m.group(2)] = 0 if m.group(1) == "." else int(m.group(1).replace(",", ""))
    return total, costs


def annotate(path, inclusive):
    exe = shutil.which("callgrind_annotate")
    if not exe:
        raise Skip("callgrind_annotate not installed (valgrind)")
    args = [exe, "--auto=no", "--threshold=100"] + (["--inclusive=yes"] if inclusive else []) + [os.path.abspath(path)]
    # From / so that its stripping of the working directory from file names does not apply.
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/")
    check(r.returncode == 0, "callgrind_annotate failed: %s" % r.stderr.decode(errors="replace"))
    check(b"malformed" not in r.stderr, "callgrind_annotate warnings: %s" % r.stderr.decode(errors="replace"))
    return parse_annotate(r.stdout.decode("utf-8", errors="replace"))


def go():
    exe = shutil.which("go")
    if not exe:
        raise Skip("go not installed (Debian golang-go provides `go tool pprof`)")
    return exe


def pprof(path, *args):
    r = subprocess.run([go(), "tool", "pprof"] + list(args) + [path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    check(r.returncode == 0, "go tool pprof %s failed: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout.decode("utf-8", errors="replace")


def parse_value(v):
    m = re.match(r"^([\d.]+)(ns|us|ms|s)?$", v)
    check(m, "unexpected pprof value %r" % v)
    return float(m.group(1)) * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9, None: 1}[m.group(2)]


def pprof_top(path, index, unit=None):
    """{name: (flat, cum)} and the total, from `go tool pprof -top`. A name
    holding a newline is cut there, as it is printed over two lines."""
    args = ["-top", "-nodecount=100000", "-nodefraction=0", "-edgefraction=0", "-sample_index=" + index]
    if unit:
        args.append("-unit=" + unit)
    out = pprof(path, *args)
    rows, total = {}, None
    for line in out.split("\n"):
        m = re.match(r"^Showing nodes accounting for \S+, [\d.]+% of (\S+) total", line)
        if m:
            total = parse_value(m.group(1))
        m = re.match(r"^\s*(\S+)\s+[\d.]+%\s+[\d.]+%\s+(\S+)\s+[\d.]+%  (.*)$", line)
        if m:
            rows[m.group(3)] = (parse_value(m.group(1)), parse_value(m.group(2)))
    return rows, total, out


def pprof_traces(path, index):
    out = pprof(path, "-traces", "-sample_index=" + index)
    blocks = out.split("-----------+-------------------------------------------------------")[1:]
    values = []
    for b in blocks:
        first = b.strip("\n").split("\n")[0] if b.strip() else ""
        m = re.match(r"^\s*(\S+)\s", first)
        if m:
            values.append(parse_value(m.group(1)))
    return values


SPEEDSCOPE_UNITS = {"none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"}


def check_speedscope(doc):
    """The structure https://www.speedscope.app/file-format-schema.json asks for."""
    check(doc.get("$schema") == "https://www.speedscope.app/file-format-schema.json", "bad $schema")
    frames = doc["shared"]["frames"]
    check(isinstance(frames, list), "frames not a list")
    for fr in frames:
        check(isinstance(fr.get("name"), str), "frame without a name: %r" % fr)
        check(set(fr) <= {"name", "file", "line", "col"}, "unknown frame keys %r" % fr)
        check("file" not in fr or isinstance(fr["file"], str), "bad file")
        check("line" not in fr or isinstance(fr["line"], int), "bad line")
    check(isinstance(doc.get("name"), str) and isinstance(doc.get("exporter"), str), "name/exporter missing")
    profiles = doc["profiles"]
    check(isinstance(profiles, list) and profiles, "no profiles")
    check(0 <= doc.get("activeProfileIndex", 0) < len(profiles), "activeProfileIndex out of range")
    nf = len(frames)
    for p in profiles:
        check(p["type"] in ("sampled", "evented"), "bad type %r" % p["type"])
        check(isinstance(p["name"], str), "profile name")
        check(p["unit"] in SPEEDSCOPE_UNITS, "bad unit %r" % p["unit"])
        check(p["startValue"] <= p["endValue"], "start after end")
        if p["type"] == "sampled":
            check(len(p["samples"]) == len(p["weights"]), "samples and weights differ in length")
            for st in p["samples"]:
                check(all(isinstance(i, int) and 0 <= i < nf for i in st), "frame index out of range")
            check(all(isinstance(w, (int, float)) and w >= 0 for w in p["weights"]), "bad weight")
            check(sum(p["weights"]) == p["endValue"] - p["startValue"], "weights do not add up to endValue")
        else:
            stack, last = [], p["startValue"]
            for ev in p["events"]:
                check(ev["type"] in ("O", "C"), "bad event type")
                check(isinstance(ev["frame"], int) and 0 <= ev["frame"] < nf, "event frame out of range")
                check(ev["at"] >= last, "events out of order")
                last = ev["at"]
                if ev["type"] == "O":
                    stack.append(ev["frame"])
                else:
                    check(stack and stack[-1] == ev["frame"], "close does not match the open frame")
                    stack.pop()
            check(not stack, "unclosed events")
            check(last <= p["endValue"], "event after endValue")


# ---- the tests: sampled ----

def t_callgrind_sampled(d, s, e):
    total, costs = annotate(os.path.join(d, "out.callgrind"), False)
    check(total == e["total"], "program total %r, expected %d" % (total, e["total"]))
    for name, want in e["cg_self"].items():
        check(costs.get(name) == want, "self of %r: %r, expected %d" % (name, costs.get(name), want))
    itotal, icosts = annotate(os.path.join(d, "out.callgrind"), True)
    check(itotal == e["total"], "inclusive run total %r" % itotal)
    for name, want in e["cg_incl"].items():
        check(icosts.get(name) == want, "inclusive of %r: %r, expected %d" % (name, icosts.get(name), want))


def t_pprof_sampled(d, s, e):
    path = os.path.join(d, "out.pprof")
    rows, total, out = pprof_top(path, "samples")
    check(total == e["total"], "total samples %r, expected %d" % (total, e["total"]))
    for name, flat in e["pp_flat"].items():
        key = name.split("\n")[0]
        check(key in rows, "function %r missing from pprof -top:\n%s" % (key, out))
        check(rows[key][0] == flat, "flat of %r: %r, expected %d" % (key, rows[key][0], flat))
    for name, cum in e["pp_cum"].items():
        key = name.split("\n")[0]
        check(rows[key][1] == cum, "cum of %r: %r, expected %d" % (key, rows[key][1], cum))
    check("<module>" in rows and "Foo::bar[int]<T>" in rows, "names mangled by pprof's demangler")
    rows, total, _ = pprof_top(path, "cpu", "ns")
    check(total == e["total"] * PERIOD, "cpu total %r ns" % total)
    check(rows["fib"][1] == e["pp_cum"]["fib"] * PERIOD, "cpu cum of fib")
    values = pprof_traces(path, "samples")
    check(sum(values) == e["total"], "-traces add up to %r" % sum(values))
    distinct = len(set(tuple(st) for _, _, st in s.samples))
    check(len(values) == distinct, "-traces shows %d stacks, expected %d" % (len(values), distinct))


def stats_dict(path_or_prof):
    st = pstats.Stats(path_or_prof)
    # Printing exercises what `python -m pstats` does with the names.
    import io
    st.stream = io.StringIO()
    st.sort_stats("cumulative").print_stats()
    st.print_callers()
    st.print_callees()
    return st.stats


def compare_pstats(got, want):
    check(set(got) == set(want), "function keys differ:\n only ours: %r\n only expected: %r" %
          (set(got) - set(want), set(want) - set(got)))
    for k, (cc, nc, tt, ct, callers) in want.items():
        gcc, gnc, gtt, gct, gcallers = got[k]
        check((gcc, gnc) == (cc, nc), "%r: cc/nc %r, expected %r" % (k, (gcc, gnc), (cc, nc)))
        check(close(gtt, tt) and close(gct, ct), "%r: tt/ct %r, expected %r" % (k, (gtt, gct), (tt, ct)))
        check(set(gcallers) == set(callers), "%r: callers %r, expected %r" % (k, set(gcallers), set(callers)))
        for c, v in callers.items():
            g = gcallers[c]
            check(tuple(g[:2]) == tuple(v[:2]) and close(g[2], v[2]) and close(g[3], v[3]),
                  "%r called by %r: %r, expected %r" % (k, c, g, v))


def t_pstats_sampled(d, s, e):
    compare_pstats(stats_dict(os.path.join(d, "out.pstats")), e["ps"])


def t_speedscope_sampled(d, s, e):
    with open(os.path.join(d, "out.speedscope.json"), "rb") as fh:
        doc = json.loads(fh.read().decode("utf-8"))
    check_speedscope(doc)
    frames = doc["shared"]["frames"]
    check(doc["name"] == clean(COMMAND), "profile name %r" % doc["name"])
    profs = doc["profiles"]
    check(len(profs) == 2, "%d profiles, expected one per thread" % len(profs))
    check(profs[0]["name"].startswith("MainThread") and profs[1]["name"].startswith('worker "W"\n\x01'),
          "thread names %r" % [p["name"] for p in profs])
    for t, p in enumerate(profs):
        want = [[(clean(f.name), ln) for f, ln in st if not f.synthetic()]
                for th, _, st in sorted(s.samples, key=lambda x: x[1]) if th == t]
        got = [[(frames[i]["name"], frames[i].get("line", 0)) for i in st] for st in p["samples"]]
        for w, g in zip(want, got):
            # a frame's line is the sampled line, or the function's first line when 0
            check(len(w) == len(g) and all(a[0] == b[0] for a, b in zip(w, g)), "stack %r, expected %r" % (g, w))
        check(len(got) == len(want), "thread %d: %d samples, expected %d" % (t, len(got), len(want)))
        check(p["unit"] == "nanoseconds" and set(p["weights"]) == {PERIOD}, "weights are not one period each")


def t_speedscope_tree(d, s, e):
    with open(os.path.join(d, "out.speedscope.json"), "rb") as fh:
        doc = json.loads(fh.read().decode("utf-8"))
    check_speedscope(doc)
    profs = doc["profiles"]
    check([p["name"] for p in profs] == ["MainThread", 'worker "W"\n\x01'], "names %r" % [p["name"] for p in profs])
    for t, p in enumerate(profs):
        n = sum(1 for th, _, _ in s.samples if th == t)
        check(p["endValue"] == n * PERIOD, "thread %d: %r ns, expected %d" % (t, p["endValue"], n * PERIOD))


def parse_text_rows(text):
    rows = []
    for line in text.split("\n"):
        m = re.match(r"^\s*([\d.]+)%\s+([\d.]+)%\s+\S+\s+\S+\s+(?:\S+\s+)?(.*)$", line)
        if m:
            rows.append((float(m.group(1)), float(m.group(2)), line))
    return rows


def t_text_sampled(d, s, e):
    with open(os.path.join(d, "out.txt"), "rb") as fh:
        raw = fh.read()
    check(b"\x1b" not in raw, "raw ESC in uncoloured text output")
    check(b"\xc2\x85" not in raw and b"\xff" not in raw, "C1 control or invalid byte passed through")
    text = raw.decode("utf-8")
    check("%d stacks at 100 Hz" % e["total"] in text, "header lacks the stack count")
    rows = parse_text_rows(text.split("Call tree")[0])
    byid = {f.id: f for f in s.funcs}
    top = sorted(e["text_self"].items(), key=lambda kv: (-kv[1], -e["text_total"][kv[0]], kv[0]))
    for fid, selfw in top:
        f = byid[fid]
        own = "%.1f" % (100.0 * selfw / e["total"])
        tot = "%.1f" % (100.0 * e["text_total"][fid] / e["total"])
        label = f.text_label()
        match = [r for r in rows if r[2].endswith("  " + label)]
        check(match, "no row for %r in:\n%s" % (label, text))
        check(("%.1f" % match[0][0], "%.1f" % match[0][1]) == (own, tot),
              "%r: %s%%/%s%%, expected %s%%/%s%%" % (label, match[0][0], match[0][1], own, tot))
    tree = text.split("Call tree")[1]
    for t, th in enumerate(s.threads):
        n = sum(1 for x, _, _ in s.samples if x == t)
        want = "%.1f%%" % (100.0 * n / e["total"])
        check(re.search(r"^%s .*%s$" % (re.escape(want), re.escape(text_escape(th.name))), tree, re.M),
              "thread root %r at %s missing from the tree" % (th.name, want))
    check(re.search(r"\[\d+ frames hidden\]\n.*layer\d", tree), "the layer chain was not collapsed")
    with open(os.path.join(d, "out.color.txt"), "rb") as fh:
        colored = fh.read()
    check(b"\x1b[" in colored, "no ANSI colour with color=1")
    stripped = re.sub(rb"\x1b\[[0-9;]*m", b"", colored)
    check(b"\x1b" not in stripped, "an ESC that is not one of ours in the coloured output")


# ---- the tests: traced, against cProfile ----

def traced_program():
    """Runs a small program twice under a fake clock: once under cProfile,
    once recording call events. Returns (cProfile stats, events)."""
    clock = [0]

    def timer():
        return clock[0]

    def tick(n):
        clock[0] += n

    def leaf():
        tick(5)

    # Functions spend time of their own too (the clock moves in their bodies),
    # so tt and ct differ for every one of them.
    def fib(n):
        clock[0] += 1
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    def ping(k):
        clock[0] += 2
        if k:
            pong(k - 1)

    def pong(k):
        clock[0] += 3
        if k:
            ping(k - 1)
        leaf()
        clock[0] += 1

    def keyf(x):
        clock[0] += 4
        return -x

    def weird():
        clock[0] += 7
        leaf()
        r = sorted([3, 1, 2], key=keyf)
        clock[0] += 2
        return r

    weird.__code__ = weird.__code__.replace(co_name='we"ird\n;\x1b[0m \U0001F525')

    def main():
        fib(5)
        ping(4)
        weird()
        for _ in range(3):
            leaf()
        tick(11)
        clock[0] += 13

    prof = cProfile.Profile(timer, 1e-9)
    prof.runcall(main)
    ref = dict(pstats.Stats(prof).stats)
    for k in list(ref):
        if "disable" in k[2]:  # runcall's own call to Profile.disable
            del ref[k]
    clock[0] = 0
    events = []

    def handler(frame, event, arg):
        if event == "call":
            events.append(("call", frame.f_code, timer()))
        elif event == "return":
            events.append(("return", None, timer()))
        elif event == "c_call":
            events.append(("call", arg if arg is sorted else None, timer()))
        elif event in ("c_return", "c_exception"):
            events.append(("return", None, timer()))

    sys.setprofile(handler)
    main()
    sys.setprofile(None)
    return ref, events


def traced_spec():
    ref, events = traced_program()
    s = Spec("traced")
    s.lines.append("meta 0 0 123000 1700000000000000000 %s %s" % (hx(COMMAND), hx("3.11.7")))
    thread = s.func("thread", "MainThread")
    sorted_name = [k[2] for k in ref if "sorted" in k[2]][0]
    funcs = {}

    def func_of(code):
        if code not in funcs:
            if code is sorted:
                funcs[code] = s.func("native", sorted_name)
            else:
                funcs[code] = s.func("python", code.co_name, code.co_filename, code.co_firstlineno)
        return funcs[code]

    # Build the call tree from the events: node = path of functions.
    nodes = {}  # path tuple -> [self, calls, total]
    stack = []  # [path, start, child time] or None for an ignored builtin
    for kind, code, t in events:
        if kind == "call":
            if code is None:
                stack.append(None)
                continue
            parent = next((x[0] for x in reversed(stack) if x), (thread.id,))
            path = parent + (func_of(code).id,)
            nodes.setdefault(path, [0, 0, 0])[1] += 1
            stack.append([path, t, 0])
        else:
            if not stack:
                continue
            top = stack.pop()
            if top is None:
                continue
            path, start, child = top
            dt = t - start
            nodes[path][0] += dt - child
            nodes[path][2] += dt
            up = next((x for x in reversed(stack) if x), None)
            if up:
                up[2] += dt
    total = sum(v[2] for p, v in nodes.items() if len(p) == 2)
    nodes[(thread.id,)] = [0, 0, total]
    for path in sorted(nodes, key=len):
        sv, calls, tot = nodes[path]
        s.lines.append("node %d %d %d %s" % (sv, calls, tot, " ".join("%d:0" % f for f in path)))
    s.ref, s.nodes, s.total, s.thread = ref, nodes, total, thread
    s.byid = {f.id: f for f in s.funcs}
    return s


def t_pstats_traced(d, s):
    compare_pstats(stats_dict(os.path.join(d, "out.pstats")), s.ref)


def traced_func_totals(s):
    """{func: (tt ns, ct ns, nc)} from cProfile's reference, by our function objects."""
    out = {}
    for f in s.funcs:
        if f.synthetic():
            continue
        cc, nc, tt, ct, _ = s.ref[f.pstats_key()]
        out[f] = (round(tt * 1e9), round(ct * 1e9), nc, cc)
    return out


def t_callgrind_traced(d, s):
    totals = traced_func_totals(s)
    total, costs = annotate(os.path.join(d, "out.callgrind"), False)
    check(total == s.total, "program total %r ns, expected %d" % (total, s.total))
    _, icosts = annotate(os.path.join(d, "out.callgrind"), True)
    for f, (tt, ct, _, _) in totals.items():
        name = f.callgrind_name()
        check(costs.get(name) == tt, "self of %r: %r, expected %d (cProfile)" % (name, costs.get(name), tt))
        check(icosts.get(name) == ct, "inclusive of %r: %r, expected %d (cProfile)" % (name, icosts.get(name), ct))
    check(icosts.get(s.thread.callgrind_name()) == s.total, "thread root inclusive")
    with open(os.path.join(d, "out.callgrind")) as fh:
        calls = re.findall(r"^calls=(\d+) ", fh.read(), re.M)
    check(calls and all(int(c) > 0 for c in calls), "a calls= line with no calls")


def t_pprof_traced(d, s):
    path = os.path.join(d, "out.pprof")
    rows, total, out = pprof_top(path, "wall", "ns")
    check(total == s.total, "total %r ns, expected %d" % (total, s.total))
    for f, (tt, ct, nc, _) in traced_func_totals(s).items():
        key = clean(f.name).split("\n")[0]
        check(key in rows, "%r missing from pprof -top:\n%s" % (key, out))
        check(rows[key] == (tt, ct), "%r flat/cum %r, expected %r (cProfile)" % (key, rows[key], (tt, ct)))
    rows, _, _ = pprof_top(path, "calls")
    for f, (tt, ct, nc, _) in traced_func_totals(s).items():
        key = clean(f.name).split("\n")[0]
        check(rows[key][0] == nc, "%r calls %r, expected %d (cProfile)" % (key, rows[key][0], nc))


def t_speedscope_traced(d, s):
    with open(os.path.join(d, "out.speedscope.json"), "rb") as fh:
        doc = json.loads(fh.read().decode("utf-8"))
    check_speedscope(doc)
    profs = doc["profiles"]
    check(len(profs) == 1 and profs[0]["type"] == "evented" and profs[0]["name"] == "MainThread",
          "profiles %r" % [(p["type"], p["name"]) for p in profs])
    p, frames = profs[0], doc["shared"]["frames"]
    check(p["endValue"] == s.total, "endValue %r, expected %d" % (p["endValue"], s.total))
    # Each function's outermost spans add up to its cumulative time.
    depth, opened, spans = {}, {}, {}
    for ev in p["events"]:
        name = frames[ev["frame"]]["name"]
        if ev["type"] == "O":
            depth[name] = depth.get(name, 0) + 1
            if depth[name] == 1:
                opened[name] = ev["at"]
        else:
            depth[name] -= 1
            if depth[name] == 0:
                spans[name] = spans.get(name, 0) + ev["at"] - opened[name]
    for f, (tt, ct, _, _) in traced_func_totals(s).items():
        check(spans.get(clean(f.name), 0) == ct, "%r spans %r ns, expected %d" % (f.name, spans.get(clean(f.name)), ct))


def t_text_traced(d, s):
    with open(os.path.join(d, "out.txt"), "rb") as fh:
        raw = fh.read()
    check(b"\x1b" not in raw, "raw ESC in text output")
    text = raw.decode("utf-8")
    check("Traced" in text, "header does not say traced")
    rows = parse_text_rows(text.split("Call tree")[0])
    for f, (tt, ct, nc, cc) in traced_func_totals(s).items():
        label = f.text_label()
        match = [r for r in rows if r[2].endswith("  " + label)]
        if not tt:
            continue
        check(match, "no row for %r" % label)
        own, tot, line = match[0]
        check(("%.1f" % own, "%.1f" % tot) == ("%.1f" % (100.0 * tt / s.total), "%.1f" % (100.0 * ct / s.total)),
              "%r: %s/%s" % (label, own, tot))
        calls = "%d/%d" % (nc, cc) if nc != cc else "%d" % nc
        check(re.search(r"\s%s\s" % re.escape(calls), line), "%r: calls %s not shown in %r" % (label, calls, line))


# ---- odd shapes: every writer must cope and every reader must load the result ----

DEPTH = 5000


def hostile_spec(mode):
    """Deep recursion, empty and huge names, terminal escapes, a process root,
    a sample naming a thread that does not exist, samples on synthetic nodes."""
    s = Spec(mode)
    s.lines.append("meta 10000000 100 0 0 x x")  # pstats needs a rate (converted stacks get one from --rate)
    s.lines.append("log 1")
    s.lines.append("process 1 x")
    s.lines.append("thread 0 5 -1 x")
    proc = s.func("process", b"pid 1: prog\n\x1b]0;title\x07")
    th = s.func("thread", b"")
    empty = s.func("python", b"", b"", 0)
    huge = s.func("python", b"L" * 20000 + b"\x7f\x1b]0;title\x07\xf4\x90\x80\x80\xed\xa0\x80", b"f.py", 3)
    rec = s.func("python", "r", "r.py", 1)
    native = s.func("native", b"", b"", -5)
    stacks = [
        (0, [proc, th] + [rec] * DEPTH + [huge, empty]),
        (5, [proc, th, empty]),
        (0, [empty, native]),
        (0, [proc]),
    ]
    for i, (t, st) in enumerate(stacks):
        frames = " ".join("%d:%d" % (f.id, 0 if f.synthetic() else 7) for f in st)
        if mode == "sampled":
            s.lines.append("sample %d %d 1 %s" % (t, i * 10, frames))
    if mode == "traced":
        # every node of every stack, 1 ns own time at the leaves, totals summed up the path
        nodes = {}
        for _, st in stacks:
            path = tuple(f.id for f in st)
            for k in range(1, len(path) + 1):
                nodes.setdefault(path[:k], [0, 1, 0])
            nodes[path][0] += 1
        for path in sorted(nodes, key=len, reverse=True):
            nodes[path][2] += nodes[path][0]
            if len(path) > 1:
                nodes[path[:-1]][2] += nodes[path][2]
        for path in sorted(nodes, key=len):
            sv, calls, tot = nodes[path]
            s.lines.append("node %d %d %d %s" % (sv, calls, tot, " ".join("%d:0" % f for f in path)))
    s.nsamples = len(stacks)
    s.rec = rec
    return s


def t_hostile(d, s):
    with open(os.path.join(d, "out.txt"), "rb") as fh:
        raw = fh.read()
    for bad in (b"\x1b", b"\x07", b"\x7f"):
        check(bad not in raw, "raw %r in text output" % bad)
    raw.decode("utf-8")
    with open(os.path.join(d, "out.speedscope.json"), "rb") as fh:
        doc = json.loads(fh.read().decode("utf-8"))
    check_speedscope(doc)
    st = stats_dict(os.path.join(d, "out.pstats"))
    r = st[("r.py", 1, "r")]
    if s.mode == "traced":
        check(r[:2] == (1, DEPTH), "recursive r: cc/nc %r, expected (1, %d)" % (r[:2], DEPTH))
    else:
        check(r[:2] == (1, DEPTH), "recursive r: samples %r, expected (1, %d)" % (r[:2], DEPTH))
    check(("~", 0, "") in st, "the nameless native function is missing")
    problems = []
    try:
        total, _ = annotate(os.path.join(d, "out.callgrind"), True)
        want = s.nsamples if s.mode == "sampled" else None
        check(want is None or total == want, "callgrind total %r, expected %r" % (total, want))
    except Skip as e:
        problems.append(str(e))
    try:
        _, total, out = pprof_top(os.path.join(d, "out.pprof"), "samples" if s.mode == "sampled" else "wall")
        check(total == s.nsamples, "pprof total %r, expected %d" % (total, s.nsamples))
    except Skip as e:
        problems.append(str(e))
    if problems:
        raise Skip("; ".join(problems) + " (the other readers passed)")


def t_empty(d, mode):
    with open(os.path.join(d, "out.speedscope.json"), "rb") as fh:
        check_speedscope(json.loads(fh.read().decode("utf-8")))
    st = stats_dict(os.path.join(d, "out.pstats"))
    check(st == {("~", 0, "<no samples>"): (0, 0, 0.0, 0.0, {})}, "pstats of nothing: %r" % st)
    with open(os.path.join(d, "out.txt")) as fh:
        check("No samples" in fh.read(), "text does not say it is empty")
    total, _ = annotate(os.path.join(d, "out.callgrind"), False)
    check(not total, "callgrind total %r" % total)
    _, total, _ = pprof_top(os.path.join(d, "out.pprof"), "samples" if mode == "sampled" else "wall")
    check(not total, "pprof total %r" % total)


# ---- recording a real program ----

PROGRAM = r'''
import time
def spin(n):
    s = 0
    for i in range(n):
        s += i
    return s
def main():
    end = time.time() + 1.5
    while time.time() < end:
        spin(20000)
main()
'''


def record_works():
    if not os.access(PYFLARE, os.X_OK):
        return "no pyflare binary at %s" % PYFLARE
    r = subprocess.run([PYFLARE, "record", "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0 or b"usage" not in (r.stdout + r.stderr).lower():
        return "pyflare record is not available"
    return None


def record(d, name):
    why = record_works()
    if why:
        raise Skip(why)
    out = os.path.join(d, name)
    # 1 kHz: stacks are weighed by the CPU time the program gets, which on a
    # loaded machine can be a small part of its 1.5 s.
    r = subprocess.run([PYFLARE, "record", "-o", out, "--duration", "5", "--rate", "1000", "--",
                        sys.executable, "-c", PROGRAM],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    check(os.path.exists(out), "pyflare record wrote nothing (exit %d): %s" % (r.returncode, r.stderr.decode(errors="replace")))
    if r.returncode != 0:
        print("note: pyflare record exited %d although it wrote %s" % (r.returncode, name))
    return out


# ---- folded stacks converted: no rate, command or duration is known unless given ----

CONVERTED = b"a 1\nb;x 5\nc 3\n"  # roots in an order that is not by weight


def convert(d, name, *args):
    src = os.path.join(d, "conv.folded")
    with open(src, "wb") as fh:
        fh.write(CONVERTED)
    out = os.path.join(d, name)
    r = subprocess.run([PYFLARE, "convert"] + list(args) + [src, out], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    return r.returncode, out, r.stderr.decode("utf-8", "replace")


def t_converted_pprof(d):
    """go tool pprof's default view of converted stacks shows their counts; with --rate, times."""
    rc, out, err = convert(d, "conv.pprof")
    check(rc == 0, "convert failed: " + err)
    text = pprof(out, "-top")
    m = re.search(r"Showing nodes accounting for (\S+), [\d.]+% of (\S+) total", text)
    check(m and parse_value(m.group(2)) == 9, "default view total is not the 9 stacks:\n" + text)
    check("File: python" not in text, "pprof names a program the stacks do not:\n" + text)
    rc, out, err = convert(d, "conv-rate.pprof", "--rate", "100")
    check(rc == 0, "convert --rate failed: " + err)
    text = pprof(out, "-top")
    m = re.search(r"of (\S+) total", text)
    check(m and m.group(1) == "90ms", "with --rate 100 the default view is not 90ms of CPU:\n" + text)


def t_converted_headers(d):
    """callgrind, text and pstats state only what is known, and --rate gives the times."""
    rc, out, err = convert(d, "conv.callgrind")
    check(rc == 0, err)
    with open(out) as fh:
        cg = fh.read()
    check(" 0 Hz" not in cg and "sampled at" not in cg, "callgrind claims a rate:\n" + cg[:600])
    rc, out, err = convert(d, "conv-rate.callgrind", "--rate", "250")
    with open(out) as fh:
        check("sampled at 250 Hz" in fh.read(), "callgrind does not state the given rate")
    rc, out, err = convert(d, "conv.text")
    with open(out) as fh:
        text = fh.read()
    check("unknown" not in text.split("\n")[0] and "9 stacks" in text and " Hz" not in text,
          "text header claims what it does not know:\n" + text[:300])
    tree = text.split("Call tree")[1].split("\n")[1:]
    roots = [l.split()[2] for l in tree if re.match(r"^[\d.]+%", l)]
    check(roots == ["b", "c", "a"], "the call tree's roots are not heaviest first: %r" % roots)
    rc, out, err = convert(d, "conv.pstats")
    check(rc != 0 and len(err.strip().splitlines()) == 1 and "--rate" in err and not os.path.exists(out),
          "pstats without a rate: exit %d, %r" % (rc, err))
    rc, out, err = convert(d, "conv-rate.pstats", "--rate", "100")
    check(rc == 0, err)
    st = stats_dict(out)
    total = sum(v[2] for v in st.values())
    check(close(total, 0.09), "pstats total %r s, expected 9 stacks at 100 Hz = 0.09 s" % total)


def t_converted_long_name(d):
    """A 10 000-byte UTF-8 name goes through convert to folded whole (it was cut at 8 KiB mid-character)."""
    src = os.path.join(d, "long.folded")
    data = ("main;" + "\u00e9" * 5000 + ";leaf 3\nmain;x 1\n").encode("utf-8")
    with open(src, "wb") as fh:
        fh.write(data)
    r = subprocess.run([PYFLARE, "convert", "--format", "folded", src, "-"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    check(r.returncode == 0, r.stderr.decode(errors="replace"))
    r.stdout.decode("utf-8")  # a cut mid-character would not decode
    check(sorted(r.stdout.splitlines()) == sorted(data.splitlines()), "the long name changed: %d bytes out"
          % len(r.stdout))


def t_full_disk(d):
    """Every writer says why it cannot write (a full disk: /dev/full as standard output), in one line."""
    src = os.path.join(d, "full.folded")
    with open(src, "wb") as fh:
        fh.write(CONVERTED)
    for fmt in ("svg", "html", "folded", "text", "speedscope", "callgrind"):
        with open("/dev/full", "wb") as full:
            r = subprocess.run([PYFLARE, "convert", "--format", fmt, src, "-"], stdout=full,
                               stderr=subprocess.PIPE, timeout=60)
        err = r.stderr.decode(errors="replace").strip()
        check(r.returncode != 0 and len(err.splitlines()) == 1 and "No space left" in err,
              "%s to a full disk: exit %d, %r" % (fmt, r.returncode, err))


def t_record_pprof(d):
    rows, total, out = pprof_top(record(d, "rec.pprof"), "samples")
    check(total and total > 20, "only %r samples" % total)
    check("spin" in rows and rows["spin"][1] > total * 0.3, "spin is not hot:\n%s" % out)


def t_record_callgrind(d):
    total, costs = annotate(record(d, "rec.callgrind"), True)
    check(total and total > 20, "only %r samples" % total)
    spin = [v for k, v in costs.items() if k.endswith(":spin")]
    check(spin and spin[0] > total * 0.3, "spin is not hot: %r" % costs)


def t_record_pstats(d):
    st = stats_dict(record(d, "rec.pstats"))
    spin = [v for k, v in st.items() if k[2] == "spin"]
    total = sum(v[2] for v in st.values())
    check(spin and spin[0][3] > total * 0.3, "spin is not hot")


def t_record_speedscope(d):
    with open(record(d, "rec.speedscope.json"), "rb") as fh:
        doc = json.loads(fh.read().decode("utf-8"))
    check_speedscope(doc)
    names = {f["name"] for f in doc["shared"]["frames"]}
    check("spin" in names, "spin missing from frames")


def t_record_text(d):
    path = record(d, "rec.text")
    with open(path, "rb") as fh:
        text = fh.read().decode("utf-8")
    check("Top" in text and "spin" in text and "Call tree" in text, "unexpected text output:\n" + text)


def main():
    tmp = tempfile.mkdtemp(prefix="pyflare-formats-")
    try:
        import output_paths
        output_paths.run_all(run_test, PYFLARE, BUILD, tmp, check, Skip)
        if sys.argv[1:] != ["paths"]:  # "paths": only the output-path tests
            formats(tmp)
    finally:
        if os.environ.get("KEEP"):
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return suite.finish()


def formats(tmp):
    """The format tests proper: mkprofile's profiles read back by each consumer, then recorded ones."""
    lib = os.path.join(BUILD, "libpyflare.a")
    mk = os.path.join(tmp, "mkprofile")
    cc = os.environ.get("CC", "cc")
    if not os.path.exists(lib):
        suite.failed("build", "%s missing (run make)" % lib)
    else:
        flags = []
        with open(lib, "rb") as fh:
            blob = fh.read()
        if b"__asan_" in blob or b"__ubsan_" in blob:
            # `make asan` builds the library with sanitizers (and clang): link the driver to match.
            flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
            cc = os.environ.get("CC") or (shutil.which("clang") and "clang") or "cc"
        r = subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-g"] + flags +
                           ["-I" + os.path.join(ROOT, "src"), os.path.join(HERE, "mkprofile.c"), lib,
                            "-lz", "-o", mk], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            suite.failed("build mkprofile", "", r.stdout.decode(errors="replace").splitlines())
            mk = None

    def make(spec, name):
        d = os.path.join(tmp, name)
        os.makedirs(d)
        spec.write(os.path.join(d, "spec.txt"))
        r = subprocess.run([mk, os.path.join(d, "spec.txt"), d], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check(r.returncode == 0, "mkprofile failed: " + r.stdout.decode(errors="replace"))
        return d

    if mk and os.path.exists(mk):
        s = sampled_spec()
        e = expect_sampled(s)
        d = make(s, "sampled")
        for name, fn in [("callgrind sampled", t_callgrind_sampled), ("pprof sampled", t_pprof_sampled),
                         ("pstats sampled", t_pstats_sampled), ("speedscope sampled", t_speedscope_sampled),
                         ("text sampled", t_text_sampled)]:
            run_test(name, fn, d, s, e)
        s2 = sampled_spec(log=False)
        d2 = make(s2, "sampled-nolog")
        run_test("speedscope sampled without a log", t_speedscope_tree, d2, s2, expect_sampled(s2))
        t = traced_spec()
        d3 = make(t, "traced")
        for name, fn in [("pstats traced vs cProfile", t_pstats_traced),
                         ("callgrind traced vs cProfile", t_callgrind_traced),
                         ("pprof traced vs cProfile", t_pprof_traced),
                         ("speedscope traced", t_speedscope_traced), ("text traced", t_text_traced)]:
            run_test(name, fn, d3, t)

        for mode in ("sampled", "traced"):
            h = hostile_spec(mode)
            run_test("odd shapes, %s" % mode, lambda m=mode, h=h: t_hostile(make(h, "hostile-" + m), h))
            empty = Spec(mode)
            empty.lines.append("meta 10000000 100 0 0 x x")
            run_test("empty profile, %s" % mode, lambda m=mode, e=empty: t_empty(make(e, "empty-" + m), m))

    conv = os.path.join(tmp, "converted")
    os.makedirs(conv)
    run_test("converted stacks: pprof's default view", t_converted_pprof, conv)
    run_test("converted stacks: callgrind/text/pstats headers, --rate", t_converted_headers, conv)
    run_test("converted stacks: a 10 000-byte name kept whole", t_converted_long_name, conv)
    run_test("writing to a full disk says why", t_full_disk, conv)

    rec = os.path.join(tmp, "record")
    os.makedirs(rec)
    for name, fn in [("record pprof", t_record_pprof), ("record callgrind", t_record_callgrind),
                     ("record pstats", t_record_pstats), ("record speedscope", t_record_speedscope),
                     ("record text", t_record_text)]:
        run_test(name, fn, rec)


if __name__ == "__main__":
    sys.exit(main())
