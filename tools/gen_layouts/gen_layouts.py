#!/usr/bin/python3
"""Generate src/cpython/layouts_generated.c from the installed CPython headers.

For every interpreter found (default: pyenv's versions/*, pyenv's root being
`pyenv root`, else $PYENV_ROOT), compile probe.c against that interpreter's own
headers, run it, and collect the py_layout initializer it prints.  The entries
are checked against the fields declared in src/cpython/layout.h (every field
must be set exactly once) and written out sorted by version.

usage: gen_layouts.py [-o OUTPUT] [--cc CC] [--check] [PREFIX ...]
  PREFIX  an interpreter install prefix (the directory holding include/);
          default: every directory under $PYENV_ROOT/versions, and
          the include dirs of 3.14+ in the Debian sid root (PYFLARE_SID_ROOT).
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LAYOUT_H = os.path.join(REPO, "src", "cpython", "layout.h")
DEFAULT_OUT = os.path.join(REPO, "src", "cpython", "layouts_generated.c")
PROBE_C = os.path.join(HERE, "probe.c")
sys.path.insert(0, os.path.join(REPO, "tests"))
import harness  # noqa: E402  (pyenv's root found as the tests find it)
SID_ROOT = os.environ.get("PYFLARE_SID_ROOT", "/var/lib/pyflare/sid-root")
# The free-threaded 3.13 tools/setup-debian.sh builds (its last section).
PY313T = os.environ.get("PYFLARE_PY313T", "/var/lib/pyflare/py313t")


def layout_fields(path):
    """Members of struct py_layout, in order: a list of (path, type) such as
    ("version_hex", "uint32_t"), ("lines", "py_lines_model"),
    ("runtime.tstate_current", "int64_t")."""
    text = open(path).read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    m = re.search(r"typedef\s+struct\s+py_layout\s*\{(.*)\}\s*py_layout\s*;", text, re.S)
    if not m:
        sys.exit("gen_layouts: cannot find struct py_layout in %s" % path)
    body = m.group(1)
    fields = []
    members = []
    pos = 0
    member = re.compile(r"\s*(?:struct\s*\{(?P<sub>[^{}]*)\}|(?P<type>[A-Za-z_]\w*))"
                        r"\s*(?P<name>\w+)\s*;")
    while True:
        m = member.match(body, pos)
        if not m:
            if body[pos:].strip():
                sys.exit("gen_layouts: cannot parse py_layout near: %r" % body[pos:pos + 60])
            break
        pos = m.end()
        members.append(m.group("name"))
        if m.group("sub") is not None:
            for typ, sub in re.findall(r"(\w+)\s+(\w+)\s*;", m.group("sub")):
                fields.append((m.group("name") + "." + sub, typ))
        else:
            fields.append((m.group("name"), m.group("type")))
    clashes = sorted(set(n for n in members if members.count(n) > 1))
    if clashes:
        sys.exit("gen_layouts: %s declares py_layout member(s) %s twice; fix layout.h"
                 % (path, ", ".join(clashes)))
    return fields


def find_include(prefix):
    """The pythonX.Y[m] directory holding Python.h, or None. PREFIX may be
    that directory itself (e.g. ROOT/usr/include/python3.15 of a Debian root
    holding several versions)."""
    if os.path.isfile(os.path.join(prefix, "Python.h")):
        return prefix
    for inc in sorted(glob.glob(os.path.join(prefix, "include", "python*"))):
        if os.path.isfile(os.path.join(inc, "Python.h")):
            return inc
    return None


def run_probe(cc, prefix, inc, workdir):
    exe = os.path.join(workdir, "probe-" + os.path.basename(prefix.rstrip("/")))
    cmd = [cc, "-std=gnu11", "-O0", "-w", "-DPy_BUILD_CORE", "-I" + inc]
    if os.path.isdir(os.path.join(inc, "internal")):
        cmd.append("-I" + os.path.join(inc, "internal"))
    # Debian's pythonX.Y/pyconfig.h includes <x86_64-linux-gnu/pythonX.Y/pyconfig.h>
    # from the include dir above; searched after the system's own headers.
    cmd.append("-idirafter" + os.path.dirname(inc.rstrip("/")))
    cmd += [PROBE_C, "-o", exe]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.returncode != 0:
        sys.exit("gen_layouts: probe failed to compile for %s:\n$ %s\n%s"
                 % (prefix, " ".join(cmd), r.stdout))
    out = subprocess.run([exe], stdout=subprocess.PIPE, universal_newlines=True,
                         check=True).stdout
    entry = []
    for line in out.splitlines():
        m = re.match(r"\s*\.([\w.]+|<\w+>)\s*=\s*([^,]+),\s*$", line)
        if not m:
            sys.exit("gen_layouts: unexpected probe output for %s: %r" % (prefix, line))
        entry.append((m.group(1), m.group(2).strip()))
    return entry


def check_entry(entry, fields, where):
    by_type = {}
    for f, typ in fields:
        by_type.setdefault(typ, []).append(f)
    named = []
    for k, v in entry:
        if k.startswith("<"):   # a model, named by its enum type
            members = by_type.get(k.strip("<>"), [])
            if len(members) != 1:
                sys.exit("gen_layouts: %s: py_layout needs exactly one member of type %s"
                         % (where, k.strip("<>")))
            k = members[0]
        named.append((k, v))
    entry = named
    fields = [f for f, _ in fields]
    names = [k for k, _ in entry]
    dup = sorted(set(n for n in names if names.count(n) > 1))
    missing = [f for f in fields if f not in names]
    extra = [n for n in names if n not in fields]
    if dup or missing or extra:
        sys.exit("gen_layouts: %s: duplicate %s, missing %s, unknown %s"
                 % (where, dup, missing, extra))
    order = {f: i for i, f in enumerate(fields)}
    return sorted(entry, key=lambda kv: order[kv[0]])


def version_str(hexv):
    major, minor, micro = hexv >> 24, (hexv >> 16) & 0xFF, (hexv >> 8) & 0xFF
    level, serial = (hexv >> 4) & 0xF, hexv & 0xF
    s = "%d.%d.%d" % (major, minor, micro)
    if level != 0xF:
        s += {0xA: "a", 0xB: "b", 0xC: "rc"}.get(level, "?") + str(serial)
    return s


HEADER = """\
/* layouts_generated.c — GENERATED FILE, DO NOT EDIT.
 *
 * Generated by tools/gen_layouts/gen_layouts.py, which compiles
 * tools/gen_layouts/probe.c against each interpreter's installed headers
 * (with -DPy_BUILD_CORE) and records offsetof/sizeof of the fields in
 * py_layout (src/cpython/layout.h).  Regenerate with:
 *     python3 tools/gen_layouts/gen_layouts.py
 *
 * Headers used:
%(sources)s *
 * Notes:
 *  - Offsets are for the probe's target ABI (%(abi)s).
 *  - 2.7 has no PEP 393 strings: its unicode.length is PyUnicodeObject.length,
 *    unicode.ascii_size holds offsetof(PyUnicodeObject, str) (a Py_UNICODE *
 *    to the code units) and unicode.compact_size holds sizeof(Py_UNICODE).
 *  - 3.6-3.10 dict keys and pre-3.10 PyModuleObject are private to CPython's
 *    .c files; probe.c mirrors their (stable) heads, see the notes there.
 *  - tstate.native_thread_id is only stored in PyThreadState from 3.11.
 *  - interp.gil_locked / gil_last_holder are offsets inside struct
 *    _gil_runtime_state (3.13's _Py_DebugOffsets counts them from the
 *    interpreter state instead, i.e. adds interp.gil_embedded).
 */
#include "cpython/layout.h"

const py_layout py_layouts[] = {
"""

FOOTER = """\
};

const size_t py_layouts_count = sizeof py_layouts / sizeof py_layouts[0];

const py_layout *py_layout_for(int major, int minor, int free_threaded)
{
    for (size_t i = 0; i < py_layouts_count; i++) {
        uint32_t v = py_layouts[i].version_hex;
        int ft = py_layouts[i].build == PY_BUILD_FREE_THREADED;
        if ((int)(v >> 24) == major && (int)((v >> 16) & 0xFF) == minor && ft == !!free_threaded)
            return &py_layouts[i];
    }
    return NULL;
}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefixes", nargs="*", metavar="PREFIX")
    ap.add_argument("-o", "--output", default=DEFAULT_OUT)
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    ap.add_argument("--check", action="store_true",
                    help="afterwards run check_live.py under each interpreter found "
                         "(PREFIX/bin/pythonX.Y), comparing the table with its memory")
    args = ap.parse_args()

    prefixes = args.prefixes
    if not prefixes:
        prefixes = sorted(glob.glob(os.path.join(harness.pyenv_versions() or os.devnull, "*")))
        # 3.14+ come from the Debian root tools/setup-debian.sh keeps (release
        # builds only: the debug build's headers give the same offsets).
        prefixes += sorted(glob.glob(os.path.join(SID_ROOT, "usr", "include", "python3.1[4-9]")))
        if os.path.isdir(PY313T):
            prefixes.append(PY313T)
    fields = layout_fields(LAYOUT_H)

    entries = {}  # (major, minor) -> (version_hex, entry, source)
    with tempfile.TemporaryDirectory(prefix="gen_layouts.") as work:
        for prefix in prefixes:
            inc = find_include(prefix)
            if inc is None:
                print("gen_layouts: skipping %s (no include/python*/Python.h)" % prefix,
                      file=sys.stderr)
                continue
            entry = check_entry(run_probe(args.cc, prefix, inc, work), fields, prefix)
            hexv = int(dict(entry)["version_hex"], 16)
            ft = dict(entry)["build"] == "PY_BUILD_FREE_THREADED"
            key = (hexv >> 24, (hexv >> 16) & 0xFF, ft)
            if key in entries:
                print("gen_layouts: %d.%d%s seen twice (%s, %s); keeping the newer"
                      % (key[0], key[1], "t" if ft else "", entries[key][2], inc), file=sys.stderr)
                if entries[key][0] >= hexv:
                    continue
            entries[key] = (hexv, entry, inc, prefix)
            print("gen_layouts: %-8s %s" % (version_str(hexv), inc), file=sys.stderr)
    if not entries:
        sys.exit("gen_layouts: no interpreters found")

    ordered = [entries[k] for k in sorted(entries)]
    # Paths under pyenv's root are written from $PYENV_ROOT: the file names no one's home.
    pyenv_root = (harness.pyenv_root() or os.devnull).rstrip("/") + "/"
    shown = lambda path: "$PYENV_ROOT/" + path[len(pyenv_root):] if path.startswith(pyenv_root) else path
    sources = "".join(" *   %-8s %s\n" % (version_str(e[0]), shown(e[2])) for e in ordered)
    abi = os.uname().machine + ", LP64" if sys.maxsize > 2**32 else os.uname().machine
    out = [HEADER % {"sources": sources, "abi": abi}]
    for hexv, entry, _, _ in ordered:
        ft = dict(entry)["build"] == "PY_BUILD_FREE_THREADED"
        out.append("    { /* %s%s */\n" % (version_str(hexv), " free-threaded" if ft else ""))
        for name, value in entry:
            out.append("        .%s = %s,\n" % (name, value))
        out.append("    },\n")
    out.append(FOOTER)

    tmp = args.output + ".tmp"
    with open(tmp, "w") as f:
        f.write("".join(out))
    os.replace(tmp, args.output)
    print("gen_layouts: wrote %s (%d layouts)" % (args.output, len(ordered)),
          file=sys.stderr)

    if args.check:
        failed = 0
        for hexv, entry, _, prefix in ordered:
            ft = dict(entry)["build"] == "PY_BUILD_FREE_THREADED"
            py = os.path.join(prefix, "bin", "python%d.%d%s" % (hexv >> 24, (hexv >> 16) & 0xFF,
                                                               "t" if ft else ""))
            if not os.access(py, os.X_OK):
                print("gen_layouts: no %s, not checked" % py, file=sys.stderr)
                continue
            r = subprocess.run([py, os.path.join(HERE, "check_live.py"), args.output])
            failed |= r.returncode != 0
        if failed:
            sys.exit("gen_layouts: live check failed")


if __name__ == "__main__":
    main()
