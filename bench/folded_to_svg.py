#!/usr/bin/env python3
"""folded_to_svg — how fast `pyflare flamegraph` turns big folded files into SVG.

Generates folded stacks that look like a real Python program's (a call tree of
`package.module.Class.method (package/module.py:LINE)` frames, stacks 5 to 60
deep, sharing prefixes as real stacks do; about 1.5 KB a line, so 100,000
lines is ~156 MB), then times `pyflare flamegraph` on them and reports wall
time, CPU time (user + system), peak RSS and output size, as medians of
--repeat runs. In the same run, on the same input, alternating with pyflare:

  inferno-flamegraph (Rust; INFERNO_FLAMEGRAPH=/path, or on PATH, or
      /var/lib/pyflare/inferno/bin/inferno-flamegraph, which
      bench/build_inferno.sh builds from Debian's crate sources), with the
      ratios inferno / pyflare and the issue's bar (3x the speed, half the memory);
  flamegraph.pl (once: it is slow; PATH, FLAMEGRAPH_PL=/path, or the copy
      Debian's libdevel-nytprof-perl ships; --no-pl skips it);
  pyflare convert --format svg (once): the same SVG drawn from the profile's
      full call tree, the path `flamegraph` took before it merged lines itself.

A tool that is not there is skipped by name. The machine is shared: wall
times move with the load average (printed), CPU times much less; both are
printed. Figures only: nothing here asserts on time.

    python3 bench/folded_to_svg.py [--lines 100000] [--big 1000000] [--repeat 5] [--keep DIR]

--big 0 skips the pyflare-only run on the big input (--big-inferno adds inferno there).
"""
import argparse
import os
import random
import shutil
import statistics
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
    """Wall time (s), CPU time (user + system, s), peak RSS (KB) and exit status of cmd, run
    from a fresh interpreter so RUSAGE_CHILDREN sees only that command."""
    probe = ("import resource, subprocess, sys, time\n"
             "t = time.time()\n"
             "with open(sys.argv[1], 'wb') as out:\n"
             "    r = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.PIPE)\n"
             "w = time.time() - t\n"
             "sys.stderr.write(r.stderr.decode('utf-8', 'replace')[-500:])\n"
             "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
             "print(w, u.ru_utime + u.ru_stime, u.ru_maxrss, r.returncode)\n")
    r = subprocess.run([sys.executable, "-c", probe, stdout_path] + cmd, capture_output=True, text=True)
    wall, cpu, rss, rc = r.stdout.split()
    if int(rc) != 0:
        print("    %s failed (%s): %s" % (cmd[0], rc, r.stderr.strip()))
    return float(wall), float(cpu), int(rss), int(rc)


class Runs:
    """Repeated measurements of one tool on one input; medians."""

    def __init__(self, name):
        self.name, self.walls, self.cpus, self.rsss, self.size, self.failed = name, [], [], [], 0, False

    def add(self, cmd, out):
        wall, cpu, rss, rc = measure(cmd, out)
        if rc != 0:
            self.failed = True
            return
        self.walls.append(wall)
        self.cpus.append(cpu)
        self.rsss.append(rss)
        self.size = os.path.getsize(out)

    def ok(self):
        return self.walls and not self.failed

    def wall(self):
        return statistics.median(self.walls)

    def cpu(self):
        return statistics.median(self.cpus)

    def rss(self):
        return statistics.median(self.rsss) / 1024

    def line(self, input_mb):
        if not self.ok():
            return "  %-22s failed" % self.name
        spread = "" if len(self.walls) < 2 else " (wall %.2f-%.2f)" % (min(self.walls), max(self.walls))
        return ("  %-22s wall %.2f s, CPU %.2f s, peak RSS %.1f MB, output %.2f MB, %.0f MB/s of input%s [%d run%s]"
                % (self.name, self.wall(), self.cpu(), self.rss(), self.size / 1e6, input_mb / self.wall(), spread,
                   len(self.walls), "" if len(self.walls) == 1 else "s"))


def find_inferno():
    env = os.environ.get("INFERNO_FLAMEGRAPH")
    if env:
        return env if os.access(env, os.X_OK) else None
    p = shutil.which("inferno-flamegraph")
    if p:
        return p
    built = "/var/lib/pyflare/inferno/bin/inferno-flamegraph"
    return built if os.access(built, os.X_OK) else None


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


def compare(label, a, b, want_speed=None, want_mem=None):
    """Ratios b / a (how many times a is faster and smaller than b)."""
    if not (a.ok() and b.ok()):
        return
    line = ("  ratios %s: wall %.1fx, CPU %.1fx, peak RSS %.1fx, output size %.2fx"
            % (label, b.wall() / a.wall(), b.cpu() / a.cpu(), b.rss() / a.rss(), b.size / a.size))
    if want_speed:
        line += "  [bar: >= %.0fx faster, <= %.1fx the memory: wall %s, CPU %s, memory %s]" % (
            want_speed, want_mem, "met" if b.wall() / a.wall() >= want_speed else "NOT met",
            "met" if b.cpu() / a.cpu() >= want_speed else "NOT met",
            "met" if a.rss() <= want_mem * b.rss() else "NOT met")
    print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=100000)
    ap.add_argument("--big", type=int, default=1000000, help="lines for the pyflare-only run (0: skip)")
    ap.add_argument("--repeat", type=int, default=5, help="runs of pyflare and inferno per input (medians)")
    ap.add_argument("--no-pl", action="store_true", help="skip flamegraph.pl (about 15 s a run on a quiet machine)")
    ap.add_argument("--big-inferno", action="store_true", help="run inferno on the big input too")
    ap.add_argument("--pyflare", default=os.environ.get("PYFLARE", os.path.join(ROOT, "build", "pyflare")))
    ap.add_argument("--keep", help="write inputs and outputs here instead of a temporary directory")
    a = ap.parse_args()
    if not os.access(a.pyflare, os.X_OK):
        sys.exit("folded_to_svg: no pyflare binary at %s (build it with make, or pass --pyflare)" % a.pyflare)
    work = a.keep or tempfile.mkdtemp(prefix="pyflare-bench-")
    os.makedirs(work, exist_ok=True)
    try:
        fg = None if a.no_pl else find_flamegraph_pl()
        inferno = find_inferno()
        print("folded_to_svg: load average %s, %d CPUs" % (" ".join("%.1f" % x for x in os.getloadavg()), os.cpu_count()))
        if not inferno:
            print("  inferno-flamegraph: not available (no INFERNO_FLAMEGRAPH, not on PATH, not built at "
                  "/var/lib/pyflare/inferno: see bench/build_inferno.sh): no comparison with it in this run")
        for n, is_big in ((a.lines, False), (a.big, True)):
            if n <= 0:
                continue
            src = os.path.join(work, "in_%d.folded" % n)
            t = time.time()
            size = generate(src, n)
            mb = size / 1e6
            print("input: %d lines, %.1f MB (generated in %.1f s)" % (n, mb, time.time() - t))
            py = Runs("pyflare flamegraph")
            inf = Runs("inferno-flamegraph") if inferno and (not is_big or a.big_inferno) else None
            for _ in range(a.repeat):  # alternating, so both see the same load
                py.add([a.pyflare, "flamegraph", src], os.path.join(work, "pyflare_%d.svg" % n))
                if inf:
                    inf.add([inferno, src], os.path.join(work, "inferno_%d.svg" % n))
            print(py.line(mb))
            if inf:
                print(inf.line(mb))
                compare("inferno / pyflare", py, inf, 3, 0.5)
            if is_big:
                if py.ok():
                    print("  [bar on %d lines: <= 4 s and <= 1 GB: wall %s, CPU %s, memory %s]" % (
                        n, "met" if py.wall() <= 4 else "NOT met", "met" if py.cpu() <= 4 else "NOT met",
                        "met" if py.rss() <= 1024 else "NOT met"))
                continue
            tree = Runs("pyflare convert (tree)")
            tree.add([a.pyflare, "convert", "--format", "svg", src, "-"], os.path.join(work, "tree_%d.svg" % n))
            print(tree.line(mb))
            compare("convert's call tree / flamegraph", py, tree)
            if not fg:
                if not a.no_pl:
                    print("  flamegraph.pl: not available (not on PATH, no FLAMEGRAPH_PL, no libdevel-nytprof-perl): "
                          "no comparison in this run")
                continue
            pl = Runs("flamegraph.pl")
            pl.add(["perl", fg, src], os.path.join(work, "flamegraph_pl_%d.svg" % n))
            print(pl.line(mb))
            compare("flamegraph.pl / pyflare", py, pl)
        print("load average at the end: %s" % " ".join("%.1f" % x for x in os.getloadavg()))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
