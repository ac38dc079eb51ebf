#!/usr/bin/env python3
"""Tests for `--async` (asyncio tasks, CPython 3.14+), against CPython's own reader.

    PYFLARE=/abs/path/to/build/pyflare python3 tests/async/run.py [FILTER...]

Standard library only; Python 3.7+. FILTER arguments keep the jobs whose name
contains one of them; PYFLARE_PYTHONS=name,name restricts the interpreters.

Jobs:
  INTERP/pstree      (3.14*, 3.15*) targets/tree.py holds a known tree of 7 tasks
                     (a TaskGroup, a task awaited by two tasks); `pyflare dump
                     --async --json` must give the same tasks, the same await
                     edges (who awaits whom) and the same coroutine stacks
                     (function, file, line) as `python3.X -m asyncio pstree PID`,
                     CPython's own reader, run in the same root; and the text
                     output names every task.
  INTERP/cycle       (3.14*, 3.15*) targets/cycle.py: tasks ping and pong await
                     each other (pstree refuses such a graph); dump --async
                     shows both edges, and its text says there is an await cycle.
  INTERP/no-asyncio  (3.14*, 3.15*) a process that never imports asyncio: dump
                     --async succeeds and lists no tasks.
  INTERP/split       (3.14*, 3.15*) targets/split.py: tasks alpha and beta burn
                     CPU 1:3 (measured by the target itself); `record --async`
                     puts each burn under "Task Task-1;Task alpha" (resp. beta),
                     with shares within 2 points of the target's own (a miss
                     is recorded once more: other jobs' load can tear one
                     recording's CPU figures); with --idle, the waiting main
                     task is counted too, and not without.
                     `record --async --native` is judged the same way; no
                     burn() stack may start outside its task (no event loop
                     frame, Python or C, above the task frames): none when
                     paused (--native), up to 1% of the weight without.
  INTERP/top         (3.14*, 3.15*) `top --async` through a pipe (NO_COLOR): the last
                     table has rows "Task alpha" and "Task beta" whose totals
                     split within 5 points of the target's own (4 s at 500 Hz).
  INTERP/with-native (3.14*, 3.15*) a task waiting in asyncio.sleep: `dump
                     --native --async` shows its task and native frames;
                     `record` and `top` with --native --async --idle show stacks
                     under "Task Task-1" and the loop thread's C frames.
  INTERP/refused     (3.12, 3.13) dump, record and top --async on an older
                     interpreter: non-zero exit, one line on stderr naming 3.14
                     (record leaves no output file).

Output: "PASS name", "FAIL name: reason" (+ details), "SKIP name: reason", and
finally exactly one line "async: N passed, N failed, N skipped".
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
import sid_root  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PYFLARE = os.environ.get("PYFLARE", os.path.join(ROOT, "build", "pyflare"))
SUPPORTED = [n for n in sid_root.NAMES]          # 3.14, 3.14-pie, 3.14d, 3.15, ...
OLDER = ["3.12.1", "3.13.0"]
EXPECTED = OLDER + SUPPORTED
FILTERS = sys.argv[1:]
TIMEOUT = 60


def wanted(name):
    return not FILTERS or any(f in name for f in FILTERS)


def run(cmd, timeout=TIMEOUT):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


class Target:
    """A target started with a READY path as its last argument, killed at the end."""

    def __init__(self, argv, work):
        self.ready = os.path.join(work, "ready")
        self.log = open(os.path.join(work, "target.log"), "w+")
        self.proc = subprocess.Popen(argv + [self.ready], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if os.path.exists(self.ready):
                return None
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.log.seek(0)
        return "target not ready (exit %s): %s" % (self.proc.poll(), self.log.read()[-500:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------- pstree --

_FRAME = re.compile(r"^(\S+) (.+):(\d+)$")


def parse_pstree(text):
    """({task name: stack outermost first}, {(awaiter, awaited)}) from pstree's
    tree: a "(T) name" line is a task; the frame lines below it, down to the
    tasks it awaits, are its own coroutine stack."""
    stacks, edges = {}, set()
    path = []  # [(depth, kind, value)]: the lines above this one
    for line in text.splitlines():
        body = line.lstrip("│├└─ ")
        if not body:
            continue
        depth = (len(line) - len(body)) // 4
        while path and path[-1][0] >= depth:
            path.pop()
        owner = next((p for p in reversed(path) if p[1] == "T"), None)
        if body.startswith("(T) "):
            name = body[4:]
            if owner:
                edges.add((owner[2], name))
            stacks.setdefault(name, [])
            path.append((depth, "T", name))
        else:
            m = _FRAME.match(body.strip())
            if not m or not owner:
                raise ValueError("unexpected pstree line: %r" % line)
            frame = (m.group(1), m.group(2), int(m.group(3)))
            chain = [p[2] for p in path[path.index(owner) + 1:]] + [frame]
            if len(chain) > len(stacks[owner[2]]):
                stacks[owner[2]] = chain
            path.append((depth, "F", frame))
    return stacks, edges


def parse_dump(doc):
    names = dict((t["id"], t["name"]) for t in doc["tasks"])
    stacks = dict((t["name"], [(f["function"], f["file"], f["line"]) for f in reversed(t["frames"])])
                  for t in doc["tasks"])
    edges = set((names.get(a, "?%x" % a), t["name"]) for t in doc["tasks"] for a in t["awaited_by"])
    return stacks, edges


KNOWN_EDGES = {("Task-1", "fetch_all"), ("fetch_all", "fetch-1"), ("fetch_all", "fetch-2"),
               ("waiter-1", "shared"), ("waiter-2", "shared")}


def job_pstree(name, py, work):
    target = Target([py.path, sid_root.stage_tree("async", os.path.join(HERE, "targets")) + "/tree.py"], work)
    try:
        why = target.wait_ready()
        if why:
            return [why]
        pid = str(target.proc.pid)
        rc, out, err = run([PYFLARE, "dump", "--async", "--json", "--pid", pid])
        if rc != 0:
            return ["dump --async --json exited %d: %s" % (rc, err.strip())]
        ours = parse_dump(json.loads(out))
        rc, text, err2 = run([PYFLARE, "dump", "--async", "--pid", pid])
        rc2, tree, err3 = run([py.path, "-m", "asyncio", "pstree", pid])
        if rc2 != 0:
            return ["python -m asyncio pstree exited %d: %s" % (rc2, err3.strip()[-300:])]
        theirs = parse_pstree(tree)
    finally:
        target.stop()
    problems = []
    if ours[1] != theirs[1]:
        problems.append("await edges differ: pyflare %s, pstree %s" % (sorted(ours[1]), sorted(theirs[1])))
    if set(ours[0]) != set(theirs[0]):
        problems.append("tasks differ: pyflare %s, pstree %s" % (sorted(ours[0]), sorted(theirs[0])))
    for task in sorted(set(ours[0]) & set(theirs[0])):
        if ours[0][task] != theirs[0][task]:
            problems.append("%s's coroutine stack: pyflare %s, pstree %s" % (task, ours[0][task], theirs[0][task]))
    if theirs[1] != KNOWN_EDGES:  # the reference itself must see the tree the program builds
        problems.append("pstree does not show the known tree: %s" % sorted(theirs[1]))
    for task in ("Task-1", "fetch_all", "fetch-1", "fetch-2", "shared", "waiter-1", "waiter-2"):
        if rc != 0 or ('Task "%s"' % task) not in text:
            problems.append("text output (exit %d) does not name task %s" % (rc, task))
    return problems


def job_cycle(name, py, work):
    target = Target([py.path, sid_root.stage_tree("async", os.path.join(HERE, "targets")) + "/cycle.py"], work)
    try:
        why = target.wait_ready()
        if why:
            return [why]
        pid = str(target.proc.pid)
        rc, out, err = run([PYFLARE, "dump", "--async", "--json", "--pid", pid])
        rc2, text, err2 = run([PYFLARE, "dump", "--async", "--pid", pid])
    finally:
        target.stop()
    if rc != 0 or rc2 != 0:
        return ["dump --async exited %d / %d: %s" % (rc, rc2, (err + err2).strip())]
    edges = parse_dump(json.loads(out))[1]
    problems = []
    if not {("ping", "pong"), ("pong", "ping")} <= edges:
        problems.append("the cycle is not shown: edges %s" % sorted(edges))
    if "await cycle" not in text:
        problems.append("the text output does not say there is an await cycle:\n" + text[-600:])
    return problems


def job_no_asyncio(name, py, work):
    target = Target([py.path, "-c", "import sys, time; open(sys.argv[1], 'w').close(); time.sleep(60)"], work)
    try:
        why = target.wait_ready()
        if why:
            return [why]
        rc, out, err = run([PYFLARE, "dump", "--async", "--json", "--pid", str(target.proc.pid)])
    finally:
        target.stop()
    if rc != 0:
        return ["dump --async exited %d: %s" % (rc, err.strip())]
    tasks = json.loads(out).get("tasks")
    return [] if tasks == [] else ["expected \"tasks\": [], got %r" % (tasks,)]


def job_refused(name, py, work):
    script = "import asyncio, sys\nasync def main():\n    open(sys.argv[1], 'w').close()\n" \
             "    await asyncio.sleep(60)\nasyncio.run(main())\n"
    target = Target([py.path, "-c", script], work)
    problems = []
    try:
        why = target.wait_ready()
        if why:
            return [why]
        pid = str(target.proc.pid)
        out_path = os.path.join(work, "refused.folded")
        for cmd in (["dump", "--async", "--pid", pid],
                    ["record", "--async", "--duration", "0.5", "--pid", pid, "-o", out_path],
                    ["top", "--async", "--duration", "0.5", "--pid", pid]):
            rc, out, err = run([PYFLARE] + cmd)
            lines = err.strip().splitlines()
            if rc == 0 or len(lines) != 1 or "3.14" not in lines[0]:
                problems.append("%s: exit %d, stderr %r (want non-zero and one line naming 3.14)"
                                % (" ".join(cmd[:2]), rc, err))
        if os.path.exists(out_path):
            problems.append("record --async left an output file")
    finally:
        target.stop()
    return problems


def job_with_native(name, py, work):
    """--native beside --async: dump shows both; `record --idle` and `top --idle`
    of a task waiting in the event loop show its task frame and the loop
    thread's native frames (the split job checks the attribution)."""
    script = "import asyncio, sys\nasync def main():\n    open(sys.argv[1], 'w').close()\n" \
             "    await asyncio.sleep(60)\nasyncio.run(main(), debug=False)\n"
    target = Target([py.path, "-c", script], work)
    problems = []
    try:
        why = target.wait_ready()
        if why:
            return [why]
        pid = str(target.proc.pid)
        rc, out, err = run([PYFLARE, "dump", "--native", "--async", "--json", "--pid", pid])
        if rc != 0:
            problems.append("dump --native --async: exit %d: %s" % (rc, err.strip()))
        else:
            doc = json.loads(out)
            frames = [f for t in doc["threads"] for f in t["frames"]]
            if not doc.get("tasks"):
                problems.append("dump --native --async lists no task")
            if not any(f.get("native") for f in frames):
                problems.append("dump --native --async shows no native frame")
        out_path = os.path.join(work, "both.folded")
        for cmd in ("record", "top"):  # top writes its profile with -o when it ends
            what = cmd + " --native --async --idle"
            if os.path.exists(out_path):
                os.unlink(out_path)
            rc, out, err = run([PYFLARE, cmd, "--native", "--async", "--idle", "--duration", "1", "--pid", pid,
                                "-o", out_path])
            if rc != 0 or not os.path.exists(out_path):
                problems.append("%s: exit %d, no profile written: %s" % (what, rc, err.strip()[-300:]))
                continue
            # (top's profile has a root per thread: "thread NAME" first)
            stacks = [frames[1:] if frames[0].startswith("thread ") else frames for frames, _ in folded(out_path)]
            if not any(frames and func(frames[0]) == "Task Task-1" for frames in stacks):
                problems.append("%s: no stack under Task Task-1: %s" % (what, stacks[:3]))
            # A native frame is named "function (object)", a Python one "function (file:line)".
            if not any(re.search(r" \([^:()]+\)$", f) for frames in stacks for f in frames):
                problems.append("%s: no native frame: %s" % (what, stacks[:3]))
    finally:
        target.stop()
    return problems


def read_json(path):
    for _ in range(50):  # written atomically; may be absent for a moment
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            time.sleep(0.02)
    raise RuntimeError("cannot read %s" % path)


def folded(path):
    """[(frames, count)] from a folded file."""
    out = []
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            out.append((stack.split(";"), int(count)))
    return out


def func(label):
    return label.split(" (")[0]


def split_once(pid, truth_path, out, extra=()):
    """(alpha's share of burn() under its task, the target's own share, None) or (.., .., why not)."""
    before = read_json(truth_path)
    rc, _, err = run([PYFLARE, "record", "--async"] + list(extra) +
                     ["--rate", "1000", "--duration", "6", "--pid", pid, "-o", out])
    after = read_json(truth_path)
    what = " ".join(["record", "--async"] + list(extra))
    if rc != 0:
        return 0, 0, "%s exited %d: %s" % (what, rc, err.strip())
    spent = dict((k, after[k] - before[k]) for k in ("alpha", "beta"))
    got = {"alpha": 0, "beta": 0}
    # Nothing outside the task: neither the event loop's Python frames nor
    # (--native) the C frames that run the loop and step the task. Without a
    # pause the stack and the running task are read a moment apart, and a
    # step may end in between (a stack then shown whole, outside its task):
    # up to 1% of burn()'s weight; paused (--native), none.
    outside = [(frames, count) for frames, count in folded(out)
               if "burn" in [func(f) for f in frames] and func(frames[0]) != "Task Task-1"]
    burning = sum(count for frames, count in folded(out) if "burn" in [func(f) for f in frames])
    allowed = 0 if "--native" in extra else 0.01 * burning
    if sum(count for _, count in outside) > allowed:
        return 0, 0, "%s: %d of %d of burn()'s weight outside its tasks, e.g. %s" % (
            what, sum(count for _, count in outside), burning, ";".join(outside[0][0][:6]))
    for frames, count in folded(out):
        for task in got:
            if [func(f) for f in frames[:4]] == ["Task Task-1", "Task " + task, "work", "burn"]:
                got[task] += count
    total, want_total = sum(got.values()), sum(spent.values())
    if not total or not want_total:
        return 0, 0, "no burn() stacks under Task Task-1;Task alpha/beta (got %s; truth %s)" % (got, spent)
    return 100.0 * got["alpha"] / total, 100.0 * spent["alpha"] / want_total, None


def job_split(name, py, work):
    targets = sid_root.stage_tree("async", os.path.join(HERE, "targets"))
    truth_path = os.path.join(work, "truth.json")
    target = Target([py.path, targets + "/split.py", truth_path], work)
    problems = []
    try:
        why = target.wait_ready()
        if why:
            return [why]
        pid = str(target.proc.pid)
        out = os.path.join(work, "split.folded")
        # The other jobs on a loaded machine can tear one recording's CPU
        # figures (the record suite allows 3 points there): a miss is
        # recorded once more, and the second recording is the one judged.
        for attempt in (1, 2):
            share, want, why = split_once(pid, truth_path, out)
            if why:
                return [why]
            if abs(share - want) <= 2:
                break
        if abs(share - want) > 2:
            problems.append("alpha's share of the burning is %.1f%%, the target measured %.1f%% (beta the rest)"
                            % (share, want))
        note = "alpha %.1f%% (truth %.1f%%)%s" % (share, want, "" if attempt == 1 else ", second recording")
        # --native too: the same attribution, the task's C frames inside it.
        for attempt in (1, 2):
            nshare, nwant, why = split_once(pid, truth_path, out, ["--native"])
            if why:
                return [why]
            if abs(nshare - nwant) <= 2:
                break
        if abs(nshare - nwant) > 2:
            problems.append("with --native, alpha's share of the burning is %.1f%%, the target measured %.1f%%"
                            % (nshare, nwant))
        note += "; with --native %.1f%% (truth %.1f%%)" % (nshare, nwant)
        # --idle: the waiting main task is counted too, under its own task frame.
        out_idle = os.path.join(work, "idle.folded")
        rc, _, err = run([PYFLARE, "record", "--async", "--idle", "--duration", "1", "--pid", pid, "-o", out_idle])
        if rc != 0:
            problems.append("record --async --idle exited %d: %s" % (rc, err.strip()))
        elif not any([func(f) for f in frames[:2]] == ["Task Task-1", "main"] for frames, _ in folded(out_idle)):
            problems.append("with --idle, no stack of the waiting Task-1 (Task Task-1;main ...)")
        if any([func(f) for f in frames[:2]] == ["Task Task-1", "main"] for frames, _ in folded(out)):
            problems.append("without --idle, the waiting Task-1 was counted")
    finally:
        target.stop()
    return problems or [], note if not problems else ""


def job_top(name, py, work):
    targets = sid_root.stage_tree("async", os.path.join(HERE, "targets"))
    truth_path = os.path.join(work, "truth.json")
    target = Target([py.path, targets + "/split.py", truth_path], work)
    try:
        why = target.wait_ready()
        if why:
            return [why]
        before = read_json(truth_path)
        env = dict(os.environ, NO_COLOR="1")
        p = subprocess.run([PYFLARE, "top", "--async", "--rate", "500", "--duration", "4", "--pid", str(target.proc.pid)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT, env=env)
        after = read_json(truth_path)
    finally:
        target.stop()
    if p.returncode != 0:
        return ["top --async exited %d: %s" % (p.returncode, p.stderr.decode(errors="replace").strip())]
    # The last table (through a pipe: one per second): each task's total share since the start.
    last = p.stdout.decode(errors="replace").split("pyflare top - ")[-1]
    total = {}
    for line in last.splitlines():
        cols = line.split(None, 6)
        if len(cols) == 7 and cols[6] in ("Task alpha", "Task beta"):
            total[cols[6]] = float(cols[3])
    if len(total) != 2 or not sum(total.values()):
        return ["the last table has no rows for Task alpha and Task beta: %r" % last[-800:]]
    spent = dict((k, after[k] - before[k]) for k in ("alpha", "beta"))
    share = 100.0 * total["Task alpha"] / sum(total.values())
    want = 100.0 * spent["alpha"] / sum(spent.values())
    if abs(share - want) > 5:
        return ["top shows Task alpha at %.1f%% of the two tasks, the target measured %.1f%%" % (share, want)]
    return [], "alpha %.1f%% (truth %.1f%%)" % (share, want)


JOBS = [("pstree", job_pstree, SUPPORTED), ("cycle", job_cycle, SUPPORTED), ("no-asyncio", job_no_asyncio, SUPPORTED),
        ("split", job_split, SUPPORTED), ("top", job_top, SUPPORTED),
        ("with-native", job_with_native, SUPPORTED), ("refused", job_refused, OLDER)]


def main():
    suite = harness.Suite("async")
    sid_root.stage("async", redirect_tempfile=True)
    for py in harness.interpreters("async", EXPECTED):
        for job, fn, names in JOBS:
            name = "%s/%s" % (py.name, job)
            if py.name not in names or not wanted(name):
                continue
            if py.why:
                suite.skip(name, py.why)
                continue
            work = tempfile.mkdtemp(prefix="pyflare-async-")
            note = ""
            try:
                problems = fn(name, py, work)
                if isinstance(problems, tuple):
                    problems, note = problems
            except Exception as e:  # a crash of the test is its failure, with what it was
                problems = ["%s: %s" % (type(e).__name__, e)]
            suite.add(harness.check(name, problems, note))
    sys.exit(suite.finish())


if __name__ == "__main__":
    main()
