"""Shared helpers for the benchmarks: finding interpreters and pyflare,
starting targets, running a profiler and reading its CPU time (RUSAGE_CHILDREN)."""
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYFLARE = os.environ.get("PYFLARE") or os.path.join(ROOT, "build", "pyflare")
sys.path.insert(0, os.path.join(ROOT, "tests"))
import harness  # noqa: E402  (interpreters found as the tests find them)
import sid_root  # noqa: E402  (CPython 3.14/3.15 in their Debian root)
PYENV = harness.pyenv_versions() or os.devnull  # no pyenv: no versions
SUMMARY = re.compile(r"(\d+) stacks from (\d+) samples in ([\d.]+) s \(([\d.]+) Hz of ([\d.e+]+) requested\), (\d+) late")


def python(version):
    """The interpreter for '3.12' (newest pyenv build of that minor), or None."""
    if version == "system-3.11":
        return "/usr/bin/python3.11" if os.path.exists("/usr/bin/python3.11") else None
    if version == "3.13t":  # the free-threaded build of tools/setup-debian.sh
        py = os.path.join(os.environ.get("PYFLARE_PY313T", "/var/lib/pyflare/py313t"), "bin", "python3.13t")
        return py if os.path.exists(py) else None
    found = [v for v in (os.listdir(PYENV) if os.path.isdir(PYENV) else []) if v.startswith(version + ".")]
    if not found:
        return None
    return os.path.join(PYENV, sorted(found)[-1], "bin", "python")


def target_command(version, script, work):
    """([interpreter, script], a directory the target can write) to run script
    under version, or (None, why not). 3.14 and 3.15 run in their Debian root
    (tests/sid_root.py), so script is copied into a directory there, which is
    also the one returned; other versions get work."""
    if version in ("3.14", "3.15"):
        found, missing = sid_root.interpreters("bench")
        if version not in found:
            return None, missing.get(version, "not installed")
        d = sid_root.mkdtemp("bench", "target-")
        shutil.copy(script, d)
        return [found[version], os.path.join(d, os.path.basename(script))], d
    py = python(version)
    return ([py, script], work) if py else (None, "not installed")


def build_c(tmp, name, source):
    """The executable tmp/name, built with cc -O2 from the C source given."""
    src, exe = os.path.join(tmp, name + ".c"), os.path.join(tmp, name)
    with open(src, "w") as f:
        f.write(source)
    subprocess.check_call(["cc", "-O2", "-o", exe, src])
    return exe


def require(version):
    """The interpreter for version, or None after printing why the bench skips it."""
    py = python(version)
    if not py:
        print("SKIP %s: not installed" % version)
    return py


def start(argv, settle=0.7):
    """Start a target and let it reach its steady state."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(settle)
    return p


def stop(p):
    p.kill()
    p.wait()


def run_timed(argv, seconds=None, stop_signal=signal.SIGINT):
    """Run a command (stopping it with stop_signal after `seconds` if given).
    Returns (cpu_seconds, stdout, stderr, wall_seconds, returncode). CPU time is
    the change in RUSAGE_CHILDREN across the run (commands run one at a time)."""
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    p = subprocess.Popen(argv, stdout=out, stderr=err)
    if seconds is not None:
        try:
            p.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            p.send_signal(stop_signal)
    rc = p.wait()
    wall = time.time() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out.seek(0)
    err.seek(0)
    return cpu, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"), wall, rc


def pyflare_summary(stderr):
    """(stacks, samples, seconds, achieved_hz, late) from pyflare's summary line."""
    m = SUMMARY.search(stderr)
    if not m:
        raise RuntimeError("no summary in pyflare's output:\n" + stderr)
    return int(m.group(1)), int(m.group(2)), float(m.group(3)), float(m.group(4)), int(m.group(6))


def table(rows, headers):
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    sys.stdout.flush()
