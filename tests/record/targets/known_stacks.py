"""A target that knows its own stacks, for bench/truth.py and tests/record/run.py
(Python 3.7+).

    python known_stacks.py READY_PATH TRUTH_PATH [SECONDS]


Its main thread visits SHAPES (stacks of 3 to 160 distinct functions) round
after round; at the bottom of each, a leaf spins for (shape + 1) x 0.3 ms of
the thread's CPU time, measured by the target itself. Every GENERATION_S the
functions are compiled anew from source (alternately as gen0.py, gen1.py and
gen2.py, each with its lines shifted), so freed code objects make room for new
ones at reused addresses while a sampler keeps its caches across samples.

The truth: every stack the thread can be in (as traceback sees it, taken at
each leaf of each variant once) and the CPU and wall time spent in each
shape (from run_shape's call to its return).
READY_PATH ("-": none) is written once every variant has been visited;
TRUTH_PATH on SIGTERM, which ends the target, or after SECONDS when given."""
import json
import os
import signal
import sys
import time
import traceback

SHAPES = [3, 10, 40, 100, 160]
VARIANTS = 3
GENERATION_S = 0.25
ready_path, truth_path = sys.argv[1], sys.argv[2]
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else None

cpu = [0.0] * len(SHAPES)
wall = [0.0] * len(SHAPES)
stacks = {}  # (variant, shape) -> its stack, as [[file, line, function], ...] root first


def source(variant):
    """Shape s: s_<s>_<depth-1> calls ... s_<s>_1, which calls leaf_<s>."""
    lines = ["\n" * (variant * 3)]
    for s, depth in enumerate(SHAPES):
        lines.append("def leaf_%d(until, clock, note):\n"
                     "    note(%d, %d)\n"
                     "    x = 0\n"
                     "    while clock() < until:\n"
                     "        x += 1\n"
                     "    return x\n" % (s, variant, s))
        lines.append("def s_%d_1(until, clock, note):\n    return leaf_%d(until, clock, note)\n" % (s, s))
        for level in range(2, depth - 3):  # <module>, main, run_shape and the leaf take 4 levels
            lines.append("def s_%d_%d(until, clock, note):\n    return s_%d_%d(until, clock, note)\n"
                         % (s, level, s, level - 1))
    return "".join(lines)


def note(variant, shape):
    """Called by each leaf: keeps the stack it is in, note() itself innermost
    (once per variant and shape: the same source gives the same stack)."""
    if (variant, shape) not in stacks:
        frames = traceback.extract_stack(sys._getframe(0))
        stacks[(variant, shape)] = [[os.path.basename(f[0]), f[1], f[2]] for f in frames]


def run_shape(namespace, shape, quantum):
    top = namespace["s_%d_%d" % (shape, max(1, SHAPES[shape] - 4))]
    start, wall_start = time.thread_time(), time.time()
    top(start + quantum, time.thread_time, note)
    cpu[shape] += time.thread_time() - start
    wall[shape] += time.time() - wall_start


def write_truth(signum, frame):
    with open(truth_path + ".tmp", "w") as f:
        json.dump({"shapes": SHAPES, "cpu": cpu, "wall": wall, "stacks": list(stacks.values())}, f)
    os.rename(truth_path + ".tmp", truth_path)
    os._exit(0)


def main():
    signal.signal(signal.SIGTERM, write_truth)
    generation, until = 0, time.time() + seconds if seconds else None
    while True:
        variant = generation % VARIANTS
        namespace = {}
        exec(compile(source(variant), "gen%d.py" % variant, "exec"), namespace)
        end = time.time() + GENERATION_S
        while time.time() < end:
            for shape in range(len(SHAPES)):
                run_shape(namespace, shape, (shape + 1) * 0.0003)
        generation += 1
        if until and time.time() >= until:
            write_truth(None, None)
        if generation == VARIANTS and ready_path != "-":
            with open(ready_path + ".tmp", "w") as f:
                json.dump({"pid": os.getpid()}, f)
            os.rename(ready_path + ".tmp", ready_path)


main()
