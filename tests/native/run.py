#!/usr/bin/env python3
"""Tests for `--native` (dump, record and top), run against every installed CPython.

    PYFLARE=/abs/path/to/build/pyflare python3 tests/native/run.py [FILTER...]

Standard library only; needs Python 3.7+ (the system python3), cc and c++.
For each interpreter the suite builds, with that interpreter's own headers,
ext/nativemod.c (C), ext/cppmod.cpp (C++: a namespaced class template and a
function template) and a stripped copy of nativemod (-O1
-fno-omit-frame-pointer -g, functions noinline and no tail calls), which call
back into Python and spin in known native functions; targets/native_target.py
runs them and writes down the stack it is in, as its own traceback has it
with the native functions the extension's source puts between.

Jobs (FILTER arguments keep the jobs whose name contains one of them):
  INTERP/dump-c     `dump --native --json`: the main thread's frames of the
                    target script and of nativemod, outermost first, are exactly
                    the target's own list (names, Python lines, native or not):
                    <module> main py_outer nat_call_back pf_call_middle
                    py_callback py_inner nat_spin pf_spin_outer pf_spin_leaf.
  INTERP/dump-cpp   the same through cppmod: cpp_call_back,
                    pfns::Caller<int>::invoke(_object*), cpp_spin,
                    long pfns::spin_tpl<long>(long) (demangled).
  INTERP/stripped   nativemod stripped of its symbols: dump --native exits 0, the
                    Python frames are all there in order, and the module's
                    frames are marked by object and offset ("nativemod_stripped...so+0x...").
  INTERP/lost       nativemod.lost() spins in pf_lost_spin (assembler, no CFI) on
                    a stack of its own with the frame pointer cleared, so the
                    unwind stops at its first frame: dump --native shows
                    pf_lost_spin on top of every Python frame of the target's own
                    list, in order, and no native frame it cannot have found.
  INTERP/threads    (3.8+: the target needs threading.get_native_id) two threads spinning in
                    nativemod at once without the GIL, one through the chain above,
                    one from t_direct(): each thread's merged stack is exactly
                    its own list (the thread found by its own native id).
  INTERP/split      `record --native` of a launched target alternating py_work()
                    (Python) and nativemod.burn() (C, pf_burn_leaf): the shares of
                    the two within 2 points of the target's own CPU clock, and
                    pf_burn_leaf's stacks go down through py_work's caller.
  INTERP/churn      `record --native` at 1 kHz of a target whose threads live a
                    millisecond or so each (churn_thread: py_work, nativemod.burn)
                    and which exits after a few seconds, launched and by --pid: exit
                    0, the profile and a summary written, stacks marked
                    [native stack unavailable] exactly when the summary counts some
                    and fewer than half of them, CPU seen, and no pf_burn_leaf
                    or marked stack without its Python frames.
  text              (3.12) the text form of dump --native names native frames
                    and their object ("pf_spin_leaf [nativemod...so]").
  hidden            (3.12, root, unshare) the target loads nativemod from a tmpfs
                    mounted in its own mount namespace, a path pyflare's cannot see:
                    dump --native still names pf_spin_leaf (files are opened through
                    /proc/PID/root).
  replaced          (3.12) the library the target runs is replaced on disk (another
                    file renamed over its path, as an installer does): dump --native
                    still names pf_spin_leaf, in "nativemod...so (deleted)" (the
                    mapped file, through /proc/PID/map_files).
  traced            (3.12, strace) a target another tool traces: dump --native and
                    record --native refuse in one line naming the tracer's pid and
                    --native, with no output file written.
  top               (3.12) `top --native` through a pipe (plain tables): rows for
                    pf_burn_leaf named with its object and no line, and for py_work.
  sigkill           (3.12) pyflare `record --native` at 1 kHz SIGKILLed 5 times
                    mid-recording: each time the target is left untraced, not
                    stopped ('t'/'T' in /proc/PID/stat) and keeps using CPU.
  stopped           (3.12) a target stopped by SIGSTOP: dump --native --json,
                    record --native -d 2 and the same with --idle give stacks (the
                    Python frames all there, native ones or the mark) or one line,
                    never hang; afterwards every thread is still 'T', untraced, and
                    has not run (user CPU within a few ticks); after SIGCONT it runs
                    on. Then 3 rounds of SIGSTOP during record --native at 1 kHz:
                    the stop is kept, as above, once pyflare ends; then 30
                    SIGSTOP/SIGCONT cycles during one such recording: each stops
                    the target, and pyflare ends on SIGINT with exit 0. (A SIGSTOP
                    swallowed by pyflare's own pause stops, a window of microseconds,
                    is not caught: detaching with signal 0 still passed.)

Interpreters: harness.EXPECTED (pyenv builds, Debian's static /usr/bin/python3.11
as "system-3.11", 3.13t, CPython 3.14/3.15 from the Debian sid root); missing
ones, and ones without their C headers, are SKIPped by name. PYFLARE_PYTHONS=name,name
restricts the run.

Output: "PASS name", "FAIL name: reason" (+ details), "SKIP name: reason", and
finally "native: N passed, N failed, N skipped". Exit status 1 on any failure.
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
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import sid_root  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGET = os.path.join(HERE, "targets", "native_target.py")
EXT = os.path.join(HERE, "ext")
ONCE_ON = "3.12.1"
SPLIT_TOLERANCE = 0.02
WORKERS = 2
READY_TIMEOUT = 30
NATIVE_UNAVAILABLE = "[native stack unavailable]"
STOPPED_SLACK_TICKS = 5
STOP_CYCLES = 30

PYFLARE = None
Result, check = harness.Result, harness.check
_live = set()


def clean_env():
    env = dict(os.environ)
    for var in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONINSPECT"):
        env.pop(var, None)
    env.update(LC_ALL="C.UTF-8", PYTHONDONTWRITEBYTECODE="1")
    return env


def start(argv, env_extra=None, **kw):
    env = clean_env()
    env.update(env_extra or {})
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, env=env, start_new_session=True, **kw)
    _live.add(p)
    return p


def stop(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    p.wait()
    _live.discard(p)


def run(argv, timeout=60):
    p = start(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(p)
        return None, b"", b"timed out after %ds" % timeout
    _live.discard(p)
    return p.returncode, out, err


def wait_file(path, proc, timeout=READY_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                return json.load(f)
        if proc is not None and proc.poll() is not None:
            return None
        time.sleep(0.05)
    return None


def started(argv, ready, job):
    """(target, None) once argv, its output discarded, has written ready; else (None, job's failure), the
    process stopped."""
    target = start(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if wait_file(ready, target) is None:
        stop(target)
        return None, [check(job, ["the target did not start"])]
    return target, None


# ------------------------------------------------------------- building --


def build(name, python, root, into):
    """Builds the three extensions for this interpreter into `into`: None, or
    why they could not be built (a SKIP: no headers)."""
    rc, out, err = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['include']); "
                                      "print(sysconfig.get_config_var('EXT_SUFFIX') or '.so')"])
    if rc != 0:
        return "cannot ask the interpreter for its headers: %s" % err.decode(errors="replace").strip()[-200:]
    include, suffix = out.decode().split()
    include = root + include
    if not os.path.exists(os.path.join(include, "Python.h")):
        return "no C headers at %s (install its -dev package)" % include
    flags = ["-shared", "-fPIC", "-O1", "-g", "-fno-omit-frame-pointer", "-fno-optimize-sibling-calls",
             "-isystem", include] + (["-idirafter", root + "/usr/include"] if root else [])
    jobs = [(["cc"] + flags + [os.path.join(EXT, "nativemod.c")], "nativemod"),
            (["cc"] + flags + ["-DMODNAME=nativemod_stripped", os.path.join(EXT, "nativemod.c")], "nativemod_stripped"),
            (["c++"] + flags + [os.path.join(EXT, "cppmod.cpp")], "cppmod")]
    for cmd, mod in jobs:
        out_path = os.path.join(into, mod + suffix)
        rc, _, err = run(cmd + ["-o", out_path], timeout=120)
        if rc != 0:
            return "FAIL: building %s: %s" % (mod, err.decode(errors="replace").strip()[-400:])
    rc, _, err = run(["strip", "--strip-all", os.path.join(into, "nativemod_stripped" + suffix)])
    if rc != 0:
        return "FAIL: strip: %s" % err.decode(errors="replace")
    return None


# ---------------------------------------------------------------- jobs --

def main_thread(doc, pid):
    for t in doc.get("threads", []):
        if t.get("native_id") == pid:
            return t
    return doc["threads"][0] if doc.get("threads") else None


def shown(frames, module):
    """The frames of the target script and of `module`'s file, outermost first,
    as (function, line or None, native)."""
    keep = []
    for f in reversed(frames):
        if f["native"] and f["file"].startswith(module + "."):
            keep.append((f["function"], None, True))
        elif not f["native"] and f["file"].endswith("native_target.py"):
            keep.append((f["function"], f["line"], False))
    return keep


def job_dump(name, python, work, module):
    job = "%s/%s" % (name, {"nativemod": "dump-c", "cppmod": "dump-cpp", "nativemod_stripped": "stripped"}[module])
    ready = os.path.join(work, "ready-%s.json" % module)
    target = start([python, TARGET, work, "stack", module, ready], stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    problems = []
    try:
        said = wait_file(ready, target)
        if said is None:
            return [check(job, ["the target did not start: %s" % target.stderr.read().decode(errors="replace")[-300:]])]
        want = [(f["function"], f.get("line"), f["native"]) for f in said["frames"]]
        pid = target.pid
        for attempt in range(4):
            time.sleep(0.3)
            rc, out, err = run([PYFLARE, "dump", "--native", "--json", "--pid", str(pid)])
            problems = []
            if rc != 0:
                problems.append("dump --native exit %s: %s" % (rc, err.decode(errors="replace").strip()))
                continue
            doc = json.loads(out.decode())
            t = main_thread(doc, pid)
            if t is None:
                problems.append("no thread in the dump")
                continue
            got = shown(t["frames"], module)
            if module == "nativemod_stripped":
                py_got = [g for g in got if not g[2]]
                nat = [g[0] for g in got if g[2]]
                if py_got != [w for w in want if not w[2]]:
                    problems.append("Python frames %s, the target says %s" % (py_got, want))
                if not nat or not all("+0x" in n for n in nat):
                    problems.append("the stripped module's frames are %s: want marked by object+offset" % nat)
                if any(f["function"].startswith(("pf_", "nat_")) for f in t["frames"]):
                    problems.append("a stripped function has a name")
            elif got != want:
                problems.append("frames (outermost first) %s" % got)
                problems.append("the target says           %s" % want)
            if not problems:
                break
        return [check(job, problems)]
    finally:
        stop(target)


def job_lost(name, python, work):
    """A thread spinning in pf_lost_spin, on a stack of its own with no CFI and
    no frame pointer: the unwind stops at its first frame. What is shown must
    still be true: that frame on top, every Python frame below it in order."""
    job = "%s/lost" % name
    ready = os.path.join(work, "ready-lost.json")
    target = start([python, TARGET, work, "lost", ready], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        said = wait_file(ready, target)
        if said is None:
            why = target.stderr.read().decode(errors="replace")
            if "NotImplementedError" in why:
                return [Result("SKIP", job, "pf_lost_spin is x86-64 Linux only")]
            return [check(job, ["the target did not start: %s" % why[-300:]])]
        want_py = [(f["function"], f["line"]) for f in said["frames"] if not f["native"]]
        time.sleep(0.3)
        rc, out, err = run([PYFLARE, "dump", "--native", "--json", "--pid", str(target.pid)])
        problems = []
        if rc != 0:
            return [check(job, ["dump --native exit %s: %s" % (rc, err.decode(errors="replace").strip())])]
        t = main_thread(json.loads(out.decode()), target.pid)
        frames = t["frames"] if t else []
        names = [f["function"] for f in frames]
        got_py = [(f["function"], f["line"]) for f in reversed(frames)
                  if not f["native"] and f["file"].endswith("native_target.py")]
        if got_py != want_py:
            problems.append("Python frames (outermost first) %s, the target says %s" % (got_py, want_py))
        if not frames or names[0] != "pf_lost_spin" or not frames[0]["native"]:
            problems.append("the innermost frame is not pf_lost_spin (native): %s" % names)
        # Nothing the unwind did not find: no native frame of the chain beyond it.
        invented = [n for n in names if n in ("nat_lost", "nat_call_back", "pf_call_middle")]
        if invented:
            problems.append("native frames the unwind cannot have found: %s" % invented)
        return [check(job, problems, "" if problems else "shown: " + " <- ".join(names[:8]))]
    finally:
        stop(target)


def job_threads(name, python, work):
    job = "%s/threads" % name
    ready = os.path.join(work, "threads")
    target = start([python, TARGET, work, "threads", ready], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        said = [wait_file(ready + suffix, target) for suffix in ("-chain.json", "-direct.json")]
        if None in said:
            return [check(job, ["the target did not start: %s" % target.stderr.read().decode(errors="replace")[-300:]])]
        problems = []
        for attempt in range(4):
            time.sleep(0.3)
            problems = []
            rc, out, err = run([PYFLARE, "dump", "--native", "--json", "--pid", str(target.pid)])
            if rc != 0:
                problems.append("dump --native exit %s: %s" % (rc, err.decode(errors="replace").strip()))
                continue
            threads = json.loads(out.decode())["threads"]
            for own in said:
                t = [t for t in threads if t["native_id"] == own["tid"]]
                want = [(f["function"], f.get("line"), f["native"]) for f in own["frames"]
                        if not f["native"] or f["function"] in ("nat_call_back", "pf_call_middle", "nat_spin",
                                                                 "pf_spin_outer", "pf_spin_leaf")]
                want = [w for w in want if w[0] not in ("run", "_bootstrap", "_bootstrap_inner")]
                got = shown(t[0]["frames"], "nativemod") if t else None
                if got != want:
                    problems.append("thread %s: %s" % (own["tid"], got))
                    problems.append("  it says: %s" % want)
            main = [t for t in threads if t["native_id"] == target.pid]
            if not main or not any(f["function"] == "<module>" for f in main[0]["frames"]):
                problems.append("the main thread's Python frames are missing")
            if not problems:
                break
        return [check(job, problems)]
    finally:
        stop(target)


def folded_weights(path):
    rows = []
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            rows.append((stack.split(";"), int(count)))
    return rows


def split_weights(python, work):
    """One `record --native` of the split target: (py_work, pf_burn_leaf, total,
    pf_burn_leaf under alternate(), the target's own truth, the output), or a
    failure string."""
    ready = os.path.join(work, "split.json")
    out = os.path.join(work, "split.folded")
    rc, _, err = run([PYFLARE, "record", "--native", "-r", "400", "-o", out, "-f", "folded", "--",
                      python, TARGET, work, "split", ready, "3"], timeout=120)
    if rc != 0:
        return "record --native exit %s: %s" % (rc, err.decode(errors="replace").strip()[-400:])
    with open(ready) as f:
        truth = json.load(f)
    py = nat = total = through = 0
    for frames, w in folded_weights(out):
        total += w
        names = [fr.split(" (")[0] for fr in frames]
        if "pf_burn_leaf" in names:
            nat += w
            through += w * ("alternate" in names)
        elif "py_work" in names:
            py += w
    return py, nat, total, through, truth, out


def job_split(name, python, work):
    job = "%s/split" % name
    # Once in CI (ASan build, 3.9) a recording had all of pf_burn_leaf's
    # weight under other names, never reproduced since (10 runs, 2 suites):
    # a split not seen is recorded once more, and the first one's heaviest
    # stacks are kept in the note for the next time it happens.
    first = ""
    for attempt in (1, 2):
        got = split_weights(python, work)
        if isinstance(got, str):
            return [check(job, [got])]
        py, nat, total, through, truth, out = got
        if py + nat >= 0.8 * total and nat and py:
            break
        heaviest = sorted(folded_weights(out), key=lambda fw: -fw[1])[:3]
        first = "py_work %d + pf_burn_leaf %d of %d weight: the split is not seen; heaviest: %s" % (
            py, nat, total, " | ".join("%d ...%s" % (w, ";".join(frames[-5:])) for frames, w in heaviest))
    problems = []
    if py + nat < 0.8 * total or not nat or not py:
        problems.append(first)
    else:
        want = truth["py_work"] / (truth["py_work"] + truth["pf_burn_leaf"])
        got = py / float(py + nat)
        if abs(got - want) > SPLIT_TOLERANCE:
            problems.append("py_work's share %.3f, the target's own %.3f (pf_burn_leaf %.3f)" % (got, want, 1 - want))
        if through != nat:
            problems.append("%d of %d pf_burn_leaf weight not under alternate()" % (nat - through, nat))
    note = "" if problems else "py_work %.3f vs %.3f%s" % (
        py / float(py + nat), truth["py_work"] / (truth["py_work"] + truth["pf_burn_leaf"]),
        "; first recording: " + first if first else "")
    return [check(job, problems, note)]


def job_text(name, python, work):
    ready = os.path.join(work, "ready-text.json")
    target, failed = started([python, TARGET, work, "stack", "nativemod", ready], ready, "text")
    if failed:
        return failed
    try:
        time.sleep(0.3)
        rc, out, err = run([PYFLARE, "dump", "--native", "--pid", str(target.pid)])
        text = out.decode(errors="replace")
        problems = []
        if rc != 0:
            problems.append("exit %s: %s" % (rc, err.decode(errors="replace")))
        if not re.search(r"^    pf_spin_leaf \[nativemod\.[^]]*\.so\]$", text, re.M):
            problems.append("no 'pf_spin_leaf [nativemod...so]' line:\n" + text)
        if not re.search(r"^    py_inner \(.*native_target\.py:\d+\)$", text, re.M):
            problems.append("no 'py_inner (...native_target.py:N)' line")
        return [check("text", problems)]
    finally:
        stop(target)


PLAIN_TARGET = """
import sys, threading, time
ev = threading.Event()
threads = [threading.Thread(target=ev.wait) for _ in range(40)]
for t in threads:
    t.start()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("{}")
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)
"""


def job_plain(name, python, work):
    """A dump without --native marks no frame native (the out_frame field is
    set for every frame, whatever the buffer held): 41 threads, each Python
    frame with its line, in JSON and in text."""
    ready = os.path.join(work, "ready-plain")
    target, failed = started([python, "-c", PLAIN_TARGET, ready], ready, "plain")
    if failed:
        return failed
    try:
        problems = []
        for _ in range(3):
            rc, out, err = run([PYFLARE, "dump", "--json", "--pid", str(target.pid)])
            if rc != 0:
                return [check("plain", ["exit %s: %s" % (rc, err.decode(errors="replace"))])]
            frames = [f for t in json.loads(out.decode())["threads"] for f in t["frames"]]
            bad = [f for f in frames if f.get("native") or f["line"] is None]
            if len(frames) < 41 or bad:
                problems.append("%d frames, %d marked native or without a line: %r" % (len(frames), len(bad), bad[:3]))
            rc, out, err = run([PYFLARE, "dump", "--pid", str(target.pid)])
            stray = [l for l in out.decode(errors="replace").splitlines() if l.startswith("    ") and l.endswith("]")]
            if stray:
                problems.append("text dump shows Python frames as native: %r" % stray[:3])
        return [check("plain", problems)]
    finally:
        stop(target)


def job_traced(name, python, work):
    if not shutil.which("strace"):
        return [Result("SKIP", "traced", "no strace")]
    ready = os.path.join(work, "ready-traced.json")
    target, failed = started([python, TARGET, work, "stack", "nativemod", ready], ready, "traced")
    if failed:
        return failed
    strace = None
    try:
        strace = start(["strace", "-p", str(target.pid), "-o", "/dev/null"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while tracer_of(target.pid) != strace.pid and time.monotonic() < deadline:
            time.sleep(0.05)
        if tracer_of(target.pid) != strace.pid:
            return [Result("SKIP", "traced", "strace could not attach")]
        problems = []
        out = os.path.join(work, "traced.folded")
        for cmd in (["dump", "--native", "--pid", str(target.pid)],
                    ["record", "--native", "-d", "1", "-o", out, "--pid", str(target.pid)]):
            rc, _, err = run([PYFLARE] + cmd)
            text = err.decode(errors="replace").strip()
            if rc == 0 or rc is None:
                problems.append("%s: exit %s, want a refusal" % (cmd[0], rc))
            elif len(text.splitlines()) != 1 or "traced" not in text or str(strace.pid) not in text \
                    or "--native" not in text:
                problems.append("%s: want one line naming the tracer %d and --native: %s" % (cmd[0], strace.pid, text))
        if os.path.exists(out):
            problems.append("record wrote %s" % out)
        return [check("traced", problems)]
    finally:
        if strace:
            stop(strace)
        stop(target)


def job_top(name, python, work):
    ready = os.path.join(work, "busy-top.json")
    target, failed = started([python, TARGET, work, "busy", ready], ready, "top")
    if failed:
        return failed
    try:
        p = start([PYFLARE, "top", "--native", "--pid", str(target.pid), "-d", "3"], stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, env_extra={"NO_COLOR": "1"})
        out, err = p.communicate(timeout=60)
        _live.discard(p)
        text = out.decode(errors="replace")
        problems = []
        if p.returncode != 0:
            problems.append("top --native exit %s: %s" % (p.returncode, err.decode(errors="replace")))
        if not re.search(r" pf_burn_leaf \(nativemod\.[^):]*\.so\)$", text, re.M):
            problems.append("no 'pf_burn_leaf (nativemod...so)' row:\n" + text[-1500:])
        if not re.search(r" py_work \(native_target\.py:\d+\)$", text, re.M):
            problems.append("no 'py_work (native_target.py:N)' row")
        return [check("top", problems)]
    finally:
        stop(target)


def job_hidden(name, python, work):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return [Result("SKIP", "hidden", "needs root and unshare (a mount namespace of the target's own)")]
    ready = os.path.join(work, "hidden.json")
    ext = [f for f in os.listdir(work) if f.startswith("nativemod.")][0]
    hidden = "/mnt/pyflare-native-hidden"
    script = ("mount -t tmpfs none /mnt && mkdir -p %s && cp %s %s/ && exec %s %s %s stack nativemod %s"
              % (hidden, os.path.join(work, ext), hidden, python, TARGET, hidden, ready))
    target = start(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if wait_file(ready, target) is None:
            return [check("hidden", ["the target did not start: %s" % target.stderr.read().decode(errors="replace")[-300:]])]
        time.sleep(0.3)
        problems = []
        if os.path.exists(os.path.join(hidden, ext)):
            problems.append("%s is visible outside the target's mount namespace: the test proves nothing" % hidden)
        rc, out, err = run([PYFLARE, "dump", "--native", "--json", "--pid", str(target.pid)])
        if rc != 0:
            problems.append("dump --native exit %s: %s" % (rc, err.decode(errors="replace").strip()))
        else:
            t = main_thread(json.loads(out.decode()), target.pid)
            names = [(f["function"], f["file"]) for f in t["frames"] if f["native"]] if t else []
            if ("pf_spin_leaf", ext) not in names:
                problems.append("no pf_spin_leaf in %s among %s" % (ext, names[:6]))
        return [check("hidden", problems)]
    finally:
        stop(target)


def job_replaced(name, python, work):
    """A library replaced on disk while the target runs it (a deploy, `pip install -U`): the maps name the
    mapped file "PATH (deleted)", and the path now holds another file. dump --native still names
    pf_spin_leaf, from the file that is mapped (/proc/PID/map_files), its object marked deleted."""
    ready = os.path.join(work, "replaced.json")
    ext = [f for f in os.listdir(work) if f.startswith("nativemod.")][0]
    moved = os.path.join(work, "replaced")
    os.makedirs(moved, exist_ok=True)
    shutil.copy(os.path.join(work, ext), moved)
    target, failed = started([python, TARGET, moved, "stack", "nativemod", ready], ready, "replaced")
    if failed:
        return failed
    try:
        time.sleep(0.3)
        # The new build: another library (cppmod) renamed over the old one's path, as an installer does.
        cpp = [f for f in os.listdir(work) if f.startswith("cppmod.")][0]
        shutil.copy(os.path.join(work, cpp), os.path.join(moved, ext + ".new"))
        os.rename(os.path.join(moved, ext + ".new"), os.path.join(moved, ext))
        with open("/proc/%d/maps" % target.pid) as f:
            if not any(l.rstrip().endswith(ext + " (deleted)") for l in f):
                return [check("replaced", ["the maps do not show %s deleted: the test proves nothing" % ext])]
        rc, out, err = run([PYFLARE, "dump", "--native", "--json", "--pid", str(target.pid)])
        problems = []
        if rc != 0:
            problems.append("dump --native exit %s: %s" % (rc, err.decode(errors="replace").strip()))
        else:
            t = main_thread(json.loads(out.decode()), target.pid)
            names = [(f["function"], f["file"]) for f in t["frames"] if f["native"]] if t else []
            if ("pf_spin_leaf", ext + " (deleted)") not in names:
                problems.append("no pf_spin_leaf in %s (deleted) among %s" % (ext, names[:6]))
        return [check("replaced", problems)]
    finally:
        stop(target)


def proc_stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return fields[0], int(fields[11]) + int(fields[12])  # state, utime + stime (ticks)


def tracer_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    return -1


def job_sigkill(name, python, work):
    ready = os.path.join(work, "busy.json")
    target, failed = started([python, TARGET, work, "busy", ready], ready, "sigkill")
    if failed:
        return failed
    problems = []
    try:
        for round_ in range(5):
            p = start([PYFLARE, "record", "--native", "-r", "1000", "-d", "60", "-o",
                       os.path.join(work, "kill.folded"), "--pid", str(target.pid)],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.7 + 0.13 * round_)
            if p.poll() is not None:
                problems.append("round %d: pyflare ended before it was killed (status %s)" % (round_, p.returncode))
                break
            p.kill()
            p.wait()
            _live.discard(p)
            time.sleep(0.2)
            state, cpu0 = proc_stat(target.pid)
            tracer = tracer_of(target.pid)
            time.sleep(0.5)
            state1, cpu1 = proc_stat(target.pid)
            if state in "tT" or state1 in "tT":
                problems.append("round %d: the target is left stopped (state %s, then %s)" % (round_, state, state1))
            if tracer:
                problems.append("round %d: the target is still traced by %d" % (round_, tracer))
            if cpu1 <= cpu0:
                problems.append("round %d: the target used no CPU in 0.5 s after pyflare was killed" % round_)
        return [check("sigkill", problems)]
    finally:
        stop(target)


def user_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[11])


def check_still_stopped(pid, user_before, what, problems):
    """The target is still in the group-stop the test put it in: every thread
    'T' (not 't', traced), untraced, and it has not run since: a resume of a
    process burning CPU shows in its user ticks. Pausing a stopped thread costs
    it a little kernel time, which /proc's utime shares out in proportion (the
    kernel splits the exact runtime by the sampled user:system ratio), so a
    few ticks are allowed: 2 s of running would be some 200."""
    time.sleep(0.3)
    states = harness.task_states(pid)
    user = user_ticks(pid)
    if not states or any(s != "T" for s in states.values()):
        problems.append("%s: the stopped target's threads are now %s, want all 'T'" % (what, states))
    if tracer_of(pid):
        problems.append("%s: the target is left traced by %d" % (what, tracer_of(pid)))
    if user > user_before + STOPPED_SLACK_TICKS:
        problems.append("%s: the stopped target ran (user CPU %d ticks, then %d): it was resumed"
                        % (what, user_before, user))


def check_runs_on(pid, what, problems):
    os.kill(pid, signal.SIGCONT)
    time.sleep(0.2)
    _, cpu0 = proc_stat(pid)
    time.sleep(0.5)
    states = harness.task_states(pid)
    _, cpu1 = proc_stat(pid)
    if any(s in "tT" for s in states.values()):
        problems.append("%s: after SIGCONT the target's threads are %s" % (what, states))
    if cpu1 <= cpu0:
        problems.append("%s: after SIGCONT the target used no CPU in 0.5 s" % what)


def job_stopped(name, python, work):
    """A target stopped by SIGSTOP before pyflare starts, and one stopped while
    pyflare records: stacks or one line, never a hang, and the stop kept."""
    ready = os.path.join(work, "busy-stopped.json")
    target, failed = started([python, TARGET, work, "busy", ready], ready, "stopped")
    if failed:
        return failed
    problems = []
    pid = target.pid
    try:
        time.sleep(0.3)
        if not harness.stop_process(pid):
            return [check("stopped", ["SIGSTOP did not stop the target: %s" % harness.task_states(pid)])]
        cpu = user_ticks(pid)
        out = os.path.join(work, "stopped.folded")
        for cmd in (["dump", "--native", "--json", "--pid", str(pid)],
                    ["record", "--native", "-d", "2", "-f", "folded", "-o", out, "--pid", str(pid)],
                    ["record", "--native", "--idle", "-d", "2", "-f", "folded", "-o", out, "--pid", str(pid)]):
            what = " ".join(cmd[:3])
            if os.path.exists(out):
                os.unlink(out)
            rc, stdout, err = run([PYFLARE] + cmd)
            text = err.decode(errors="replace").strip()
            if rc is None:
                problems.append("%s of a stopped target hung: %s" % (what, text))
            elif rc != 0:
                if len(text.splitlines()) != 1:
                    problems.append("%s: exit %s, want stacks or one line: %s" % (what, rc, text))
            elif cmd[0] == "dump":
                t = main_thread(json.loads(stdout.decode()), pid)
                names = [f["function"] for f in t["frames"]] if t else []
                if "alternate" not in names or "<module>" not in names:
                    problems.append("%s: the main thread's Python frames are missing: %s" % (what, names))
                if not any(f["native"] for f in t["frames"]) and NATIVE_UNAVAILABLE not in names:
                    problems.append("%s: no native frame and no %s mark: %s" % (what, NATIVE_UNAVAILABLE, names))
            else:
                if not re.search(r"^pyflare: \d+ stacks from \d+ samples", text, re.M):
                    problems.append("%s: no summary: %s" % (what, text))
                if not os.path.exists(out):
                    problems.append("%s: exit 0 and no %s" % (what, out))
                elif "--idle" in cmd:
                    rows = folded_weights(out)
                    if not rows or not all("alternate (" in ";".join(r[0]) for r in rows):
                        problems.append("%s: want every stack under alternate(): %s" % (what, rows[:3]))
            check_still_stopped(pid, cpu, what, problems)
        check_runs_on(pid, "stopped before", problems)
        # Stopped while pyflare records at 1 kHz (the SIGSTOP may come while
        # pyflare has the threads paused: it must be handed back, not lost).
        for round_ in range(3):
            p = start([PYFLARE, "record", "--native", "-r", "1000", "-d", "2", "-f", "folded", "-o", out,
                       "--pid", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.5 + 0.17 * round_)
            os.kill(pid, signal.SIGSTOP)
            try:
                _, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                stop(p)
                problems.append("round %d: record --native hung once the target was stopped" % round_)
                continue
            _live.discard(p)
            what = "round %d (stopped mid-recording)" % round_
            if p.returncode != 0:
                problems.append("%s: exit %s: %s" % (what, p.returncode, err.decode(errors="replace").strip()))
            if not harness.wait_stopped(pid, 5):
                problems.append("%s: the target is not stopped: %s" % (what, harness.task_states(pid)))
            check_still_stopped(pid, user_ticks(pid), what, problems)
            check_runs_on(pid, what, problems)
        # Many stops while pyflare pauses the target at 1 kHz: each must take (a
        # SIGSTOP that comes as pyflare pauses a thread is reported to pyflare,
        # which must hand it back on resuming it, not swallow it).
        p = start([PYFLARE, "record", "--native", "-r", "1000", "-d", "60", "-f", "folded", "-o", out,
                   "--pid", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        lost = 0
        for cycle in range(STOP_CYCLES):
            os.kill(pid, signal.SIGSTOP)
            lost += not harness.wait_stopped(pid, 2)
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.01 + 0.001 * (cycle % 7))
        p.send_signal(signal.SIGINT)
        try:
            _, err = p.communicate(timeout=60)
            _live.discard(p)
            if p.returncode != 0:
                problems.append("record --native with %d stops: exit %s: %s"
                                % (STOP_CYCLES, p.returncode, err.decode(errors="replace").strip()[-300:]))
        except subprocess.TimeoutExpired:
            stop(p)
            problems.append("record --native did not end on SIGINT after %d stops" % STOP_CYCLES)
        if lost:
            problems.append("%d of %d SIGSTOPs sent during record --native did not stop the target" % (lost, STOP_CYCLES))
        return [check("stopped", problems)]
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass
        stop(target)


def job_churn(name, python, work):
    """Threads that start and end while record --native samples at 1 kHz, and
    the process exiting mid-recording (launched, and by --pid)."""
    job = "%s/churn" % name
    problems = []
    notes = []
    for how in ("launched", "pid"):
        ready = os.path.join(work, "churn-%s.json" % how)
        out = os.path.join(work, "churn-%s.folded" % how)
        cmd = [PYFLARE, "record", "--native", "-r", "1000", "-f", "folded", "-o", out]
        target = None
        if how == "launched":
            rc, _, err = run(cmd + ["--", python, TARGET, work, "churn", ready, "2"], timeout=120)
        else:
            target = start([python, TARGET, work, "churn", ready, "3"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            if wait_file(ready, target) is None:
                stop(target)
                problems.append("%s: the target did not start" % how)
                continue
            rc, _, err = run(cmd + ["-d", "60", "--pid", str(target.pid)], timeout=120)
            target.wait()
            _live.discard(target)
        text = err.decode(errors="replace").strip()
        if rc != 0:
            problems.append("%s: exit %s: %s" % (how, rc, text[-400:]))
            continue
        summary = re.search(r"^pyflare: (\d+) stacks from .*$", text, re.M)
        if not summary:
            problems.append("%s: no summary line: %s" % (how, text[-400:]))
        if not os.path.exists(out):
            problems.append("%s: no profile written" % how)
            continue
        rows = folded_weights(out)
        marked = [r for r, _ in rows if NATIVE_UNAVAILABLE in r]
        said = re.search(r"(\d+) stacks? without native frames", text)
        # A thread that cannot be unwound is marked: one on its way out, or
        # (<3.11) one so new its TID is not known yet, as threads here live a
        # millisecond (0-2 % of stacks seen; 10-26 % on 3.6-3.10 on a loaded machine). Most of them marked, or no
        # CPU seen, is TIDs lost (<3.11 learns them from struct pthread, once
        # spoiled by a thread not yet started: 72 %).
        if summary and said and int(said.group(1)) * 2 > int(summary.group(1)):
            problems.append("%s: %s of %s stacks marked %s" % (how, said.group(1), summary.group(1), NATIVE_UNAVAILABLE))
        if re.search(r"used 0\.000 s of CPU", text):
            problems.append("%s: no CPU seen for any thread: %s" % (how, text[-300:]))
        if bool(marked) != bool(said):
            problems.append("%s: %d stacks marked %s, the summary says: %s"
                            % (how, len(marked), NATIVE_UNAVAILABLE, summary.group(0) if summary else text))
        # Python's part is never lost: every stack (marked or not) that has the
        # worker's native leaf also has the Python function that called it.
        for frames, _ in rows:
            names = [f.split(" (")[0] for f in frames]
            if "pf_burn_leaf" in names and not ("churn_thread" in names or "churn" in names):
                problems.append("%s: pf_burn_leaf without its Python caller: %s" % (how, ";".join(frames)))
                break
            if NATIVE_UNAVAILABLE in names and not any(f.endswith(".py)") or ".py:" in f for f in frames):
                problems.append("%s: a marked stack without Python frames: %s" % (how, ";".join(frames)))
                break
        if not any("churn_thread" in ";".join(r) and "pf_burn_leaf" in ";".join(r) for r, _ in rows):
            problems.append("%s: no churn_thread -> pf_burn_leaf stack among %d" % (how, len(rows)))
        notes.append("%s: %s stacks, %d marked" % (how, summary.group(1) if summary else "?", len(marked)))
    return [check(job, problems, "; ".join(notes))]


# ---------------------------------------------------------------- main --

def guarded(job, name, *args):
    try:
        return job(*args)
    except Exception as e:
        import traceback
        return [Result("FAIL", name, "runner error: %s: %s" % (type(e).__name__, e), traceback.format_exc().splitlines())]


def per_interpreter(name, python, root, selected):
    if not any(selected("%s/%s" % (name, j)) for j in ("dump-c", "dump-cpp", "stripped", "lost", "threads", "split", "churn")) \
            and not (name == ONCE_ON and any(selected(j) for j in ("text", "plain", "hidden", "replaced", "traced", "top", "sigkill", "stopped"))):
        return []
    work = sid_root.mkdtemp("nat", "native-%s-" % name) if root else tempfile.mkdtemp(prefix="pyflare-native-")
    os.chmod(work, 0o755)
    try:
        why = build(name, python, root, work)
        if why and why.startswith("FAIL: "):
            return [Result("FAIL", "%s/build" % name, why[6:])]
        if why:
            return [Result("SKIP", name, why)]
        results = []
        for module in ("nativemod", "cppmod", "nativemod_stripped"):
            job = "%s/%s" % (name, {"nativemod": "dump-c", "cppmod": "dump-cpp", "nativemod_stripped": "stripped"}[module])
            if selected(job):
                results += guarded(job_dump, job, name, python, work, module)
        if selected("%s/lost" % name):
            results += guarded(job_lost, "%s/lost" % name, name, python, work)
        if selected("%s/threads" % name) and re.match(r"(system-)?3\.(8|9|1\d)", name):
            results += guarded(job_threads, "%s/threads" % name, name, python, work)
        if selected("%s/split" % name):
            results += guarded(job_split, "%s/split" % name, name, python, work)
        if selected("%s/churn" % name):
            results += guarded(job_churn, "%s/churn" % name, name, python, work)
        if name == ONCE_ON:
            if selected("text"):
                results += guarded(job_text, "text", name, python, work)
            if selected("plain"):
                results += guarded(job_plain, "plain", name, python, work)
            if selected("hidden"):
                results += guarded(job_hidden, "hidden", name, python, work)
            if selected("replaced"):
                results += guarded(job_replaced, "replaced", name, python, work)
            if selected("traced"):
                results += guarded(job_traced, "traced", name, python, work)
            if selected("top"):
                results += guarded(job_top, "top", name, python, work)
            if selected("sigkill"):
                results += guarded(job_sigkill, "sigkill", name, python, work)
            if selected("stopped"):
                results += guarded(job_stopped, "stopped", name, python, work)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    global PYFLARE, TARGET
    PYFLARE = os.path.abspath(os.environ.get("PYFLARE") or os.path.join(ROOT, "build", "pyflare"))
    filters = argv[1:]
    selected = lambda job: not filters or any(f in job for f in filters)
    suite = harness.Suite("native")
    if not os.access(PYFLARE, os.X_OK):
        suite.failed("setup", "no pyflare at %s (run make)" % PYFLARE)
        return suite.finish()
    for tool in ("cc", "c++", "strip"):
        if not shutil.which(tool):
            suite.failed("setup", "no %s: the test extensions cannot be built (tools/setup-debian.sh)" % tool)
            return suite.finish()
    pythons = harness.interpreters("nat", harness.EXPECTED)
    if any(py.root for py in pythons if not py.why):
        TARGET = os.path.join(sid_root.stage_tree("nat", os.path.dirname(TARGET)), os.path.basename(TARGET))
    for py in pythons:
        if py.why:
            suite.skip(py.name, py.why)
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        jobs = [pool.submit(guarded, per_interpreter, py.name, py.name, py.path, py.root, selected)
                for py in pythons if not py.why]
        for job in jobs:
            suite.add(job.result())
    return suite.finish()


def _kill_live(*_):
    for p in list(_live):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    os._exit(130)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _kill_live)
    signal.signal(signal.SIGTERM, _kill_live)
    sys.exit(main(sys.argv))
