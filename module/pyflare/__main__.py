# -*- coding: utf-8 -*-
"""python -m pyflare [options] (script.py | -m module | -c code) [args...]

Runs a script (or module, or code as `python -c` does) as __main__ under
pyflare's deterministic profiler, like `python -m cProfile`, and writes the
profile when it ends, however it ends (return, exception, SystemExit,
Ctrl-C). The exit status is the script's. A child the script fork()s without
exec does not write the profile: it is the parent's.

The options are parsed by pyflare's one option table (src/cli/options.c,
through the extension module), so they are accepted, refused and explained
exactly as `pyflare trace` and every pyflare command does: see
`python -m pyflare --help`.
"""
import os
import sys
import types


def usage(message):
    sys.stderr.write("pyflare: %s (try 'python -m pyflare --help')\n" % message)
    sys.exit(2)


def parse(argv):
    """({option: value}, the script's words): from the table's parser."""
    from pyflare._tracer import _parse_args

    try:
        given, rest = _parse_args(list(argv))
    except ValueError as e:
        sys.stderr.write("pyflare: %s\n" % e)
        sys.exit(2)
    for key in ("help", "version"):
        if key in given:
            sys.stdout.write(given[key])
            sys.exit(0)
    opts = {"output": given.get("output"), "format": given["format"], "clock": given.get("clock", "wall"),
            "builtins": "no-builtins" not in given, "threads": "threads" in given, "quiet": "quiet" in given,
            "module": given.get("m"), "code": given.get("c"), "output_name": given.get("output-name")}
    return opts, argv[rest:]


def main():
    opts, rest = parse(sys.argv[1:])
    if opts["module"] is None and opts["code"] is None and not rest:
        usage("no script to run")
    from pyflare import Profile

    prof = Profile(clock=opts["clock"], builtins=opts["builtins"], threads=opts["threads"])
    out = opts["output"] or "-"
    fmt = opts["format"]  # resolved by the parser: --format, the output's name, or text
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
