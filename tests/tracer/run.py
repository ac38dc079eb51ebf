#!/usr/bin/env python3
"""Tests of pyflare's in-process deterministic profiler (module/tracer.c, the
pyflare package in module/pyflare, `pyflare trace`), against every CPython.

    PYFLARE=build/pyflare PYFLARE_BUILD=build python3 tests/tracer/run.py [FILTER...]

(`make integration` runs it so.) Standard library only.

For each interpreter (EXPECTED below; missing ones are SKIPped by name) the
module build is build/module/<tag>/ (tag from module/pyinfo.py). Then:
  - cases.py runs inside that interpreter: exact call counts (fib), self
    times summing to the total, recursion not double counted, generators and
    coroutines, exceptions unwinding, threads, builtins, clocks, the WSGI
    middleware, and every writer; the files it leaves are checked here:
    pstats loads in this Python's pstats with the exact counts, callgrind
    reads in callgrind_annotate;
  - `python -m pyflare` runs scripts (argv, exit status, SystemExit and
    exceptions still write the profile), the @pyflare.profile decorator;
  - `pyflare trace -- python script` passes the exit status through;
and once: the one-line error when no module is built for an interpreter,
threads_in_parallel under ThreadSanitizer on 3.13t (tsan.sh), and
a Django site (Debian's python3.11 with python3-django) profiled through the
WSGI middleware, whose profile must hold Django's ORM and sqlite3's execute.

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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("PYFLARE_BUILD") or os.path.join(ROOT, "build")
PYFLARE = os.environ.get("PYFLARE") or os.path.join(BUILD, "pyflare")
PYENV = "/root/.pyenv/versions"
EXPECTED = ["2.7.18", "3.6.15", "3.7.16", "3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0",
            "system-3.11", "3.13t"]
# 3.13t: the free-threaded build tools/setup-debian.sh makes (its last section).
SYSTEM = {"system-3.11": "/usr/bin/python3.11",
          "3.13t": os.path.join(os.environ.get("PYFLARE_PY313T", "/var/lib/pyflare/py313t"), "bin", "python3.13t")}
TIMEOUT = 180
FILTERS = sys.argv[1:]

results = []


def report(status, name, reason=""):
    if FILTERS and not any(f in name for f in FILTERS):
        return
    results.append((status, name))
    print("%s %s%s" % (status, name, ": " + reason if reason else ""))
    sys.stdout.flush()


def interpreters():
    """(name, python) for every interpreter to test; missing expected ones -> None."""
    found = dict((v, os.path.join(PYENV, v, "bin", "python")) for v in
                 (os.listdir(PYENV) if os.path.isdir(PYENV) else []))
    found = dict((k, p) for k, p in found.items() if os.path.exists(p))
    found.update((k, p) for k, p in SYSTEM.items() if os.path.exists(p))
    names = EXPECTED + sorted(set(found) - set(EXPECTED))
    return [(n, found.get(n)) for n in names]


def run(argv, env=None, cwd=None, timeout=TIMEOUT):
    e = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")  # keep the source tree clean
    e.update(env or {})
    p = subprocess.run(argv, env=e, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def module_dir(python):
    rc, out, err = run([python, os.path.join(ROOT, "module", "pyinfo.py")])
    if rc != 0 or "|" not in out:
        return None, "module/pyinfo.py failed: %s" % (err.strip() or out.strip())
    tag, include, suffix = out.strip().split("|")[:3]
    d = os.path.join(BUILD, "module", tag)
    if not os.path.exists(os.path.join(d, "pyflare", "_tracer" + suffix)):
        return None, "no module built in %s (run make)" % d
    return d, tag


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
    if not shutil.which("callgrind_annotate"):
        return report("SKIP", name, "callgrind_annotate not installed (valgrind)")
    rc, out, err = run(["callgrind_annotate", "--inclusive=yes", path])
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


def test_interpreter(name, python):
    if python is None:
        return report("SKIP", name, "interpreter not installed")
    mdir, tag = module_dir(python)
    if mdir is None:
        return report("FAIL", name + "/module", tag)
    env = {"PYTHONPATH": mdir}
    tmp = tempfile.mkdtemp(prefix="pyflare-tracer-")
    try:
        rc, out, err = run([python, os.path.join(HERE, "cases.py"), tmp], env=env)
        files = {}
        for line in out.splitlines():
            word, _, rest = line.partition(" ")
            if word in ("PASS", "FAIL", "SKIP"):
                case, _, reason = rest.partition(": ")
                report(word, "%s/%s" % (name, case), reason)
            elif word == "FILE":
                kind, _, path = rest.partition(" ")
                files[kind] = path
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

        script = os.path.join(tmp, "script.py")
        with open(script, "w") as f:
            f.write(SCRIPT)
        for arg, want_rc in (("0", 0), ("3", 3), ("raise", 1)):
            out_file = os.path.join(tmp, "cli-%s.pstats" % arg)
            argv_file = os.path.join(tmp, "argv-%s" % arg)
            rc, out, err = run([python, "-m", "pyflare", "-o", out_file, script, argv_file, arg], env=env)
            problems = []
            if rc != want_rc:
                problems.append("exit %d, expected %d" % (rc, want_rc))
            if not os.path.exists(argv_file) or open(argv_file).read() != "%s %s|__main__" % (argv_file, arg):
                problems.append("the script saw the wrong argv/__name__")
            if arg == "raise" and "KeyError" not in err:
                problems.append("no traceback")
            if problems:
                report("FAIL", "%s/cli-exit-%s" % (name, arg), "; ".join(problems) + ": " + err.strip()[-300:])
            elif not os.path.exists(out_file):
                report("FAIL", "%s/cli-exit-%s" % (name, arg), "no profile written: " + err.strip()[-300:])
            else:
                check_pstats("%s/cli-exit-%s" % (name, arg), out_file, {"fib": (1, fib_calls(12))})

        decorated = os.path.join(tmp, "decorated.py")
        with open(decorated, "w") as f:
            f.write(DECORATED)
        out_file = os.path.join(tmp, "decorated.pstats")
        rc, out, err = run([python, decorated, out_file], env=env)
        if rc != 0 or not os.path.exists(out_file):
            report("FAIL", name + "/decorator", "exit %d, file %s: %s" % (rc, os.path.exists(out_file), err.strip()))
        else:
            check_pstats(name + "/decorator", out_file, {"fib": (2, 2 * fib_calls(10)), "work": (2, 2)})

        if not os.path.exists(PYFLARE):
            report("SKIP", name + "/pyflare-trace", "%s not built" % PYFLARE)
        else:
            out_file = os.path.join(tmp, "trace.callgrind")
            argv_file = os.path.join(tmp, "argv-trace")
            rc, out, err = run([PYFLARE, "trace", "-o", out_file, "--", python, script, argv_file, "5"])
            if rc != 5 or not os.path.exists(out_file):
                report("FAIL", name + "/pyflare-trace", "exit %d (expected 5), file %s: %s"
                       % (rc, os.path.exists(out_file), err.strip()[-300:]))
            else:
                check_callgrind(name + "/pyflare-trace", out_file, ["fib"])
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


def test_django():
    python = SYSTEM["system-3.11"]
    if not os.path.exists(python):
        return report("SKIP", "django", "%s not installed" % python)
    rc, out, err = run([python, "-c", "import django"])
    if rc != 0:
        return report("SKIP", "django", "Django not installed for %s (apt-get install python3-django)" % python)
    mdir, tag = module_dir(python)
    if mdir is None:
        return report("FAIL", "django", tag)
    tmp = tempfile.mkdtemp(prefix="pyflare-django-")
    try:
        rc, out, err = run([python, os.path.join(HERE, "django_app", "check_django.py"), tmp],
                           env={"PYTHONPATH": mdir})
        files = {}
        for line in out.splitlines():
            word, _, rest = line.partition(" ")
            if word in ("PASS", "FAIL", "SKIP"):
                case, _, reason = rest.partition(": ")
                report(word, case, reason)
            elif word == "FILE":
                kind, _, path = rest.partition(" ")
                files[kind] = path
        if rc != 0:
            return report("FAIL", "django", "exit %d: %s" % (rc, err.strip()[-800:]))
        if "django-pstats" in files:
            try:
                stats = pstats.Stats(files["django-pstats"]).stats
                orm = [k for k in stats if k[0].endswith("django/db/models/query.py")]
                sqlite = [k for k in stats if k[2] == "<method 'execute' of 'sqlite3.Cursor' objects>"]
                calls = sqlite and stats[sqlite[0]][1]
                if len(orm) < 5 or not sqlite or calls < 4:
                    report("FAIL", "django-pstats-orm", "%d functions of django/db/models/query.py, sqlite3 "
                           "Cursor.execute called %r times" % (len(orm), calls))
                else:
                    report("PASS", "django-pstats-orm")
            except Exception as e:
                report("FAIL", "django-pstats-orm", "pstats cannot load: %s" % e)
        if "django-callgrind" in files:
            check_callgrind("django-callgrind-orm", files["django-callgrind"],
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
    jobs = [lambda n=n, p=p: test_interpreter(n, p) for n, p in interpreters()]
    jobs += [test_trace_errors, test_django, test_tsan]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for f in [pool.submit(j) for j in jobs]:
            try:
                f.result()
            except Exception as e:  # a harness error is a failure, not a crash
                report("FAIL", "harness", repr(e))
    passed = sum(1 for s, _ in results if s == "PASS")
    failed = sum(1 for s, _ in results if s == "FAIL")
    skipped = sum(1 for s, _ in results if s == "SKIP")
    print("tracer: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
