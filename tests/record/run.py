#!/usr/bin/env python3
"""Tests for `pyflare record` (and Pyflame's short form), run against every
installed CPython.

    PYFLARE=/abs/path/to/build/pyflare python3 tests/record/run.py [FILTER...]

Standard library only; needs Python 3.7+ (the system python3). The targets in
targets/ run on Python 2.7 and 3.6+ and measure their own truth.

Jobs (FILTER arguments keep the jobs whose name contains one of them):
  INTERP/cpu       cpu_split.py burns f1:f2:f5 = 1:2:5 (busy loops) and sleeps
                   in idle(); the folded shares of f1/f2/f5 must be within 3
                   points of the target's own CPU measurement, attached (--pid)
                   and launched (-- python ...; exit status 3 passed on); with
                   --idle, idle()'s share of all samples within 5 points (wall
                   time, which other jobs' load can skew: a miss is recorded
                   once more, the second recording judged, the first named).
  INTERP/threads   threads.py: spinners alpha, beta, gamma + a sleeping main
                   thread; --threads roots, --idle adds MainThread, --gil keeps
                   at most one stack per tick and only spinners (free-threaded:
                   --gil is refused in one line).
  INTERP/parallel  (free-threaded only) parallel.py: threads a, b, c, d burn at
                   once for 100/75/50/25 % of the time; burn_a..burn_d shares
                   within 2 points of the target's own, under their thread roots,
                   and >= 2 running stacks per tick (expected 2.5; one GIL would
                   allow about 1.4).
  INTERP/subprocesses  pool.py under --subprocesses: work_item is seen under
                   >= 2 worker process roots (3.8+ and system-3.11).
  INTERP/known-stacks  (3.11+) known_stacks.py recorded at 20 kHz: stacks
                   through run_shape() are ones the target's own traceback has
                   (it recompiles its functions every 250 ms: freed code objects'
                   addresses are reused), all but at most 1 in 1 000 (measured:
                   about 1 in 5 000 to 1 in 30 000 mix two moments; 68% before).
  INTERP/pyflame   `pyflare -x -s S [-r INTERVAL] -p PID` writes folded to stdout.
  INTERP/stopped   threads.py SIGSTOPped (every thread in state T) for a whole
                   recording of 2 s without --idle: one stderr line names the
                   process as stopped by a signal for all the time recorded and
                   still stopped (SIGCONT named), none calls it idle; likewise
                   with --blocking (paused while stopped) and --idle (its 4
                   threads' stacks are recorded as they stand); afterwards
                   every thread is still T, and after SIGCONT it runs (its
                   /proc/PID/stat CPU grows). SIGCONT during a recording: the
                   line says stopped for part of the time (0 < part < whole),
                   not still stopped, and the spinners are in the profile.
                   dump --json (and --blocking) says "stopped": true of it (false
                   once it runs), and its text form says so; dump leaves it stopped.
  INTERP/paths     frames relative to site-packages and the script's directory;
                   --full-paths keeps them absolute; --function drops lines.
  load             (3.12, alone, with one busy-loop process per core) cpu_split.py's
                   f1/f2/f5 shares within 2 points of its own CPU truth, idle() at
                   most 2 %, the profile's CPU (weight x period) within 10 % of
                   /proc/PID/stat's; a SIGSTOPped spinner (GIL holder) counts nothing.
  lifecycle        (3.12) the target exits mid-recording; SIGINT and SIGTERM stop
                   an unbounded recording and the profile is written.
  events           (3.12) a launched target SIGKILLed during --blocking at 20 kHz
                   (pyflare ends, profile written, status 137), and pyflare
                   SIGTERMed there (ends, profile written); thread churn under
                   --blocking (the whole duration is recorded); exec() of Python
                   followed (launched and attached) and of another program said
                   clearly; a process traced by strace refused by record and dump
                   --blocking naming the tracer; --duration and the program's exit
                   end a recording whose interval is longer (--rate 0.01).
  errors           (3.12) bad pids, rates, durations, formats, outputs, commands.
  rate             (3.12) --rate 10000 prints its achieved rate and late count.

Interpreters: the fixed list EXPECTED (pyenv builds + Debian's /usr/bin/python3.11
as "system-3.11" + the free-threaded /var/lib/pyflare/py313t as "3.13t" + CPython 3.14/3.15 from the Debian sid root under chroot, see
tests/sid_root.py); missing ones are reported as SKIP with the reason. PYFLARE_PYTHONS=name,name
restricts the run to those interpreters.

Output: "PASS name", "FAIL name: reason" (+ indented details), "SKIP name:
reason", and finally exactly one line "record: N passed, N failed, N skipped".
Exit status 1 on any failure.
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
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402  (tests/harness.py: interpreters, results, the summary line)
import sid_root  # noqa: E402  (tests/sid_root.py: CPython 3.14/3.15 in a Debian root)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGETS = os.path.join(HERE, "targets")
EXPECTED = harness.EXPECTED  # pyenv's, system-3.11, 3.13t, the sid root's (tests/harness.py)
FREE_THREADED = ["3.13t"]   # no GIL: --gil is refused, threads run in parallel
ONCE_ON = "3.12.1"          # the interpreter for lifecycle, errors and rate

WORKERS = 2                 # jobs at once (the machine has 2 cores)
READY_TIMEOUT = 30          # seconds for a target to write its ready file
SLACK = 45                  # seconds a pyflare run may take beyond its duration

CPU_TOLERANCE = 0.02        # f1/f2/f5 shares vs the target's truth
IDLE_TOLERANCE = 0.05       # idle()'s share of all samples vs its wall-time share

PYFLARE = None
# The share tests compare samples with time: on a loaded machine a sampler
# that waits its turn for a CPU takes its samples when the target lets it,
# not uniformly in time. Where allowed, those runs get a real-time priority
# (SCHED_FIFO, reset on fork so a launched program runs normally).
RT_PREFIX = []
_live = set()               # processes to kill if the run is interrupted
_live_lock = threading.Lock()


Result, check = harness.Result, harness.check


# ------------------------------------------------------------ processes --

def track(p):
    with _live_lock:
        _live.add(p)
    return p


def untrack(p):
    with _live_lock:
        _live.discard(p)


def kill_group(p):
    """SIGKILL p's process group (p was started in a session of its own)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass


def clean_env():
    env = dict(os.environ)
    for var in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONINSPECT", "NO_COLOR"):
        env.pop(var, None)
    env.update(LC_ALL="C.UTF-8", PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    return env


class Run:
    """Outcome of one pyflare invocation."""

    def __init__(self, cmd, rc=None, out=b"", err=b"", failure=None):
        self.cmd, self.rc, self.out, self.err = cmd, rc, out, err
        self.failure = failure
        self.text = err.decode("utf-8", "replace")

    def describe(self):
        if self.failure:
            return self.failure
        how = ("killed by signal %d" % -self.rc) if self.rc < 0 else ("exit status %d" % self.rc)
        tail = self.text.strip().splitlines()[-4:]
        return how + ("; stderr: " + " | ".join(tail) if tail else "")

    def command(self):
        return " ".join(self.cmd)


def communicate(p, cmd, timeout):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(p)
        out, err = p.communicate()
        untrack(p)
        return Run(cmd, p.returncode, out, err, failure="timed out after %ds" % timeout)
    untrack(p)
    return Run(cmd, p.returncode, out, err)


def start_pyflare(args, cwd="/", prefix=(), binary=None):
    cmd = list(prefix) + [binary or PYFLARE] + list(args)
    return cmd, track(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, cwd=cwd, env=clean_env(),
                                       start_new_session=True))


def pyflare(args, timeout, cwd="/", prefix=(), binary=None):
    """Run pyflare to completion (its process group is killed on timeout)."""
    try:
        cmd, p = start_pyflare(args, cwd, prefix, binary)
    except OSError as e:
        return Run([PYFLARE] + list(args), failure="could not run pyflare: %s" % e)
    return communicate(p, cmd, timeout)


class Target:
    """A target program started by the runner (not by pyflare)."""

    def __init__(self, argv, cwd=TARGETS, ready=None, reaper=False):
        self.argv, self.cwd, self.ready = argv, cwd, ready
        self.log = tempfile.TemporaryFile()
        self.proc = track(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                           stderr=self.log, cwd=cwd, env=clean_env(),
                                           start_new_session=True))
        if reaper:   # reap it the moment it exits, like a shell would
            threading.Thread(target=self.proc.wait, daemon=True).start()

    @property
    def pid(self):
        return self.proc.pid

    def log_tail(self):
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace").strip().splitlines()[-8:]

    def wait_ready(self):
        """The ready file's JSON, or raises RuntimeError."""
        return self.wait_json(self.ready, "it was ready")

    def wait_json(self, path, what):
        """The JSON the target writes (atomically) at path, once there, or
        raises RuntimeError if it exits before (`what` names the wait)."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if os.path.exists(path):
                with open(path) as f:
                    return json.load(f)
            if self.proc.poll() is not None:
                raise RuntimeError("target exited with status %s before %s:\n%s"
                                   % (self.proc.returncode, what, "\n".join(self.log_tail())))
            time.sleep(0.02)
        raise RuntimeError("%s not written after %ds (waiting until %s)"
                           % (os.path.basename(path), READY_TIMEOUT, what))

    def alive(self):
        return self.proc.poll() is None

    def terminate(self, timeout=20):
        """SIGTERM, then wait; returns the exit status (None on timeout)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        kill_group(self.proc)
        self.proc.wait()
        untrack(self.proc)
        self.log.close()


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------- parsing --

SUMMARY = re.compile(r"^pyflare: (\d+) stacks from (\d+) samples in ([0-9.]+) s "
                     r"\(([0-9.]+) Hz of ([0-9.e+]+) requested\), (\d+) late; "
                     r"(\d+) threads? seen(?: in (\d+) processes)?; (.*)$")
FRAME = re.compile(r"^(?P<func>.+) \((?P<file>.+?)(?::(?P<line>\d+))?\)$")


def parse_summary(run):
    """The summary line's fields as a dict, or None."""
    for line in run.text.splitlines():
        m = SUMMARY.match(line)
        if m:
            return {"stacks": int(m.group(1)), "ticks": int(m.group(2)),
                    "seconds": float(m.group(3)), "hz": float(m.group(4)),
                    "requested": float(m.group(5)), "late": int(m.group(6)),
                    "threads": int(m.group(7)), "processes": int(m.group(8) or 1),
                    "errors": m.group(9)}
    return None


def parse_folded(text):
    """([(frames root first, count)], problems)."""
    stacks, problems = [], []
    for i, line in enumerate(text.splitlines()):
        stack, sep, count = line.rpartition(" ")
        if not sep or not count.isdigit() or not stack or int(count) <= 0:
            problems.append("folded line %d is malformed: %r" % (i + 1, line[:200]))
            continue
        stacks.append((stack.split(";"), int(count)))
    return stacks, problems


def frame(label):
    """(function, file, line or None) of a Python frame label, or None."""
    m = FRAME.match(label)
    if not m:
        return None
    return m.group("func"), m.group("file"), int(m.group("line")) if m.group("line") else None


def func_of(label):
    f = frame(label)
    return f[0] if f else None


def innermost_counts(stacks):
    counts = {}
    for frames, n in stacks:
        fn = func_of(frames[-1])
        counts[fn] = counts.get(fn, 0) + n
    return counts


def read_output(path):
    """(stacks, problems) of a folded file pyflare wrote."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return [], ["no output file: %s" % e]
    if not data:
        return [], ["output file %s is empty" % os.path.basename(path)]
    try:
        return parse_folded(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        return [], ["output is not UTF-8: %s" % e]


def recorded(run, path, want_rc=0, check_total=True):
    """(stacks, summary, problems) for a run that should have written path."""
    if run.failure:
        return [], None, ["%s: %s" % (run.command(), run.failure)]
    problems = []
    if run.rc != want_rc:
        problems.append("exit status %s, expected %d (%s)\n  command: %s"
                        % (run.rc, want_rc, run.describe(), run.command()))
    summary = parse_summary(run)
    if summary is None:
        problems.append("no summary line on stderr:\n" + run.text.strip()[:600])
    stacks, bad = read_output(path) if path != "-" else parse_folded(run.out.decode("utf-8", "replace"))
    problems += bad
    total = sum(n for _, n in stacks)
    if check_total and summary and not bad and total != summary["stacks"]:
        problems.append("folded counts add up to %d, the summary says %d stacks"
                        % (total, summary["stacks"]))
    return stacks, summary, problems


def fmt_shares(shares):
    return ", ".join("%s %.1f%%" % (k, 100 * v) for k, v in sorted(shares.items()))


# ----------------------------------------------------------------- cpu --

def window_truth(truth, run, ended):
    """Seconds each function of cpu_split.py ran within the recorded window
    (the summary's elapsed time, ending when pyflare exited), plus "window"."""
    summary = parse_summary(run)
    w1 = ended
    w0 = w1 - summary["seconds"]
    spent = {"f1": 0.0, "f2": 0.0, "f5": 0.0, "idle": 0.0, "window": w1 - w0}
    for call in truth["calls"]:
        fn, start, end = call[:3]
        overlap = min(end, w1) - max(start, w0)
        if overlap > 0:
            spent[fn] += overlap
    return spent


def window_cpu_truth(truth, run, ended):
    """CPU seconds each busy function of cpu_split.py used within the recorded
    window: each call's CPU, in proportion to the part of the call inside it."""
    summary = parse_summary(run)
    w1 = ended
    w0 = w1 - summary["seconds"]
    spent = {"f1": 0.0, "f2": 0.0, "f5": 0.0}
    for fn, start, end, cpu in truth["calls"]:
        overlap = min(end, w1) - max(start, w0)
        if fn in spent and overlap > 0 and end > start:
            spent[fn] += cpu * min(1.0, overlap / (end - start))
    return spent


def cpu_share_problems(stacks, spent, label, tolerance=None):
    """Problems if f1/f2/f5's sample shares are off the target's own shares."""
    tolerance = tolerance or CPU_TOLERANCE
    counts = innermost_counts(stacks)
    got_total = sum(counts.get(f, 0) for f in ("f1", "f2", "f5"))
    want_total = sum(spent[f] for f in ("f1", "f2", "f5"))
    if got_total < 200 or want_total <= 0:
        return ["%s: only %d samples in f1/f2/f5 (innermost functions: %s)"
                % (label, got_total, counts)]
    got = dict((f, counts.get(f, 0) / float(got_total)) for f in ("f1", "f2", "f5"))
    want = dict((f, spent[f] / want_total) for f in ("f1", "f2", "f5"))
    off = [f for f in got if abs(got[f] - want[f]) > tolerance]
    if not off:
        return []
    others = sorted(counts.items(), key=lambda kv: -kv[1])[:6]
    return ["%s: shares off by more than %d points in %s\n  pyflare: %s (%d samples)\n"
            "  truth (time in the function while recorded): %s\n"
            "  innermost functions by samples: %s"
            % (label, round(100 * tolerance), ", ".join(off), fmt_shares(got), got_total,
               fmt_shares(want), ", ".join("%s %d" % kv for kv in others))]


def timed(args, timeout, cwd):
    """pyflare run with its sampling clock protected from the machine's load
    (see RT_PREFIX); returns (run, when sampling ended). Sampling ends just
    before the profile is written, so that is the output file's mtime, not the
    moment pyflare exited (which comes later by the write and, under ASan, by
    LeakSanitizer's scan at exit)."""
    run = pyflare(args, timeout, cwd=cwd, prefix=RT_PREFIX)
    ended = time.time()
    if "-o" in args:
        out = args[args.index("-o") + 1]
        out = out if os.path.isabs(out) else os.path.join(cwd, out)
        if os.path.exists(out):
            ended = os.stat(out).st_mtime
    return run, ended


def truth_so_far(target, path):
    """cpu_split.py's truth as it stands (it writes it on SIGUSR1 and runs on)."""
    try:
        os.unlink(path)
    except OSError:
        pass
    os.kill(target.pid, signal.SIGUSR1)
    return target.wait_json(path, "it wrote its truth on SIGUSR1")


def idle_problems(idle, out, truth):
    """Problems of one `record --idle` of cpu_split.py (idle: timed()'s (run, ended))
    against the target's truth written after it."""
    stacks, summary, problems = recorded(idle[0], out)
    if problems:
        return problems
    spent = window_truth(truth, *idle)
    problems += cpu_share_problems(stacks, spent, "--idle")
    total = sum(n for _, n in stacks)
    # One thread, idle counted: every tick should give exactly one stack.
    if not (0.9 * summary["ticks"] <= summary["stacks"] <= summary["ticks"]):
        problems.append("--idle on a one-thread target: %d stacks from %d ticks "
                        "(expected one per tick)" % (summary["stacks"], summary["ticks"]))
    got = innermost_counts(stacks).get("idle", 0) / float(total)
    want = spent["idle"] / spent["window"]
    if abs(got - want) > IDLE_TOLERANCE:
        problems.append("idle()'s share of all samples is %.1f%%, its share of the recorded "
                        "time %.1f%% (tolerance %d points)"
                        % (100 * got, 100 * want, round(100 * IDLE_TOLERANCE)))
    return problems


def job_cpu(interp, python):
    prefix = interp + "/cpu"
    work = tempfile.mkdtemp(prefix="pyflare-rec-")
    script = os.path.join(TARGETS, "cpu_split.py")
    results = []
    try:
        truth_path, ready = os.path.join(work, "truth.json"), os.path.join(work, "ready.json")
        target = Target([python, script, truth_path, ready, "0", "0"], ready=ready)
        try:
            target.wait_ready()
            attach = timed(["record", "--pid", str(target.pid), "--rate", "1000", "--duration", "4",
                            "-o", os.path.join(work, "attach.folded")], 4 + SLACK, work)
            # --idle weighs samples by wall time, which the other jobs' load can skew for one
            # recording: a miss is recorded once more, and the second recording is the one judged.
            idle_judged = []  # each recording's problems
            for attempt in (1, 2):
                out = os.path.join(work, "idle%d.folded" % attempt)
                run = timed(["record", "--pid", str(target.pid), "--rate", "1000", "--duration", "4",
                             "--idle", "-o", out], 4 + SLACK, work)
                idle_judged.append(idle_problems(run, out, truth_so_far(target, truth_path)))
                if not idle_judged[-1]:
                    break
            alive = target.alive()
            status = target.terminate()
        except RuntimeError as e:
            lines = str(e).splitlines()
            return [Result("FAIL", prefix, "target: " + lines[0], lines[1:])]
        finally:
            target.stop()
        truth = read_json(truth_path)
        if truth is None:
            return [Result("FAIL", prefix, "target wrote no truth (status %s)" % status)]

        stacks, summary, problems = recorded(attach[0], os.path.join(work, "attach.folded"))
        if not alive:
            problems.append("the target died while being recorded")
        if not problems:
            problems += cpu_share_problems(stacks, window_cpu_truth(truth, *attach), "attached")
        results.append(check(prefix + "/attach", problems))

        note = ""
        if len(idle_judged) == 2:
            note = "second recording judged; the first: " + idle_judged[0][0].splitlines()[0]
        results.append(check(prefix + "/idle", idle_judged[-1], note))

        # Launched: the program runs 4.5 s and exits with status 3; if the 4 s
        # recording ends first, pyflare's SIGTERM makes it exit with 3 as well.
        truth2 = os.path.join(work, "truth2.json")
        launch = timed(["record", "--rate", "1000", "--duration", "4", "-o",
                        os.path.join(work, "launch.folded"), "--",
                        python, script, truth2, "-", "4.5", "3"], 4.5 + SLACK, work)
        stacks, summary, problems = recorded(launch[0], os.path.join(work, "launch.folded"), want_rc=3)
        truth = read_json(truth2)
        if truth is None:
            problems.append("the launched target wrote no truth")
        elif not problems:
            problems += cpu_share_problems(stacks, window_cpu_truth(truth, *launch), "launched")
        results.append(check(prefix + "/launch", problems))
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- load --

LOAD_TOLERANCE = 0.02       # f1/f2/f5 shares vs the CPU truth with a hog on every core
LOAD_IDLE_MAX = 0.02        # idle()'s share of the profile's CPU at most
LOAD_CPU_TOLERANCE = 0.10   # the profile's CPU time vs /proc/PID/stat's


def proc_cpu_seconds(pid):
    """utime + stime of a process, in seconds (from /proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def start_hogs():
    """One busy-loop process per core (nice 0), each in a session of its own."""
    hogs = []
    for _ in range(os.cpu_count() or 2):
        hogs.append(track(subprocess.Popen([sys.executable, "-c", "while True: pass"],
                                           stdin=subprocess.DEVNULL, start_new_session=True)))
    return hogs


def stop_hogs(hogs):
    for p in hogs:
        kill_group(p)
        p.wait()
        untrack(p)


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


def job_load(python):
    """The default mode measures CPU time: with a CPU hog on every core the
    target runs only part of the time it is runnable, and a stopped thread
    that holds the GIL runs not at all."""
    results = []
    work = tempfile.mkdtemp(prefix="pyflare-rec-")
    script = os.path.join(TARGETS, "cpu_split.py")
    hogs = start_hogs()
    try:
        truth_path, ready = os.path.join(work, "truth.json"), os.path.join(work, "ready.json")
        target = Target([python, script, truth_path, ready, "0", "0"], ready=ready)
        out = os.path.join(work, "load.folded")
        try:
            target.wait_ready()
            time.sleep(0.5)      # let the scheduler settle between target and hogs
            t0, c0 = time.time(), proc_cpu_seconds(target.pid)
            run, ended = timed(["record", "--pid", str(target.pid), "--rate", "1000", "--duration", "4",
                                "-o", out], 4 + SLACK, work)
            t1, c1 = time.time(), proc_cpu_seconds(target.pid)
            status = target.terminate()
        except RuntimeError as e:
            lines = str(e).splitlines()
            return [Result("FAIL", "load/cpu", "target: " + lines[0], lines[1:])]
        finally:
            target.stop()
        truth = read_json(truth_path)
        stacks, summary, problems = recorded(run, out)
        if truth is None:
            problems.append("target wrote no truth (status %s)" % status)
        note = ""
        if not problems:
            problems += cpu_share_problems(stacks, window_cpu_truth(truth, run, ended), "with hogs",
                                           LOAD_TOLERANCE)
            counts = innermost_counts(stacks)
            total = sum(counts.values())
            idle = counts.get("idle", 0) / float(total) if total else 1.0
            if idle > LOAD_IDLE_MAX:
                problems.append("idle() (asleep) has %.1f%% of the profile, at most %d%% expected"
                                % (100 * idle, round(100 * LOAD_IDLE_MAX)))
            # The target's own CPU over the recorded part of [t0, t1].
            want = (c1 - c0) * summary["seconds"] / (t1 - t0)
            got = total / 1000.0      # each unit of weight is one 1 ms period of CPU
            busy = sum(counts.get(f, 0) for f in ("f1", "f2", "f5")) or 1
            cpu_truth = window_cpu_truth(truth, run, ended)
            note = ("profile %.2f s of CPU, /proc/PID/stat %.2f s; idle %.1f%%; %s (truth %s)"
                    % (got, want, 100 * idle,
                       fmt_shares(dict((f, counts.get(f, 0) / float(busy)) for f in ("f1", "f2", "f5"))),
                       fmt_shares(dict((f, v / (sum(cpu_truth.values()) or 1)) for f, v in cpu_truth.items()))))
            if want <= 0 or abs(got - want) > LOAD_CPU_TOLERANCE * want:
                problems.append("the profile holds %.2f s of CPU, the target used %.2f s while recorded "
                                "(/proc/PID/stat; tolerance %d%%)" % (got, want, round(100 * LOAD_CPU_TOLERANCE)))
        results.append(check("load/cpu", problems, note))

        # A stopped process whose only thread holds the GIL uses no CPU.
        target = spinner(work, "0", python)
        try:
            os.kill(target.pid, signal.SIGSTOP)
            deadline = time.monotonic() + 10
            while proc_state(target.pid) != "T" and time.monotonic() < deadline:
                time.sleep(0.01)
            out = os.path.join(work, "stopped.folded")
            run = pyflare(["record", "--pid", str(target.pid), "--rate", "200", "--duration", "1", "-o", out],
                          1 + SLACK)
            os.kill(target.pid, signal.SIGCONT)
            problems = []
            if run.failure or run.rc != 0:
                problems.append("expected exit status 0: " + run.describe())
            try:
                with open(out) as f:
                    stacks, bad = parse_folded(f.read())
                problems += bad
            except OSError as e:
                stacks = []
                problems.append("no output file: %s" % e)
            spun = innermost_counts(stacks).get("spin_forever", 0)
            if spun:
                problems.append("the stopped target's spin_forever counts %d (expected nothing)" % spun)
            results.append(check("load/stopped", problems))
        finally:
            target.stop()
        return results
    except RuntimeError as e:
        return results + [Result("FAIL", "load", "target: " + str(e).splitlines()[0])]
    finally:
        stop_hogs(hogs)
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------- threads --

SPINNERS = {"alpha": "spin_alpha", "beta": "spin_beta", "gamma": "spin_gamma"}


def thread_problems(stacks, allowed_roots, label):
    """Problems with --threads stacks: unknown roots, spinners' stacks that do
    not end in their own function, stdlib frames not shortened."""
    problems = []
    for frames, n in stacks:
        root = frames[0]
        if not root.startswith("thread "):
            problems.append("%s: stack without a thread root: %s" % (label, ";".join(frames)[:300]))
            continue
        name = root[len("thread "):]
        if name not in allowed_roots:
            problems.append("%s: unexpected root %r (%d samples): %s"
                            % (label, root, n, ";".join(frames)[:300]))
            continue
        funcs = [func_of(f) for f in frames[1:]]
        if None in funcs:
            problems.append("%s: malformed frame in %s" % (label, ";".join(frames)[:300]))
            continue
        if name in SPINNERS:
            if funcs[-1] != SPINNERS[name]:
                problems.append("%s: thread %s's stack ends in %s, expected %s"
                                % (label, name, funcs[-1], SPINNERS[name]))
            # threading.py lives in lib/pythonX.Y/: shortened to the import root, which
            # folded output keeps (lib/pythonX.Y/threading.py) so that its origin survives.
            files = set(re.sub(r"^lib/python\d+\.\d+/", "", frame(f)[1]) for f in frames[1:-1])
            if files != set(["threading.py"]):
                problems.append("%s: thread %s's outer frames are in %s, expected threading.py only"
                                % (label, name, sorted(files)))
        elif funcs[-1] != "park":
            problems.append("%s: MainThread's stack ends in %s, expected park" % (label, funcs[-1]))
    return problems


def roots_of(stacks):
    return set(frames[0] for frames, _ in stacks)


def main_thread_asleep(pid, seconds=10):
    """True once the main thread has been in state S for 20 consecutive checks."""
    streak, deadline = 0, time.time() + seconds
    while time.time() < deadline:
        try:
            with open("/proc/%d/task/%d/stat" % (pid, pid)) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        streak = streak + 1 if state == "S" else 0
        if streak >= 20:
            return True
        time.sleep(0.005)
    return False


def job_threads(interp, python):
    prefix = interp + "/threads"
    work = tempfile.mkdtemp(prefix="pyflare-rec-")
    ready = os.path.join(work, "ready.json")
    target = Target([python, os.path.join(TARGETS, "threads.py"), ready], ready=ready)
    results = []
    try:
        try:
            info = target.wait_ready()
        except RuntimeError as e:
            lines = str(e).splitlines()
            return [Result("FAIL", prefix, "target: " + lines[0], lines[1:])]
        if sorted(info["threads"]) != ["MainThread", "alpha", "beta", "gamma"]:
            return [Result("FAIL", prefix, "target's threads are %s (test bug)" % info["threads"])]
        # The main thread writes the ready file and then goes to sleep: until it
        # is asleep in the kernel it is legitimately running. Wait for that.
        if not main_thread_asleep(target.pid):
            return [Result("FAIL", prefix, "target's main thread never went to sleep (test bug)")]
        runs = {}
        for mode, extra in (("plain", []), ("idle", ["--idle"]), ("gil", ["--gil"])):
            out = os.path.join(work, mode + ".folded")
            run = pyflare(["record", "--pid", str(target.pid), "--threads", "--rate", "1000",
                           "--duration", "1.5", "-o", out] + extra, 1.5 + SLACK, cwd=work)
            runs[mode] = (run, out)
        spinners = set("thread " + n for n in SPINNERS)

        run, out = runs["plain"]
        stacks, summary, problems = recorded(run, out)
        note = ""
        if not problems:
            problems += thread_problems(stacks, SPINNERS, "--threads")
            if roots_of(stacks) != spinners:
                problems.append("--threads roots are %s, expected %s"
                                % (sorted(roots_of(stacks)), sorted(spinners)))
            note = "%.2f stacks per tick without --gil/--idle" % (
                summary["stacks"] / float(max(1, summary["ticks"])))
        results.append(check(prefix + "/roots", problems, note))

        run, out = runs["idle"]
        stacks, summary, problems = recorded(run, out)
        if not problems:
            everyone = spinners | set(["thread MainThread"])
            problems += thread_problems(stacks, list(SPINNERS) + ["MainThread"], "--idle")
            if roots_of(stacks) != everyone:
                problems.append("--threads --idle roots are %s, expected %s"
                                % (sorted(roots_of(stacks)), sorted(everyone)))
            # Every tick sees all four threads (nothing is filtered): well
            # above the one-stack-per-tick ceiling of --gil.
            if summary["stacks"] <= 3 * summary["ticks"]:
                problems.append("--idle: %d stacks from %d ticks, expected about 4 per tick (> 3)"
                                % (summary["stacks"], summary["ticks"]))
            if summary["threads"] != 4:
                problems.append("--idle: summary says %d threads seen, expected 4" % summary["threads"])
        results.append(check(prefix + "/idle", problems))

        run, out = runs["gil"]
        if interp in FREE_THREADED:
            # No GIL to hold: refused in one line, no output file left behind.
            problems = error_problems(run, rc=None, mention=("--gil", "free-threaded"))
            if os.path.exists(out):
                problems.append("--gil was refused but %s was written" % out)
            results.append(check(prefix + "/gil", problems))
            return results
        stacks, summary, problems = recorded(run, out)
        if not problems:
            problems += thread_problems(stacks, SPINNERS, "--gil")
            # At most one GIL holder per tick; and a spinner holds it nearly always.
            if summary["stacks"] > summary["ticks"]:
                problems.append("--gil: %d stacks from only %d ticks (at most one holder per tick)"
                                % (summary["stacks"], summary["ticks"]))
            if summary["stacks"] < 0.5 * summary["ticks"]:
                problems.append("--gil: %d stacks from %d ticks, yet a spinner holds the GIL "
                                "nearly all the time" % (summary["stacks"], summary["ticks"]))
        results.append(check(prefix + "/gil", problems))
        return results
    finally:
        target.stop()
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------ parallel --

PARALLEL_TOLERANCE = 0.02   # burn_a..burn_d shares vs the target's own
PARALLEL_CPU_TOLERANCE = 0.10  # the profile's CPU time vs the target's own
PARALLEL_THREADS = {"burn_a": "thread a", "burn_b": "thread b", "burn_c": "thread c", "burn_d": "thread d"}


def job_parallel(interp, python):
    """Free-threaded only: four threads burning at once for a known part of
    the time each (100/75/50/25 %), and sampled running in the same ticks."""
    prefix = interp + "/parallel"
    work = tempfile.mkdtemp(prefix="pyflare-rec-")
    truth_path, ready = os.path.join(work, "truth.json"), os.path.join(work, "ready.json")
    target = Target([python, os.path.join(TARGETS, "parallel.py"), truth_path, ready], ready=ready)
    try:
        try:
            info = target.wait_ready()
            if info.get("gil_enabled") is not False:
                return [Result("FAIL", prefix, "the target runs with a GIL: not a free-threaded build")]
            out = os.path.join(work, "parallel.folded")
            # On a loaded machine the four threads may get too little CPU in
            # 3 s for shares worth judging (1000 samples): then once more, for
            # longer (the target logs its CPU all along; the last run is judged).
            for seconds in (3, 8):
                run, ended = timed(["record", "--pid", str(target.pid), "--threads", "--rate", "500",
                                    "--duration", str(seconds), "-o", out], seconds + SLACK, work)
                if run.failure or run.rc != 0 or sum(innermost_counts(recorded(run, out)[0]).get(f, 0)
                                              for f in PARALLEL_THREADS) >= 1000:
                    break
            target.terminate()
        except RuntimeError as e:
            lines = str(e).splitlines()
            return [Result("FAIL", prefix, "target: " + lines[0], lines[1:])]
        finally:
            target.stop()
        truth = read_json(truth_path)
        stacks, summary, problems = recorded(run, out)
        if truth is None:
            problems.append("target wrote no truth")
        if problems:
            return [check(prefix, problems)]
        w1 = ended
        w0 = w1 - summary["seconds"]
        # Stacks are weighed by CPU time: the truth is each burn's own CPU, in
        # proportion to the part of the call inside the window.
        spent = dict((fn, 0.0) for fn in PARALLEL_THREADS)
        for thread_calls in truth["calls"].values():
            for fn, start, end, cpu in thread_calls:
                overlap = min(end, w1) - max(start, w0)
                if fn in spent and overlap > 0 and end > start:
                    spent[fn] += cpu * min(1.0, overlap / (end - start))
        counts = innermost_counts(stacks)
        got_total = sum(counts.get(f, 0) for f in spent)
        want_total = sum(spent.values())
        for frames, n in stacks:
            fn = func_of(frames[-1])
            if fn in PARALLEL_THREADS and frames[0] != PARALLEL_THREADS[fn]:
                problems.append("%s sampled under %s, expected %s" % (fn, frames[0], PARALLEL_THREADS[fn]))
        if got_total < 1000 or want_total <= 0:
            problems.append("only %d samples in burn_a..burn_d (innermost: %s)" % (got_total, counts))
        else:
            got = dict((f, counts.get(f, 0) / float(got_total)) for f in spent)
            want = dict((f, spent[f] / want_total) for f in spent)
            if any(abs(got[f] - want[f]) > PARALLEL_TOLERANCE for f in spent):
                problems.append("shares off by more than %d points: pyflare %s, truth %s"
                                % (round(100 * PARALLEL_TOLERANCE), fmt_shares(got), fmt_shares(want)))
        # Stacks per tick (noted, not judged): with CPU weights a thread that
        # waited for a core adds no stack, so on a loaded machine this follows
        # the cores the target got, which the CPU check below judges.
        per_tick = summary["stacks"] / float(max(1, summary["ticks"]))
        # The profile's CPU time (one unit of weight is one sampling period) beside
        # the target's own over the window (its process_time marks): within
        # 10 %, and more than one core's worth, the threads running in parallel.
        marks = [m for m in truth["cpu"] if w0 <= m[0] <= w1]
        note = "shares %s (truth %s)" % (fmt_shares(dict(
            (f, counts.get(f, 0) / float(max(1, got_total))) for f in spent)), fmt_shares(dict(
            (f, spent[f] / max(1e-9, want_total)) for f in spent)))
        if len(marks) >= 2 and marks[-1][0] > marks[0][0]:
            own = (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0])   # cores
            got = sum(n for _, n in stacks) / summary["requested"] / summary["seconds"]
            note += "; %.2f stacks per tick; profile %.2f cores of CPU, target %.2f" % (per_tick, got, own)
            if abs(got - own) > PARALLEL_CPU_TOLERANCE * own:
                problems.append("the profile holds %.2f cores of CPU, the target used %.2f (tolerance %d%%)"
                                % (got, own, round(100 * PARALLEL_CPU_TOLERANCE)))
            if own > 1.1 and got <= 1.0:
                problems.append("the target used %.2f cores, the profile only %.2f: parallel threads "
                                "not counted at once" % (own, got))
        else:
            problems.append("the target logged too few CPU marks in the window")
        return [check(prefix, problems, note)]
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -------------------------------------------------------- subprocesses --

PROCESS_ROOT = re.compile(r"^process (\d+): (.*)$")


def job_subprocesses(interp, python):
    name = interp + "/subprocesses"
    work = tempfile.mkdtemp(prefix="pyflare-rec-")
    try:
        truth_path, out = os.path.join(work, "truth.json"), os.path.join(work, "sub.folded")
        run = pyflare(["record", "--subprocesses", "--rate", "200", "-o", out, "--",
                       python, os.path.join(TARGETS, "pool.py"), truth_path], 90, cwd=work)
        stacks, summary, problems = recorded(run, out)
        truth = read_json(truth_path)
        if truth is None:
            problems.append("pool.py wrote no truth")
        if problems:
            return [check(name, problems)]
        workers = set()
        for frames, n in stacks:
            m = PROCESS_ROOT.match(frames[0])
            if not m:
                problems.append("stack without a process root: %s" % ";".join(frames)[:300])
                continue
            # 3.14+ fork workers from a forkserver, whose command line they keep.
            if "pool.py" not in m.group(2) and "from multiprocessing" not in m.group(2):
                problems.append("process root's command line lacks pool.py: %r" % frames[0])
            if "work_item" in [func_of(f) for f in frames[1:]]:
                workers.add(int(m.group(1)))
        if truth["parent"] in workers:
            problems.append("work_item seen under the parent process %d" % truth["parent"])
        strangers = workers - set(truth["workers"])
        if strangers:
            problems.append("work_item seen under pids %s that are not the pool's workers %s"
                            % (sorted(strangers), truth["workers"]))
        if len(workers & set(truth["workers"])) < 2:
            problems.append("work_item seen under %d worker process root(s) %s, expected >= 2 of %s"
                            % (len(workers), sorted(workers), truth["workers"]))
        if summary["processes"] < 3:
            problems.append("summary says %d processes, expected >= 3" % summary["processes"])
        return [check(name, problems)]
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------- pyflame --

def job_pyflame(interp, python):
    prefix = interp + "/pyflame"
    work = tempfile.mkdtemp(prefix="pyflare-rec-")
    ready = os.path.join(work, "ready.json")
    target = Target([python, os.path.join(TARGETS, "spinner.py"), ready, "0"], ready=ready)
    results = []
    try:
        try:
            target.wait_ready()
        except RuntimeError as e:
            lines = str(e).splitlines()
            return [Result("FAIL", prefix, "target: " + lines[0], lines[1:])]
        pid = str(target.pid)
        # (name, args, requested rate): -r is an interval in seconds, 1 ms by default.
        cases = [("short", ["-x", "-s", "1", "-p", pid], 1000),
                 ("interval", ["-x", "-s", "0.7", "-r", "0.001", "-p", pid], 1000),
                 ("interval-5ms", ["-x", "-r", "0.005", "-s", "0.7", "-p", pid], 200)]
        for case, args, rate in cases:
            run = pyflare(args, 2 + SLACK, cwd=work)
            stacks, summary, problems = recorded(run, "-")
            if not problems:
                if not stacks:
                    problems.append("nothing on stdout")
                elif innermost_counts(stacks).get("spin_forever", 0) == 0:
                    problems.append("no stack ends in spin_forever; stdout:\n"
                                    + run.out.decode("utf-8", "replace")[:500])
                if summary["requested"] != rate:
                    problems.append("requested rate %g Hz, expected %d for %s"
                                    % (summary["requested"], rate, " ".join(args)))
            left = sorted(set(os.listdir(work)) - set(["ready.json"]))
            if left:
                problems.append("files created in the working directory: %s" % left)
            results.append(check("%s/%s" % (prefix, case), problems))
        return results
    finally:
        target.stop()
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------- paths --

def marked_lines(path, marker):
    with open(path) as f:
        return [i + 1 for i, line in enumerate(f) if line.rstrip().endswith(marker)]


def expect_tail(stacks, want, label):
    """Problems unless some stack ends with the frames in want, a list of
    (function, file, lines or None) outermost first; and unless every stack
    ending in spin ends like that."""
    def matches(frames):
        if len(frames) < len(want):
            return False
        for label_, (fn, fl, lines) in zip(frames[-len(want):], want):
            got = frame(label_)
            if not got or got[0] != fn or got[1] != fl:
                return False
            if lines is None and got[2] is not None:
                return False
            if lines is not None and got[2] not in lines:
                return False
        return True
    spinning = [frames for frames, _ in stacks if func_of(frames[-1]) == "spin"]
    if not spinning:
        return ["%s: no stack ends in spin:\n%s" % (label, "\n".join(";".join(f) for f, _ in stacks[:5]))]
    bad = [frames for frames in spinning if not matches(frames)]
    if bad:
        show = lambda w: "%s (%s%s)" % (w[0], w[1], "" if w[2] is None else ":" + "|".join(map(str, w[2])))
        return ["%s: stacks ending in spin should end with\n  %s\n  got %s"
                % (label, ";".join(show(w) for w in want), ";".join(bad[0])[-400:])]
    return []


def job_paths(interp, python):
    prefix = interp + "/paths"
    work = os.path.realpath(tempfile.mkdtemp(prefix="pyflare-rec-"))
    results = []
    try:
        app, pkg = os.path.join(work, "app"), os.path.join(work, "site-packages", "pkg")
        os.makedirs(app)
        os.makedirs(pkg)
        script, mod = os.path.join(app, "target.py"), os.path.join(pkg, "mod.py")
        # A full path as the target names it (under chroot: without the root).
        seen = sid_root.inside if interp in sid_root.NAMES else (lambda path: path)
        shutil.copy(os.path.join(TARGETS, "paths_target.py"), script)
        shutil.copy(os.path.join(TARGETS, "paths_mod.py"), mod)
        open(os.path.join(pkg, "__init__.py"), "w").close()
        call, main = marked_lines(script, "# CALL"), marked_lines(script, "# MAIN")
        spin = marked_lines(mod, "# SPIN")
        # Folded output keeps a shortened name's import root: site-packages/pkg/mod.py.
        short = [("<module>", "target.py", main), ("main", "target.py", call), ("spin", "site-packages/pkg/mod.py", spin)]

        # Attached, the script named relative to the target's working directory.
        ready = os.path.join(work, "ready.json")
        target = Target([python, "target.py", ready, "0"], cwd=app, ready=ready)
        try:
            try:
                target.wait_ready()
            except RuntimeError as e:
                lines = str(e).splitlines()
                return [Result("FAIL", prefix, "target: " + lines[0], lines[1:])]
            out = os.path.join(work, "short.folded")
            run = pyflare(["record", "--pid", str(target.pid), "--rate", "500", "--duration", "0.7",
                           "-o", out], 1 + SLACK, cwd=work)
            stacks, _, problems = recorded(run, out)
            if not problems:
                problems += expect_tail(stacks, short, "relative script, attached")
            results.append(check(prefix + "/short", problems))

            out = os.path.join(work, "full-mod.folded")
            run = pyflare(["record", "--pid", str(target.pid), "--rate", "500", "--duration", "0.7",
                           "--full-paths", "-o", out], 1 + SLACK, cwd=work)
            stacks, _, problems = recorded(run, out)
            if not problems:
                problems += expect_tail(stacks, [("spin", seen(mod), spin)], "--full-paths, attached")
            results.append(check(prefix + "/full-paths-attached", problems))
        finally:
            target.stop()

        # Launched with an absolute script path; the program exits by itself.
        for case, extra, want in (
                ("full-paths", ["--full-paths"],
                 [("<module>", seen(script), main), ("main", seen(script), call), ("spin", seen(mod), spin)]),
                ("function", ["--function"],
                 [("<module>", "target.py", None), ("main", "target.py", None),
                  ("spin", "site-packages/pkg/mod.py", None)])):
            out = os.path.join(work, case + ".folded")
            run = pyflare(["record", "--rate", "500", "-o", out] + extra + ["--", python, script, "-", "1"],
                          1 + SLACK, cwd=work)
            stacks, _, problems = recorded(run, out)
            if not problems:
                problems += expect_tail(stacks, want, case + ", launched")
            results.append(check("%s/%s" % (prefix, case), problems))
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------- stopped --

STOPPED_LINE = re.compile(r"^pyflare: process (\d+) was stopped by a signal \(SIGSTOP, or Ctrl-Z in its terminal\) "
                          r"(?:for all ([0-9.]+) s recorded: it ran no code"
                          r"|for ([0-9.]+) s of the ([0-9.]+) s recorded: it ran no code then)"
                          r"(; it is still stopped: send it SIGCONT \(kill -CONT \d+\) to let it run)?$")


def stopped_line(run, pid):
    """(problems, the line's match or None) for the stderr line about a stopped target."""
    lines = [l for l in run.text.splitlines() if l.startswith("pyflare: process ") and "stopped" in l]
    if len(lines) != 1:
        return ["expected one line saying the target was stopped, stderr has %d:\n%s"
                % (len(lines), run.text.strip()[-800:])], None
    m = STOPPED_LINE.match(lines[0])
    if not m:
        return ["the stopped line is not as expected: %r" % lines[0]], None
    if int(m.group(1)) != pid:
        return ["the stopped line names process %s, the target is %d" % (m.group(1), pid)], None
    return [], m


def still_stopped_problems(pid, what):
    states = harness.task_states(pid)
    if not states or any(v != "T" for v in states.values()):
        return ["%s: afterwards the target's threads are %s, want all still 'T' (stopped)" % (what, states)]
    return []


def job_stopped(interp, python):
    prefix = interp + "/stopped"
    work = tempfile.mkdtemp(prefix="pyflare-rec-")
    ready = os.path.join(work, "ready.json")
    target = Target([python, os.path.join(TARGETS, "threads.py"), ready], ready=ready)
    results = []
    try:
        try:
            target.wait_ready()
        except RuntimeError as e:
            lines = str(e).splitlines()
            return [Result("FAIL", prefix, "target: " + lines[0], lines[1:])]
        if not main_thread_asleep(target.pid) or not harness.stop_process(target.pid):
            return [Result("FAIL", prefix, "the target did not go to sleep and stop: %s" % harness.task_states(target.pid))]

        # Stopped for the whole recording: plain (no --idle), --blocking, --idle.
        for mode, extra, seconds in (("whole", [], "2"), ("blocking", ["--blocking"], "1"),
                                     ("idle", ["--idle"], "1")):
            out = os.path.join(work, mode + ".folded")
            run = pyflare(["record", "--pid", str(target.pid), "--rate", "200", "--duration", seconds,
                           "-o", out] + extra, float(seconds) + SLACK, cwd=work)
            stacks, summary, problems = recorded(run, out) if mode == "idle" else ([], None, [])
            if mode != "idle" and (run.failure or run.rc != 0):
                problems.append("expected exit status 0: " + run.describe())
            bad, m = stopped_line(run, target.pid)
            problems += bad
            if m and not m.group(2):
                problems.append("the target was stopped the whole time, the line says part: %r" % m.group(0))
            if m and not m.group(5):
                problems.append("the line does not say the target is still stopped: %r" % m.group(0))
            if "was idle" in run.text:
                problems.append("stderr calls the stopped target idle:\n" + run.text.strip()[-600:])
            if mode == "idle" and not problems and summary["threads"] != 4:
                problems.append("--idle: %d threads recorded, the target has 4" % summary["threads"])
            problems += still_stopped_problems(target.pid, mode)
            results.append(check("%s/%s" % (prefix, mode), problems))

        # dump: says so, and leaves it stopped.
        problems = []
        run = pyflare(["dump", "--pid", str(target.pid), "--json"], SLACK)
        doc = None
        try:
            doc = json.loads(run.out.decode("utf-8"))
        except ValueError:
            problems.append("dump --json: not JSON (%s)" % run.describe())
        if doc is not None and doc.get("stopped") is not True:
            problems.append("dump --json of the stopped target: \"stopped\" is %r" % doc.get("stopped"))
        run = pyflare(["dump", "--pid", str(target.pid), "--json", "--blocking"], SLACK)
        try:
            if json.loads(run.out.decode("utf-8")).get("stopped") is not True:
                problems.append("dump --blocking --json of the stopped target does not say \"stopped\": true")
        except ValueError:
            problems.append("dump --blocking --json: not JSON (%s)" % run.describe())
        run = pyflare(["dump", "--pid", str(target.pid)], SLACK)
        if run.rc != 0 or "It is stopped by a signal" not in run.out.decode("utf-8", "replace"):
            problems.append("dump (text) does not say the target is stopped: %s\n%s"
                            % (run.describe(), run.out.decode("utf-8", "replace")[:400]))
        problems += still_stopped_problems(target.pid, "dump")

        # Let go: it runs (its own CPU time grows), and dump says it is not stopped.
        cpu0 = proc_cpu_seconds(target.pid)
        os.kill(target.pid, signal.SIGCONT)
        deadline = time.monotonic() + 10
        while proc_cpu_seconds(target.pid) <= cpu0 and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc_cpu_seconds(target.pid) <= cpu0:
            problems.append("after SIGCONT the target used no CPU in 10 s: %s" % harness.task_states(target.pid))
        run = pyflare(["dump", "--pid", str(target.pid), "--json"], SLACK)
        try:
            if json.loads(run.out.decode("utf-8")).get("stopped") is not False:
                problems.append("dump --json of the running target does not say \"stopped\": false")
        except ValueError:
            problems.append("dump --json of the running target: not JSON (%s)" % run.describe())
        results.append(check(prefix + "/dump", problems))

        # Stopped, then SIGCONT a second into a 3 s recording: part of the time.
        if not harness.stop_process(target.pid):
            return results + [Result("FAIL", prefix + "/part", "SIGSTOP did not stop the target")]
        out = os.path.join(work, "part.folded")
        cmd, p = start_pyflare(["record", "--pid", str(target.pid), "--rate", "200", "--duration", "3",
                                "-o", out], cwd=work)
        problems = []
        if not wait_attached(p.pid, target.pid):
            problems.append("pyflare never opened anything under /proc/%d/" % target.pid)
        time.sleep(1.0)
        os.kill(target.pid, signal.SIGCONT)
        run = communicate(p, cmd, 3 + SLACK)
        stacks, summary, more = recorded(run, out)
        problems += more
        bad, m = stopped_line(run, target.pid)
        problems += bad
        if m and not m.group(3):
            problems.append("stopped for part of the recording, the line says otherwise: %r" % m.group(0))
        elif m and not 0 < float(m.group(3)) < float(m.group(4)):
            problems.append("stopped for part of the recording, the line says %s s of %s s"
                            % (m.group(3), m.group(4)))
        if m and m.group(5):
            problems.append("the target runs again, the line says it is still stopped: %r" % m.group(0))
        if not problems and not any(f in innermost_counts(stacks) for f in SPINNERS.values()):
            problems.append("no spinner in the profile after SIGCONT")
        states = harness.task_states(target.pid)
        if any(v in "tT" for v in states.values()):
            problems.append("the target was left stopped: %s" % states)
        results.append(check(prefix + "/part", problems))
        return results
    finally:
        try:
            os.kill(target.pid, signal.SIGCONT)
        except OSError:
            pass
        target.stop()
        shutil.rmtree(work, ignore_errors=True)


# ----------------------------------------------------------- lifecycle --

def wait_attached(pyflare_pid, target_pid, timeout=10):
    """Wait until pyflare holds a file open under /proc/TARGET/ (it reads the
    target's thread states), a sign that sampling has begun."""
    want = "/proc/%d/" % target_pid
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fds = os.listdir("/proc/%d/fd" % pyflare_pid)
        except OSError:
            return False
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pyflare_pid, fd)).startswith(want):
                    return True
            except OSError:
                pass
        time.sleep(0.02)
    return False


def spinner(work, lifetime="0", python=None, reaper=False):
    ready = os.path.join(work, "ready-%d.json" % len(os.listdir(work)))
    t = Target([python, os.path.join(TARGETS, "spinner.py"), ready, lifetime], ready=ready, reaper=reaper)
    t.wait_ready()
    return t


def spin_problems(path):
    stacks, problems = read_output(path)
    if not problems and innermost_counts(stacks).get("spin_forever", 0) == 0:
        problems.append("no stack in the profile ends in spin_forever")
    return problems


def job_lifecycle(python):
    results = []
    work = tempfile.mkdtemp(prefix="pyflare-rec-")
    try:
        # The target exits 1.5 s into a 10 s recording (and is reaped at once).
        target = spinner(work, "1.5", python, reaper=True)
        try:
            out = os.path.join(work, "exit.folded")
            run = pyflare(["record", "--pid", str(target.pid), "--duration", "10", "-o", out], 10 + SLACK)
            problems = []
            if run.failure or run.rc != 0:
                problems.append("expected exit status 0: " + run.describe())
            if "exited" not in run.text:
                problems.append("stderr does not say the program exited:\n" + run.text.strip())
            problems += spin_problems(out)
            results.append(check("lifecycle/target-exits", problems))
        finally:
            target.stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            name = "lifecycle/" + ("sigint" if sig == signal.SIGINT else "sigterm")
            target = spinner(work, "0", python)
            try:
                out = os.path.join(work, name.split("/")[1] + ".folded")
                cmd, p = start_pyflare(["record", "--pid", str(target.pid), "-o", out])
                problems = []
                if not wait_attached(p.pid, target.pid):
                    problems.append("pyflare never opened anything under /proc/%d/" % target.pid)
                time.sleep(1.0)   # let it record a while
                p.send_signal(sig)
                run = communicate(p, cmd, 30)
                if run.failure or run.rc != 0:
                    problems.append("expected exit status 0 after %s: %s" % (name[10:].upper(), run.describe()))
                if parse_summary(run) is None:
                    problems.append("no summary line on stderr:\n" + run.text.strip())
                problems += spin_problems(out)
                if not target.alive():
                    problems.append("the attached target died")
                results.append(check(name, problems))
            finally:
                target.stop()
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------ process events --

HANG_TIMEOUT = 30           # generous: a pyflare that has not ended by then hangs


def tracer_of(pid):
    """TracerPid from /proc/PID/status (0: not traced)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def folded_funcs(path):
    try:
        with open(path) as f:
            stacks, _ = parse_folded(f.read())
    except OSError:
        return {}
    return innermost_counts(stacks)


def job_process_events(python):
    """Targets that die, churn threads, exec() or are traced by another tool:
    pyflare never hangs, never ends early, and says what happened."""
    results = []
    work = tempfile.mkdtemp(prefix="pyflare-rec-")
    try:
        # Whether the kill lands while the threads are paused is chance: three rounds.
        rounds = [sigkill_blocking_case(work, python, r) for r in range(3)]
        results.append(([r for r in rounds if r.status != "PASS"] + rounds)[0])
        results.append(sigterm_blocking_case(work, python))
        results.append(churn_blocking_case(work, python))
        results += exec_cases(work, python)
        results += traced_cases(work, python)
        results += long_interval_cases(work, python)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def sigkill_blocking_case(work, python, round_no=0):
    """A launched, multi-threaded target SIGKILLed during --blocking at 20 kHz."""
    name = "events/sigkill-blocking"
    ready = os.path.join(work, "kill-ready-%d.json" % round_no)
    out = os.path.join(work, "kill-%d.folded" % round_no)
    cmd, p = start_pyflare(["record", "--blocking", "--rate", "20000", "-o", out, "--",
                            python, os.path.join(TARGETS, "threads.py"), ready])
    problems = []
    deadline = time.monotonic() + READY_TIMEOUT
    while not os.path.exists(ready) and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.02)
    info = read_json(ready)
    if info is None:
        kill_group(p)
        run = communicate(p, cmd, 10)
        return check(name, ["the launched target never got ready: " + run.describe()])
    time.sleep(0.5)
    os.kill(info["pid"], signal.SIGKILL)
    run = communicate(p, cmd, HANG_TIMEOUT)
    if run.failure:
        problems.append("pyflare did not end after its target was killed: " + run.failure)
    elif run.rc != 128 + signal.SIGKILL:
        problems.append("exit status %s, expected %d (the program's, killed by SIGKILL): %s"
                        % (run.rc, 128 + signal.SIGKILL, run.describe()))
    if not run.failure and not folded_funcs(out):
        problems.append("no profile written")
    return check(name, problems)


def sigterm_blocking_case(work, python):
    """SIGTERM to pyflare during --blocking at 20 kHz ends it, profile written."""
    name = "events/sigterm-blocking"
    ready, out = os.path.join(work, "term-ready.json"), os.path.join(work, "term.folded")
    cmd, p = start_pyflare(["record", "--blocking", "--rate", "20000", "-o", out, "--",
                            python, os.path.join(TARGETS, "threads.py"), ready])
    deadline = time.monotonic() + READY_TIMEOUT
    while not os.path.exists(ready) and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.02)
    if not os.path.exists(ready):
        kill_group(p)
        run = communicate(p, cmd, 10)
        return check(name, ["the launched target never got ready: " + run.describe()])
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    run = communicate(p, cmd, HANG_TIMEOUT)
    problems = []
    if run.failure:
        problems.append("pyflare did not end on SIGTERM: " + run.failure)
    elif run.rc != 128 + signal.SIGTERM:
        problems.append("exit status %s, expected %d (the program's, ended by pyflare's SIGTERM): %s"
                        % (run.rc, 128 + signal.SIGTERM, run.describe()))
    if not run.failure and not folded_funcs(out):
        problems.append("no profile written")
    return check(name, problems)


def churn_blocking_case(work, python):
    """Threads exit all the time: --blocking records its whole duration."""
    name = "events/churn-blocking"
    ready = os.path.join(work, "churn-ready.json")
    target = Target([python, os.path.join(TARGETS, "churn.py"), ready], ready=ready)
    try:
        target.wait_ready()
        out = os.path.join(work, "churn.folded")
        run = pyflare(["record", "--pid", str(target.pid), "--blocking", "--rate", "500", "--duration", "3",
                       "--idle", "-o", out], 3 + SLACK)
        problems = []
        if run.failure or run.rc != 0:
            problems.append("expected exit status 0: " + run.describe())
        summary = parse_summary(run)
        if summary is None:
            problems.append("no summary line:\n" + run.text.strip())
        elif summary["seconds"] < 2.5:
            problems.append("recorded %.2f s of the 3 s asked for: %s" % (summary["seconds"], run.text.strip()))
        if "exited" in run.text:
            problems.append("says the program exited, yet it runs on:\n" + run.text.strip())
        if not target.alive():
            problems.append("the target died")
        if "churn_work" not in folded_funcs(out) and "main" not in folded_funcs(out):
            problems.append("no churn.py stacks recorded")
        return check(name, problems)
    except RuntimeError as e:
        return Result("FAIL", name, "target: " + str(e).splitlines()[0])
    finally:
        target.stop()


def exec_cases(work, python):
    script = os.path.join(TARGETS, "exec_chain.py")
    results = []
    # Launched, exec()s Python: both images are profiled, its exit status (0) passed on.
    out = os.path.join(work, "exec-py.folded")
    run = pyflare(["record", "--rate", "200", "-o", out, "--", python, script, "-", "1", "python", "1.5"],
                  2.5 + SLACK)
    funcs, problems = folded_funcs(out), []
    if run.failure or run.rc != 0:
        problems.append("expected the program's exit status 0: " + run.describe())
    for fn in ("before_exec", "after_exec"):
        if not funcs.get(fn):
            problems.append("no stack ends in %s (innermost: %s)" % (fn, funcs))
    results.append(check("events/exec-python-launched", problems))

    # Launched, exec()s a program that is not Python: said clearly, its exit status passed on.
    out = os.path.join(work, "exec-sleep.folded")
    run = pyflare(["record", "--rate", "200", "-o", out, "--", python, script, "-", "1", "sleep", "1.5"],
                  2.5 + SLACK)
    funcs, problems = folded_funcs(out), []
    if run.failure or run.rc != 0:
        problems.append("expected the program's exit status 0: " + run.describe())
    if "exec" not in run.text or "not Python" not in run.text:
        problems.append("stderr does not say the program exec()ed something that is not Python:\n"
                        + run.text.strip())
    if not funcs.get("before_exec"):
        problems.append("no stack ends in before_exec (innermost: %s)" % funcs)
    results.append(check("events/exec-other-launched", problems))

    # Attached: the new image is profiled too.
    ready = os.path.join(work, "exec-ready.json")
    target = Target([python, script, ready, "1", "python", "2"], ready=ready)
    try:
        target.wait_ready()
        out = os.path.join(work, "exec-attached.folded")
        run = pyflare(["record", "--pid", str(target.pid), "--rate", "200", "--duration", "8", "-o", out],
                      8 + SLACK)
        funcs, problems = folded_funcs(out), []
        if run.failure or run.rc != 0:
            problems.append("expected exit status 0: " + run.describe())
        for fn in ("before_exec", "after_exec"):
            if not funcs.get(fn):
                problems.append("no stack ends in %s (innermost: %s)" % (fn, funcs))
        results.append(check("events/exec-python-attached", problems))
    except RuntimeError as e:
        results.append(Result("FAIL", "events/exec-python-attached", "target: " + str(e).splitlines()[0]))
    finally:
        target.stop()
    return results


def traced_cases(work, python):
    names = ["events/traced-record", "events/traced-dump"]
    if not shutil.which("strace"):
        return [Result("SKIP", n, "no strace") for n in names]
    results = []
    target = spinner(work, "0", python)
    strace = track(subprocess.Popen(["strace", "-p", str(target.pid), "-o", "/dev/null"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True))
    try:
        deadline = time.monotonic() + 10
        while tracer_of(target.pid) != strace.pid and time.monotonic() < deadline:
            time.sleep(0.02)
        if tracer_of(target.pid) != strace.pid:
            return [Result("SKIP", n, "strace could not attach") for n in names]
        out = os.path.join(work, "traced.folded")
        run, left = in_empty_dir(["record", "--pid", str(target.pid), "--blocking", "--duration", "1", "-o", out])
        problems = error_problems(run, mention=["traced", str(strace.pid)])
        if os.path.exists(out):
            problems.append("an output file was written")
        results.append(check(names[0], problems))
        run, left = in_empty_dir(["dump", "--pid", str(target.pid), "--blocking"])
        problems = error_problems(run, mention=["traced", str(strace.pid)])
        if "as root" in run.text:
            problems.append("tells root to run as root: " + run.text.strip())
        results.append(check(names[1], problems))
        return results
    finally:
        kill_group(strace)
        strace.wait()
        untrack(strace)
        target.stop()


def long_interval_cases(work, python):
    """A sampling interval longer than the duration, or than the program's life."""
    results = []
    target = spinner(work, "0", python)
    try:
        out = os.path.join(work, "long.folded")
        run = pyflare(["record", "--pid", str(target.pid), "--rate", "0.01", "--duration", "2", "-o", out],
                      HANG_TIMEOUT)
        problems = []
        if run.failure:
            problems.append("--duration 2 with --rate 0.01 (100 s between samples): " + run.failure)
        elif run.rc != 0:
            problems.append("expected exit status 0: " + run.describe())
        elif not os.path.exists(out):
            problems.append("no output file")
        results.append(check("events/duration-long-interval", problems))
    finally:
        target.stop()
    # Attached (no SIGCHLD tells pyflare): the program exits 1 s in.
    target = spinner(work, "1", python, reaper=True)
    try:
        out = os.path.join(work, "long-exit.folded")
        run = pyflare(["record", "--pid", str(target.pid), "--rate", "0.01", "-o", out], HANG_TIMEOUT)
        problems = []
        if run.failure:
            problems.append("the program exited after 1 s, --rate 0.01: " + run.failure)
        elif run.rc != 0:
            problems.append("expected exit status 0: " + run.describe())
        results.append(check("events/exit-long-interval", problems))
    finally:
        target.stop()
    return results


# -------------------------------------------------------------- errors --

def error_problems(run, rc=None, mention=(), any_of=()):
    """Problems unless run failed (with status rc if given) printing exactly
    one stderr line mentioning every word in mention and one of any_of."""
    if run.failure:
        return [run.failure]
    problems = []
    if rc is not None and run.rc != rc:
        problems.append("exit status %d, expected %d" % (run.rc, rc))
    elif run.rc == 0:
        problems.append("exit status 0, expected an error")
    elif run.rc < 0:
        problems.append("killed by signal %d" % -run.rc)
    lines = run.text.splitlines()
    if len(lines) != 1 or not lines[0].strip():
        problems.append("expected one line on stderr, got %d:\n%s" % (len(lines), run.text.rstrip()[:800]))
    low = run.text.lower()
    for word in mention:
        if word.lower() not in low:
            problems.append("stderr does not mention %r: %s" % (word, run.text.strip()[:300]))
    if any_of and not any(w.lower() in low for w in any_of):
        problems.append("stderr mentions none of %s: %s" % (list(any_of), run.text.strip()[:300]))
    return problems


def in_empty_dir(args, timeout=30, prefix=(), binary=None, cwd=None):
    """Run pyflare in a fresh empty directory: (run, [files it left there])."""
    d = cwd or tempfile.mkdtemp(prefix="pyflare-rec-cwd-")
    try:
        run = pyflare(args, timeout, cwd=d, prefix=prefix, binary=binary)
        return run, sorted(os.listdir(d))
    finally:
        if not cwd:
            shutil.rmtree(d, ignore_errors=True)


def error_case(name, args, rc=None, mention=(), any_of=(), timeout=30):
    run, left = in_empty_dir(args, timeout)
    problems = error_problems(run, rc, mention, any_of)
    if left:
        problems.append("files created: %s" % left)
    return check("errors/" + name, ["%s\n  command: %s" % (problems[0], run.command())] + problems[1:]
                 if problems else [])


def job_errors(python):
    results = []
    work = tempfile.mkdtemp(prefix="pyflare-rec-")
    target = None
    try:
        target = spinner(work, "0", python)
        pid = str(target.pid)

        gone = subprocess.Popen(["true"])
        gone.wait()
        if os.path.exists("/proc/%d" % gone.pid):
            results.append(Result("SKIP", "errors/no-such-pid", "pid %d was reused" % gone.pid))
        else:
            results.append(error_case("no-such-pid", ["record", "--pid", str(gone.pid), "-o", "out.folded"],
                                      mention=[str(gone.pid)]))
            results.append(error_case("no-such-pid default-output", ["record", "--pid", str(gone.pid)],
                                      mention=[str(gone.pid)]))

        for opt, value in (("--rate", "0"), ("--rate", "abc"), ("--rate", "-5"),
                           ("--duration", "0"), ("--duration", "x")):
            other = ["--duration", "1"] if opt == "--rate" else ["--rate", "100"]
            results.append(error_case("%s %s" % (opt, value),
                                      ["record", "--pid", pid, opt, value] + other + ["-o", "out.folded"],
                                      rc=2, mention=[opt]))

        results.append(error_case("format nope", ["record", "--pid", pid, "--duration", "1", "--format", "nope",
                                                  "-o", "out.folded"], rc=2, mention=["nope"]))

        run, _ = in_empty_dir(["record", "--pid", pid, "--duration", "1", "-o", "/nonexistent-dir/x.svg"])
        problems = error_problems(run, mention=["/nonexistent-dir/x.svg"])
        if os.path.exists("/nonexistent-dir"):
            problems.append("/nonexistent-dir was created")
        results.append(check("errors/output-dir-missing", problems))

        regular = os.path.join(work, "regular")
        with open(regular, "w") as f:
            f.write("keep me\n")
        run, _ = in_empty_dir(["record", "--pid", pid, "--duration", "1", "-o",
                               os.path.join(regular, "x.folded")])
        problems = error_problems(run, mention=[regular])
        with open(regular) as f:
            if f.read() != "keep me\n":
                problems.append("the regular file was changed")
        results.append(check("errors/output-under-file", problems))

        results.append(readonly_dir_case())
        results.append(output_refused_first_case(python))

        results.append(error_case("-x with --idle", ["record", "--pid", pid, "-x", "--idle", "--duration", "1",
                                                     "-o", "out.folded"], rc=2, mention=["-x", "--idle"]))
        results.append(error_case("pyflame -x with --idle", ["--idle", "-x", "-s", "1", "-p", pid], rc=2,
                                  mention=["-x", "--idle"]))
        results.append(normal_exit_case(python))
        results.append(launched_main_thread_case(python))

        results.append(error_case("command-missing", ["record", "-o", "out.folded", "--", "/nonexistent/binary"],
                                  mention=["/nonexistent/binary"]))
        results.append(error_case("command-not-python", ["record", "-o", "out.folded", "--", "sleep", "3"],
                                  mention=["python"], any_of=["not ", "isn't", "no python"]))
        return results
    except RuntimeError as e:
        return results + [Result("FAIL", "errors", "target: " + str(e).splitlines()[0])]
    finally:
        if target:
            target.stop()
        shutil.rmtree(work, ignore_errors=True)


def output_refused_first_case(python):
    """A directory, a missing directory or an existing directory named as the output is refused
    before the program is started (the program's own marker file is the truth)."""
    name = "errors/output-refused-before-start"
    work = tempfile.mkdtemp(prefix="pyflare-rec-out-")
    try:
        os.mkdir(os.path.join(work, "adir.svg"))
        marker = os.path.join(work, "started")
        prog = "open(%r, 'w').close()\nimport time\ntime.sleep(2)\n" % marker
        problems = []
        for out in ("adir.svg", "missing/x.svg", "adir.svg/"):
            run = pyflare(["record", "--duration", "3", "-o", os.path.join(work, out), "--", python, "-c", prog], 30)
            problems += ["-o %s: %s" % (out, p) for p in error_problems(run)]
            if os.path.exists(marker):
                problems.append("-o %s: the program was started before the output was refused" % out)
                os.unlink(marker)
        if not os.path.isdir(os.path.join(work, "adir.svg")):
            problems.append("the directory was replaced")
        return check(name, problems)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def normal_exit_case(python):
    """A launched program that ends normally is not counted as an error in the summary."""
    problems = []
    prog = "import time\nend = time.time() + 0.4\nwhile time.time() < end: pass\n"
    for i in range(5):
        run, _ = in_empty_dir(["record", "--rate", "1000", "-o", "out.folded", "--", python, "-c", prog])
        summary = parse_summary(run)
        if run.rc != 0 or not summary:
            problems.append("run %d: %s" % (i, run.describe()))
        elif "exited" in summary["errors"]:
            problems.append("run %d: the program's exit is listed as an error: %s" % (i, summary["errors"]))
    return check("errors/normal-exit-is-not-an-error", problems)


def launched_main_thread_case(python):
    """A launched program that never imports threading: its main thread's root is
    'thread MainThread' (what threading.main_thread().name says), not a number."""
    prog = "import time\nend = time.time() + 0.4\nwhile time.time() < end: pass\n"
    run, _ = in_empty_dir(["record", "--threads", "--format", "folded", "-o", "-", "--", python, "-c", prog])
    stacks, problems = parse_folded(run.out.decode("utf-8", "replace"))
    roots = sorted(set(frames[0] for frames, _ in stacks))
    if run.rc != 0:
        problems.append(run.describe())
    elif roots != ["thread MainThread"]:
        problems.append("thread roots are %s, expected ['thread MainThread']" % roots)
    return check("names/launched-main-thread", problems)


def readonly_dir_case():
    """An unprivileged pyflare asked to write into a read-only directory."""
    name = "errors/output-dir-readonly"
    system = harness.SYSTEM["system-3.11"]
    if os.geteuid() != 0:
        return Result("SKIP", name, "needs root to switch to an unprivileged user")
    if not shutil.which("setpriv"):
        return Result("SKIP", name, "no setpriv")
    if not os.access(system, os.X_OK):
        return Result("SKIP", name, "%s (runnable by nobody) not installed" % system)
    tmp = tempfile.mkdtemp(prefix="pyflare-rec-ro-")
    try:
        os.chmod(tmp, 0o755)
        binary, script, ro = os.path.join(tmp, "pyflare"), os.path.join(tmp, "spinner.py"), os.path.join(tmp, "ro")
        shutil.copy(PYFLARE, binary)    # a copy nobody can run, whatever the tree's permissions
        shutil.copy(os.path.join(TARGETS, "spinner.py"), script)
        os.chmod(binary, 0o755)
        os.chmod(script, 0o644)
        os.mkdir(ro)
        os.chmod(ro, 0o555)
        out = os.path.join(ro, "x.folded")
        run = pyflare(["record", "--duration", "1", "-o", out, "--", system, script, "-", "3"], 30, cwd=tmp,
                      prefix=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], binary=binary)
        problems = error_problems(run, mention=[out])
        if os.listdir(ro):
            problems.append("files created in the read-only directory: %s" % os.listdir(ro))
        return check(name, problems)
    finally:
        if os.path.isdir(os.path.join(tmp, "ro")):
            os.chmod(os.path.join(tmp, "ro"), 0o755)
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- rate --

def job_rate(python):
    work = tempfile.mkdtemp(prefix="pyflare-rec-")
    target = None
    try:
        target = spinner(work, "0", python)
        out = os.path.join(work, "rate.folded")
        run = pyflare(["record", "--pid", str(target.pid), "--rate", "10000", "--duration", "2", "--idle",
                       "-o", out], 2 + SLACK)
        stacks, summary, problems = recorded(run, out)
        note = ""
        if summary:
            if summary["ticks"] <= 0 or summary["stacks"] <= 0:
                problems.append("no samples: %s" % run.text.strip())
            if summary["requested"] != 10000:
                problems.append("summary says %g Hz requested, expected 10000" % summary["requested"])
            note = "achieved %.1f Hz of 10000 requested, %d late, %d stacks from %d samples" % (
                summary["hz"], summary["late"], summary["stacks"], summary["ticks"])
        return [check("rate", problems, note)]
    except RuntimeError as e:
        return [Result("FAIL", "rate", "target: " + str(e).splitlines()[0])]
    finally:
        if target:
            target.stop()
        shutil.rmtree(work, ignore_errors=True)


RECURSION_MAX_LOST = 0.01    # share of samples a torn recursive stack may cost


def job_recursion(interp, python):
    """recursive.py at 1 kHz: frames come and go under the sampler (free-listed
    frame objects before 3.11); at most 1% of samples may be lost as torn, and
    every stack in fib() is a chain of fib() under main(), most stacks are."""
    name = "%s/recursion" % interp
    work = tempfile.mkdtemp(prefix="pyflare-rec-")
    try:
        out = os.path.join(work, "fib.folded")
        run = pyflare(["record", "--rate", "1000", "-o", out, "--", python,
                       os.path.join(TARGETS, "recursive.py"), "3"], 3 + SLACK)
        stacks, summary, problems = recorded(run, out)
        note = ""
        if summary:
            m = re.search(r"corrupt (\d+)", summary["errors"])   # torn stacks
            lost = int(m.group(1)) if m else 0
            share = lost / float(max(summary["ticks"], 1))
            note = "%d of %d samples lost (%.2f%%): %s" % (lost, summary["ticks"], 100 * share, summary["errors"])
            if share > RECURSION_MAX_LOST:
                problems.append("lost %.1f%% of samples (at most %d%% allowed): %s"
                                % (100 * share, 100 * RECURSION_MAX_LOST, summary["errors"]))
        in_fib = 0
        for frames, n in stacks:
            funcs = [func_of(f) for f in frames]
            if funcs[-1] != "fib":
                continue    # start-up and the clock check
            in_fib += n
            if funcs[:2] != ["<module>", "main"] or set(funcs[2:]) != {"fib"}:
                problems.append("a stack in fib() is not <module>;main;fib...: %s" % ";".join(frames)[:300])
                break
        if summary and in_fib < summary["stacks"] // 2:
            problems.append("only %d of %d stacks end in fib()" % (in_fib, summary["stacks"]))
        return [check(name, problems, note)]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def job_known_stacks(interp, python):
    """known_stacks.py (stacks of 5 to 160 distinct functions, recompiled every
    250 ms, so code objects are freed and their addresses reused) recorded at
    20 kHz: every recorded stack through run_shape() must be one the target can
    be in, frame by frame (file, line, function) as its own traceback has it,
    the innermost line aside. 3.11+ (frame objects are read another way)."""
    name = "%s/known-stacks" % interp
    work = tempfile.mkdtemp(prefix="pyflare-rec-")
    try:
        out, truth_path = os.path.join(work, "known.folded"), os.path.join(work, "truth.json")
        run = pyflare(["record", "--rate", "20000", "--idle", "-o", out, "--", python,
                       os.path.join(TARGETS, "known_stacks.py"), "-", truth_path, "3"], 3 + SLACK)
        stacks, summary, problems = recorded(run, out, check_total=False)
        if problems:
            return [check(name, problems)]
        with open(truth_path) as f:
            truth = [[(os.path.basename(a), b, c) for a, b, c in t] for t in json.load(f)["stacks"]]
        checked = wrong = 0
        examples = []
        for frames, n in stacks:
            seen = []
            for label in frames:
                func, _, where = label.rpartition(" (")
                file, _, line = where.rstrip(")").rpartition(":")
                seen.append((os.path.basename(file), int(line) if line.isdigit() else -1, func))
            if not any(f[2] == "run_shape" for f in seen) or any(f[2] == "note" for f in seen[:-1]):
                continue    # start-up, compiling, the loop around the shapes, note() taking its own stack
            checked += n
            k = len(seen)
            if not any(len(t) >= k and t[:k - 1] == seen[:-1] and (t[k - 1][0], t[k - 1][2]) == seen[-1][::2]
                       for t in truth):
                wrong += n
                if len(examples) < 3:
                    examples.append("a stack the target is never in: %s" % ";".join(frames[-5:])[:300])
        if checked < 100:
            problems.append("only %d stacks through run_shape() to check" % checked)
        # A rare stack still mixes two moments (a caller read one call earlier
        # or later than its callee, the frames at the very same addresses, so
        # no pointer tells): about 1 in 5 000 at 20 kHz on 3.11-3.13 on a quiet
        # machine. More than 1 in 1 000 is a walker that lost its way (68%
        # before the walker read a stack at one moment).
        if wrong * 1000 > checked:
            problems += examples
        note = "%d stacks checked, %d wrong (%.3f%%)" % (checked, wrong, 100.0 * wrong / max(checked, 1))
        if problems:
            problems.append(note)
        return [check(name, problems, note)]
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- main --

def interpreters():
    """([(name, path)] to test, [(name, why missing)]) honouring PYFLARE_PYTHONS."""
    pythons = harness.interpreters("rec", EXPECTED)
    if any(py.root for py in pythons if not py.why):
        # The root's interpreters are launchers taking host paths under the
        # root: the targets and every work directory move there, for all.
        global TARGETS
        TARGETS = sid_root.stage_tree("rec", TARGETS)
        sid_root.stage("rec", redirect_tempfile=True)
    return ([(py.name, py.path) for py in pythons if not py.why],
            [(py.name, py.why) for py in pythons if py.why])


def version_of(name):
    """(major, minor) of "3.8.18", "system-3.11", "3.14-pie", "3.15d"."""
    m = re.search(r"(\d+)\.(\d+)", name)
    return (int(m.group(1)), int(m.group(2))) if m else ()


def guarded(job, name, *args):
    try:
        return job(*args)
    except Exception as e:     # a bug in the runner: report it, keep going
        import traceback
        return [Result("FAIL", name, "runner error: %s: %s" % (type(e).__name__, e),
                       traceback.format_exc().splitlines())]


def snapshot(binary, into):
    """A private copy of the binary (so a rebuild during the run cannot pull it
    away mid-test), once a copy answers --help; None if none does in 30 s."""
    copy = os.path.join(into, "pyflare")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            shutil.copy(binary, copy)
            os.chmod(copy, 0o755)
            if subprocess.call([copy, "record", "--help"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=10) == 0:
                return copy
        except (OSError, subprocess.SubprocessError):
            pass
        time.sleep(1)
    return None


def main(argv):
    global PYFLARE
    binary = os.path.abspath(os.environ.get("PYFLARE") or os.path.join(ROOT, "build", "pyflare"))
    filters = argv[1:]
    selected = lambda job: not filters or any(f in job for f in filters)
    home = tempfile.mkdtemp(prefix="pyflare-rec-bin-")
    try:
        os.chmod(home, 0o755)
        PYFLARE = snapshot(binary, home) if os.access(binary, os.X_OK) else None
        if PYFLARE is None:
            suite = harness.Suite("record")
            suite.failed("setup", "no working pyflare at %s (run make)" % binary)
            return suite.finish()
        return run_all(filters, selected)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run_all(filters, selected):

    global RT_PREFIX
    rt = ["chrt", "--reset-on-fork", "--fifo", "10"]
    try:
        if shutil.which("chrt") and subprocess.call(rt + ["true"], stderr=subprocess.DEVNULL) == 0:
            RT_PREFIX = rt
    except OSError:
        pass
    if not RT_PREFIX:
        print("note: cannot raise pyflare's priority (chrt --fifo); share tests may suffer from load")

    suite = harness.Suite("record")
    present, missing = interpreters()
    for name, why in missing:
        suite.skip(name, why)
    missing = [name for name, _ in missing]
    paths = dict(present)

    # Heaviest first, so the two workers finish together.
    plan = []
    for name, path in present:
        plan.append(("%s/cpu" % name, job_cpu, (name, path)))
    for name, path in present:
        plan.append(("%s/threads" % name, job_threads, (name, path)))
        if name in FREE_THREADED:
            plan.append(("%s/parallel" % name, job_parallel, (name, path)))
    for name, path in present:
        if version_of(name) >= (3, 8):
            plan.append(("%s/subprocesses" % name, job_subprocesses, (name, path)))
    for name, path in present:
        plan.append(("%s/recursion" % name, job_recursion, (name, path)))
        if version_of(name) >= (3, 11):
            plan.append(("%s/known-stacks" % name, job_known_stacks, (name, path)))
    for name, path in present:
        plan.append(("%s/paths" % name, job_paths, (name, path)))
        plan.append(("%s/pyflame" % name, job_pyflame, (name, path)))
        plan.append(("%s/stopped" % name, job_stopped, (name, path)))
    for job_name, job in (("load", job_load), ("lifecycle", job_lifecycle), ("events", job_process_events),
                          ("errors", job_errors), ("rate", job_rate)):
        if ONCE_ON in paths:
            plan.append((job_name, job, (paths[ONCE_ON],)))
        elif selected(job_name):
            suite.skip(job_name, "needs %s (%s)" % (ONCE_ON, "not installed" if ONCE_ON in missing
                                                    else "not selected by PYFLARE_PYTHONS"))

    # The load job starts CPU hogs: it runs alone, before the others.
    for name, job, args in plan:
        if name == "load" and selected(name):
            suite.add(guarded(job, name, *args))
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        jobs = [pool.submit(guarded, job, name, *args) for name, job, args in plan
                if selected(name) and name != "load"]
        for job in jobs:
            suite.add(job.result())
    return suite.finish()


def _kill_live(*_):
    with _live_lock:
        for p in list(_live):
            kill_group(p)
    os._exit(130)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _kill_live)
    signal.signal(signal.SIGTERM, _kill_live)
    sys.exit(main(sys.argv))
