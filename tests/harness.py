"""harness.py - what every test suite shares: the interpreters to test, the
results, and the one summary line a suite ends with.

Adopting it in a new suite (tests/<area>/run.py, standard library only):

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import harness

    suite = harness.Suite("area")
    for py in harness.interpreters("area", harness.EXPECTED):
        if py.why:                               # an expected one is missing:
            suite.skip(py.name, py.why)          #   SKIP by name, with the reason
            continue
        ...run py.path...
        suite.add(harness.check("%s/case" % py.name, problems))   # [] -> PASS
    suite.passed(name) / suite.failed(name, reason, details) / suite.skip(name, reason)
    sys.exit(suite.finish())   # prints "area: N passed, N failed, N skipped"

A suite without interpreters uses Suite alone. Cases written as functions
that raise AssertionError (a failure) or harness.Skip (a skip) run through
suite.run(name, fn, *args): Suite(name, filters) runs only the cases whose
name contains one of the filter words (a suite's command-line FILTERs).
Every result line is "PASS
name", "FAIL name: reason" (+ indented details) or "SKIP name: reason"; Suite
is safe to use from several threads. finish() also appends the counts to the
file named by $PYFLARE_RESULTS when set: `make test` sets it and ends with
`python3 tests/harness.py --total FILE`, the line summing every suite (and the
unit tests, whose tests/unit/check.h writes the same file).

Interpreters (interpreters()), each with a name:
  - pyenv's builds: `pyenv root` when pyenv is on PATH, else $PYENV_ROOT;
    named by their version ("3.12.1"); none when neither says where pyenv is;
  - "system-3.11": Debian's static, non-PIE /usr/bin/python3.11;
  - "3.13t": the free-threaded build tools/setup-debian.sh makes
    ($PYFLARE_PY313T, default /var/lib/pyflare/py313t);
  - python3.X on PATH not already found (pyenv's shims are pyenv's builds):
    named "system-3.X";
  - CPython 3.14/3.15 from the Debian sid root, run under chroot through a
    launcher taking host paths (tests/sid_root.py): "3.14", "3.14-pie", ...;
    only those the suite expects.
Ordered as the suite's expected list, then extra pyenv/PATH interpreters found.
PYFLARE_PYTHONS=name,name restricts every suite to those (a name no suite
knows is an error; one this suite does not test selects nothing here).

The build under test: ROOT (the checkout), BUILD ($PYFLARE_BUILD, else
ROOT/build), PYFLARE ($PYFLARE, else BUILD/pyflare). read_varint() reads the
unsigned LEB128 varints pyflare writes (captures, the html report's data).

`python3 tests/harness.py --host-paths` prints the host interpreters' paths
(module/module.mk builds the tracer module for each).

Standard library only; Python 3.7+.
"""

import collections
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sid_root  # noqa: E402  (CPython 3.14/3.15 in a Debian root)

# The build under test: $PYFLARE and $PYFLARE_BUILD, which `make test` and `make asan` set.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("PYFLARE_BUILD") or os.path.join(ROOT, "build")
PYFLARE = os.environ.get("PYFLARE") or os.path.join(BUILD, "pyflare")

# The interpreters the suites are meant to cover; absent ones are SKIPped.
PYENV_EXPECTED = ["2.7.18", "3.6.15", "3.7.16", "3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0"]
SYSTEM = collections.OrderedDict([
    ("system-3.11", "/usr/bin/python3.11"),
    ("3.13t", os.path.join(os.environ.get("PYFLARE_PY313T", "/var/lib/pyflare/py313t"), "bin", "python3.13t")),
])
EXPECTED = PYENV_EXPECTED + list(SYSTEM) + sid_root.NAMES

# name: the suite's name for it; path: the command running it here (for a sid
# interpreter a launcher); python: its path as it sees itself (inside root);
# root: "" or the root it runs in under chroot; why: None, or why it is missing.
Interpreter = collections.namedtuple("Interpreter", "name path python root why")

_PATH_PYTHON = re.compile(r"^python(\d+\.\d+t?)$")


def pyenv_root():
    """pyenv's root (`pyenv root`, else $PYENV_ROOT), or None."""
    if shutil.which("pyenv"):
        try:
            out = subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 timeout=30).stdout.decode().strip()
            if out and os.path.isdir(out):
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    return os.environ.get("PYENV_ROOT") or None


def pyenv_versions():
    """pyenv's versions directory, or None."""
    root = pyenv_root()
    return os.path.join(root, "versions") if root else None


def host_interpreters():
    """{name: path} of the interpreters on this system (not the sid root)."""
    found = collections.OrderedDict()
    versions = pyenv_versions()
    if versions:
        for path in sorted(glob.glob(os.path.join(versions, "*", "bin", "python"))):
            if os.access(path, os.X_OK):
                found[path.split(os.sep)[-3]] = path
    for name, path in SYSTEM.items():
        if os.access(path, os.X_OK):
            found[name] = path
    seen = set(os.path.realpath(p) for p in found.values())
    root = pyenv_root()
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not d or (root and os.path.realpath(d).startswith(os.path.realpath(root) + os.sep)):
            continue  # pyenv's shims and bin run pyenv's builds, found above
        for path in sorted(glob.glob(os.path.join(d, "python*"))):
            real = os.path.realpath(path)
            m = _PATH_PYTHON.match(os.path.basename(real))
            if not m or real in seen or not os.path.isfile(real) or not os.access(real, os.X_OK):
                continue
            seen.add(real)
            found.setdefault("system-" + m.group(1), real)
    return found


def wanted_names():
    """The names in PYFLARE_PYTHONS, or None when unset."""
    wanted = os.environ.get("PYFLARE_PYTHONS")
    return [n.strip() for n in wanted.split(",") if n.strip()] if wanted else None


def interpreters(tag, expected, host=True):
    """[Interpreter] for a suite (tag names its staging directory in the sid
    root), in the order of expected then extras, honouring PYFLARE_PYTHONS.
    host=False: only the sid root's. Missing expected ones have why set."""
    found = host_interpreters()
    known = set(EXPECTED) | set(expected) | set(found)
    if not host:
        found = collections.OrderedDict()
    wanted = wanted_names()
    if wanted:
        unknown = [n for n in wanted if n not in known]
        if unknown:
            sys.exit("run.py: unknown interpreter(s) in PYFLARE_PYTHONS: %s (known: %s)"
                     % (", ".join(unknown), ", ".join(sorted(known))))
    sid_wanted = [n for n in sid_root.NAMES if n in expected and (not wanted or n in wanted)]
    sid_found, sid_missing = sid_root.interpreters(tag) if sid_wanted else ({}, {})
    sid_python = dict(sid_root.VARIANTS)
    result = collections.OrderedDict()
    for name in expected + sorted(set(found) - set(expected)):
        if wanted and name not in wanted:
            continue
        if name in sid_root.NAMES:
            if name in sid_found:
                result[name] = Interpreter(name, sid_found[name], sid_python[name], sid_root.ROOT.rstrip("/"),
                                           None)
            else:
                result[name] = Interpreter(name, None, None, "", sid_missing.get(name, "not installed"))
        elif name in found:
            result[name] = Interpreter(name, found[name], found[name], "", None)
        else:
            result[name] = Interpreter(name, None, None, "", "not installed")
    return list(result.values())


# ------------------------------------------------------------- results --

class Result:
    """Outcome of one test: status is PASS, FAIL or SKIP."""

    def __init__(self, status, name, reason="", details=()):
        self.status, self.name, self.reason = status, name, reason
        self.details = list(details)

    def render(self):
        line = self.status + " " + self.name
        if self.reason:
            line += ": " + self.reason
        return "\n".join([line] + ["    " + d for d in self.details])


def check(name, problems, note=""):
    """PASS (with an optional note) if problems is empty, else FAIL with the
    first problem as the reason and the other lines as details."""
    if not problems:
        return Result("PASS", name, note)
    lines = []
    for p in problems:
        lines.extend(str(p).splitlines())
    more = len(problems) - 1
    reason = lines[0] + (" (+%d more problem%s)" % (more, "s" * (more > 1)) if more else "")
    return Result("FAIL", name, reason, lines[1:])


class Skip(Exception):
    """Raised by a case run through Suite.run: SKIP, with the reason."""


class Suite:
    """A suite's results: each printed as it comes, counted for the summary."""

    def __init__(self, name, filters=()):
        self.name = name
        self.filters = list(filters)
        self.results = []
        self._lock = threading.Lock()

    def run(self, name, fn, *args):
        """fn(*args) as the case name, unless filters leave it out: PASS when
        it returns, SKIP on Skip, FAIL on anything else raised (an assertion
        with its message, another exception with its type too)."""
        if self.filters and not any(f in name for f in self.filters):
            return
        try:
            fn(*args)
        except Skip as e:
            self.skip(name, str(e))
        except Exception as e:
            detail = str(e) if isinstance(e, AssertionError) else "%s: %s" % (type(e).__name__, e)
            self.failed(name, detail[:3000])
        else:
            self.passed(name)

    def add(self, results):
        """Records (and prints) a Result or a list of them."""
        for r in (results if isinstance(results, (list, tuple)) else [results]):
            with self._lock:
                self.results.append(r)
                print(r.render(), flush=True)

    def passed(self, name, note=""):
        self.add(Result("PASS", name, note))

    def failed(self, name, reason, details=()):
        self.add(Result("FAIL", name, reason, details))

    def skip(self, name, reason):
        self.add(Result("SKIP", name, reason))

    def result(self, ok, name, reason="", details=()):
        """PASS if ok, else FAIL with reason."""
        self.add(Result("PASS", name) if ok else Result("FAIL", name, reason, details))

    def count(self, status):
        with self._lock:
            return sum(r.status == status for r in self.results)

    def finish(self):
        """Prints the summary line (appending it to $PYFLARE_RESULTS too);
        the exit status: 1 on any failure."""
        p, f, s = self.count("PASS"), self.count("FAIL"), self.count("SKIP")
        print("%s: %d passed, %d failed, %d skipped" % (self.name, p, f, s), flush=True)
        record(self.name, p, f, s)
        return 1 if f else 0


def task_states(pid):
    """{tid: state letter} of every thread of pid ({} once the process is gone)."""
    states = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return states
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                states[int(tid)] = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            pass
    return states


def wait_stopped(pid, timeout=10):
    """True once every thread of pid shows a group stop (state T), False after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = task_states(pid)
        if states and all(v == "T" for v in states.values()):
            return True
        time.sleep(0.01)
    return False


def stop_process(pid, timeout=10):
    """SIGSTOP pid, then wait_stopped: True once every thread shows the stop."""
    os.kill(pid, signal.SIGSTOP)
    return wait_stopped(pid, timeout)


def read_varint(buf, at):
    """The unsigned LEB128 varint at buf[at]: (value, the offset after it)."""
    v = shift = 0
    while True:
        b = buf[at]
        at += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, at


def record(name, passed, failed, skipped):
    path = os.environ.get("PYFLARE_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write("%s %d %d %d\n" % (name, passed, failed, skipped))


def total(path, suites=()):
    """The line summing a results file: "NAME P F S" per suite, and "exit NAME
    STATUS" written by the Makefile for a suite that ended non-zero (counted as
    one failure when the suite reported none, e.g. it crashed). `suites`: the
    suites that ran (tests/<area>/run.py); one that wrote no counts is a
    failure too, so a suite cannot drop out of the total unseen."""
    sums, failed_names, exits = [0, 0, 0], set(), []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        w = line.split()
        if len(w) == 3 and w[0] == "exit":
            exits.append((w[1], w[2]))
        elif len(w) == 4 and all(x.isdigit() for x in w[1:]):
            for i in range(3):
                sums[i] += int(w[i + 1])
            if int(w[2]):
                failed_names.add(w[0])
    seen = {line.split()[0] for line in lines if len(line.split()) == 4}
    for suite in suites:
        name = os.path.basename(os.path.dirname(os.path.abspath(suite)))
        if name not in seen:
            print("FAIL %s: wrote no counts to the results file (it should end with harness.record or Suite.finish)" % name)
            sums[1] += 1
    for name, status in exits:
        if name not in failed_names:
            print("FAIL %s: ended with status %s without reporting a failure" % (name, status))
            sums[1] += 1
    print("total: %d passed, %d failed, %d skipped" % tuple(sums), flush=True)
    return 1 if sums[1] else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--host-paths"]:
        print("\n".join(host_interpreters().values()))
    elif sys.argv[1:2] == ["--total"] and len(sys.argv) >= 3:
        sys.exit(total(sys.argv[2], sys.argv[3:]))
    else:
        sys.exit("usage: harness.py --host-paths | --total RESULTS_FILE [SUITE_RUN_PY...]")
