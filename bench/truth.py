#!/usr/bin/env python3
"""Are the stacks pyflare records at 100 kHz the target's own? (What it
caches across samples must stay exact.)

    python3 bench/truth.py [SECONDS]

tests/record/targets/known_stacks.py visits stacks of 5 to 160 distinct functions in turn,
recompiling them every 250 ms (freed code objects, reused addresses), and
knows every stack it can be in and the CPU and wall time spent in each shape.
pyflare records it with --rate 100000 for SECONDS (default 5), once with
--idle (every sample counts one: wall time) and once by default (stacks
weighed by CPU time); then, for every recorded stack that passes through
run_shape():
  illegal  weight of stacks the target cannot be in: each frame (file, line,
           function) must be as the target's own traceback has it, the
           innermost frame's line aside (it moves);
  shares   each shape's share of the recorded weight beside the share of
           wall (--idle) or CPU time the target measured there: the largest
           difference, in points (on a loaded machine CPU shares are the
           noisier: a thread waiting for a CPU is weighed by the kernel's
           accounting, which moves in scheduler ticks).
Prints the achieved rate, pyflare's CPU per sample, the illegal weight (with
examples) and the largest share error. Figures only: nothing is asserted.
Interpreters: VERSIONS (default 3.8,3.12,3.15; 3.14/3.15 from the Debian sid
root under chroot)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from common import PYFLARE, ROOT, pyflare_summary, run_timed, table, target_command

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
RATE = 100000
VERSIONS = os.environ.get("VERSIONS", "3.8,3.12,3.15").split(",")
TARGET = os.path.join(ROOT, "tests", "record", "targets", "known_stacks.py")


def parse_folded(path):
    """[(frames, weight)], frames root first as (file, line, function)."""
    out = []
    with open(path) as f:
        for line in f:
            stack, _, weight = line.rstrip("\n").rpartition(" ")
            frames = []
            for frame in stack.split(";"):
                name, _, where = frame.rpartition(" (")
                file, _, lineno = where.rstrip(")").rpartition(":")
                frames.append((os.path.basename(file), int(lineno) if lineno.isdigit() else -1, name))
            out.append((frames, int(weight)))
    return out


def legal(frames, truth):
    n = len(frames)
    for t in truth:
        if len(t) >= n and all(tuple(t[i]) == frames[i] for i in range(n - 1)) and \
                (t[n - 1][0], t[n - 1][2]) == (frames[-1][0], frames[-1][2]):
            return True
    return False


def run(version, tmp, idle):
    cmd, work = target_command(version, TARGET, tmp)
    if not cmd:
        return None, work
    ready, truth_path = os.path.join(work, "ready.json"), os.path.join(work, "truth.json")
    for p in (ready, truth_path):
        if os.path.exists(p):
            os.unlink(p)
    target = subprocess.Popen(cmd + [ready, truth_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while not os.path.exists(ready):
            if target.poll() is not None or time.time() > deadline:
                return None, "the target did not start"
            time.sleep(0.05)
        out = os.path.join(tmp, "truth.folded")
        cpu, _, err, _, rc = run_timed([PYFLARE, "record", "--pid", str(target.pid), "--rate", str(RATE),
                                        "--duration", str(SECONDS), "-f", "folded", "-o", out] +
                                       (["--idle"] if idle else []))
        stacks_n, ticks, secs, hz, late = pyflare_summary(err)
        target.send_signal(signal.SIGTERM)
        target.wait(timeout=30)
        with open(truth_path) as f:
            truth = json.load(f)
    finally:
        if target.poll() is None:
            target.kill()
            target.wait()
    recorded = parse_folded(out)
    shapes = len(truth["shapes"])
    leaf_weight = [0] * shapes
    checked = illegal = outside = 0
    examples = []
    for frames, weight in recorded:
        if not any(f[2] == "run_shape" for f in frames) or any(f[2] == "note" for f in frames[:-1]):
            outside += weight
            continue
        checked += weight
        if not legal(frames, truth["stacks"]):
            illegal += weight
            if len(examples) < 3:
                examples.append(";".join("%s:%d:%s" % f for f in frames[-4:]))
            continue
        for f in frames:  # the shape: the first of its functions (s_SHAPE_LEVEL or leaf_SHAPE)
            if f[2].startswith(("s_", "leaf_")):
                leaf_weight[int(f[2].split("_")[1])] += weight
                break
    own = truth["wall" if idle else "cpu"]
    total_leaf, total_own = float(sum(leaf_weight)) or 1.0, sum(own) or 1.0
    errors = [100.0 * (leaf_weight[s] / total_leaf - own[s] / total_own) for s in range(shapes)]
    worst = max(errors, key=abs)
    row = [version, "idle/wall" if idle else "CPU", "%.0f" % hz, "%.2f" % (cpu / ticks * 1e6), ticks, checked, illegal,
           "%.1f%%" % (100.0 * outside / max(1, outside + checked)), "%+.2f" % worst]
    return (row, examples), None


def main():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for version in VERSIONS:
            for idle in (True, False):
                result, why = run(version, tmp, idle)
                if not result:
                    print("SKIP %s: %s" % (version, why))
                    break
                row, examples = result
                rows.append(row)
                for e in examples:
                    print("  %s illegal stack (innermost 4): %s" % (version, e))
    if rows:
        table(rows, ["python", "mode", "achieved Hz (of %d)" % RATE, "us/sample (CPU)", "samples", "weight checked",
                     "illegal", "outside run_shape", "worst share error (points)"])


if __name__ == "__main__":
    main()
