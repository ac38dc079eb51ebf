# -*- coding: utf-8 -*-
"""pyflare's in-process deterministic profiler.

Like cProfile, it sees every call (exact call counts), but it is written to
cost less, and it fills pyflare's profile model, so every pyflare output
format works on it (pyflare.formats() lists them: name, extension, media
type, binary).

    import pyflare
    with pyflare.Profile() as p:          # or p.enable() ... p.disable()
        work()
    p.write("out.callgrind")               # format from the name, or format=...
    p.stats()                              # {(file, line, name): {calls, self_ns, total_ns, ...}}

    @pyflare.profile(output="f.svg")       # profile one function, write at exit
    def f(): ...

    python -m pyflare -o out.pstats script.py args...

    c = pyflare.load("x.pyflare")          # a capture from `pyflare record`/`trace`
    c.write("x.svg")                       # what `pyflare convert x.pyflare x.svg` writes
    c.meta                                 # mode, rate_hz, command, python, start_unix_ns, ...
    c.stats()                              # per function, as pstats/text aggregate it
    for time_ns, thread, node, weight in c.samples(): ...   # in time order

Profile(clock='wall', builtins=True, threads=False, all_threads=True):
  clock        'wall' (elapsed time) or 'cpu' (the thread's CPU time)
  builtins     also time builtin (C) functions, named like cProfile does
  threads      one root node per thread; otherwise threads share one call
               tree (like cProfile) and are only listed
  all_threads  profile every thread; otherwise only the one calling enable()

Generators and coroutines count one call per start; resuming one is not a new
call (cProfile counts each resumption) and suspended time is not counted.
Only one Profile can be enabled at a time (on 3.12+ it holds
sys.monitoring's profiler tool id, which cProfile also wants). Before 3.12 a
thread has a single profile hook: enable() refuses (RuntimeError, one line)
while another profiler (cProfile, sys.setprofile, threading.setprofile) is
active, and disable() warns (RuntimeWarning) if one took the hook over
meanwhile, leaving it in place. enable() and disable() may be called from any
thread. A fork()ed child stops profiling; its copy of the profile cannot be
written (RuntimeError) or enabled again until clear()ed.
"""
import atexit
import functools
import os
import sys

from pyflare._tracer import Capture, Profile, backend, formats
from pyflare import _tracer

__all__ = ["Capture", "Profile", "load", "profile", "backend", "formats"]


def load(path):
    """Open a pyflare capture (.pyflare, from `pyflare record -o x.pyflare`,
    `pyflare trace`, Profile.write or `pyflare convert`): a Capture, read
    whole by the same reader the pyflare command uses.

    Capture: .meta (dict: mode 'sampled'/'traced', rate_hz, period_ns,
    weight_unit, cpu_weighted, cpu_ns, command, python, start_unix_ns,
    duration_ns, samples, total_weight, format_version, title, subtitle,
    has_sources), .write(path, format=None, title=None) (byte for byte what
    `pyflare convert` writes), .stats() ({(file, firstline, name): {calls,
    primitive_calls, self, total, self_ns, total_ns, builtin, kind, origin}},
    recursion counted once, as pstats), .tree() (Profile.tree()'s rows, in
    the capture's weight unit), .samples() (an iterator of (time_ns, thread,
    node, weight) in time order), .stack(node) ([(function id, line)],
    outermost first), .functions() ([(name, file, firstline, kind, origin)]
    by function id), .threads(), .processes().

    A truncated or corrupt file raises ValueError naming the offset; a file
    that cannot be opened, OSError."""
    return _tracer._load(path)


def profile(fn=None, output=None, format=None, clock="wall", builtins=True, immediate=False):
    """Decorator: profile every call of one function (the calling thread only).

    Calls accumulate in one profile, written at interpreter exit (or after each
    outermost call with immediate=True) to `output` in `format` (default: from
    the file name); without output, a text report goes to standard output. The
    profile is the wrapper's `.profile` attribute. While another pyflare
    profile is enabled the function runs unprofiled, as it is already seen."""

    def decorate(f):
        prof = Profile(clock=clock, builtins=builtins, all_threads=False)
        state = {"depth": 0, "ran": False}
        path = output or "-"
        fmt = format or (None if output else "text")

        def write():
            # A fork()ed child exiting does not write the parent's profile.
            if state["ran"] and os.getpid() == state["pid"]:
                try:
                    prof.write(path, format=fmt)
                except Exception as e:  # at exit nobody can catch it: say it
                    sys.stderr.write("pyflare: %s\n" % e)

        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            if state["depth"]:  # recursion: the outermost call is profiling
                return f(*args, **kwargs)
            try:
                prof.enable()
            except RuntimeError:
                return f(*args, **kwargs)
            state["depth"] = 1
            if not state["ran"]:
                state["ran"], state["pid"] = True, os.getpid()
            try:
                return f(*args, **kwargs)
            finally:
                prof.disable()
                state["depth"] = 0
                if immediate:
                    write()

        if not immediate:
            atexit.register(write)
        wrapper.profile = prof
        return wrapper

    return decorate(fn) if fn is not None else decorate
