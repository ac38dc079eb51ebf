"""Shared helpers for the integration targets (runs on Python 2.7 and 3.6+).

Every target follows the same protocol, driven by tests/integration/run.py:

  python TARGET.py TRUTH_PATH [EXTRA...]

1. The target starts its threads (start_thread), each of which ends up
   "parked" forever: sleeping on a source line carrying the park marker
   (PARK_MARK below), or spinning in a loop whose lines all carry the spin
   marker (SPIN_MARK). Comments elsewhere must not contain the markers.
2. The main thread calls report_and_park(), which waits until every other
   thread's innermost frame sits on a marked line, takes sys._current_frames()
   and writes the target's own view of every stack (the "truth") to
   TRUTH_PATH atomically (temp file + rename), then parks itself.
3. The runner reads the truth, runs pyflare against the pid and compares.
   It kills the target afterwards; targets never exit by themselves.

Truth file format (JSON):
  {"pid": N, "python": "3.12.1", "executable": "...", "gil_enabled": bool,
   "threads": [{"thread_id": ident, "native_id": tid or null, "name": str,
                "state": "parked" | "spinning",
                "spin_lines": [line, ...],        # spinning threads only
                "frames": [{"function", "file", "line"}, ...innermost first]}]}
or {"skip": reason} / {"error": traceback text}.

Function names follow what pyflare reports: co_qualname on 3.11+, co_name
before. The main thread cannot observe itself parked, so its innermost line
is the marked line at the end of report_and_park() that it is about to sleep on; all
its outer frames are exact because they are suspended in calls.
"""
from __future__ import print_function

import json
import linecache
import os
import platform
import sys
import threading
import time
import traceback

PARK_MARK = "# park"
SPIN_MARK = "# spin"

# syscall numbers of gettid, used where threading.get_native_id is missing (<3.8)
_GETTID = {"x86_64": 186, "aarch64": 178, "i686": 224, "i386": 224}


def native_tid():
    """Linux thread id of the calling thread, or None if unknown."""
    get = getattr(threading, "get_native_id", None)
    if get is not None:
        return get()
    nr = _GETTID.get(platform.machine())
    if nr is None:
        return None
    try:
        import ctypes
        return int(ctypes.CDLL(None).syscall(nr))
    except Exception:
        return None


def park_forever():
    """Sleep forever on a marked line (a generic parking place)."""
    while True:
        time.sleep(3600)  # park


class TargetThread(threading.Thread):
    """A daemon thread that records its own Linux tid, then runs func(*args)."""

    def __init__(self, name, func, args):
        threading.Thread.__init__(self, name=name)
        self.daemon = True
        self.func = func
        self.args = args
        self.tid_seen = None

    def run(self):
        self.tid_seen = native_tid()
        self.func(*self.args)


def start_thread(name, func, *args):
    """Start a TargetThread named `name` running func(*args); return it."""
    t = TargetThread(name, func, args)
    t.start()
    return t


def function_name(code):
    """The name pyflare should report for a code object."""
    return getattr(code, "co_qualname", None) or code.co_name


def frame_list(frame):
    """A frame chain as a list of dicts, innermost first."""
    out = []
    while frame is not None:
        code = frame.f_code
        out.append({"function": function_name(code),
                    "file": code.co_filename,
                    "line": frame.f_lineno})
        frame = frame.f_back
    return out


def _source_line(filename, lineno):
    return linecache.getline(filename, lineno)


def _marked_lines(filename, marker):
    return [i + 1 for i, text in enumerate(linecache.getlines(filename))
            if marker in text]


def _state_of(frame):
    """'parked' / 'spinning' if the innermost frame is on a marked line."""
    if frame is None:
        return None
    text = _source_line(frame.f_code.co_filename, frame.f_lineno)
    if PARK_MARK in text:
        return "parked"
    if SPIN_MARK in text:
        return "spinning"
    return None


def write_json_atomically(path, obj):
    """Write obj as JSON to path so that readers never see a partial file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.rename(tmp, path)


def _wait_until_parked(threads, timeout):
    """Return a sys._current_frames() snapshot where every thread is parked."""
    deadline = time.time() + timeout
    while True:
        frames = sys._current_frames()
        pending = [t.name for t in threads
                   if t.ident is None or t.tid_seen is None
                   or _state_of(frames.get(t.ident)) is None]
        if not pending:
            return frames
        if time.time() > deadline:
            raise RuntimeError("threads never parked: %s" % ", ".join(pending))
        time.sleep(0.01)


def report_and_park(out_path, threads, timeout=60):
    """Write the truth for all threads once `threads` are parked, then park.

    Must be called from the main thread, as its last action."""
    snapshot = _wait_until_parked(threads, timeout)
    me = threading.current_thread()
    by_ident = dict((t.ident, t) for t in threading.enumerate())
    if set(by_ident) != set(snapshot):
        raise RuntimeError("threading.enumerate() and sys._current_frames() "
                           "disagree: %r vs %r" % (sorted(by_ident), sorted(snapshot)))
    tids = dict((t.ident, t.tid_seen) for t in threads)
    tids[me.ident] = os.getpid()

    out = []
    for ident in sorted(snapshot):
        t = by_ident[ident]
        entry = {"thread_id": ident, "native_id": tids.get(ident), "name": t.name}
        if ident == me.ident:
            # Our own stack, as it will be once we sleep on the marked line
            # below (the first park-marked line after this one in this file).
            frames = frame_list(sys._getframe())
            here = frames[0]
            here["line"] = [n for n in _marked_lines(here["file"], PARK_MARK)
                            if n > here["line"]][0]
            entry.update(state="parked", frames=frames)
        else:
            frame = snapshot[ident]
            entry.update(state=_state_of(frame), frames=frame_list(frame))
            if entry["state"] == "spinning":
                entry["spin_lines"] = _marked_lines(frame.f_code.co_filename,
                                                    SPIN_MARK)
        out.append(entry)
    del snapshot  # do not keep other threads' frames alive

    write_json_atomically(out_path, {
        "pid": os.getpid(),
        "python": platform.python_version(),
        "executable": sys.executable,
        # False on a free-threaded build running without its GIL (3.13t)
        "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
        "threads": out,
    })
    while True:
        time.sleep(3600)  # park


def skip(reason):
    """Tell the runner this scenario does not apply to this interpreter."""
    write_json_atomically(sys.argv[1], {"skip": reason})
    sys.exit(0)


def run(main):
    """Entry point of every target: main(argv) with crash reporting."""
    try:
        main(sys.argv)
    except SystemExit:
        raise
    except BaseException:
        write_json_atomically(sys.argv[1], {"error": traceback.format_exc()})
        raise
