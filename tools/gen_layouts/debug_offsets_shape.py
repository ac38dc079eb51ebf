#!/usr/bin/python3
"""Print the _Py_DebugOffsets shape of a CPython header, as debug_offsets.c spells it.

src/cpython/debug_offsets.c lists, per minor version, the table's sections and
fields in header order ("section: field field ...; ..."). This prints that
text from a header, and with --check compares it with what debug_offsets.c
holds for the header's version.

usage: debug_offsets_shape.py [--check] HEADER...
  HEADER  Include/internal/pycore_debug_offsets.h (3.14+) or pycore_runtime.h (3.13),
          e.g. /var/lib/pyflare/sid-root/usr/include/python3.15/internal/pycore_debug_offsets.h
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "src", "cpython", "debug_offsets.c")


def shape(path):
    text = open(path).read()
    m = re.search(r"typedef struct _Py_DebugOffsets \{(.*?)\n\} _Py_DebugOffsets;", text, re.S)
    if not m:
        sys.exit("%s: no _Py_DebugOffsets" % path)
    body = re.sub(r"//[^\n]*", "", m.group(1))
    sections = []
    for sm in re.finditer(r"struct\s*\w*\s*\{([^{}]*)\}\s*(\w+);", body):
        sections.append("%s: %s" % (sm.group(2), " ".join(re.findall(r"uint64_t\s+(\w+);", sm.group(1)))))
    return "; ".join(sections)


def version(path):
    patch = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(path))), "patchlevel.h")
    minor = re.search(r"#define PY_MINOR_VERSION\s+(\d+)", open(patch).read()).group(1)
    return 3, int(minor)


def known_shapes():
    text = open(SOURCE).read()
    shapes = {}
    for m in re.finditer(r"\{(\d+), (\d+), \w+,\s*((?:\"[^\"]*\"\s*)+)\}", text):
        shapes[(int(m.group(1)), int(m.group(2)))] = " ".join(
            "".join(re.findall(r"\"([^\"]*)\"", m.group(3))).split())
    return shapes


def main():
    args = [a for a in sys.argv[1:] if a != "--check"]
    check = "--check" in sys.argv
    known = known_shapes() if check else {}
    bad = 0
    for path in args:
        got = shape(path)
        if not check:
            print(got)
            continue
        v = version(path)
        want = known.get(v)
        ok = want is not None and " ".join(want.split()) == " ".join(got.split())
        print("%s %d.%d: %s" % ("ok  " if ok else "DIFF", v[0], v[1], path))
        if not ok:
            bad = 1
            print("  header:           %s\n  debug_offsets.c:  %s" % (got, want))
    sys.exit(bad)


if __name__ == "__main__":
    main()
