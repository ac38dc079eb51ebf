#!/usr/bin/env python3
"""pyflare against a process in a container: its own PID and mount
namespaces (made with unshare, as no Docker engine runs here).

The interpreter (Debian's static python3.11, copied) is bind-mounted at a path
that exists only inside the container's mount namespace, so pyflare must read
its ELF file through /proc/PID/root; inside the PID namespace the process is
PID 1-ish and its threads have other TIDs than the host sees, so pyflare must
map the TIDs the process records (native ids) to host TIDs to tell running
from waiting threads. Checks `dump --json` and `record`, and that the text
report shows the target's source lines (read through /proc/PID/root).

    PYFLARE=build/pyflare python3 tests/container/run.py
Final line: "container: N passed, N failed, N skipped"."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402  (tests/harness.py: interpreters, results, the summary line)

PYFLARE = os.environ.get("PYFLARE", "build/pyflare")
HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = harness.SYSTEM["system-3.11"]   # Debian's static python3.11

suite = harness.Suite("container")
result, skip = suite.result, suite.skip


def host_pid_of(unshare_pid, marker):
    """The host PID of the python running inside the namespace (a descendant of unshare)."""
    for _ in range(100):
        out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,args="], capture_output=True, text=True).stdout
        procs = [l.split(None, 2) for l in out.splitlines() if l.strip()]
        children = {}
        for pid, ppid, args in (p for p in procs if len(p) == 3):
            children.setdefault(int(ppid), []).append((int(pid), args))
        todo = [unshare_pid]
        while todo:
            for pid, args in children.get(todo.pop(), []):
                if marker in args and "python3.11" in args:
                    return pid
                todo.append(pid)
        time.sleep(0.05)
    return None


def main():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        skip("container", "needs root and unshare")
    elif not os.path.exists(PYTHON):
        skip("container", PYTHON + " not installed")
    else:
        run_container_tests()
    return suite.finish()


def run_container_tests():
    work = tempfile.mkdtemp(prefix="pyflare-ctr-")
    image = os.path.join(work, "image")
    os.makedirs(image)
    shutil.copy(PYTHON, os.path.join(image, "python3.11"))
    shutil.copy(os.path.join(HERE, "target.py"), os.path.join(image, "ctr_target.py"))
    mountpoint = "/opt/pyflare-test-container"  # empty on the host; filled only inside the namespace
    os.makedirs(mountpoint, exist_ok=True)
    truth_path = os.path.join(work, "truth.json")
    script = ("mount --bind %s %s && exec %s/python3.11 %s/ctr_target.py %s"
              % (image, mountpoint, mountpoint, mountpoint, truth_path))
    ctr = subprocess.Popen(["unshare", "--pid", "--fork", "--mount", "--mount-proc", "--propagation", "private",
                            "sh", "-c", script])
    try:
        for _ in range(200):
            if os.path.exists(truth_path):
                break
            time.sleep(0.05)
        truth = json.load(open(truth_path))
        pid = host_pid_of(ctr.pid, "ctr_target.py")
        result(pid is not None and pid != truth["pid_inside"], "container/own-pid-namespace",
               "host pid %s, inside %s" % (pid, truth["pid_inside"]))
        result(not os.path.exists(os.path.join(mountpoint, "python3.11")), "container/binary-hidden-from-host",
               "the interpreter is visible on the host, the test proves nothing")
        time.sleep(0.3)
        out = subprocess.run([PYFLARE, "dump", "--pid", str(pid), "--json"], capture_output=True, text=True)
        if out.returncode != 0:
            result(False, "container/dump", out.stderr.strip())
            return
        snap = json.loads(out.stdout)
        threads = {t["name"]: t for t in snap["threads"]}
        result(snap["python"].startswith("3.11."), "container/version", snap["python"])
        result(set(threads) == {"MainThread", "spinner"}, "container/threads", sorted(threads))
        result(all(threads[n]["native_id"] == truth["native_ids"][n] for n in threads), "container/native-ids",
               "%s vs %s" % ({n: t["native_id"] for n, t in threads.items()}, truth["native_ids"]))
        spin = threads.get("spinner", {})
        result(spin.get("active") is True and threads.get("MainThread", {}).get("active") is False,
               "container/active-state", "spinner active=%s main active=%s"
               % (spin.get("active"), threads.get("MainThread", {}).get("active")))
        result(bool(spin.get("frames")) and spin["frames"][0]["function"] == "spin_here", "container/stack",
               str(spin.get("frames", [])[:1]))
        folded = os.path.join(work, "ctr.folded")
        rec = subprocess.run([PYFLARE, "record", "--pid", str(pid), "--duration", "1", "--rate", "200", "-o", folded],
                             capture_output=True, text=True)
        lines = open(folded).read().splitlines() if os.path.exists(folded) else []
        spin_samples = sum(int(l.rsplit(" ", 1)[1]) for l in lines if "spin_here" in l)
        total = sum(int(l.rsplit(" ", 1)[1]) for l in lines)
        # Idle excluded: only the spinner runs, so (almost) every sample is in spin_here.
        result(rec.returncode == 0 and total > 0 and spin_samples >= 0.95 * total, "container/record",
               "exit %d, %d of %d samples in spin_here; %s" % (rec.returncode, spin_samples, total, rec.stderr.strip()))
        # The text report's hottest lines carry the source, read through /proc/PID/root:
        # the file exists only inside the container's mount namespace.
        rec = subprocess.run([PYFLARE, "record", "--pid", str(pid), "--duration", "1", "--rate", "200", "-o", "-",
                              "--format", "text"], capture_output=True, text=True)
        hot = rec.stdout.split("Hottest lines by own time", 1)[-1].splitlines()
        own_lines = open(os.path.join(HERE, "target.py")).read().splitlines()
        at = [i for i, l in enumerate(hot) if "ctr_target.py:" in l]
        line = int(hot[at[0]].rsplit(":", 1)[1]) if at else 0
        shown = hot[at[0] + 1].strip() if at and at[0] + 1 < len(hot) else ""
        result(rec.returncode == 0 and line > 0 and shown == own_lines[line - 1].strip(), "container/source",
               "exit %d; hottest line %d shown as %r, the file has %r; %s"
               % (rec.returncode, line, shown, own_lines[line - 1].strip() if line else "", rec.stderr.strip()[-300:]))
    finally:
        ctr.kill()
        ctr.wait()
        # The target is its namespace's init, which ignores SIGTERM from outside: SIGKILL it.
        subprocess.run(["pkill", "-KILL", "-f", "ctr_target.py " + truth_path])
        shutil.rmtree(work, ignore_errors=True)
        try:
            os.rmdir(mountpoint)
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())
