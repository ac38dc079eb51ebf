"""The target of tests/native (Python 2.7 and 3.6+): runs known Python
functions around the test extensions' known native ones and says itself what
it is doing.

  native_target.py EXTDIR stack MODULE READY
      main -> py_outer -> MODULE.call_back(py_callback) -> py_callback ->
      py_inner -> MODULE.spin(): writes READY (JSON: the stack it is in,
      outermost first, as its own traceback has it, with the native functions
      the module's source puts between) and spins there until killed.
  native_target.py EXTDIR lost READY
      the same chain through nativemod, but py_inner calls nativemod.lost():
      spins in pf_lost_spin, whose stack no unwinder can follow.
  native_target.py EXTDIR threads READY
      two threads spin at once without the GIL: "chain" runs main's chain
      above, writing READY-chain.json, and "direct" calls nativemod.spin()
      from t_direct(), writing READY-direct.json; the main thread sleeps.
  native_target.py EXTDIR split READY SECONDS
      alternates py_work() (pure Python) and nativemod.burn() (C, pf_burn_leaf)
      for SECONDS of CPU, timing each with its own thread CPU clock, then
      writes READY: {"py_work": s, "pf_burn_leaf": s} and exits.
  native_target.py EXTDIR busy READY
      the same alternation for ever; writes READY once running.
  native_target.py EXTDIR churn READY SECONDS
      for SECONDS (wall clock), threads that live a millisecond or so each
      (churn_thread: py_work, then nativemod.burn), two at a time, while the
      main thread does the same; writes READY once running, then exits.
"""
import json
import os
import sys
import threading
import time
import traceback

sys.path.insert(0, sys.argv[1])
MODE = sys.argv[2]

# The native functions each module's source calls in, innermost last.
NATIVE = {
    "nativemod": (["nat_call_back", "pf_call_middle"], ["nat_spin", "pf_spin_outer", "pf_spin_leaf"]),
    "cppmod": (["cpp_call_back", "pfns::Caller<int>::invoke(_object*)"],
               ["cpp_spin", "long pfns::spin_tpl<long>(long)"]),
    "nativemod_stripped": ([], []),  # no names: the suite expects none
    "lost": (["nat_call_back", "pf_call_middle"], ["nat_lost", "pf_lost_spin"]),
}


def write_json(path, doc):
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f)
    os.rename(path + ".tmp", path)


def cpu():
    return time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID) if hasattr(time, "clock_gettime") else time.clock()


def say_stack(module, ready):
    """The stack this thread is in (the caller's line is where it calls spin)."""
    frames = []
    for entry in traceback.extract_stack()[:-1]:
        name, line = entry[2], entry[1]
        frames.append({"function": name, "line": line, "native": False})
        if name == "py_outer":
            frames.extend({"function": n, "native": True} for n in NATIVE[module][0])
    frames.extend({"function": n, "native": True} for n in NATIVE[module][1])
    tid = threading.get_native_id() if hasattr(threading, "get_native_id") else None
    write_json(ready, {"pid": os.getpid(), "tid": tid, "frames": frames})
    return False


MOD = None
READY = None


SPIN = "spin"


def py_inner():
    say_stack(MOD.__name__ if SPIN == "spin" else SPIN, READY) or getattr(MOD, SPIN)()


def py_callback():
    py_inner()


def py_outer():
    MOD.call_back(py_callback)


def main():
    py_outer()


def py_work(n):
    x = 0
    for i in range(n):
        x += i * i
    return x


def alternate(seconds, ready, say_ready):
    import nativemod
    spent = {"py_work": 0.0, "pf_burn_leaf": 0.0}
    if say_ready:
        write_json(ready, {"pid": os.getpid()})
    # Phases of about 100 ms, so the clock is read rarely (a read is
    # a system call, and under a profiler that stops the thread it costs; with
    # 30 ms phases py_work came out 1-2 points low on every interpreter).
    while seconds is None or spent["py_work"] + spent["pf_burn_leaf"] < seconds:
        t0 = cpu()
        py_work(1000000)
        t1 = cpu()
        nativemod.burn(100000000)
        t2 = cpu()
        spent["py_work"] += t1 - t0
        spent["pf_burn_leaf"] += t2 - t1
    return spent


def t_direct():
    say_stack("nativemod", READY_DIRECT) or MOD.spin()


def churn_thread():
    import nativemod
    py_work(2000)
    nativemod.burn(200000)


def churn(seconds, ready):
    import nativemod
    write_json(ready, {"pid": os.getpid()})
    end = time.time() + seconds
    while time.time() < end:
        pair = [threading.Thread(target=churn_thread) for _ in range(2)]
        for t in pair:
            t.start()
        py_work(2000)
        nativemod.burn(200000)
        for t in pair:
            t.join()


if MODE == "stack":
    MOD, READY = __import__(sys.argv[3]), sys.argv[4]
    main()
elif MODE == "lost":
    MOD, READY, SPIN = __import__("nativemod"), sys.argv[3], "lost"
    main()
elif MODE == "threads":
    MOD = __import__("nativemod")
    READY, READY_DIRECT = sys.argv[3] + "-chain.json", sys.argv[3] + "-direct.json"
    for target, name in ((main, "chain"), (t_direct, "direct")):
        t = threading.Thread(target=target, name=name)
        t.daemon = True
        t.start()
    time.sleep(3600)
elif MODE == "split":
    write_json(sys.argv[3], alternate(float(sys.argv[4]), None, False))
elif MODE == "churn":
    churn(float(sys.argv[4]), sys.argv[3])
elif MODE == "busy":
    alternate(None, sys.argv[3], True)
