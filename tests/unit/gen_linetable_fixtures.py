"""gen_linetable_fixtures.py - real line tables, with the interpreters' own answers.

test_linetable.c checks py_line_for_offset against tables produced by the real
compilers of every supported CPython, and against the line each interpreter
itself assigns to each bytecode offset. This script makes that data.

    python tests/unit/gen_linetable_fixtures.py            # regenerate the header
    python tests/unit/gen_linetable_fixtures.py --emit     # one interpreter, JSON

Without --emit it runs itself with --emit under every
pyenv's versions/*/bin/python (tests/harness.py finds pyenv) and the Debian sid root's python3.14+
(under chroot; see tools/setup-debian.sh) (and, for 3.11+, once more with
-X no_debug_ranges, which makes the compiler use the "no columns" entries) and
writes tests/unit/linetable_fixtures.h. It runs under Python 2.7 and 3.6+, so
no f-strings.

The truth per code object is a list of byte ranges [start, end) -> line
(None = "no line"):
  <= 3.9   from dis.findlinestarts(): each line start holds until the next one;
  >= 3.10  from co.co_lines(). On 3.11+ co_lines() describes co_code (caches
           zeroed, not specialised) but its offsets are those of
           co_code_adaptive, which is what the profiler measures against.
Both hold for every byte inside a range, not only for instruction starts, so
the C test checks every byte offset.
"""
from __future__ import print_function

import dis
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "linetable_fixtures.h")


def build_source():
    """A module whose functions stress the line tables; valid Python 2.7 and 3.x."""
    s = []
    add = s.append
    add('"""fixture module"""')
    add("import os")
    add("")
    add("def loops(n):")
    add("    total = 0")
    add("    for i in range(n):")
    add("        if i % 2:")
    add("            total += i")
    add("        else:")
    add("            total -= 1")
    add("    while total > 0:")
    add("        total -= 3")
    add("        if total == 7:")
    add("            break")
    add("        elif total == 9:")
    add("            continue")
    add("    return total")
    add("")
    add("def multiline(a, b):")
    add("    x = (a +")
    add("         b *")
    add("         a)")
    add("    y = max(a,")
    add("            b,")
    add("            [1, 2,")
    add("             3])")
    add("    return (x")
    add("            + y)")
    add("")
    add("def tryexc(x):")
    add("    try:")
    add("        y = 1 / x")
    add("    except ZeroDivisionError:")
    add("        y = 0")
    add("    except (TypeError, ValueError) as e:")
    add("        y = -1")
    add("    finally:")
    add("        x = None")
    add("    with open(os.devnull) as f:")
    add("        y += len(f.read())")
    add("    return y")
    add("")
    # Gaps of > 255 lines (two lnotab pairs even unsigned), loop bodies of > 127
    # lines (negative deltas that need several signed pairs on the jump back),
    # one line with > 255 bytes of bytecode, a > 127-line multi-line expression,
    # and expressions beyond column 127 (the 3.11 long form).
    add("def big(a):")
    add("    x = a + 1")
    for i in range(300):
        add("    # gap %d" % i)
    add("    y = x * 2")
    add("    for i in range(a):")
    add("        x += i")
    for i in range(150):
        add("        # loop body %d" % i)
    add("        y -= i")
    add("    z = [" + ", ".join(["a"] * 150) + "]")
    add("    w = (a +")
    for i in range(130):
        add("")
    add("         a)")
    add("    v = " + " + ".join(["a"] * 60))
    add("    while y > 0:")
    add("        y -= 1")
    for i in range(140):
        add("")
    add("        if y == 3:")
    add("            break")
    add("    return x + y + len(z) + w + v")
    add("")
    add("def gen(n):")
    add("    for i in range(n):")
    add("        yield i * 2")
    add("    yield [j for j in range(n)")
    add("           if j % 3]")
    add("")
    add("def decorate(f):")
    add("    return f")
    add("")
    add("@decorate")
    add("@decorate")
    add("def decorated(a,")
    add("              b=lambda q: q + 1):")
    add("    def inner(c):")
    add("        return a + c")
    add("    return inner(b(a))")
    add("")
    add("class Klass(object):")
    add("    attr = 1")
    add("")
    add("    def method(self, k):")
    add("        d = {k: v for k, v in")
    add("             zip(range(k), range(k))}")
    add("        return d")
    add("")
    for i in range(200):
        add("")
    add("result = loops(5) + multiline(1, 2)")
    add("if result:")
    add("    result = [loops(i) for i in range(3)]")
    return "\n".join(s) + "\n"


def code_objects(co):
    yield co
    for c in co.co_consts:
        if hasattr(c, "co_code"):
            for sub in code_objects(c):
                yield sub


def table_bytes(co):
    if sys.version_info >= (3, 10):
        return list(bytearray(co.co_linetable))
    return list(bytearray(co.co_lnotab))


def model_name():
    v = sys.version_info
    if v < (3, 0):
        return "PY_LINES_LNOTAB_UNSIGNED"
    if v < (3, 10):
        return "PY_LINES_LNOTAB_SIGNED"
    if v < (3, 11):
        return "PY_LINES_LINETABLE_310"
    return "PY_LINES_LOCATIONS_311"


def instruction_count(co):
    code = bytearray(co.co_code)
    if sys.version_info >= (3, 6):
        return len(code) // 2
    n = i = 0
    while i < len(code):
        i += 3 if code[i] >= dis.HAVE_ARGUMENT else 1
        n += 1
    return n


def truth_ranges(co):
    """[start, end, line-or-None] covering what the interpreter describes."""
    code_len = len(co.co_code)
    if sys.version_info >= (3, 10):
        raw = [[a, b, l] for a, b, l in co.co_lines() if b > a]
    else:
        starts = list(dis.findlinestarts(co))
        raw = []
        for k, (addr, line) in enumerate(starts):
            end = starts[k + 1][0] if k + 1 < len(starts) else code_len
            if end > addr:
                raw.append([addr, end, line])
    # 3.11 yields one range per table entry; merging touching ranges of the
    # same line says the same thing in less space.
    out = []
    for r in raw:
        if out and out[-1][1] == r[0] and out[-1][2] == r[2]:
            out[-1][1] = r[1]
        else:
            out.append(r)
    return out


def end_line(co):
    """<= 3.9: the line CPython gives past the last entry (sum of all deltas)."""
    t = table_bytes(co)
    line = co.co_firstlineno
    for k in range(1, len(t), 2):
        d = t[k]
        if sys.version_info >= (3, 6) and d >= 128:
            d -= 256
        line += d
    return line


def emit(tag):
    src = build_source()
    top = compile(src, "<fixture>", "exec")
    out = []
    for co in code_objects(top):
        out.append({
            "version": "%d.%d.%d" % sys.version_info[:3],
            "tag": tag,
            "name": co.co_name,
            "model": model_name(),
            "firstlineno": co.co_firstlineno,
            "table": table_bytes(co),
            "code_len": len(co.co_code),
            "ninstr": instruction_count(co),
            "ranges": truth_ranges(co),
            "end_line": end_line(co) if sys.version_info < (3, 10) else None,
        })
    json.dump(out, sys.stdout)


def c_ident(text):
    return "".join(ch if ch.isalnum() else "_" for ch in text)


def c_bytes(data):
    """A string literal of \\x escapes: a third of the size of an initializer list."""
    rows = []
    for k in range(0, len(data), 24):
        rows.append('    "' + "".join("\\x%02x" % b for b in data[k:k + 24]) + '"')
    return "\n".join(rows) if rows else '    ""'


def write_header(fixtures):
    lines = []
    p = lines.append
    p("/* linetable_fixtures.h - GENERATED by tests/unit/gen_linetable_fixtures.py; do not edit.")
    p(" *")
    p(" * Real line tables compiled by each interpreter under the pyenv versions directory,")
    p(" * with that interpreter's own line for every bytecode byte range")
    p(" * (dis.findlinestarts <= 3.9, co_lines() 3.10+; line -1 = no line).")
    p(" * Regenerate: python tests/unit/gen_linetable_fixtures.py */")
    p("#ifndef PYFLARE_TESTS_LINETABLE_FIXTURES_H")
    p("#define PYFLARE_TESTS_LINETABLE_FIXTURES_H")
    p("")
    p("#include <stddef.h>")
    p("#include <stdint.h>")
    p("")
    p('#include "cpython/layout.h"')
    p("")
    p("typedef struct { int32_t start, end, line; } lt_range;")
    p("")
    p("typedef struct {")
    p("    const char *version, *tag, *name;")
    p("    py_lines_model model;")
    p("    int firstlineno;")
    p("    const char *table;  /* raw bytes; a string literal to keep this file small */")
    p("    size_t table_len;")
    p("    int32_t code_len;    /* bytes of bytecode */")
    p("    int32_t ninstr;      /* instructions (3.11+: code units, caches included) */")
    p("    int32_t has_end_line;")
    p("    int32_t end_line;    /* <= 3.9: the line CPython gives past the end */")
    p("    const lt_range *ranges;")
    p("    size_t nranges;")
    p("} lt_fixture;")
    p("")
    entries = []
    for n, f in enumerate(fixtures):
        ident = "lt_%d_%s_%s" % (n, c_ident(f["version"]), c_ident(f["name"]))
        p("static const char %s_table[] =\n%s;" % (ident, c_bytes(f["table"])))
        rng = ["    {%d, %d, %d}," % (a, b, -1 if l is None else l) for a, b, l in f["ranges"]]
        p("static const lt_range %s_ranges[] = {\n%s\n};" % (ident, "\n".join(rng) if rng else "    {0, 0, 0}"))
        entries.append('    {"%s", "%s", "%s", %s, %d, %s_table, %d, %d, %d, %d, %d, %s_ranges, %d},' % (
            f["version"], f["tag"], f["name"], f["model"], f["firstlineno"], ident,
            len(f["table"]), f["code_len"], f["ninstr"],
            0 if f["end_line"] is None else 1,
            0 if f["end_line"] is None else f["end_line"],
            ident, len(f["ranges"])))
    p("")
    p("static const lt_fixture lt_fixtures[] = {")
    lines.extend(entries)
    p("};")
    p("")
    p("#define LT_FIXTURES_COUNT (sizeof lt_fixtures / sizeof lt_fixtures[0])")
    p("")
    p("#endif")
    with open(OUT, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def version_key(path):
    name = os.path.basename(os.path.dirname(os.path.dirname(path)))
    return [int(x) if x.isdigit() else 0 for x in name.split(".")]


def main():
    if "--emit" in sys.argv:
        emit(sys.argv[sys.argv.index("--emit") + 1] if len(sys.argv) > sys.argv.index("--emit") + 1 else "default")
        return
    sys.path.insert(0, os.path.dirname(HERE))
    import harness  # Python 3 only: imported here, as --emit runs under 2.7 too
    PYENV = harness.pyenv_versions() or os.devnull
    pythons = [[py] for py in sorted(glob.glob(os.path.join(PYENV, "*", "bin", "python")), key=version_key)]
    if not pythons:
        sys.exit("no interpreters under %s" % PYENV)
    me = os.path.abspath(__file__)
    # 3.14+ from the Debian sid root tools/setup-debian.sh keeps, run under
    # chroot with a copy of this script inside the root.
    sid = os.environ.get("PYFLARE_SID_ROOT", "/var/lib/pyflare/sid-root")
    sid_pythons = sorted(glob.glob(os.path.join(sid, "usr/bin/python3.1[4-9]")))
    if sid_pythons:
        inside = "/tmp/gen_linetable_fixtures.py"
        with open(me) as src, open(sid + inside, "w") as dst:
            dst.write(src.read())
        for py in sid_pythons:
            pythons.append(["chroot", sid, py[len(sid):]])
    fixtures = []
    for py_cmd in pythons:
        script = inside if py_cmd[0] == "chroot" else me
        py = " ".join(py_cmd)
        runs = [(py_cmd + [script, "--emit", "default"])]
        ver = subprocess.check_output(py_cmd + ["-c", "import sys; print(sys.version_info >= (3, 11))"])
        if ver.strip() == b"True":
            runs.append(py_cmd + ["-X", "no_debug_ranges", script, "--emit", "no_debug_ranges"])
        for cmd in runs:
            data = json.loads(subprocess.check_output(cmd).decode("utf-8"))
            fixtures.extend(data)
            sys.stderr.write("%s %s: %d code objects\n" % (py, cmd[-1], len(data)))
    if sid_pythons:
        os.remove(sid + inside)
    write_header(fixtures)
    sys.stderr.write("wrote %s: %d fixtures\n" % (OUT, len(fixtures)))


if __name__ == "__main__":
    main()
