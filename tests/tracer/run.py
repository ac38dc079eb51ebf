#!/usr/bin/env python3
"""Tests of pyflare's in-process deterministic profiler (module/tracer.c, the
pyflare package in module/pyflare, `pyflare trace`), against every CPython.

    PYFLARE=build/pyflare PYFLARE_BUILD=build python3 tests/tracer/run.py [FILTER...]

(`make integration` runs it so.) Standard library only.

For each interpreter (EXPECTED below, found by tests/harness.py; missing ones
are SKIPped by name; PYFLARE_PYTHONS=name,name restricts them, sid-3.14 being
"3.14" there) the module build is build/module/<tag>/ (tag from
module/pyinfo.py). Then:
  - cases.py runs inside that interpreter: exact call counts (fib), self
    times summing to the total, recursion not double counted, generators and
    coroutines, exceptions unwinding, threads, builtins, clocks, the WSGI
    middleware, and every writer; the files it leaves are checked here:
    pstats loads in this Python's pstats with the exact counts, callgrind
    reads in callgrind_annotate;
  - `python -m pyflare` runs scripts (argv, exit status, SystemExit and
    exceptions still write the profile), the @pyflare.profile decorator;
  - `pyflare trace -- python script` passes the exit status through;
  - concurrent_enable.py: 8 threads x 2000 enable()/disable() on one Profile
    (its own process: the defect crashed the interpreter);
and once: the one-line error when no module is built for an interpreter,
threads_in_parallel, read_while_threads_run and ended_threads_folded under
ThreadSanitizer on 3.13t (tsan.sh), and
a Django site (Debian's python3.11 with python3-django, and each sid
interpreter that imports the root's python3-django) profiled through the
WSGI middleware, whose profile must hold Django's ORM and sqlite3's execute.

CPython 3.14 and 3.15 come from the Debian sid root that tools/setup-debian.sh
keeps at /var/lib/pyflare/sid-root (PYFLARE_SID_ROOT overrides; SKIPped by
name when absent). They run under chroot, so everything they touch is copied
into a temporary directory inside the root: the scripts, the module build
(build/ stays the one source), and for `pyflare trace` an install layout
(bin/pyflare, lib/pyflare/<tag>/) run inside the root, as a user of that
system would. `pyflare trace -- chroot ROOT python3.15 ...` from here is
tested too (module and output reach the root as /proc/self/fd paths).

Under `make asan` the module is built with the sanitizers; the interpreters
are not, so the sanitizer runtime named in build/asan/module/asan-runtime is
preloaded (LD_PRELOAD) into every interpreter run (copied into the root for
the sid ones).

Output: PASS/FAIL/SKIP lines, then "tracer: N passed, N failed, N skipped";
exit status 1 on any failure. FILTER words restrict to names containing one.
"""
import concurrent.futures
import os
import pstats
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402  (tests/harness.py: interpreters, results, the summary line)
import sid_root  # noqa: E402  (tests/sid_root.py: CPython 3.14/3.15 in a Debian root)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("PYFLARE_BUILD") or os.path.join(ROOT, "build")
PYFLARE = os.environ.get("PYFLARE") or os.path.join(BUILD, "pyflare")
SID_ROOT = sid_root.ROOT
SID = {"sid-3.14": "python3.14", "sid-3.14d": "python3.14d", "sid-3.15": "python3.15"}
# pyenv's, system-3.11, 3.13t (tests/harness.py) and SID, which tests/sid_root.py calls 3.14...
EXPECTED = harness.PYENV_EXPECTED + list(harness.SYSTEM) + [n[len("sid-"):] for n in sorted(SID)]
ASAN_RT_FILE = os.path.join(BUILD, "module", "asan-runtime")
ASAN_RT = open(ASAN_RT_FILE).read().strip() if os.path.exists(ASAN_RT_FILE) else None
TIMEOUT = 180
FILTERS = sys.argv[1:]

suite = harness.Suite("tracer")


def report(status, name, reason=""):
    if FILTERS and not any(f in name for f in FILTERS):
        return
    suite.add(harness.Result(status, name, reason))


class Python:
    """An interpreter to test: on this system (root "") or inside another root,
    run through chroot. Paths given to it are as seen from inside (inner());
    the harness reads files by their path here."""

    def __init__(self, name, python, root=""):
        self.name, self.python, self.root = name, python, root

    def inner(self, path):
        return path[len(self.root):] if self.root else path

    def tmpdir(self, prefix):
        """A temporary directory both sides can see."""
        return tempfile.mkdtemp(prefix=prefix, dir=os.path.join(self.root, "tmp") if self.root else None)

    def preload(self, tmp):
        """Under asan, the environment preloading the sanitizer runtime, else {}."""
        if not ASAN_RT:
            return {}
        rt = ASAN_RT
        if self.root:  # the root has no compiler runtime: bring it along
            rt = os.path.join(tmp, os.path.basename(ASAN_RT))
            if not os.path.exists(rt):
                shutil.copy(ASAN_RT, rt)
        # detect_leaks=0: the interpreter keeps what it allocates.
        return {"LD_PRELOAD": self.inner(rt), "ASAN_OPTIONS": "detect_leaks=0"}

    def cmd(self, tmp):
        """The command running this interpreter (chroot itself must not get
        the preload: the runtime's path is the root's)."""
        if not self.root:
            return [self.python]
        return ["chroot", self.root, "/usr/bin/env"] + ["%s=%s" % kv for kv in sorted(self.preload(tmp).items())] \
            + [self.python]

    def env(self, tmp, extra=None):
        """The environment of a run: extra, and the preload on this system."""
        e = dict(extra or {})
        if not self.root:
            e.update(self.preload(tmp))
        return e

    def launcher(self, tmp):
        """The interpreter as one command for `pyflare trace -- CMD script`: itself,
        or under asan a script preloading the runtime (pyflare itself must not
        get the shared runtime: its own is linked in). Path as seen inside."""
        if not ASAN_RT:
            return self.python
        env = self.preload(tmp)
        path = os.path.join(tmp, "python-asan")
        with open(path, "w") as f:
            f.write("#!/bin/sh\nLD_PRELOAD=%s ASAN_OPTIONS=%s exec %s \"$@\"\n"
                    % (env["LD_PRELOAD"], env["ASAN_OPTIONS"], self.python))
        os.chmod(path, 0o755)
        return self.inner(path)


def sid_ready():
    """None when the sid root can run its interpreters, else why not (for bench/tracer_overhead.py)."""
    why = sid_root.missing_reason()
    if not why:
        sid_root.ensure_proc()
    return why


def interpreters():
    """[(name, Python, None)] for every interpreter to test, (name, None, why) for missing expected ones."""
    out = []
    for py in harness.interpreters("tracer", EXPECTED):
        name = "sid-" + py.name if py.name in sid_root.NAMES else py.name
        out.append((name, Python(name, py.python, py.root) if py.why is None else None, py.why))
    return out


def run(argv, env=None, cwd=None, timeout=TIMEOUT, stdin=None):
    e = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")  # keep the source tree clean
    e.update(env or {})
    p = subprocess.run(argv, env=e, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       stdin=stdin)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def module_dir(py):
    """(build dir of py's module, tag), or (None, why)."""
    argv = ["chroot", py.root, py.python] if py.root else [py.python]
    with open(os.path.join(ROOT, "module", "pyinfo.py"), "rb") as f:
        rc, out, err = run(argv + ["-"] + ([py.root] if py.root else []), stdin=f)
    if rc != 0 or "|" not in out:
        return None, "module/pyinfo.py failed: %s" % (err.strip() or out.strip())
    tag, include, suffix = out.strip().split("|")[:3]
    d = os.path.join(BUILD, "module", tag)
    if not os.path.exists(os.path.join(d, "pyflare", "_tracer" + suffix)):
        return None, "no module built in %s (run make)" % d
    return d, tag


def staged(py, tmp, mdir):
    """The module build as py can import it: build/ itself, or a copy inside its root."""
    if not py.root:
        return mdir
    copy = os.path.join(tmp, "module")
    shutil.copytree(mdir, copy)
    return copy


def check_pstats(name, path, funcs):
    """pstats loads the file; funcs: {function name: (primitive calls, calls)} that must match."""
    try:
        stats = pstats.Stats(path).stats
    except Exception as e:
        return report("FAIL", name, "pstats cannot load %s: %s" % (path, e))
    for fname, want in funcs.items():
        got = [v[:2] for k, v in stats.items() if k[2] == fname]
        if got != [want]:
            return report("FAIL", name, "%s: (primitive, total) calls %r, expected %r" % (fname, got, want))
    report("PASS", name)


def check_callgrind(name, path, needles):
    # --threshold=100: every function, not only those making up 99 % of the time
    # (on a loaded machine a slow open() can push fib below that line).
    if not shutil.which("callgrind_annotate"):
        return report("SKIP", name, "callgrind_annotate not installed (valgrind)")
    rc, out, err = run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path])
    missing = [n for n in needles if n not in out]
    if rc != 0 or missing:
        return report("FAIL", name, "callgrind_annotate rc %d, missing %r: %s" % (rc, missing, err.strip()[:300]))
    report("PASS", name)


def fib_calls(n):
    a, b = 0, 1
    for _ in range(n + 1):
        a, b = b, a + b
    return 2 * a - 1  # 2 F(n+1) - 1


SCRIPT = r'''
import sys
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
with open(sys.argv[1], "w") as f:
    f.write(" ".join(sys.argv[1:]) + "|" + __name__)
fib(12)
if sys.argv[2] == "raise":
    raise KeyError("boom")
sys.exit(int(sys.argv[2]))
'''

DECORATED = r'''
import sys
import pyflare
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
@pyflare.profile(output=sys.argv[1])
def work(n):
    return fib(n)
work(10)
work(10)
'''


FORKING = r"""
import os
import sys
import time
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
fib(10)
if os.fork() == 0:
    fib(15)
    time.sleep(0.5)  # the parent has written its profile by now
    sys.exit(0)  # a normal exit: python -m pyflare's finally block runs here too
fib(12)
"""

CODE = "import sys\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\nfib(12)\n" \
       "sys.stdout.write(repr(sys.argv) + repr(sys.path[0]))\nsys.exit(4)\n"


def test_interpreter(name, py, reason):
    if py is None:
        return report("SKIP", name, reason)
    mdir, tag = module_dir(py)
    if mdir is None:
        return report("FAIL", name + "/module", tag)
    tmp = py.tmpdir("pyflare-tracer-")
    try:
        for f in ("cases.py", "concurrent_enable.py"):
            shutil.copy(os.path.join(HERE, f), tmp)
        inner = py.inner
        env = py.env(tmp, {"PYTHONPATH": inner(staged(py, tmp, mdir))})
        rc, out, err = run(py.cmd(tmp) + [inner(os.path.join(tmp, "cases.py")), inner(tmp)], env=env)
        files = {}
        for line in out.splitlines():
            word, _, rest = line.partition(" ")
            if word in ("PASS", "FAIL", "SKIP"):
                case, _, why = rest.partition(": ")
                report(word, "%s/%s" % (name, case), why)
            elif word == "FILE":
                kind, _, path = rest.partition(" ")
                files[kind] = py.root + path
        if rc != 0:
            report("FAIL", name + "/cases", "exit %d: %s" % (rc, err.strip()[-800:]))
        fib15 = (1, fib_calls(15))
        if "pstats" in files:
            check_pstats(name + "/pstats-loads", files["pstats"], {"fib": fib15})
        else:
            report("SKIP", name + "/pstats-loads", files.get("pstats-missing", "no pstats file written"))
        if "wsgi-pstats" in files:
            check_pstats(name + "/wsgi-pstats-loads", files["wsgi-pstats"], {"fib": (1, fib_calls(10))})
        if "callgrind" in files:
            check_callgrind(name + "/callgrind-annotate", files["callgrind"], ["fib"])
        else:
            report("SKIP", name + "/callgrind-annotate", files.get("callgrind-missing", "no callgrind file"))

        # Threads racing enable()/disable(): before the fix, a crash (3.8, 3.11).
        rc, out, err = run(py.cmd(tmp) + [inner(os.path.join(tmp, "concurrent_enable.py"))], env=env)
        if rc != 0 or not out.startswith("PASS"):
            report("FAIL", name + "/concurrent-enable-disable", "exit %d: %s %s" % (rc, out.strip(), err.strip()[-600:]))
        else:
            report("PASS", name + "/concurrent-enable-disable")

        script = os.path.join(tmp, "script.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        for arg, want_rc in (("0", 0), ("3", 3), ("raise", 1)):
            out_file = os.path.join(tmp, "cli-%s.pstats" % arg)
            argv_file = os.path.join(tmp, "argv-%s" % arg)
            rc, out, err = run(py.cmd(tmp) + ["-m", "pyflare", "-o", inner(out_file), inner(script), inner(argv_file), arg],
                               env=env)
            problems = []
            if rc != want_rc:
                problems.append("exit %d, expected %d" % (rc, want_rc))
            if not os.path.exists(argv_file) or open(argv_file).read() != "%s %s|__main__" % (inner(argv_file), arg):
                problems.append("the script saw the wrong argv/__name__")
            if arg == "raise" and "KeyError" not in err:
                problems.append("no traceback")
            if problems:
                report("FAIL", "%s/cli-exit-%s" % (name, arg), "; ".join(problems) + ": " + err.strip()[-300:])
            elif not os.path.exists(out_file):
                report("FAIL", "%s/cli-exit-%s" % (name, arg), "no profile written: " + err.strip()[-300:])
            else:
                check_pstats("%s/cli-exit-%s" % (name, arg), out_file, {"fib": (1, fib_calls(12))})

        # A forked child exits normally after the parent: the file must hold
        # the parent's calls only (before the fix, the child's copy won).
        forking = os.path.join(tmp, "forking.py")
        with open(forking, "w") as f:
            f.write(FORKING)
        out_file = os.path.join(tmp, "fork.pstats")
        rc, out, err = run(py.cmd(tmp) + ["-m", "pyflare", "-q", "-o", inner(out_file), inner(forking)], env=env)
        if rc != 0 or not os.path.exists(out_file) or err.strip():
            report("FAIL", name + "/fork-child-does-not-write", "exit %d, file %s: %s"
                   % (rc, os.path.exists(out_file), err.strip()[-300:]))
        else:
            check_pstats(name + "/fork-child-does-not-write", out_file, {"fib": (2, fib_calls(10) + fib_calls(12))})

        # python -m pyflare -c CODE args: as python -c runs it.
        out_file = os.path.join(tmp, "code.pstats")
        rc, out, err = run(py.cmd(tmp) + ["-m", "pyflare", "-q", "-o", inner(out_file), "-c", CODE, "a1", "a2"], env=env)
        if rc != 4 or out != "['-c', 'a1', 'a2']''" or not os.path.exists(out_file):
            report("FAIL", name + "/cli-code", "exit %d (expected 4), output %r, file %s: %s"
                   % (rc, out, os.path.exists(out_file), err.strip()[-300:]))
        else:
            check_pstats(name + "/cli-code", out_file, {"fib": (1, fib_calls(12))})

        decorated = os.path.join(tmp, "decorated.py")
        with open(decorated, "w") as f:
            f.write(DECORATED)
        out_file = os.path.join(tmp, "decorated.pstats")
        rc, out, err = run(py.cmd(tmp) + [inner(decorated), inner(out_file)], env=env)
        if rc != 0 or not os.path.exists(out_file):
            report("FAIL", name + "/decorator", "exit %d, file %s: %s" % (rc, os.path.exists(out_file), err.strip()))
        else:
            check_pstats(name + "/decorator", out_file, {"fib": (2, 2 * fib_calls(10)), "work": (2, 2)})

        if not os.path.exists(PYFLARE):
            report("SKIP", name + "/pyflare-trace", "%s not built" % PYFLARE)
            return
        # Inside a root, pyflare runs there too, installed as PREFIX/bin/pyflare
        # + PREFIX/lib/pyflare/<tag>/, and finds the module by that layout.
        trace = [PYFLARE, "trace"]
        if py.root:
            prefix = os.path.join(tmp, "prefix")
            os.makedirs(os.path.join(prefix, "bin"))
            shutil.copy(PYFLARE, os.path.join(prefix, "bin"))
            shutil.copytree(mdir, os.path.join(prefix, "lib", "pyflare", tag))
            trace = ["chroot", py.root, inner(os.path.join(prefix, "bin", "pyflare")), "trace"]
        python = py.launcher(tmp)
        out_file = os.path.join(tmp, "trace.callgrind")
        argv_file = os.path.join(tmp, "argv-trace")
        rc, out, err = run(trace + ["-o", inner(out_file), "--", python, inner(script), inner(argv_file), "5"])
        if rc != 5 or not os.path.exists(out_file):
            report("FAIL", name + "/pyflare-trace", "exit %d (expected 5), file %s: %s"
                   % (rc, os.path.exists(out_file), err.strip()[-300:]))
        else:
            check_callgrind(name + "/pyflare-trace", out_file, ["fib"])
        if py.root:
            # From here: pyflare trace -- chroot ROOT python ..., the module and
            # the output (a directory outside the root) passed as descriptors.
            here = tempfile.mkdtemp(prefix="pyflare-tracer-here-")
            try:
                out_file = os.path.join(here, "trace.pstats")
                argv_file = os.path.join(tmp, "argv-chroot")
                rc, out, err = run([PYFLARE, "trace", "-o", out_file, "--", "chroot", py.root, python, inner(script),
                                    inner(argv_file), "6"])
                if rc != 6 or not os.path.exists(out_file) or "written to %s" % out_file not in err:
                    report("FAIL", name + "/pyflare-trace-chroot", "exit %d (expected 6), file %s: %s"
                           % (rc, os.path.exists(out_file), err.strip()[-300:]))
                else:
                    check_pstats(name + "/pyflare-trace-chroot", out_file, {"fib": (1, fib_calls(12))})
            finally:
                shutil.rmtree(here, ignore_errors=True)
            rc, out, err = run([PYFLARE, "trace", "--", "chroot", "--bogus", py.root, python, inner(script)])
            if rc != 2 or len(err.strip().splitlines()) != 1 or "--bogus" not in err:
                report("FAIL", name + "/pyflare-trace-chroot-option", "exit %d, stderr %r" % (rc, err))
            else:
                report("PASS", name + "/pyflare-trace-chroot-option")
        # pyflare trace -- python -c CODE (refused before).
        out_file = os.path.join(tmp, "trace-code.pstats")
        rc, out, err = run(trace + ["-o", inner(out_file), "--", python, "-c", CODE, "b1"])
        if rc != 4 or out != "['-c', 'b1']''" or not os.path.exists(out_file):
            report("FAIL", name + "/pyflare-trace-code", "exit %d (expected 4), output %r, file %s: %s"
                   % (rc, out, os.path.exists(out_file), err.strip()[-300:]))
        else:
            check_pstats(name + "/pyflare-trace-code", out_file, {"fib": (1, fib_calls(12))})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_trace_errors():
    if not os.path.exists(PYFLARE):
        return report("SKIP", "trace-no-module", "%s not built" % PYFLARE)
    tmp = tempfile.mkdtemp(prefix="pyflare-tracer-")
    try:
        script = os.path.join(tmp, "s.py")
        with open(script, "w") as f:
            f.write("print('ran')\n")
        rc, out, err = run([PYFLARE, "trace", "-o", os.path.join(tmp, "x.pstats"), "--", sys.executable, script],
                           env={"PYFLARE_MODULE_DIR": os.path.join(tmp, "nowhere"), "PYTHONPATH": ""})
        lines = err.strip().splitlines()
        if rc == 0 or "ran" in out or len(lines) != 1 or "no pyflare tracer module" not in lines[0]:
            report("FAIL", "trace-no-module", "exit %d, stderr %r" % (rc, err))
        else:
            report("PASS", "trace-no-module")
        rc, out, err = run([PYFLARE, "trace", "-o", os.path.join(tmp, "x.unknownext"), "--", sys.executable, script])
        if rc != 2 or "format" not in err:
            report("FAIL", "trace-bad-format", "exit %d, stderr %r" % (rc, err))
        else:
            report("PASS", "trace-bad-format")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_django(name, py, reason):
    """The Django site through the WSGI middleware; checks named name/..."""
    if py is None:
        return report("SKIP", name, reason)
    tmp = py.tmpdir("pyflare-django-")
    try:
        rc, out, err = run(py.cmd(tmp) + ["-c", "import django"], env=py.env(tmp))
        if rc != 0:
            where = " in %s" % py.root if py.root else ""
            return report("SKIP", name, "Django does not import in %s%s (apt-get install python3-django): %s"
                          % (py.python, where, (err.strip().splitlines() or [""])[-1]))
        mdir, tag = module_dir(py)
        if mdir is None:
            return report("FAIL", name, tag)
        app = os.path.join(tmp, "django_app")
        shutil.copytree(os.path.join(HERE, "django_app"), app)
        out_dir = os.path.join(tmp, "out")
        os.mkdir(out_dir)
        rc, out, err = run(py.cmd(tmp) + [py.inner(os.path.join(app, "check_django.py")), py.inner(out_dir)],
                           env=py.env(tmp, {"PYTHONPATH": py.inner(staged(py, tmp, mdir))}))
        files = {}
        for line in out.splitlines():
            word, _, rest = line.partition(" ")
            if word in ("PASS", "FAIL", "SKIP"):
                case, _, why = rest.partition(": ")
                report(word, "%s/%s" % (name, case), why)
            elif word == "FILE":
                kind, _, path = rest.partition(" ")
                files[kind] = py.root + path
        if rc != 0:
            return report("FAIL", name, "exit %d: %s" % (rc, err.strip()[-800:]))
        if "django-pstats" in files:
            try:
                stats = pstats.Stats(files["django-pstats"]).stats
                orm = [k for k in stats if k[0].endswith("django/db/models/query.py")]
                sqlite = [k for k in stats if k[2] == "<method 'execute' of 'sqlite3.Cursor' objects>"]
                calls = sqlite and stats[sqlite[0]][1]
                if len(orm) < 5 or not sqlite or calls < 4:
                    report("FAIL", name + "/django-pstats-orm", "%d functions of django/db/models/query.py, "
                           "sqlite3 Cursor.execute called %r times" % (len(orm), calls))
                else:
                    report("PASS", name + "/django-pstats-orm")
            except Exception as e:
                report("FAIL", name + "/django-pstats-orm", "pstats cannot load: %s" % e)
        if "django-callgrind" in files:
            check_callgrind(name + "/django-callgrind-orm", files["django-callgrind"],
                            ["django/db/models/query.py", "sqlite3.Cursor"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_tsan():
    """threads_in_parallel again with a ThreadSanitizer build of the module, on 3.13t."""
    name = "3.13t/tsan"
    if FILTERS and not any(f in name for f in FILTERS):
        return
    rc, out, err = run(["sh", os.path.join(HERE, "tsan.sh")], timeout=600)
    last = (out.strip().splitlines() or ["no output"])[-1]
    if last.startswith("tsan: SKIP"):
        report("SKIP", name, last[len("tsan: SKIP: "):])
    elif rc == 0 and last == "tsan: no race":
        report("PASS", name)
    else:
        report("FAIL", name, "%s\n%s" % (last, (out + err).strip()[-3000:]))


def main():
    pythons = interpreters()
    jobs = [lambda n=n, p=p, r=r: test_interpreter(n, p, r) for n, p, r in pythons]
    jobs += [test_trace_errors, test_tsan]
    for n, p, r in pythons:
        if n == "system-3.11" or n in SID:
            jobs.append(lambda n=n, p=p, r=r: test_django("django-" + n.replace("system-", ""), p, r))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(j) for j in jobs]:
            try:
                f.result()
            except Exception as e:  # a harness error is a failure, not a crash
                report("FAIL", "harness", repr(e))
    sys.exit(suite.finish())


if __name__ == "__main__":
    main()
