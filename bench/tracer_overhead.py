#!/usr/bin/env python3
"""What pyflare's deterministic profiler adds to a program's run time, next to
cProfile (and yappi where Debian packages it), measured in the same process,
modes interleaved round by round, medians of CPU time (process_time, so time
spent waiting for a CPU on a busy machine does not count).

    python3 bench/tracer_overhead.py [ROUNDS]      (default 15; make builds the modules)

Workloads (bench/tracer_workload.py): recursive fib, and a mixed one (string
ops, dict/list work, small functions and methods, builtins). Every profiler
times builtins. For each interpreter it prints the baseline, the time each
profiler adds, and pyflare_added / cprofile_added: the requirement is < 1 on
every version (exit status 1 otherwise), the aim <= 0.5.

On 3.12+ (sys.monitoring) it also shows where pyflare's time goes, per call:
  dispatch   the interpreter delivering events to callbacks that do nothing
             (3 events per Python call: CALL, PY_START, PY_RETURN; 2 per
             builtin: CALL, C_RETURN) - a floor no sys.monitoring tool avoids;
  bookkeep   pyflare's own work without reading the clock;
  timer      the clock reads (the TSC where invariant, else clock_gettime;
             the main table also shows pyflare timing with clock_gettime);
  CALL@py    what the CALL events at call sites of Python functions cost
             (pyflare needs them only to see builtins, but cannot tell which
             sites will call one; measured by turning them off per site).
"""
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOAD = os.path.join(ROOT, "bench", "tracer_workload.py")
PYENV = "/root/.pyenv/versions"
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 15


def newest(minor):
    found = sorted((v for v in (os.listdir(PYENV) if os.path.isdir(PYENV) else []) if v.startswith(minor + ".")),
                   key=lambda v: [int(x) for x in v.split(".") if x.isdigit()])
    return os.path.join(PYENV, found[-1], "bin", "python") if found else None


def targets():
    out = [(m, newest(m)) for m in ("3.8", "3.11", "3.12", "3.13")]
    out.append(("debian-3.11", "/usr/bin/python3.11" if os.path.exists("/usr/bin/python3.11") else None))
    py313t = os.path.join(os.environ.get("PYFLARE_PY313T", "/var/lib/pyflare/py313t"), "bin", "python3.13t")
    out.append(("3.13t", py313t if os.path.exists(py313t) else None))  # free-threaded: the model lock
    wanted = os.environ.get("VERSIONS")
    return [t for t in out if t[0] in wanted.split(",")] if wanted else out


def module_dir(python):
    info = subprocess.run([python, os.path.join(ROOT, "module", "pyinfo.py")], stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.strip()
    if "|" not in info:
        return None, None
    tag, _, suffix = info.split("|")[:3]
    d = os.path.join(ROOT, "build", "module", tag)
    return (d if os.path.exists(os.path.join(d, "pyflare", "_tracer" + suffix)) else None), tag


def has_module(python, name):
    return subprocess.run([python, "-c", "import " + name], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def main():
    rows, breakdown, missed = [], [], []
    for label, python in targets():
        if python is None:
            print("SKIP %s: interpreter not installed" % label)
            continue
        mdir, tag = module_dir(python)
        if mdir is None:
            print("SKIP %s: no pyflare module built (run make)" % label)
            continue
        modes = ["base", "cprofile", "pyflare", "pyflare-mono", "pyflare-noop"]
        if has_module(python, "yappi"):
            modes.append("yappi")
        monitoring = [int(x) for x in tag.split(".")[:2]] >= [3, 12]
        if monitoring:
            modes += ["pyflare-notimer", "pyflare-sitedisable"]
        p = subprocess.run([python, WORKLOAD, str(ROUNDS)] + modes, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, env=dict(os.environ, PYTHONPATH=mdir))
        if p.returncode != 0:
            print("FAIL %s: %s" % (label, p.stderr.strip()[-500:]))
            missed.append(label)
            continue
        r = json.loads(p.stdout)
        for work in ("fib", "mixed"):
            med = dict((m, statistics.median(r[work][m]) * 1e3) for m in modes)
            base = med["base"]
            added = dict((m, med[m] - base) for m in modes)
            ratio = added["pyflare"] / added["cprofile"] if added["cprofile"] > 0 else float("nan")
            if not ratio < 1:
                missed.append("%s/%s" % (label, work))
            rows.append((label + " (" + tag + ")", work, base, added["cprofile"], added["pyflare"], ratio,
                         added["pyflare-noop"], added["pyflare-mono"], added.get("yappi")))
            if monitoring:
                # Differences of small costs: the minimum (least disturbed
                # round) estimates each better than the median.
                added = dict((m, min(r[work][m]) * 1e3 - min(r[work]["base"]) * 1e3) for m in modes)
                calls = r["calls"][work]
                n = calls["python"] + calls["builtin"]
                per = lambda ms: ms * 1e6 / n  # noqa: E731 (ms -> ns per call)
                breakdown.append((tag, work, calls["python"], calls["builtin"],
                                  3 * calls["python"] + 2 * calls["builtin"], per(added["pyflare"]),
                                  per(added["pyflare-noop"]), per(added["pyflare-notimer"] - added["pyflare-noop"]),
                                  per(added["pyflare"] - added["pyflare-notimer"]),
                                  per(added["pyflare"] - added["pyflare-sitedisable"]), per(added["cprofile"])))

    print("\nmedian of %d rounds, CPU ms; + = time added by the profiler" % ROUNDS)
    print("%-22s %-6s %7s %11s %10s %6s %8s %12s %8s" % ("python", "work", "base", "cProfile +", "pyflare +",
                                                          "ratio", "floor +", "gettime +", "yappi +"))
    for label, work, base, cp, pf, ratio, floor, mono, yp in rows:
        print("%-22s %-6s %7.1f %11.1f %10.1f %6.2f %8.1f %12.1f %8s" % (
            label, work, base, cp, pf, ratio, floor, mono, "-" if yp is None else "%.1f" % yp))
    print("(floor: pyflare installed but doing nothing - what the interpreter's hook or event delivery\n"
          " costs any profiler; gettime: pyflare timing with clock_gettime instead of the TSC)")
    if breakdown:
        print("\n3.12+: where pyflare's added time goes, ns per call (python + builtin calls; minimum of rounds)")
        print("%-8s %-6s %8s %8s %8s %8s | %8s %8s %8s | %8s %9s" % (
            "python", "work", "py calls", "builtin", "events", "pyflare", "dispatch", "bookkeep", "timer",
            "CALL@py", "cProfile"))
        for b in breakdown:
            print("%-8s %-6s %8d %8d %8d %8.0f | %8.0f %8.0f %8.0f | %8.0f %9.0f" % b)
        print("(dispatch: no-op callbacks; bookkeep: all but clock reads; timer: clock reads;\n"
              " CALL@py: share of the total spent on CALL events at sites calling Python functions)")
    ok = not missed
    print("\nrequirement (pyflare adds less than cProfile everywhere): %s" % (
        "met" if ok else "MISSED for " + ", ".join(missed)))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
