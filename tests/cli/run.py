#!/usr/bin/env python3
"""tests/cli/run.py — every command takes the same option the same way.

    PYFLARE=build/pyflare PYFLARE_BUILD=build python3 tests/cli/run.py [FILTER...]

The commands: dump, record, Pyflame's short form, flamegraph, convert, diff,
trace and `python -m pyflare` (the tracer module built for the Python running
this suite, from PYFLARE_BUILD/module/<version>/). The truth is the ranges
README documents, written here, not read from the program:
  ranges     each numeric option at its range edges (accepted) and beyond,
             not a number, empty, nan, inf (refused): the same exit status
             and the same one error line from every command that takes it;
             and a command that does not take an option says so, in one line.
             Acceptance is seen without doing any work: an unknown option put
             last is what an accepted value leads to.
  choices    --clock and --format: the same acceptance and the same error.
  version    --version on every command (and on none): one line, the same.
  help       --help on every command: usage, exit 0; the formats it lists are
             the formats the 'unknown format' error lists, and each extension
             listed makes a file of that format (checked by its magic).
  spellings  -oFILE, -o FILE, --output=FILE, --output FILE alike; '--' and '-'.
  terminal   a binary format (pprof, pstats) to a terminal (a pty made here,
             also named as a path) is refused by every command that can write
             one, with one line, and nothing is written to the terminal.
FILTER words keep the tests whose name contains one.
Last line: "cli: N passed, N failed, N skipped"; exit status 1 on failure.
"""
import gzip
import marshal
import os
import pty
import re
import select
import subprocess
import sys
import sysconfig
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402  (the build under test, results, the summary line)
from harness import BUILD, PYFLARE, Skip  # noqa: E402

FORMATS = ["svg", "html", "folded", "speedscope", "callgrind", "pprof", "pstats", "text", "pyflare"]
AFTER = "--zz-after"  # no command knows it: reaching it means everything before was accepted

suite = harness.Suite("cli", sys.argv[1:])
TMP = tempfile.mkdtemp(prefix="pyflare-cli-")


def module_dir():
    tag = "%d.%d.%d" % sys.version_info[:3] + getattr(sys, "abiflags", "")
    d = os.path.join(BUILD, "module", tag)
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    return d if os.path.exists(os.path.join(d, "pyflare", "_tracer" + suffix)) else None


MODULE = module_dir()
# Under `make asan` the module has the sanitizers and the interpreter not: preload their runtime.
ASAN_RT_FILE = os.path.join(BUILD, "module", "asan-runtime")
ASAN_RT = open(ASAN_RT_FILE).read().strip() if os.path.exists(ASAN_RT_FILE) else None


def env_for(argv):
    """The environment for argv: the module on the path; for the interpreter
    itself (never pyflare, which links its own runtime) the sanitizer runtime."""
    env = dict(os.environ)
    if MODULE:
        env["PYTHONPATH"] = MODULE
    if ASAN_RT and argv[0] == sys.executable:
        env.update(LD_PRELOAD=ASAN_RT, ASAN_OPTIONS="detect_leaks=0")
    return env


def run(argv, stdout=subprocess.PIPE, timeout=30):
    env = env_for(argv)
    r = subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout,
                       env=env, cwd=TMP)
    return r.returncode, (r.stdout or b"").decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


FOLDED = os.path.join(TMP, "in.folded")
with open(FOLDED, "w") as f:
    f.write("main;work 3\nmain;idle 1\n")

# How to call each command: the words before and after the option under test.
# Every form is complete, so an accepted option leads to the AFTER option's error.
COMMANDS = {
    "dump": (["dump"], ["-p", "1"]),
    "record": (["record"], ["-p", "1"]),
    "pyflame": ([], ["-p", "1"]),  # pyflare -x -s 5 -p PID
    "flamegraph": (["flamegraph"], [FOLDED]),
    "convert": (["convert"], [FOLDED, "out.svg"]),
    "diff": (["diff"], [FOLDED, FOLDED]),
    "trace": (["trace"], []),  # options end at the command, so AFTER goes before it
    "module": (None, []),
}


def command_line(cmd, words):
    before, after = COMMANDS[cmd]
    if cmd == "module":
        return [sys.executable, "-m", "pyflare"] + words + [AFTER, "-c", "pass"]
    if cmd == "trace":
        return [PYFLARE, "trace"] + words + [AFTER, "--", "python3", "-c", "pass"]
    return [PYFLARE] + before + words + after + [AFTER]


def outcome(cmd, words):
    """'accepted', or the one error line (status 2) the words were refused with."""
    rc, _, err = run(command_line(cmd, words))
    lines = err.strip().splitlines()
    check(len(lines) == 1, "%s %s: expected one line on stderr, got %r" % (cmd, words, err))
    check(rc == 2, "%s %s: exit status %d, expected 2 (%s)" % (cmd, words, rc, lines[0]))
    if "unknown option '%s'" % AFTER in lines[0]:
        return "accepted"
    return lines[0]


# option: (the commands that take it, accepted values, refused values)
NUMERIC = {
    "--minwidth": (["record", "pyflame", "flamegraph", "convert", "diff"], ["0", "1200", "0.1"],
                   ["-0.001", "1200.5", "10000", "abc", "", "nan", "inf"]),
    "--rate": (["record", "pyflame", "convert"], ["0.001", "1000000", "100"],
               ["0", "0.0009", "1000001", "-5", "x", "", "nan"]),
    "--duration": (["record", "pyflame"], ["0.001", "1000000000"], ["0", "1e10", "x", ""]),
    "--seconds": (["record", "pyflame"], ["0.001", "1000000000"], ["0", "1e10"]),
    "--rate-interval": (["pyflame"], ["0.000001", "1000"], ["0", "1001", "x"]),
}
CHOICES = {
    "--clock": (["trace", "module"], ["wall", "cpu"], ["WALL", "x", ""]),
    "--format": (["record", "pyflame", "convert", "trace", "module"], FORMATS, ["nope", "SVG", "", "json"]),
    "--pid": (["dump", "record", "pyflame"], ["1", "2147483647"], ["0", "-5", "abc", "", "2147483648", "12x"]),
}
ALL = list(COMMANDS)


def t_values(option, takers, good, bad):
    problems, refusals = [], {}
    for cmd in ALL:
        if cmd not in takers:
            got = outcome(cmd, [option, good[0]])
            if "unknown option '%s'" % option not in got:
                problems.append("%s does not take %s, yet says: %s" % (cmd, option, got))
            continue
        for v in good:
            for words in ([option, v], ["%s=%s" % (option, v)]):
                got = outcome(cmd, words)
                if got != "accepted":
                    problems.append("%s %s: refused: %s" % (cmd, " ".join(words), got))
        for v in bad:
            got = outcome(cmd, [option, v])
            if got == "accepted":
                problems.append("%s %s %r: accepted" % (cmd, option, v))
            elif option not in got:
                problems.append("%s %s %r: the error does not name the option: %s" % (cmd, option, v, got))
            refusals.setdefault(v, {}).setdefault(got, []).append(cmd)
    differing = {v: lines for v, lines in refusals.items() if len(lines) > 1}
    if differing:
        problems.append("commands refuse the same value differently: %r" % differing)
    check(not problems, "\n  ".join(problems))


def t_missing_value(option, takers):
    lines = {}
    for cmd in takers:
        argv = command_line(cmd, [])
        if cmd in ("trace", "module"):  # nothing may follow: the script's words would
            argv = argv[:argv.index(AFTER)] + [option]
        else:
            argv.remove(AFTER)
            argv.append(option)
        rc, _, err = run(argv)
        check(rc == 2 and len(err.strip().splitlines()) == 1 and option in err,
              "%s: %s without a value: exit %d, %r" % (cmd, option, rc, err))
        lines.setdefault(err.strip(), []).append(cmd)
    check(len(lines) == 1, "%s without a value is refused differently: %r" % (option, lines))


def t_version():
    seen = {}
    for cmd in ALL + ["none"]:
        if cmd == "none":
            argv = [PYFLARE, "--version"]
        elif cmd == "module":
            argv = [sys.executable, "-m", "pyflare", "--version"]
        else:
            argv = [PYFLARE] + COMMANDS[cmd][0] + ["--version"]
        rc, out, err = run(argv)
        check(rc == 0 and re.match(r"^pyflare \d+\.\d+\.\d+\n$", out) and not err,
              "%s --version: exit %d, out %r, err %r" % (cmd, rc, out, err))
        seen.setdefault(out, []).append(cmd)
    check(len(seen) == 1, "--version differs: %r" % seen)


def help_of(cmd):
    if cmd == "module":
        argv = [sys.executable, "-m", "pyflare", "--help"]
    else:  # (Pyflame's form: after an option of its own, or it is pyflare's own --help)
        argv = [PYFLARE] + (COMMANDS[cmd][0] or ["-p", "1"]) + ["-h"]
    rc, out, err = run(argv)
    check(rc == 0 and out.startswith("usage:"), "%s --help: exit %d, %r %r" % (cmd, rc, out[:200], err))
    return out


def t_help():
    _, _, err = run([PYFLARE, "convert", "--format", "nope", FOLDED, "x.svg"])
    listed = re.search(r"\(formats: ([^)]*)\)", err)
    check(listed and listed.group(1).split() == FORMATS, "the unknown-format error lists %r" % err)
    for cmd in ALL:
        text = help_of(cmd)
        for option in list(NUMERIC) + list(CHOICES):
            takers = (NUMERIC.get(option) or CHOICES[option])[0]
            shown = re.search(r"(^|[ ,])%s\b" % re.escape(option), text, re.M) is not None
            check(shown == (cmd in takers), "%s --help %s %s" % (cmd, "lists" if shown else "omits", option))
        if cmd in CHOICES["--format"][0]:
            names = re.findall(r"^  (\w+) +.*\((\.[^)]*)\)$", text.split("\nformats")[-1], re.M)
            check([n for n, _ in names] == FORMATS, "%s --help lists formats %r" % (cmd, names))


MAGIC = {
    "svg": lambda b: b"<svg" in b[:400],
    "html": lambda b: b[:15].lower().startswith(b"<!doctype html"),
    "folded": lambda b: b.startswith(b"main;"),
    "speedscope": lambda b: b.lstrip().startswith(b"{") and b"speedscope" in b[:200],
    "callgrind": lambda b: b"events:" in b,
    "pprof": lambda b: b[:2] == b"\x1f\x8b" and len(gzip.decompress(b)) > 0,
    "pstats": lambda b: isinstance(marshal.loads(b), dict),
    "text": lambda b: b"main" in b and not b.startswith(b"main;"),
    "pyflare": lambda b: b[:8] == b"\x89PYFLARE",
}


def t_extensions():
    """Each extension the help lists selects its format: the file written is that format."""
    text = help_of("convert").split("\nformats")[-1]
    rows = re.findall(r"^  (\w+) +.*\(([^)]*)\)$", text, re.M)
    check(rows, "no formats in convert --help")
    for name, exts in rows:
        for ext in exts.split():
            base = ext.rstrip("*") + "1" if ext.endswith("*") else "out" + ext.upper()
            path = os.path.join(TMP, base)
            rc, _, err = run([PYFLARE, "convert", "--rate", "100", FOLDED, path])
            check(rc == 0, "convert to %s: %s" % (base, err))
            with open(path, "rb") as f:
                data = f.read()
            check(MAGIC[name](data), "%s (listed for %s) is not %s: %r" % (base, name, name, data[:60]))


def t_spellings():
    """-oFILE, -o FILE, --output=FILE and --output FILE are one option; after '--' a
    word that looks like an option is a file; '-' is standard input."""
    written = {}
    for i, words in enumerate((["-oa%d.svg"], ["-o", "a%d.svg"], ["--output=a%d.svg"], ["--output", "a%d.svg"])):
        words = [w % i if "%d" in w else w for w in words]
        rc, _, err = run([PYFLARE, "flamegraph", "--title", "t"] + words + [FOLDED])
        path = os.path.join(TMP, "a%d.svg" % i)
        check(rc == 0 and os.path.exists(path), "flamegraph %s: exit %d, %r" % (" ".join(words), rc, err))
        with open(path, "rb") as f:
            written[" ".join(words)] = f.read()
    check(len(set(written.values())) == 1, "the spellings wrote different files: %r" % list(written))
    odd = os.path.join(TMP, "-odd.folded")
    with open(odd, "w") as f:
        f.write("main;x 2\n")
    rc, out, err = run([PYFLARE, "convert", "-f", "folded", "--", "-odd.folded", "-"])
    check(rc == 0 and out == "main;x 2\n", "convert -- -odd.folded -: exit %d, %r %r" % (rc, out, err))
    with open(FOLDED, "rb") as f:
        r = subprocess.run([PYFLARE, "convert", "-f", "folded", "-", "-"], stdin=f, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
    check(r.returncode == 0 and sorted(r.stdout.split(b"\n")) == sorted(open(FOLDED, "rb").read().split(b"\n")),
          "convert - -: exit %d, %r %r" % (r.returncode, r.stdout, r.stderr))


def on_terminal(argv):
    """(exit status, stderr, bytes the terminal got): argv with a pty as standard output."""
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env_for(argv),
                         cwd=TMP)
    os.close(slave)
    got = b""
    err = p.stderr.read()
    p.wait(timeout=30)
    while select.select([master], [], [], 0.2)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    os.close(master)
    return p.returncode, err.decode("utf-8", "replace"), got


def t_terminal():
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        pid = str(sleeper.pid)
        for fmt in ("pprof", "pstats"):
            forms = {
                "record": [PYFLARE, "record", "-f", fmt, "-o", "-", "-p", pid, "-d", "0.1"],
                "pyflame": [PYFLARE, "-f", fmt, "-s", "0.1", "-p", pid],
                "convert": [PYFLARE, "convert", "--rate", "100", "-f", fmt, FOLDED, "-"],
                "convert-o": [PYFLARE, "convert", "--rate", "100", "-f", fmt, FOLDED, "-o", "-"],
                "trace": [PYFLARE, "trace", "-f", fmt, "--", sys.executable, "-c", "pass"],
                "module": [sys.executable, "-m", "pyflare", "-f", fmt, "-c", "pass"],
            }
            lines = {}
            for name, argv in forms.items():
                if name in ("trace", "module") and not MODULE:
                    continue
                rc, err, got = on_terminal(argv)
                check(rc == 2 and len(err.strip().splitlines()) == 1 and "terminal" in err,
                      "%s %s to a terminal: exit %d, %r" % (name, fmt, rc, err))
                check(not got, "%s wrote %d bytes to the terminal" % (name, len(got)))
                lines.setdefault(err.strip(), []).append(name)
            check(len(lines) == 1, "the refusals differ: %r" % lines)
        # A path that names a terminal is one too.
        master, slave = pty.openpty()
        try:
            rc, _, err = run([PYFLARE, "convert", "--rate", "100", "-f", "pprof", FOLDED, os.ttyname(slave)])
            check(rc == 2 and "terminal" in err, "convert to %s: exit %d, %r" % (os.ttyname(slave), rc, err))
        finally:
            os.close(master)
            os.close(slave)
    finally:
        sleeper.kill()
        sleeper.wait()


def main():
    if not os.access(PYFLARE, os.X_OK):
        suite.failed("setup", "no executable pyflare at %s (run make)" % PYFLARE)
        return suite.finish()
    global ALL
    if not MODULE:
        ALL = [c for c in ALL if c != "module"]
        suite.run("module",
                  lambda: (_ for _ in ()).throw(Skip("no tracer module built for this Python in %s" % BUILD)))
    for option, (takers, good, bad) in list(NUMERIC.items()) + list(CHOICES.items()):
        takers = [c for c in takers if c in ALL]
        suite.run("values %s" % option, t_values, option, takers, good, bad)
        suite.run("missing-value %s" % option, t_missing_value, option, takers)
    suite.run("version", t_version)
    suite.run("help", t_help)
    suite.run("extensions", t_extensions)
    suite.run("terminal", t_terminal)
    suite.run("spellings", t_spellings)
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
