# -*- coding: utf-8 -*-
"""python -m pyflare [options] (script.py | -m module | -c code) [args...]

Runs a script (or module, or code as `python -c` does) as __main__ under
pyflare's deterministic profiler, like `python -m cProfile`, and writes the
profile when it ends, however it ends (return, exception, SystemExit,
Ctrl-C). The exit status is the script's. A child the script fork()s without
exec does not write the profile: it is the parent's.

options:
  -o, --output FILE   where to write (format from the name: .callgrind,
                      .pstats/.prof, .svg, .html, .speedscope.json, .folded,
                      .text ...); default: a text report on standard output
  -f, --format NAME   the format, whatever the file is called
  --clock wall|cpu    elapsed time (default) or each thread's CPU time
  --no-builtins       do not time builtin (C) functions
  --threads           one root per thread in the call tree
  -q, --quiet         do not say where the profile went
(--output-name NAME: the name to say it went to; pyflare trace passes it
when OUT is reached through a descriptor.)
"""
import os
import sys
import types


def usage(message=None):
    if message:
        sys.stderr.write("pyflare: %s\n" % message)
    sys.stderr.write(__doc__.split("\n\n")[0].strip() + "\n")
    sys.exit(2)


def parse(argv):
    opts = {"output": None, "format": None, "clock": "wall", "builtins": True, "threads": False,
            "quiet": False, "module": None, "code": None, "output_name": None}
    i = 0
    # Options end at the script (or -m module): what follows is the script's.
    while i < len(argv):
        a = argv[i]
        value = None
        if a.startswith("--") and "=" in a:
            a, value = a.split("=", 1)
        if a in ("-h", "--help"):
            sys.stdout.write(__doc__)
            sys.exit(0)
        elif a in ("-o", "--output", "-f", "--format", "--clock", "-m", "-c", "--output-name"):
            if value is None:
                i += 1
                if i >= len(argv):
                    usage("%s needs a value" % a)
                value = argv[i]
            if a in ("-m", "-c"):
                opts["module" if a == "-m" else "code"] = value
                return opts, argv[i + 1:]
            opts[{"-o": "output", "--output": "output", "-f": "format", "--format": "format",
                  "--clock": "clock", "--output-name": "output_name"}[a]] = value
        elif a == "--no-builtins":
            opts["builtins"] = False
        elif a == "--threads":
            opts["threads"] = True
        elif a in ("-q", "--quiet"):
            opts["quiet"] = True
        elif a == "--":
            return opts, argv[i + 1:]
        elif a.startswith("-") and a != "-":
            usage("unknown option %s" % a)
        else:
            return opts, argv[i:]
        i += 1
    return opts, []


def main():
    opts, rest = parse(sys.argv[1:])
    if opts["module"] is None and opts["code"] is None and not rest:
        usage("no script to run")
    if opts["clock"] not in ("wall", "cpu"):
        usage("--clock must be wall or cpu")
    from pyflare import Profile

    prof = Profile(clock=opts["clock"], builtins=opts["builtins"], threads=opts["threads"])
    out = opts["output"] or "-"
    fmt = opts["format"] or (None if opts["output"] else "text")
    main_mod = None
    if opts["code"] is not None:
        code = compile(opts["code"], "<string>", "exec")
        script = "-c"
    elif opts["module"] is None:
        script = rest[0]
        try:
            with open(script, "rb") as f:
                source = f.read()
        except (IOError, OSError) as e:
            sys.stderr.write("pyflare: cannot run %s: %s\n" % (script, e.strerror or e))
            sys.exit(2)
        code = compile(source, script, "exec")
    if opts["module"] is None:
        # The script becomes __main__ (so pickling and `if __name__` work), with
        # its own directory first on sys.path, as `python script.py` does
        # (python -c: argv[0] is "-c" and the current directory comes first).
        main_mod = types.ModuleType("__main__")
        main_mod.__dict__.update({"__builtins__": __builtins__, "__package__": None})
        if opts["code"] is None:
            main_mod.__file__ = script
        # Python 2 clears a module's globals when it is freed: keep ours alive.
        ourselves = sys.modules["__main__"]  # noqa: F841
        sys.modules["__main__"] = main_mod
        if opts["code"] is None:
            sys.argv[:] = rest
            sys.path[0] = os.path.dirname(os.path.abspath(script))
        else:
            sys.argv[:] = ["-c"] + rest
            sys.path[0] = ""
    else:
        import runpy

        sys.argv[:] = [opts["module"]] + rest
        sys.path[0] = os.getcwd()

    pid = os.getpid()
    # Called right here, not through a helper, so the profile's root is the
    # script itself (under the builtin exec, as with cProfile).
    prof.enable()
    try:
        if main_mod is not None:
            exec(code, main_mod.__dict__)
        else:
            runpy.run_module(opts["module"], run_name="__main__", alter_sys=True)
    finally:
        prof.disable()
        # A fork()ed child ending here does not write: the profile is the parent's.
        if os.getpid() == pid:
            write(prof, out, fmt, opts["quiet"], opts["output_name"] or out)


def write(prof, out, fmt, quiet, shown):
    try:
        prof.write(out, format=fmt)
        if not quiet and out != "-":
            sys.stderr.write("pyflare: profile written to %s\n" % shown)
    except Exception as e:
        sys.stderr.write("pyflare: %s\n" % e)
        sys.exit(1)


if __name__ == "__main__":
    main()
