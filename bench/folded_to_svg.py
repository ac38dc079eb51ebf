#!/usr/bin/env python3
"""folded_to_svg — how fast `pyflare flamegraph` turns big folded files into SVG.

Generates folded stacks that look like a real Python program's (a call tree of
`package.module.Class.method (package/module.py:LINE)` frames, stacks 5 to 60
deep, sharing prefixes as real stacks do; about 1.1 KB a line, so 100,000
lines is ~110 MB), then times `pyflare flamegraph` on them and reports wall
time, peak RSS and output size. When flamegraph.pl is available (PATH, or
FLAMEGRAPH_PL=/path/to/flamegraph.pl, or the copy Debian's libdevel-nytprof-perl
ships) it runs on the same input in the same
run and the ratios are printed. Figures only: nothing here asserts on time.

    python3 bench/folded_to_svg.py [--lines 100000] [--big 1000000] [--keep DIR]

--big 0 skips the pyflare-only run on the big input.
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PACKAGES = ["app", "app.api", "app.models", "app.services", "app.utils", "django.db.models", "django.core.handlers",
            "requests.sessions", "urllib3.connectionpool", "json.decoder", "email.parser", "sqlalchemy.orm.query",
            "numpy.core.fromnumeric", "pandas.core.frame", "asyncio.events", "concurrent.futures.thread",
            "threading", "logging.handlers", "importlib._bootstrap", "celery.worker.request"]
CLASSES = ["Request", "Session", "Query", "Model", "Handler", "Serializer", "Frame", "Worker", "Manager", "Encoder",
           "Decoder", "Connection", "Pool", "Cache", "Parser", "Task", "Loop", "Logger", "Thread", "Executor"]
METHODS = ["__call__", "__init__", "get", "save", "filter", "execute", "send", "recv", "decode", "encode", "parse",
           "render", "validate", "dispatch", "run", "handle", "process", "_fetch_all", "_run_once", "emit",
           "apply", "to_dict", "iterrows", "reduce", "urlopen", "_make_request", "compile", "resolve"]


def make_vocabulary(rng, n):
    funcs = []
    for _ in range(n):
        pkg = rng.choice(PACKAGES)
        module = pkg.rsplit(".", 1)[-1]
        path = "/".join(pkg.split(".")[-2:]) + ".py"
        if rng.random() < 0.1:
            path = "/usr/lib/python3.11/" + path
        funcs.append("%s.%s.%s (%s:%d)" % (module, rng.choice(CLASSES), rng.choice(METHODS), path, rng.randint(1, 2500)))
    return funcs


def generate(path, lines, seed=1):
    """Writes `lines` folded lines; returns the byte size."""
    rng = random.Random(seed)
    funcs = make_vocabulary(rng, 6000)
    # Each function calls a few others: walking that graph gives stacks with
    # the shared prefixes and repeated subtrees of a real program.
    callees = [[rng.randrange(len(funcs)) for _ in range(rng.randint(2, 6))] for _ in funcs]
    roots = [rng.randrange(len(funcs)) for _ in range(4)]
    with open(path, "w") as f:
        for _ in range(lines):
            depth = rng.randint(5, 60)
            at = rng.choice(roots)
            stack = [funcs[at]]
            for _ in range(depth - 1):
                at = rng.choice(callees[at])
                stack.append(funcs[at])
            f.write(";".join(stack))
            f.write(" %d\n" % int(rng.paretovariate(1.2)))
    return os.path.getsize(path)


def measure(cmd, stdout_path):
    """Wall time, peak RSS (KB) and exit status of cmd, run from a fresh interpreter so
    RUSAGE_CHILDREN sees only that command."""
    probe = ("import resource, subprocess, sys, time\n"
             "t = time.time()\n"
             "with open(sys.argv[1], 'wb') as out:\n"
             "    r = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.PIPE)\n"
             "w = time.time() - t\n"
             "sys.stderr.write(r.stderr.decode('utf-8', 'replace')[-500:])\n"
             "print(w, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)\n")
    r = subprocess.run([sys.executable, "-c", probe, stdout_path] + cmd, capture_output=True, text=True)
    wall, rss, rc = r.stdout.split()
    if int(rc) != 0:
        print("    %s failed (%s): %s" % (cmd[0], rc, r.stderr.strip()))
    return float(wall), int(rss), int(rc)


def find_flamegraph_pl():
    env = os.environ.get("FLAMEGRAPH_PL")
    if env:
        return env if os.path.exists(env) else None
    for name in ("flamegraph.pl", "flamegraph"):
        p = shutil.which(name)
        if p:
            with open(p, "rb") as f:  # Debian's "flamegraph" could be another tool: want the Perl script
                if b"perl" in f.readline():
                    return p
    # Debian ships Brendan Gregg's script inside Devel::NYTProf (libdevel-nytprof-perl).
    nytprof = "/usr/share/perl5/Devel/NYTProf/flamegraph.pl"
    return nytprof if os.path.exists(nytprof) else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=100000)
    ap.add_argument("--big", type=int, default=1000000, help="lines for the pyflare-only run (0: skip)")
    ap.add_argument("--pyflare", default=os.environ.get("PYFLARE", os.path.join(ROOT, "build", "pyflare")))
    ap.add_argument("--keep", help="write inputs and outputs here instead of a temporary directory")
    a = ap.parse_args()
    if not os.access(a.pyflare, os.X_OK):
        sys.exit("folded_to_svg: no pyflare binary at %s (build it with make, or pass --pyflare)" % a.pyflare)
    work = a.keep or tempfile.mkdtemp(prefix="pyflare-bench-")
    os.makedirs(work, exist_ok=True)
    try:
        fg = find_flamegraph_pl()
        print("folded_to_svg: load average %s, %d CPUs" % (" ".join("%.1f" % x for x in os.getloadavg()), os.cpu_count()))
        for n, compare in ((a.lines, True), (a.big, False)):
            if n <= 0:
                continue
            src = os.path.join(work, "in_%d.folded" % n)
            t = time.time()
            size = generate(src, n)
            print("input: %d lines, %.1f MB (generated in %.1f s)" % (n, size / 1e6, time.time() - t))
            out = os.path.join(work, "pyflare_%d.svg" % n)
            wall, rss, rc = measure([a.pyflare, "flamegraph", src], out)
            if rc == 0:
                print("  pyflare flamegraph: %.2f s, peak RSS %.1f MB, output %.2f MB (%.0f MB/s of input)"
                      % (wall, rss / 1024, os.path.getsize(out) / 1e6, size / 1e6 / wall))
            if not compare:
                continue
            if not fg:
                print("  flamegraph.pl: not available (not on PATH, no FLAMEGRAPH_PL, no libdevel-nytprof-perl): "
                      "no comparison in this run")
                continue
            out_fg = os.path.join(work, "flamegraph_pl_%d.svg" % n)
            wall2, rss2, rc2 = measure(["perl", fg, src], out_fg)
            if rc2 == 0:
                print("  flamegraph.pl:      %.2f s, peak RSS %.1f MB, output %.2f MB"
                      % (wall2, rss2 / 1024, os.path.getsize(out_fg) / 1e6))
                if rc == 0:
                    print("  ratios flamegraph.pl / pyflare: time %.1fx, peak RSS %.1fx, output size %.2fx"
                          % (wall2 / wall, rss2 / rss, os.path.getsize(out_fg) / os.path.getsize(out)))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
