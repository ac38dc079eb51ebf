#!/usr/bin/env python3
"""Integration tests for `pyflare dump`, run against every installed CPython.

    PYFLARE=/abs/path/to/build/pyflare python3 tests/integration/run.py [FILTER...]

(`make integration` does exactly that.) Standard library only; needs Python 3.7+
(the system python3).

For every interpreter and every scenario target in targets/ the runner:
  1. starts the target, which parks its threads at known places and writes its
     own view of every thread's stack (the "truth", see targets/common.py);
  2. waits until the truth file exists and every parked thread is asleep in
     the kernel (so nothing is still moving when pyflare looks);
  3. runs `pyflare dump --pid P --json` and compares thread by thread (ids,
     names, native ids, active/gil flags) and frame by frame (function, file,
     line; innermost first) with the truth;
  4. runs `pyflare dump --pid P --blocking --json`, compares again, then checks
     that the target is still alive, no longer traced or stopped, and (for the
     "basic" target, whose spinner bumps a shared counter) still making progress;
  5. runs plain `pyflare dump --pid P` and checks it mentions every thread name
     and every thread's innermost function.
A separate group ("errors/...") checks the error paths once: reaped pid,
malformed pids, a non-Python process, permission denied, a zombie.

Interpreters: the fixed list EXPECTED below (pyenv builds + Debian's static,
non-PIE /usr/bin/python3.11 as "system-3.11" + the free-threaded build under
/var/lib/pyflare/py313t as "3.13t" + CPython 3.14/3.15 from the
Debian sid root, run under chroot: 3.14, 3.14-pie, 3.14d, 3.15, 3.15-pie,
3.15d, see tests/sid_root.py); missing ones are reported as SKIP with the
reason, extra pyenv versions found are tested too. PYFLARE_PYTHONS=name,name
restricts the run to those interpreters. FILTER arguments restrict it to jobs
whose name ("3.12.1/basic", "errors") contains one of them.

Output: "PASS name", "FAIL name: reason" (+ indented details, e.g. a frame
diff), "SKIP name: reason", and finally exactly one summary line
"integration: N passed, N failed, N skipped". Exit status 1 on any failure.
"""

import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402  (tests/harness.py: interpreters, results, the summary line)
import sid_root  # noqa: E402  (tests/sid_root.py: CPython 3.14/3.15 in a Debian root)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGETS = os.path.join(HERE, "targets")

# The interpreters this suite is meant to cover (absent ones are SKIPped):
# pyenv's, system-3.11, 3.13t and the sid root's; see tests/harness.py.
EXPECTED = harness.EXPECTED
PYENV = harness.pyenv_versions()    # None without pyenv

SCENARIOS = ["basic", "deep", "qualnames", "generators", "callbacks", "nonascii", "crowd", "parallel"]
PARALLEL_SPINNERS = ["spin-alpha", "spin-beta", "spin-gamma", "spin-delta"]
# The crowd scenario again with 10 000 threads, on one interpreter per frame
# model (frame objects, cframe, 3.13 interpreter frames, 3.15 chains ending
# at a base frame): thread lists far longer than any fixed table, as a busy
# server has.
CROWD_10K_PYTHONS = ["3.9.18", "3.12.1", "3.13.0", "3.15"]
CROWD_10K = 10000

WORKERS = 3             # parallel jobs (the machine has 2 cores)
READY_TIMEOUT = 30      # seconds for a target to park and write its truth
PYFLARE_TIMEOUT = 30    # seconds for one pyflare invocation
PROGRESS_TIMEOUT = 10   # seconds for the spinner's counter to move after a dump

# Syscalls a thread blocked in time.sleep() can be in (by machine).
SLEEP_SYSCALLS = {
    "x86_64": {7, 23, 35, 230, 270, 271},   # poll select nanosleep clock_nanosleep pselect6 ppoll
    "aarch64": {72, 73, 101, 115},          # pselect6 ppoll nanosleep clock_nanosleep
}

_live = set()           # target processes to kill if the run is interrupted
_live_lock = threading.Lock()


Result, check = harness.Result, harness.check


# ---------------------------------------------------------------- pyflare --

class Run:
    """Outcome of one pyflare invocation."""

    def __init__(self, cmd, rc=None, out=b"", err=b"", failure=None):
        self.cmd, self.rc, self.out, self.err = cmd, rc, out, err
        self.failure = failure        # why it could not run to completion

    def describe(self):
        """A short description of how the run ended, for failure messages."""
        if self.failure:
            return self.failure
        how = ("killed by signal %d" % -self.rc) if self.rc < 0 else ("exit status %d" % self.rc)
        err = self.err.decode("utf-8", "replace").strip()
        if err:
            tail = err.splitlines()[-5:]
            how += "; stderr: " + " | ".join(tail)
        return how


def pyflare(args, prefix=(), binary=None, timeout=PYFLARE_TIMEOUT, stdout_path=None):
    """Run pyflare with args (optionally behind a prefix command like setpriv,
    or with its standard output going to the file stdout_path)."""
    cmd = list(prefix) + [binary or PYFLARE] + list(args)
    try:
        out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE
        try:
            p = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, timeout=timeout, cwd="/")
        finally:
            if stdout_path:
                out.close()
    except subprocess.TimeoutExpired as e:
        return Run(cmd, out=e.stdout or b"", err=e.stderr or b"",
                   failure="timed out after %ds" % timeout)
    except OSError as e:
        return Run(cmd, failure="could not run %s: %s" % (cmd[0], e))
    return Run(cmd, p.returncode, p.stdout or b"", p.stderr)


def parse_json_dump(run):
    """(dump, None) for a successful --json run, else (None, problem)."""
    if run.failure or run.rc != 0:
        return None, "pyflare failed: " + run.describe()
    try:
        text = run.out.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, "stdout is not valid UTF-8: %s" % e
    try:
        return json.loads(text), None
    except ValueError as e:
        return None, "stdout is not a single JSON object: %s\n%s" % (e, text[:400])


# ---------------------------------------------------------------- targets --

class TargetError(Exception):
    pass


def proc_tasks(pid):
    try:
        return sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))
    except OSError:
        return []


def read_proc(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def proc_state(pid, tid=None):
    """One-letter state of a process (or one of its threads), None if gone."""
    path = "/proc/%d/task/%d/stat" % (pid, tid) if tid else "/proc/%d/stat" % pid
    text = read_proc(path)
    return text[text.rindex(")") + 2] if text else None


def asleep(pid, tid):
    """True when thread tid of pid is blocked in a sleep-type syscall."""
    text = read_proc("/proc/%d/task/%d/syscall" % (pid, tid))
    if not text or text.startswith("running"):
        return False
    known = SLEEP_SYSCALLS.get(os.uname().machine)
    if known is None:   # unknown machine: settle for "sleeping"
        return proc_state(pid, tid) == "S"
    return int(text.split()[0]) in known


class Target:
    """One scenario program running under one interpreter. targets is the
    directory holding the scenarios (a copy inside the Debian root for its
    interpreters, whose launchers take host paths under the root)."""

    def __init__(self, python, scenario, workdir, targets=TARGETS):
        self.env = {}
        if scenario == "crowd10k":
            scenario, self.env = "crowd", {"CROWD_THREADS": str(CROWD_10K)}
        self.targets = targets
        self.script = os.path.join(targets, scenario + ".py")
        self.python = python
        self.truth_path = os.path.join(workdir, "truth.json")
        self.counter_path = os.path.join(workdir, "counter")
        self.log_path = os.path.join(workdir, "stderr.txt")
        self.proc = None

    def start(self):
        with open(self.counter_path, "wb") as f:
            f.write(b"\0" * 8)
        env = dict(os.environ)
        for var in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONINSPECT"):
            env.pop(var, None)
        env.update(LC_ALL="C.UTF-8", PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
        env.update(self.env)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [self.python, self.script, self.truth_path, self.counter_path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                cwd=self.targets, start_new_session=True)
        with _live_lock:
            _live.add(self.proc)

    @property
    def pid(self):
        return self.proc.pid

    def log_tail(self):
        text = read_proc(self.log_path) or ""
        return text.strip().splitlines()[-10:]

    def wait_ready(self):
        """The truth dict, once written and all parked threads are asleep."""
        deadline = time.monotonic() + READY_TIMEOUT * (10 if self.env else 1)
        truth = spun = None
        while time.monotonic() < deadline:
            if truth is None and os.path.exists(self.truth_path):
                with open(self.truth_path, encoding="utf-8") as f:
                    truth = json.load(f)
                if "skip" in truth:
                    return truth
                if "error" in truth:
                    raise TargetError("target crashed:\n" + truth["error"].rstrip())
            if truth is not None:
                sleepers = [t["native_id"] for t in truth["threads"]
                            if t["state"] == "parked"]
                if all(asleep(self.pid, tid) for tid in sleepers):
                    if not any(t["state"] == "spinning" for t in truth["threads"]):
                        return truth
                    # Without a GIL (3.13t) no spinner waits for one.
                    if truth.get("gil_enabled") is False:
                        return truth
                    # The spinner may still be waiting to retake the GIL the
                    # main thread just dropped; once its counter changes it
                    # holds the GIL and nothing else will ever ask for it.
                    if spun is None:
                        spun = self.counter()
                    elif self.counter() != spun:
                        return truth
            if self.proc.poll() is not None:
                # A target that reports a skip writes it and exits at once:
                # between the check above and this poll both may have happened.
                if truth is None and os.path.exists(self.truth_path):
                    continue
                raise TargetError("target exited with status %s:\n%s"
                                  % (self.proc.returncode, "\n".join(self.log_tail())))
            time.sleep(0.02)
        raise TargetError("not ready after %ds (%s)" % (
            READY_TIMEOUT, "threads not all asleep" if truth else "no truth file"))

    def counter(self):
        with open(self.counter_path, "rb") as f:
            return int.from_bytes(f.read(8), "little")

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        with _live_lock:
            _live.discard(self.proc)


# ------------------------------------------------------------- comparison --

def short(path):
    """Shorten well-known path prefixes for readable diffs."""
    if not isinstance(path, str):
        return repr(path)
    for prefix, label in ((TARGETS + "/", "targets/"), ((PYENV or TARGETS) + "/", "~pyenv/")):
        if path.startswith(prefix):
            return label + path[len(prefix):]
    return path


def fmt_frame(f):
    if f is None:
        return "-"
    if not isinstance(f, dict):
        return repr(f)
    return "%s (%s:%s)" % (f.get("function"), short(f.get("file")), f.get("line"))


def frame_matches(exp, got, spin_lines=None):
    if exp is None or not isinstance(got, dict):
        return False
    if got.get("function") != exp["function"] or got.get("file") != exp["file"]:
        return False
    line = got.get("line")
    if spin_lines is not None:
        return line in spin_lines
    return line == exp["line"]


def diff_frames(exp, got, spin_lines=None):
    """[] if the stacks match, else a frame-by-frame diff (mismatches marked
    with '!', long runs of matching frames elided)."""
    n = max(len(exp), len(got))
    at = lambda seq, i: seq[i] if i < len(seq) else None
    bad = [i for i in range(n)
           if not frame_matches(at(exp, i), at(got, i), spin_lines if i == 0 else None)]
    if not bad:
        return []
    show = set()
    for i in bad:
        show.update(range(max(0, i - 2), min(n, i + 3)))
    rows = sorted(show)[:60]
    width = min(70, max(len(fmt_frame(at(exp, i))) for i in rows))
    lines = ["frames differ at #%d (expected %d frames, got %d):" % (bad[0], len(exp), len(got)),
             "    %-5s %-*s  %s" % ("#", width, "expected", "got")]
    prev = -1
    for i in rows:
        if i > prev + 1:
            lines.append("    ... %d matching frames" % (i - prev - 1))
        mark = "!" if i in bad else " "
        lines.append("  %s %-5d %-*s  %s" % (mark, i, width, fmt_frame(at(exp, i)), fmt_frame(at(got, i))))
        prev = i
    if prev < n - 1:
        lines.append("    ... %d more frames%s" % (n - 1 - prev, "" if len(show) <= 60 else " (more differences not shown)"))
    if spin_lines is not None:
        lines.append("    (frame #0 is a spinning loop: any line of %s is accepted)" % spin_lines)
    return lines


THREAD_KEYS = ("thread_id", "native_id", "name", "active", "gil", "frames")


def compare_dump(truth, dump):
    """Problems (strings) found comparing a pyflare --json dump with the truth."""
    if not isinstance(dump, dict):
        return ["output is a %s, not a JSON object" % type(dump).__name__]
    problems = []
    for key in ("pid", "python", "threads"):
        if key not in dump:
            problems.append("missing top-level key %r" % key)
    if problems:
        return problems
    if dump["pid"] != truth["pid"]:
        problems.append("pid: expected %r, got %r" % (truth["pid"], dump["pid"]))
    if dump["python"] != truth["python"]:
        problems.append("python: expected %r, got %r" % (truth["python"], dump["python"]))
    if not isinstance(dump["threads"], list):
        return problems + ["'threads' is not a list"]

    got, malformed = {}, []
    for t in dump["threads"]:
        missing = [k for k in THREAD_KEYS if not isinstance(t, dict) or k not in t]
        if missing:
            malformed.append("thread entry lacks %s: %s" % (", ".join(missing), json.dumps(t)[:200]))
        elif t["thread_id"] in got:
            malformed.append("thread_id %r listed twice" % t["thread_id"])
        else:
            got[t["thread_id"]] = t
    if malformed:
        return problems + malformed

    exp = dict((t["thread_id"], t) for t in truth["threads"])
    names = lambda ids, src: ", ".join("%s (%r)" % (i, src[i]["name"]) for i in sorted(ids))
    if set(exp) - set(got):
        problems.append("threads missing: " + names(set(exp) - set(got), exp))
    if set(got) - set(exp):
        problems.append("unexpected threads: " + names(set(got) - set(exp), got))

    for e in truth["threads"]:
        g = got.get(e["thread_id"])
        if g is None:
            continue
        label = "thread %r" % e["name"]
        spinning = e["state"] == "spinning"
        if g["name"] != e["name"]:
            problems.append("%s: name %r, got %r" % (label, e["name"], g["name"]))
        if g["native_id"] is not None and e["native_id"] is not None and g["native_id"] != e["native_id"]:
            problems.append("%s: native_id expected %r, got %r" % (label, e["native_id"], g["native_id"]))
        if g["active"] is not spinning:
            problems.append("%s: active should be %s (%s), got %s"
                            % (label, json.dumps(spinning), e["state"], json.dumps(g["active"])))
        if g["gil"] not in (True, False, None):
            problems.append("%s: gil must be true/false/null, got %r" % (label, g["gil"]))
        elif truth.get("gil_enabled") is False and g["gil"] is not None:
            # free-threaded: no GIL, so no holder to name; anything else is invented
            problems.append("%s: the target runs without a GIL, gil should be null, got %r" % (label, g["gil"]))
        elif not spinning and g["gil"] is True:
            problems.append("%s: a sleeping thread cannot hold the GIL" % label)
        elif spinning and g["gil"] is False and not truth["python"].startswith("2."):
            # (2.7 drops and retakes the GIL every 100 ticks even uncontended)
            problems.append("%s: the only running thread should hold the GIL" % label)
        if not isinstance(g["frames"], list):
            problems.append("%s: frames is not a list" % label)
            continue
        diff = diff_frames(e["frames"], g["frames"], e.get("spin_lines"))
        if diff:
            problems.append("%s: %s" % (label, "\n".join(diff)))
    holders = [t["name"] for t in got.values() if t["gil"] is True]
    if len(holders) > 1:
        problems.append("several threads hold the GIL: %s" % ", ".join(map(str, holders)))
    return problems


# ---------------------------------------------------- truth sanity checks --

def expected_stacks(scenario, version):
    """Per thread name, the innermost functions its stack must start with.

    This is written by hand, independently of the targets, so that a target
    reporting the wrong truth (e.g. co_name where co_qualname is due) fails
    instead of silently agreeing with a wrong pyflare."""
    q = lambda qualified, plain: qualified if version >= (3, 11) else plain
    main = {"MainThread": ["report_and_park"]}
    if scenario == "basic":
        main.update({"worker-1": ["wait_for_request", "serve_requests"],
                     "worker-2": ["park_forever", "flush_loop"],
                     "spinner": ["spin", q("TargetThread.run", "run")]})
    elif scenario == "deep":
        main["MainThread"] = ["report_and_park"] + ["ping", "pong"] * 75 + ["ping", "main"]
        main["recurser"] = ["descend"] * 801 + [q("TargetThread.run", "run")]
    elif scenario == "qualnames":
        main.update({"method": [q("Widget.render", "render")],
                     "staticmethod": [q("Widget.helper", "helper")],
                     "classmethod": [q("Widget.build", "build")],
                     "nested-class": [q("Widget.Inner.method", "method")],
                     "closure": [q("outer.<locals>.inner", "inner"), "outer"],
                     "lambda": ["park_forever", q("make_lambda.<locals>.<lambda>", "<lambda>")]})
    elif scenario == "generators":
        main.update({"generator": ["produce", "consume"],
                     "genexpr": ["slow", q("consume_genexpr.<locals>.<genexpr>", "<genexpr>"),
                                 "consume_genexpr"]})
        if version >= (3,):
            main.update({"yield-from": ["inner_gen", "outer_gen", "drive_yield_from"],
                         "coroutine": ["handler", "request", "drive_coroutine"]})
    elif scenario == "callbacks":
        main.update({"sorted-key": ["by_length", "sort_words"],
                     "map": ["transform", "apply_map"],
                     "hash": [q("Key.__hash__", "__hash__"), "build_index"]})
    elif scenario == "parallel":
        for name in PARALLEL_SPINNERS:
            main[name] = [name.replace("-", "_"), q("TargetThread.run", "run")]
    elif scenario.startswith("crowd"):
        for i in range(CROWD_10K if scenario == "crowd10k" else 200):
            main["crowd-%d" % i] = ["park_forever"] + ["level%d" % k for k in range(1, i % 3 + 2)]
    elif scenario == "nonascii":
        main.update({"arbeiter-ü": ["grüß_dich"],
                     "スレッド": [q("日本.<locals>.内側", "内側"), "日本"],
                     "klasse": [q("Übung.läuft", "läuft")]})
    nfkc = lambda s: unicodedata.normalize("NFKC", s)
    return dict((name, [nfkc(f) for f in fs]) for name, fs in main.items())


def check_truth(scenario, truth):
    """Problems with the target's own report (bugs in the test, not pyflare)."""
    version = tuple(int(x) for x in truth["python"].split(".")[:2])
    want = expected_stacks(scenario, version)
    have = dict((t["name"], t) for t in truth["threads"])
    problems = []
    if sorted(want) != sorted(have):
        problems.append("threads %s, expected %s" % (sorted(have), sorted(want)))
    for name, prefix in want.items():
        if name in have:
            funcs = [f["function"] for f in have[name]["frames"]][:len(prefix)]
            if funcs != prefix:
                problems.append("thread %r starts %s, expected %s" % (name, funcs, prefix))
    spinners = [t["name"] for t in truth["threads"] if t["state"] == "spinning"]
    want_spinning = {"basic": ["spinner"], "parallel": PARALLEL_SPINNERS}.get(scenario, [])
    if sorted(spinners) != sorted(want_spinning):
        problems.append("unexpected spinning threads: %s" % spinners)
    return problems


# -------------------------------------------------------------- scenarios --

def check_still_running(target, counter_after_dump):
    """Problems if the target is dead, traced, stopped or (if it has a spinner)
    not progressing after a --blocking dump."""
    if target.proc.poll() is not None:
        return ["target died (status %s)" % target.proc.returncode]
    problems = []
    status = read_proc("/proc/%d/status" % target.pid) or ""
    tracer = [l.split()[1] for l in status.splitlines() if l.startswith("TracerPid:")]
    if tracer and tracer[0] != "0":
        problems.append("target still traced by pid %s after pyflare exited" % tracer[0])
    stopped = [tid for tid in proc_tasks(target.pid) if proc_state(target.pid, tid) in ("T", "t")]
    if stopped:
        problems.append("threads left stopped after the dump: %s" % stopped)
    if counter_after_dump is not None:
        # Any change proves a write after the dump. (Not "greater": a read can
        # race with the spinner's write and see a torn value.)
        deadline = time.monotonic() + PROGRESS_TIMEOUT
        while target.counter() == counter_after_dump and time.monotonic() < deadline:
            time.sleep(0.05)
        if target.counter() == counter_after_dump:
            problems.append("spinner made no progress in %ds after the dump (counter stuck at %d)"
                            % (PROGRESS_TIMEOUT, counter_after_dump))
    return problems


def test_json(name, target, truth):
    dump, problem = parse_json_dump(pyflare(["dump", "--pid", str(target.pid), "--json"]))
    return check(name, [problem] if problem else compare_dump(truth, dump))


def test_blocking(name, target, truth, has_spinner):
    run = pyflare(["dump", "--pid", str(target.pid), "--blocking", "--json"])
    counter = target.counter() if has_spinner else None
    dump, problem = parse_json_dump(run)
    problems = [problem] if problem else compare_dump(truth, dump)
    return check(name, problems + check_still_running(target, counter))


def test_text(name, target, truth):
    run = pyflare(["dump", "--pid", str(target.pid)])
    if run.failure or run.rc != 0:
        return check(name, ["pyflare failed: " + run.describe()])
    try:
        text = run.out.decode("utf-8")
    except UnicodeDecodeError as e:
        return check(name, ["output is not valid UTF-8: %s" % e])
    problems = []
    for t in truth["threads"]:
        if t["name"] not in text:
            problems.append("thread name %r not in output" % t["name"])
        if t["frames"][0]["function"] not in text:
            problems.append("innermost function %r of thread %r not in output"
                            % (t["frames"][0]["function"], t["name"]))
    if problems:
        problems.append("output was:\n" + "\n".join(text.splitlines()[:40]))
    return check(name, problems)


def test_record(name, target, truth, workdir):
    """`record --idle --threads` sees every thread of the truth, each with its
    own innermost frame (used on the crowd scenarios: many threads at once)."""
    out = os.path.join(workdir, "profile.folded")
    run = pyflare(["record", "--pid", str(target.pid), "--idle", "--threads", "-d", "2",
                   "-f", "folded", "-o", out], timeout=PYFLARE_TIMEOUT * 4)
    if run.failure or run.rc != 0:
        return check(name, ["pyflare record failed: " + run.describe()])
    innermost = {}
    with open(out, encoding="utf-8") as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            frames = stack.split(";")
            if frames[0].startswith("thread ") and int(count) > 0:
                innermost.setdefault(frames[0][len("thread "):], set()).add(frames[-1].split(" (")[0])
    problems = []
    for t in truth["threads"]:
        if t["name"] == "MainThread":
            continue
        want = t["frames"][0]["function"]
        if innermost.get(t["name"]) != {want}:
            problems.append("thread %r: innermost %s, expected {%r}" % (t["name"], innermost.get(t["name"]), want))
    if problems:
        problems[0] += " (%d of %d threads wrong)" % (len(problems), len(truth["threads"]) - 1)
    return check(name, problems[:5])


def run_scenario(interp, python, scenario):
    """All tests of one scenario under one interpreter (one target process)."""
    prefix = "%s/%s" % (interp, scenario)
    if interp in sid_root.NAMES:
        workdir = sid_root.mkdtemp("it", "pyflare-it-")
        target = Target(python, scenario, workdir, sid_root.stage_tree("it", TARGETS))
    else:
        workdir = tempfile.mkdtemp(prefix="pyflare-it-")
        target = Target(python, scenario, workdir)
    try:
        try:
            target.start()
            truth = target.wait_ready()
        except (TargetError, OSError, ValueError) as e:
            lines = str(e).splitlines() or [type(e).__name__]
            return [Result("FAIL", prefix, "target not ready: " + lines[0], lines[1:])]
        if "skip" in truth:
            return [Result("SKIP", prefix, truth["skip"])]
        bad_truth = check_truth(scenario, truth)
        if bad_truth:
            return [check(prefix + "/truth", ["target's own report is wrong (test bug): " + bad_truth[0]]
                          + bad_truth[1:])]
        results = [test_json(prefix + "/json", target, truth),
                   test_blocking(prefix + "/blocking", target, truth, scenario == "basic"),
                   test_text(prefix + "/text", target, truth)]
        if scenario.startswith("crowd"):
            results.append(test_record(prefix + "/record", target, truth, workdir))
        return results
    finally:
        target.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# ------------------------------------------------------------ error cases --

def expect_error(name, run, must_mention=(), any_of=None):
    """A failed run with exactly one stderr line mentioning the given words."""
    if run.failure:
        return check(name, [run.failure])
    problems = []
    if run.rc == 0:
        problems.append("exit status 0, expected an error")
    elif run.rc < 0:
        problems.append("killed by signal %d" % -run.rc)
    err = run.err.decode("utf-8", "replace")
    lines = err.splitlines()
    if len(lines) != 1 or not lines[0].strip():
        problems.append("expected exactly one line on stderr, got %d:\n%s" % (len(lines), err.rstrip()[:800]))
    low = err.lower()
    for word in must_mention:
        if word.lower() not in low:
            problems.append("stderr does not mention %r: %s" % (word, err.strip()[:300]))
    if any_of and not any(w.lower() in low for w in any_of):
        problems.append("stderr mentions none of %s: %s" % (list(any_of), err.strip()[:300]))
    return check(name, problems)


def spawn(cmd):
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    with _live_lock:
        _live.add(p)
    return p


def reap(p):
    if p.poll() is None:
        p.kill()
    p.wait()
    with _live_lock:
        _live.discard(p)


def wait_for(cond, timeout=10):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def error_tests():
    results = []

    # A pid that existed once but was reaped.
    p = subprocess.Popen(["true"])
    p.wait()
    if os.path.exists("/proc/%d" % p.pid):
        results.append(Result("SKIP", "errors/no-such-process", "pid %d was reused" % p.pid))
    else:
        for extra in ([], ["--json"]):
            results.append(expect_error("errors/no-such-process" + "".join(" " + x for x in extra),
                                        pyflare(["dump", "--pid", str(p.pid)] + extra),
                                        must_mention=[str(p.pid)]))

    # Malformed pids.
    for bad in ("abc", "-5", "12x", "", "99999999999999999999"):
        results.append(expect_error("errors/malformed-pid %r" % bad, pyflare(["dump", "--pid", bad])))

    # A process that is not Python.
    p = spawn(["sleep", "60"])
    try:
        results.append(expect_error("errors/not-python", pyflare(["dump", "--pid", str(p.pid)]),
                                    must_mention=["python"], any_of=["not", "no "]))
    finally:
        reap(p)

    # Permission denied: an unprivileged user against a root-owned Python.
    runas = None
    if shutil.which("setpriv"):
        runas = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    elif shutil.which("runuser"):
        runas = ["runuser", "-u", "nobody", "--"]
    if os.geteuid() != 0:
        results.append(Result("SKIP", "errors/permission-denied", "needs root to switch users"))
    elif runas is None:
        results.append(Result("SKIP", "errors/permission-denied", "no setpriv or runuser"))
    else:
        tmp = tempfile.mkdtemp(prefix="pyflare-perm-")
        p = spawn([sys.executable, "-c", "import time\nwhile True: time.sleep(3600)"])
        try:
            os.chmod(tmp, 0o755)
            binary = os.path.join(tmp, "pyflare")
            shutil.copy(PYFLARE, binary)
            os.chmod(binary, 0o755)
            results.append(expect_error(
                "errors/permission-denied",
                pyflare(["dump", "--pid", str(p.pid)], prefix=runas, binary=binary),
                must_mention=["permission"], any_of=["CAP_SYS_PTRACE", "root", "same user"]))
        finally:
            reap(p)
            shutil.rmtree(tmp, ignore_errors=True)

    # A process that has exited but not been reaped (a zombie): the closest
    # deterministic stand-in for "exited while being read".
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        if wait_for(lambda: proc_state(p.pid) == "Z"):
            results.append(expect_error("errors/zombie", pyflare(["dump", "--pid", str(p.pid)])))
        else:
            results.append(Result("FAIL", "errors/zombie", "helper never became a zombie"))
    finally:
        p.wait()
    results.append(Result("SKIP", "errors/exits-during-read",
                          "no deterministic way to exit mid-read (see errors/zombie)"))

    # A kernel thread (kthreadd is pid 2 in a full system; any PF_KTHREAD task will do).
    kthread = kernel_thread_pid()
    if kthread is None:
        results.append(Result("SKIP", "errors/kernel-thread", "no kernel thread visible (a PID namespace?)"))
    else:
        run = pyflare(["dump", "--pid", str(kthread)])
        results.append(expect_error("errors/kernel-thread", run, must_mention=["kernel thread"]))
    results += message_tests()
    return results


def kernel_thread_pid():
    """A pid whose /proc/PID/stat flags say PF_KTHREAD (the kernel's own truth), or None."""
    for pid in [2] + sorted(int(d) for d in os.listdir("/proc") if d.isdigit())[:200]:
        try:
            stat = read_proc("/proc/%d/stat" % pid)
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[6]) & 0x00200000 and fields[0] not in "ZX":
            return pid
    return None


HOSTILE_TARGET = r"""
import sys, time
name = "evil\x1b]0;pwned\x07\x1b[2J\r\x08fn"
src = "def f(path):\n    open(path, 'w').close()\n    while True:\n        time.sleep(3600)\n"
ns = {"time": time}
exec(compile(src, "file\x1b[31m\x07\x7f\x9b.py", "exec"), ns)
f = ns["f"]
if hasattr(f.__code__, "replace"):
    f.__code__ = f.__code__.replace(co_name=name)
f(sys.argv[1])
"""


def message_tests():
    """What dump prints about a hostile target, and when it cannot print."""
    results = []
    tmp = tempfile.mkdtemp(prefix="pyflare-msg-")
    ready = os.path.join(tmp, "ready")
    p = spawn([sys.executable, "-c", HOSTILE_TARGET, ready])
    try:
        if not wait_for(lambda: os.path.exists(ready), 30):
            results.append(Result("FAIL", "errors/hostile-names", "the target never started"))
        else:
            run = pyflare(["dump", "--pid", str(p.pid)])
            problems = [] if run.rc == 0 and not run.failure else ["pyflare failed: " + run.describe()]
            for c in sorted(set(range(0x20)) - {0x0a} | {0x7f}):
                if bytes([c]) in run.out:
                    problems.append("raw control byte 0x%02x reached the terminal" % c)
            if b"\xc2\x9b" in run.out:
                problems.append("raw C1 control U+009B reached the terminal")
            if b"\\x1b]0;pwned" not in run.out or b"file\\x1b[31m" not in run.out:
                problems.append("the names are not shown escaped")
            if problems:
                problems.append("output was: %r" % run.out[:600])
            results.append(check("errors/hostile-names", problems))
            full = pyflare(["dump", "--pid", str(p.pid)], stdout_path="/dev/full")
            results.append(expect_error("errors/stdout-full", full, must_mention=["standard output"],
                                        any_of=["space"]))
    finally:
        reap(p)
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def no_runtime_test(launcher):
    """A 3.14 whose .PyRuntime section and _PyRuntime symbol are renamed (as a
    build stripped of both would be): refused with its version, not taken for
    a stripped 2.7 or 3.6."""
    name = "errors/no-runtime-3.14"
    with open(os.path.join(sid_root.ROOT, "usr", "bin", "python3.14"), "rb") as f:
        data = f.read()
    for old in (b"\0_PyRuntime\0", b"\0.PyRuntime\0"):
        if data.count(old) != 1:
            return [Result("SKIP", name, "cannot rename %r in python3.14 (found %d times)" % (old, data.count(old)))]
        data = data.replace(old, old[:-2] + b"X\0")
    work = sid_root.mkdtemp("it", "pyflare-it-")
    binary = os.path.join(work, "python3.14-no-runtime")
    with open(binary, "wb") as f:
        f.write(data)
    os.chmod(binary, 0o755)
    # The launcher's interpreter is replaced by the renamed copy (the target's own view of it).
    with open(launcher) as f:
        script = f.read().replace("/usr/bin/python3.14", sid_root.inside(binary))
    wrapper = os.path.join(work, "launch")
    with open(wrapper, "w") as f:
        f.write(script)
    os.chmod(wrapper, 0o755)
    # The other jobs' threads fork meanwhile: a child forked while a file above
    # was open for writing holds it until its exec, and exec'ing that file
    # then fails (ETXTBSY). A start that ends at once is tried again.
    for attempt in range(5):
        p = spawn([wrapper, "-c", "import time\nwhile True: time.sleep(3600)"])
        started = wait_for(lambda: "python3.14-no-runtime" in (read_proc("/proc/%d/maps" % p.pid) or "")
                           or p.poll() is not None, timeout=30)
        if started and p.poll() is None:
            break
        reap(p)
        time.sleep(0.2)
    try:
        if p.poll() is not None or "python3.14-no-runtime" not in (read_proc("/proc/%d/maps" % p.pid) or ""):
            return [Result("FAIL", name, "the renamed interpreter did not start (5 tries; last exit status %s)"
                           % p.returncode)]
        time.sleep(0.3)
        r = expect_error(name, pyflare(["dump", "--pid", str(p.pid)]), must_mention=["3.14", ".PyRuntime"])
        run = pyflare(["dump", "--pid", str(p.pid)])
        text = run.err.decode("utf-8", "replace")
        if r.status == "PASS" and ("3.7" in text or "2.7" in text):
            r = Result("FAIL", name, "called an old CPython: " + text.strip())
        return [r]
    finally:
        reap(p)
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------ main --

def interpreters():
    """([(name, path)] to test, [(name, why missing)]) honouring PYFLARE_PYTHONS."""
    pythons = harness.interpreters("it", EXPECTED)
    if any(py.root for py in pythons if not py.why):
        sid_root.stage_tree("it", TARGETS)  # once, before the jobs run in parallel
    return ([(py.name, py.path) for py in pythons if not py.why],
            [(py.name, py.why) for py in pythons if py.why])


def main(argv):
    global PYFLARE
    PYFLARE = os.environ.get("PYFLARE") or os.path.join(ROOT, "build", "pyflare")
    filters = argv[1:]
    selected = lambda job: not filters or any(f in job for f in filters)

    suite = harness.Suite("integration")
    if not os.access(PYFLARE, os.X_OK):
        suite.failed("setup", "no executable pyflare at %s (run make)" % PYFLARE)
        return suite.finish()

    present, missing = interpreters()
    for name, why in missing:
        suite.skip(name, why)

    jobs = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        if selected("errors"):
            jobs.append(pool.submit(error_tests))
            if "3.14" in dict(present):
                jobs.append(pool.submit(no_runtime_test, dict(present)["3.14"]))
        for name, path in present:
            for scenario in SCENARIOS:
                if selected("%s/%s" % (name, scenario)):
                    jobs.append(pool.submit(run_scenario, name, path, scenario))
            if name in CROWD_10K_PYTHONS and selected("%s/crowd10k" % name):
                jobs.append(pool.submit(run_scenario, name, path, "crowd10k"))
        # Print in submission order so the output reads the same every run.
        for job in jobs:
            suite.add(job.result())
    return suite.finish()


def _kill_live_targets(*_):
    with _live_lock:
        for p in list(_live):
            if p.poll() is None:
                p.kill()
    os._exit(130)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _kill_live_targets)
    signal.signal(signal.SIGTERM, _kill_live_targets)
    sys.exit(main(sys.argv))
