#!/usr/bin/env python3
"""tests/top/run.py — `pyflare top`, driven in a real terminal (tmux).

    PYFLARE=build/pyflare python3 tests/top/run.py [FILTER...]

The target (target.py, run by the Python running this suite) burns CPU in f1,
f2 and f5 in the ratio 1:2:5 on its main thread, and in other() on a thread
named "worker": that is the truth the screen is checked against. tmux (a
private server) gives top a terminal; keys are sent with send-keys and the
screen read with capture-pane.
  split      the rows' own % (since the start) of f1, f2, f5 are 1:2:5 of
             their sum, within 7 points
  sort       each of the keys 1-6 marks its column and orders the rows by it
             (non-increasing); own and total orders differ
  threads    t narrows the rows to one thread (worker: other() and no f5;
             MainThread: f5 and no other()); a shows all again
  lines      rows are per line by default: f5's rows are lines of its body,
             each with a total at least its own; l shows one row per
             function, f5 at its def line
  help       ? shows the keys; any key leaves it
  pause      p: a "paused" line and the screen stays (elapsed unchanged for
             2.5 s); p again: it moves on
  reset      r: "since the reset", and f5's own time since then is under half
             of what it was since the start
  resize     after tmux resize-window every screen line is a line top draws
             (header, column header, row, status or blank), none wider
             than the window, the header once
  quit       q leaves the alternate screen, the shell's screen is back and
             the terminal echoes and runs lines again
  sigterm    SIGTERM to top: the same
  suspend    Ctrl-Z: the shell's screen is back and works; fg: top's screen
             again, drawn whole; q then leaves it
  exited     the target's own end: a last frame says so; a key leaves
  gil        a single-threaded busy target (through a pipe): the header's share
             of samples holding the GIL is >= 90 % in every table after the
             first (its one thread runs Python only while holding it)
  plain      stdout a pipe with NO_COLOR: a plain table per second, no escape
             sequence anywhere, f5 in it; -o FILE writes the profile
  attach     --pid on a running target with -d: tables, "the duration ended",
             the target runs on; every header counts as many threads (active
             and idle) as the target has (its sleeper, never seen running, too);
             with --idle the headers count them, none called active
  stopped    --pid on a target SIGSTOPped (every thread in state T) with -d:
             each table's last line but the final one's (why top ended) says
             it is stopped by a signal and every header but the first counts
             all the target's threads as stopped, a stderr line says it was
             for all the time recorded and still is; it is left stopped, and
             runs (its CPU time grows) after SIGCONT
  hostile    a script whose file name holds escape sequences and a bell:
             no such byte reaches stdout, the name is shown with '?' for them
The replay of a capture (`pyflare top FILE.pyflare`), of the target recorded
with `record --threads -o FILE.pyflare`:
  replay       in tmux at a quarter of the speed: the header says replay, the file, the
               command, the Python version and the position; + doubles the
               speed; 3 and 4 mark their column and order the rows by it;
               t narrows to worker (other(), no f5); l shows functions; p
               stops the position (4 s), and p again goes on from there; e,
               paused, jumps to the end: the last frame says the recording ended, the
               position is the whole length, the rows' own % of f1, f2, f5 are
               1:2:5 of their sum within 7 points and equal `pyflare convert
               -f text` of the same capture (within 0.1: both round); a key
               leaves, the terminal works
  replay-plain stdout a pipe, --speed 8: plain tables, no escape sequence, the
               last line says the recording ended; -o writes the same folded
               stacks as convert does from the capture
  replay-bad   a truncated capture, in tmux: one line naming the offset, a
               non-zero exit, the terminal as it was (no alternate screen)
FILTER words keep the tests whose name contains one.
Last line: "top: N passed, N failed, N skipped"; exit status 1 on failure.
"""
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402  (the results file make test sums)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("PYFLARE_BUILD") or os.path.join(ROOT, "build")
PYFLARE = os.path.abspath(os.environ.get("PYFLARE") or os.path.join(BUILD, "pyflare"))
TARGET = os.path.join(HERE, "target.py")
PY = sys.executable
FILTERS = sys.argv[1:]
TMP = tempfile.mkdtemp(prefix="pyflare-top-")
SOCK = "pyflare-top-%d" % os.getpid()
counts = {"passed": 0, "failed": 0, "skipped": 0}

ROW = re.compile(r"^\s*((?:[\d.]+|-)(?:\s+(?:[\d.]+|-)){5})\s+(\S+)(?: \((.*?)\)?)?\s*$")  # cut by the width
HEAD_COLS = re.compile(r"^\s*>?OWN%\s+>?TOTAL%\s+>?OWN%\s+>?TOTAL%\s+>?OWN\(s\)\s+>?TOTAL\(s\)\s+(FUNCTION|LINE)\s*$")


def result(name, ok, detail=""):
    counts["passed" if ok else "failed"] += 1
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, (": " + detail) if detail and not ok else ""))
    sys.stdout.flush()


def wanted(name):
    return not FILTERS or any(f in name for f in FILTERS)


def tmux(*args, check=True):
    r = subprocess.run(["tmux", "-L", SOCK] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if check and r.returncode != 0:
        raise RuntimeError("tmux %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def screen():
    return tmux("capture-pane", "-p", "-t", "t").split("\n")


def alternate_on():
    return tmux("display-message", "-p", "-t", "t", "#{alternate_on}").strip() == "1"


def wait_for(pred, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        s = screen()
        if pred(s):
            return s
        time.sleep(0.2)
    return None


def rows(s):
    """(figures, name, where) for each row on screen s."""
    out = []
    for line in s:
        m = ROW.match(line)
        if m:
            figs = [None if x == "-" else float(x) for x in m.group(1).split()]
            out.append((figs, m.group(2), m.group(3) or ""))
    return out


def header(s, word):
    return any(word in line for line in s[:4])


SHELL_WIDTH = 160


def start_shell(width=SHELL_WIDTH, height=45):
    tmux("kill-server", check=False)
    time.sleep(0.5)
    # A plain sh with a known prompt, in a fresh terminal of a known size.
    tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height),
         "env PS1='shell$ ' NO_COLOR= TERM=xterm sh")
    wait_for(lambda s: any("shell$" in line for line in s), 10)


def start_top(lifetime=0, extra=""):
    tmux("send-keys", "-t", "t", "clear; %s top %s -- %s %s %s" % (PYFLARE, extra, PY, TARGET, lifetime), "Enter")
    return wait_for(lambda s: alternate_on() and any(r[1] == "f5" for r in rows(s)), 20)


def top_pid():
    shell = int(tmux("display-message", "-p", "-t", "t", "#{pane_pid}").strip())
    for task in os.listdir("/proc/%d/task" % shell):
        with open("/proc/%d/task/%s/children" % (shell, task)) as f:
            for pid in f.read().split():
                with open("/proc/%s/cmdline" % pid, "rb") as c:
                    if c.read().split(b"\0")[0] == PYFLARE.encode():
                        return int(pid)
    return None


def press(key, pred, timeout=5.0):
    tmux("send-keys", "-t", "t", key)
    return wait_for(pred, timeout)


def shell_back():
    """The normal screen is back, echoing and running lines: q or a signal left the terminal as it was."""
    s = wait_for(lambda s: not alternate_on(), 10)
    if s is None:
        return "the alternate screen is still on"
    # top has ended when the shell prompts again (typing earlier races its exit: the tty echoes it first).
    last = lambda s: ([l for l in s if l.strip()] or [""])[-1].rstrip()
    if wait_for(lambda s: last(s) == "shell$", 30) is None:
        return "no shell prompt after top: %r" % screen()
    tmux("send-keys", "-t", "t", "echo sum=$((6*7))", "Enter")
    s = wait_for(lambda s: any(line.strip() == "sum=42" for line in s), 5)
    if s is None:
        return "the shell did not run a line after top: %r" % screen()
    if not any("echo sum=$((6*7))" in line for line in s):
        return "the typed line was not echoed (raw mode left on)"
    if any(ROW.match(line) for line in s):
        return "top's rows are left on the shell's screen"
    return None


def test_split_sort_threads_lines_help_resize_quit():
    names = ["split", "sort", "threads", "lines", "help", "pause", "reset", "resize", "quit"]
    if not any(wanted(n) for n in names):
        return
    start_shell()
    s = start_top()
    if s is None:
        for n in names:
            if wanted(n):
                result(n, False, "top did not show f5: %r" % screen())
        return
    # Enough samples for the split: since-the-start figures after ~6 s.
    time.sleep(6)
    s = screen()
    if wanted("split"):
        own = {}
        for r in rows(s):  # rows are per line: a function's own share is its lines'
            own[r[1]] = own.get(r[1], 0) + r[0][2]
        if not all(f in own for f in ("f1", "f2", "f5")):
            result("split", False, "rows: %r" % s)
        else:
            tot = own["f1"] + own["f2"] + own["f5"]
            share = {f: 100 * own[f] / tot for f in ("f1", "f2", "f5")} if tot else {}
            want = {"f1": 12.5, "f2": 25.0, "f5": 62.5}
            bad = [f for f in want if not share or abs(share[f] - want[f]) > 7]
            result("split", not bad, "shares %r, want %r" % (share, want))
            print("     split: f1 %.1f f2 %.1f f5 %.1f (of their sum; want 12.5 25 62.5)" %
                  (share["f1"], share["f2"], share["f5"]))
    if wanted("sort"):
        firsts, problems = {}, []
        for k in range(1, 7):
            s = press(str(k), lambda s, k=k: any(HEAD_COLS.match(l) and l.split()[k - 1].startswith(">")
                                                 for l in s))
            if s is None:
                problems.append("key %d: column not marked" % k)
                continue
            rs = rows(s)
            vals = [r[0][k - 1] for r in rs]
            if any(a < b for a, b in zip(vals, vals[1:])):
                problems.append("key %d: not ordered: %r" % (k, vals))
            firsts[k] = rs[0][1] if rs else None
        if firsts.get(3) == firsts.get(4):
            problems.append("own and total orders start alike (%r)" % firsts)
        result("sort", not problems, "; ".join(problems))
        press("3", lambda s: True)
    if wanted("threads"):
        problems = []
        s = None
        for _ in range(6):
            s = press("t", lambda s: True, 1)
            time.sleep(0.5)
            s = screen()
            if header(s, "showing: thread worker"):
                break
        if header(s or [], "showing: thread worker"):  # (rows waited for, as in replay)
            s = wait_for(lambda s: header(s, "showing: thread worker") and rows(s), 5) or s
        names_w = {r[1] for r in rows(s or [])}
        if not header(s or [], "showing: thread worker"):
            problems.append("no thread worker to pick")
        elif "other" not in names_w or "f5" in names_w:
            problems.append("worker view rows: %r" % sorted(names_w))
        for _ in range(6):
            s = press("t", lambda s: True, 1)
            time.sleep(0.5)
            s = screen()
            if header(s, "showing: thread MainThread"):
                break
        names_m = {r[1] for r in rows(s or [])}
        if not header(s or [], "showing: thread MainThread"):
            problems.append("no thread MainThread to pick")
        elif "f5" not in names_m or "other" in names_m:
            problems.append("MainThread view rows: %r" % sorted(names_m))
        s = press("a", lambda s: header(s, "showing: all threads") and
                  {"f5", "other"} <= {r[1] for r in rows(s)}, 4)
        if s is None:
            problems.append("a did not show all threads with f5 and other")
        result("threads", not problems, "; ".join(problems))
    if wanted("lines"):
        src = open(TARGET).read().split("\n")
        def_line = 1 + next(i for i, l in enumerate(src) if l.startswith("def f5"))
        problems = []
        # Rows per line by default: f5's are lines of its body, each with its total.
        f5 = [r for r in rows(screen()) if r[1] == "f5"]
        lines = [int(r[2].rsplit(":", 1)[1]) for r in f5]
        if not lines or not all(def_line < n <= def_line + 3 for n in lines):
            problems.append("line rows of f5 at %r (def at %d)" % (lines, def_line))
        if any(r[0][3] < r[0][2] for r in f5):
            problems.append("a line's total below its own: %r" % f5)
        s = press("l", lambda s: any(HEAD_COLS.match(l) and l.rstrip().endswith("FUNCTION") for l in s)
                  and any(r[1] == "f5" for r in rows(s)))
        if s is None:
            problems.append("l: no FUNCTION view with f5: %r" % screen())
        else:
            f5 = [r for r in rows(s) if r[1] == "f5"]
            where = [r[2] for r in f5]
            if len(f5) != 1 or not where[0].endswith(":%d" % def_line):
                problems.append("function rows of f5: %r (def at %d)" % (where, def_line))
        press("l", lambda s: any(HEAD_COLS.match(l) and l.rstrip().endswith("LINE") for l in s))
        result("lines", not problems, "; ".join(problems))
    if wanted("help"):
        s = press("?", lambda s: any("pyflare top: keys" in l for l in s))
        s2 = press("x", lambda s: any(HEAD_COLS.match(l) for l in s)) if s else None
        result("help", bool(s and s2), "help shown %s, left %s" % (bool(s), bool(s2)))
    if wanted("pause"):
        problems = []
        elapsed = lambda s: next((l.split()[1] for l in s if l.startswith("elapsed ")), None)
        s = press("p", lambda s: any(l.startswith("paused") for l in s))
        if s is None:
            problems.append("p: no paused line")
        else:
            before = elapsed(s)
            time.sleep(2.5)
            if elapsed(screen()) != before:
                problems.append("the screen changed while paused")
            s = press("p", lambda s: not any(l.startswith("paused") for l in s) and elapsed(s) != before, 4)
            if s is None:
                problems.append("p again did not resume")
        result("pause", not problems, "; ".join(problems))
    if wanted("reset"):
        def f5_time(s):
            return sum(r[0][4] for r in rows(s) if r[1] == "f5")
        before = f5_time(screen())
        s = press("r", lambda s: header(s, "since the reset"))
        after = f5_time(s) if s else None
        ok = s is not None and before > 0.2 and after < before / 2
        result("reset", ok, "f5's own time %r before r, %r after" % (before, after))
    if wanted("resize"):
        problems = []
        for w, h in ((100, 25), (60, 15), (170, 50)):
            tmux("resize-window", "-t", "t", "-x", str(w), "-y", str(h))
            time.sleep(1.5)
            s = screen()
            if len(s) < h or any(len(l) > w for l in s):
                problems.append("%dx%d: lines %d, widest %d" % (w, h, len(s), max(len(l) for l in s)))
            heads = sum(1 for l in s if l.startswith("pyflare top - "))
            if heads != 1:
                problems.append("%dx%d: %d headers" % (w, h, heads))
            known = re.compile(r"^(pyflare top - |elapsed |CPU time |wall time |-- last |keys: |paused|\s*$)")
            for l in s[:h]:
                if not (known.match(l) or HEAD_COLS.match(l) or ROW.match(l) or
                        (w < 100 and re.match(r"^\s*>?OWN%", l)) or (w < 100 and re.match(r"^\s*[\d.]+\s", l))):
                    problems.append("%dx%d: stray line %r" % (w, h, l))
                    break
        result("resize", not problems, "; ".join(problems))
    if wanted("quit"):
        tmux("send-keys", "-t", "t", "q")
        problem = shell_back()
        result("quit", problem is None, problem or "")
    else:
        tmux("send-keys", "-t", "t", "q")


def test_sigterm():
    if not wanted("sigterm"):
        return
    start_shell()
    if start_top() is None:
        result("sigterm", False, "top did not start: %r" % screen())
        return
    pid = top_pid()
    if not pid:
        result("sigterm", False, "cannot find top's pid")
        return
    os.kill(pid, 15)
    problem = shell_back()
    result("sigterm", problem is None, problem or "")


def test_suspend():
    """Ctrl-Z gives the shell its terminal back; fg brings the screen back whole."""
    if not wanted("suspend"):
        return
    start_shell()
    if start_top() is None:
        result("suspend", False, "top did not start: %r" % screen())
        return
    tmux("send-keys", "-t", "t", "C-z")
    problem = shell_back()
    if problem is None:
        tmux("send-keys", "-t", "t", "fg", "Enter")
        s = wait_for(lambda s: alternate_on() and sum(1 for l in s if l.startswith("pyflare top - ")) == 1
                     and any(r[1] == "f5" for r in rows(s)), 10)
        if s is None:
            problem = "fg did not bring the screen back: %r" % screen()
        else:
            tmux("send-keys", "-t", "t", "q")
            problem = shell_back()
    result("suspend", problem is None, problem or "")


def test_exited():
    if not wanted("exited"):
        return
    start_shell()
    if start_top(lifetime=4) is None:
        result("exited", False, "top did not start: %r" % screen())
        return
    s = wait_for(lambda s: any("the program exited" in l for l in s), 15)
    if s is None:
        result("exited", False, "no last frame saying so: %r" % screen())
        return
    if not alternate_on() or not any(r[1] == "f5" for r in rows(s)):
        result("exited", False, "the last frame lost the table: %r" % s)
        return
    tmux("send-keys", "-t", "t", "x")
    problem = shell_back()
    result("exited", problem is None, problem or "")


def test_plain():
    if not wanted("plain"):
        return
    out = os.path.join(TMP, "top.folded")
    env = dict(os.environ, NO_COLOR="1")
    r = subprocess.run([PYFLARE, "top", "-o", out, "--", PY, TARGET, "3.5"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=60)
    text = r.stdout.decode("utf-8", "replace")
    problems = []
    if r.returncode != 0:
        problems.append("exit %d: %s" % (r.returncode, r.stderr.decode()[-300:]))
    if "\033" in text:
        problems.append("an escape sequence on a pipe")
    tables = text.count("-- last ")
    if tables < 2:
        problems.append("%d tables in 3.5 s" % tables)
    if not any(r_[1] == "f5" for r_ in rows(text.split("\n"))):
        problems.append("no f5 row")
    if "the program exited" not in text:
        problems.append("no last line saying the program exited")
    try:
        folded = open(out).read()
        if ";f5" not in folded and "f5 " not in folded:
            problems.append("the -o profile has no f5")
    except OSError as e:
        problems.append("-o: %s" % e)
    result("plain", not problems, "; ".join(problems))


def test_attach():
    if not wanted("attach"):
        return
    target = subprocess.Popen([PY, TARGET, "0"])
    try:
        time.sleep(0.5)
        r = subprocess.run([PYFLARE, "top", "--pid", str(target.pid), "-d", "2.5"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        text = r.stdout.decode("utf-8", "replace")
        problems = []
        if r.returncode != 0:
            problems.append("exit %d: %s" % (r.returncode, r.stderr.decode()[-300:]))
        if text.count("-- last ") < 2 or "the duration ended" not in text:
            problems.append("tables %d, ended %r" % (text.count("-- last "), text[-200:]))
        if not any(r_[1] == "f5" for r_ in rows(text.split("\n"))):
            problems.append("no f5 row")
        # every thread of target.py is a Python thread: the kernel's count is the truth
        want = len(harness.task_states(target.pid))
        counts = [int(a) + int(i) for a, i in re.findall(r"threads (\d+) active / (\d+) idle", text)]
        if want != 3 or not counts or any(c != want for c in counts):
            problems.append("the headers count %s threads, the target has %d" % (counts, want))
        # --idle samples waiting threads like running ones: the header counts them all, and calls none active
        r = subprocess.run([PYFLARE, "top", "--pid", str(target.pid), "--idle", "-d", "1.5"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        text = r.stdout.decode("utf-8", "replace")
        heads = [l for l in text.split("\n") if l.startswith("elapsed ")]
        if r.returncode != 0 or not heads or any(not l.endswith("   threads %d" % want) and
                                                 "   threads %d   " % want not in l for l in heads):
            problems.append("--idle: exit %d, headers %r (want each to count %d threads, none active)"
                            % (r.returncode, heads, want))
        if target.poll() is not None:
            problems.append("the target did not survive top")
        result("attach", not problems, "; ".join(problems))
    finally:
        target.kill()
        target.wait()


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def poll(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_stopped():
    if not wanted("stopped"):
        return
    target = subprocess.Popen([PY, TARGET, "0"])
    try:
        time.sleep(0.5)
        if not harness.stop_process(target.pid):
            result("stopped", False, "SIGSTOP did not stop the target: %s" % harness.task_states(target.pid))
            return
        r = subprocess.run([PYFLARE, "top", "--pid", str(target.pid), "-d", "2.5"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        text, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
        problems = []
        if r.returncode != 0:
            problems.append("exit %d: %s" % (r.returncode, err[-300:]))
        tables = text.count("-- last ")
        said = text.count("pid %d is stopped by a signal" % target.pid)
        if tables < 2 or said < tables - 1: # (the last says why top ended)
            problems.append("%d tables, %d of them say the target is stopped: %r" % (tables, said, text[-300:]))
        # the header counts its threads as stopped, not as idle
        headed = len(re.findall(r"threads %d stopped" % len(harness.task_states(target.pid)), text))
        if headed < tables - 1 or headed + len(re.findall(r"threads \d+ active / \d+ idle", text)) != tables:
            problems.append("%d of %d headers count the threads as stopped: %r" % (headed, tables, text[-300:]))
        want = "pyflare: process %d was stopped by a signal" % target.pid
        line = [l for l in err.splitlines() if l.startswith(want)]
        if len(line) != 1 or "for all" not in line[0] or "still stopped" not in line[0]:
            problems.append("stderr has no line saying the target was stopped all the time and still is: %r"
                            % err[-400:])
        states = harness.task_states(target.pid)
        if any(v != "T" for v in states.values()):
            problems.append("afterwards the target's threads are %s, want all still 'T'" % states)
        before = cpu_ticks(target.pid)
        os.kill(target.pid, signal.SIGCONT)
        if not poll(lambda: cpu_ticks(target.pid) > before, 10):
            problems.append("after SIGCONT the target used no CPU in 10 s")
        result("stopped", not problems, "; ".join(problems))
    finally:
        target.kill()
        target.wait()


def test_hostile():
    """A file name with terminal escapes (a title change and a screen clear) is shown inert."""
    if not wanted("hostile"):
        return
    name = os.path.join(TMP, "evil\x1b]0;pwned\x07\x1b[2J.py")
    with open(name, "w") as f:
        f.write("import time\nend = time.time() + 3\ndef spin():\n    while time.time() < end:\n"
                "        pass\nspin()\n")
    r = subprocess.run([PYFLARE, "top", "--", PY, name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60, env=dict(os.environ, NO_COLOR=""))
    out = r.stdout
    problems = []
    if r.returncode != 0:
        problems.append("exit %d: %s" % (r.returncode, r.stderr.decode()[-300:]))
    if b"\x1b" in out or b"\x07" in out:
        problems.append("an escape or bell byte reached the output")
    if b"spin (" not in out or b"evil?]0;pwned??[2J.py" not in out:
        problems.append("spin's row with the name made safe is missing: %r" % out[-400:])
    result("hostile", not problems, "; ".join(problems))


def test_gil():
    if not wanted("gil"):
        return
    r = subprocess.run([PYFLARE, "top", "--", PY, TARGET, "3.5", "single"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    shares = [int(x) for x in re.findall(r"GIL held (\d+)%", r.stdout.decode("utf-8", "replace"))]
    if r.returncode == 0 and not shares:
        counts["skipped"] += 1
        print("skip gil: this Python does not tell who holds the GIL (no share in the header)")
        return
    ok = r.returncode == 0 and len(shares) >= 2 and all(x >= 90 for x in shares[1:])
    result("gil", ok, "exit %d, shares %r" % (r.returncode, shares))
    if ok:
        print("     gil: shares %r" % shares)


CAPTURE = []


def record_capture():
    """The target recorded for 6 s with a root per thread (once); (capture path, convert -f text's own % by
    function)."""
    if CAPTURE:
        return CAPTURE[0]
    cap = os.path.join(TMP, "target.pyflare")
    r = subprocess.run([PYFLARE, "record", "--threads", "-o", cap, "--", PY, TARGET, "6"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("record: %s" % r.stderr.decode()[-300:])
    r = subprocess.run([PYFLARE, "convert", "-f", "text", cap, "-o", "-"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    text = r.stdout.decode("utf-8", "replace")
    part = re.split(r"Top \d+ functions by own time", text, 1)[-1].split("\n\n", 1)[0]
    own = {}
    for line in part.split("\n"):
        m = re.match(r"^\s*([\d.]+)%\s+([\d.]+)%\s+[\d.]+\s+[\d.]+\s+(\S+)\s+\S+$", line)
        if m:
            own[m.group(3)] = float(m.group(1))
    CAPTURE.append((cap, own))
    return cap, own


def test_replay():
    if not wanted("replay"):
        return
    cap, convert_own = record_capture()
    start_shell()
    problems = []
    tmux("send-keys", "-t", "t", "clear; %s top --speed 0.25 %s" % (PYFLARE, cap), "Enter")
    s = wait_for(lambda s: alternate_on() and any(r[1] == "f5" for r in rows(s)), 20)
    if s is None:
        result("replay", False, "no replay screen with f5: %r" % screen())
        tmux("send-keys", "-t", "t", "q")
        return
    head = "\n".join(s[:3])
    version = "%d.%d" % sys.version_info[:2]
    # The first line is cut at the terminal's width (a long command line is what the width cuts, and the
    # paths here are as long as the checkout's): it is the whole line cut there (tmux drops the blanks a
    # line ends with, so a cut just after one loses it too).
    first = s[0].rstrip()
    whole = "pyflare top - Python %s - replay of %s: %s %s 6" % (platform.python_version(), cap, PY, TARGET)
    if first != whole[:SHELL_WIDTH].rstrip():
        problems.append("header's first line: %r, want %r" % (first, whole[:SHELL_WIDTH]))
    if "replay of %s" % cap not in head or "Python " + version not in head:
        problems.append("header: %r" % s[:3])
    pos = re.search(r"position ([\d.]+) s of ([\d.]+) s\s+speed ([\d.]+)x", head)
    if not pos or float(pos.group(3)) != 0.25 or not 5 < float(pos.group(2)) < 8:
        problems.append("position/speed in the header: %r" % s[1:2])
    if press("+", lambda s: any(re.search(r"speed 0.5x", l) for l in s[:3])) is None:
        problems.append("+ did not double the speed: %r" % screen()[:3])
    press("-", lambda s: any(re.search(r"speed 0.25x", l) for l in s[:3]))
    for k in (3, 4):
        s = press(str(k), lambda s, k=k: any(HEAD_COLS.match(l) and l.split()[k - 1].startswith(">") for l in s))
        if s is None:
            problems.append("key %d: column not marked" % k)
            continue
        vals = [r[0][k - 1] for r in rows(s)]
        if any(a < b for a, b in zip(vals, vals[1:])):
            problems.append("key %d: not ordered: %r" % (k, vals))
    s = None
    for _ in range(6):
        press("t", lambda s: True, 1)
        time.sleep(0.4)
        s = screen()
        if header(s, "showing: thread worker"):
            break
    # (The screen may be caught between the header and the rows of a redraw:
    # the rows are waited for.)
    if header(s or [], "showing: thread worker"):
        s = wait_for(lambda s: header(s, "showing: thread worker") and rows(s), 5) or s
    names = {r[1] for r in rows(s or [])}
    if not header(s or [], "showing: thread worker") or "other" not in names or "f5" in names:
        problems.append("thread worker: %r" % sorted(names))
    if press("a", lambda s: header(s, "showing: all threads") and "f5" in {r[1] for r in rows(s)}) is None:
        problems.append("a did not show all threads again")
    if press("l", lambda s: any(HEAD_COLS.match(l) and l.rstrip().endswith("FUNCTION") for l in s)) is None:
        problems.append("l: no FUNCTION rows")
    # p stops the recording's clock: the position stands; e (even paused) goes to the end
    position = lambda s: next((m.group(1) for m in (re.search(r"position ([\d.]+) s", l) for l in s[:3]) if m), None)
    s = press("p", lambda s: any(l.startswith("paused") for l in s))
    if s is None:
        problems.append("p: no paused line")
    else:
        before = position(s)
        time.sleep(4)
        if position(screen()) != before:
            problems.append("the position moved while paused")
        # resumed: it goes on from where it stood (a clock that ran on would be 1 s further at 0.25x)
        s = press("p", lambda s: not any(l.startswith("paused") for l in s) and position(s) != before, 4)
        if s is None or before is None or not 0 < float(position(s)) - float(before) < 0.6:
            problems.append("after the pause, position %r then %r" % (before, s and position(s)))
        s = press("p", lambda s: any(l.startswith("paused") for l in s))
    # e, before the recording's own end
    m = s and re.search(r"position ([\d.]+) s of ([\d.]+) s", "\n".join(s[:3]))
    if not m or float(m.group(1)) > float(m.group(2)) - 0.3:
        problems.append("the replay was (nearly) over before e: %r" % (s and s[1]))
    elif m:
        print("     replay: e pressed at %s s of %s s" % (m.group(1), m.group(2)))
    s = press("e", lambda s: any("the recording ended" in l for l in s), 10)
    if s is None:
        problems.append("e: no last frame saying the recording ended: %r" % screen())
    else:
        pos = re.search(r"position ([\d.]+) s of ([\d.]+) s", "\n".join(s[:3]))
        if not pos or pos.group(1) != pos.group(2):
            problems.append("the last frame's position: %r" % s[1:2])
        own = {r[1]: r[0][2] for r in rows(s)}
        want = {"f1": 12.5, "f2": 25.0, "f5": 62.5}
        if not all(f in own for f in want):
            problems.append("last frame rows: %r" % s)
        else:
            tot = sum(own[f] for f in want)
            share = {f: 100 * own[f] / tot for f in want} if tot else {}
            if not share or any(abs(share[f] - want[f]) > 7 for f in want):
                problems.append("split %r, want %r" % (share, want))
            else:
                print("     replay split: f1 %.1f f2 %.1f f5 %.1f (of their sum; want 12.5 25 62.5)" %
                      (share["f1"], share["f2"], share["f5"]))
            differ = {f: (own.get(f), convert_own.get(f)) for f in ("f1", "f2", "f5", "other")
                      if own.get(f) is None or convert_own.get(f) is None or abs(own[f] - convert_own[f]) > 0.1001}
            if differ:
                problems.append("own %% (replay, convert -f text) differ: %r" % differ)
    tmux("send-keys", "-t", "t", "x")
    problem = shell_back()
    if problem:
        problems.append(problem)
    result("replay", not problems, "; ".join(problems))


def test_replay_plain():
    if not wanted("replay-plain"):
        return
    cap, _ = record_capture()
    out = os.path.join(TMP, "replay.folded")
    r = subprocess.run([PYFLARE, "top", "--speed", "8", "-o", out, cap], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120, env=dict(os.environ, NO_COLOR="1"))
    text = r.stdout.decode("utf-8", "replace")
    problems = []
    if r.returncode != 0:
        problems.append("exit %d: %s" % (r.returncode, r.stderr.decode()[-300:]))
    if "\033" in text:
        problems.append("an escape sequence on a pipe")
    if "replay of " + cap not in text or text.count("-- last ") < 1:
        problems.append("no replay tables: %r" % text[:300])
    if not text.rstrip().endswith("pyflare top: the recording ended"):
        problems.append("the last line: %r" % text[-200:])
    c = subprocess.run([PYFLARE, "convert", cap, "-o", "-", "-f", "folded"], stdout=subprocess.PIPE, timeout=120)
    try:
        if open(out, "rb").read() != c.stdout:
            problems.append("-o's folded stacks differ from convert's")
    except OSError as e:
        problems.append("-o: %s" % e)
    result("replay-plain", not problems, "; ".join(problems))


def test_replay_bad():
    if not wanted("replay-bad"):
        return
    cap, _ = record_capture()
    bad = os.path.join(TMP, "cut.pyflare")
    with open(cap, "rb") as f, open(bad, "wb") as g:
        g.write(f.read()[:100])
    start_shell()
    tmux("send-keys", "-t", "t", "clear; %s top %s; echo rc=$?" % (PYFLARE, bad), "Enter")
    s = wait_for(lambda s: any(l.startswith("rc=") for l in s), 20)
    problems = []
    if s is None:
        problems.append("top did not end: %r" % screen())
    else:
        said = [l for l in s if l.startswith("pyflare: ")]
        rc = next(l for l in s if l.startswith("rc="))
        if len(said) != 1 or "offset" not in said[0] or bad not in said[0]:
            problems.append("not one line naming the file and offset: %r" % s)
        if rc == "rc=0":
            problems.append("exit status 0")
        problem = shell_back()
        if problem:
            problems.append(problem)
    result("replay-bad", not problems, "; ".join(problems))


def main():
    if not shutil.which("tmux"):
        for n in ("split", "sort", "threads", "lines", "help", "pause", "reset", "resize", "quit", "sigterm",
                  "suspend", "exited", "replay", "replay-bad"):
            if wanted(n):
                counts["skipped"] += 1
                print("skip %s: tmux is not installed (apt-get install tmux)" % n)
    else:
        for test in (test_split_sort_threads_lines_help_resize_quit, test_sigterm, test_suspend, test_exited,
                     test_replay, test_replay_bad):
            try:
                test()
            except (RuntimeError, OSError) as e:  # the terminal went away (e.g. its shell read EOF): a failure
                result(test.__name__[5:], False, str(e))
            finally:
                tmux("kill-server", check=False)
    test_plain()
    test_replay_plain()
    test_gil()
    test_attach()
    test_stopped()
    test_hostile()
    shutil.rmtree(TMP, ignore_errors=True)
    print("top: %d passed, %d failed, %d skipped" % (counts["passed"], counts["failed"], counts["skipped"]))
    harness.record("top", counts["passed"], counts["failed"], counts["skipped"])
    sys.exit(1 if counts["failed"] else 0)


if __name__ == "__main__":
    main()
