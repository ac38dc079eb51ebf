#!/usr/bin/env python3
"""tests/assets/run.py — the writers' script, style and markup (src/output/assets/).

They are files of their own, compiled into the writers by tools/embed.sh at
build time. Checks:
  - syntax: `node --check` on every .js asset (SKIP, with the reason, when
    node is missing);
  - embedding: an html report and an svg flame graph written by PYFLARE hold
    each asset's exact bytes (a stale generated file, or a literal left in the
    C, would show);
  - enums as data: report.js reads pf_func_kind and pf_origin (and, with the
    report layer, its legend, src/report/legend.h) by name from the page's
    "enums" object; every name it uses is there, each with the value the
    header declares (parsed here from it, the independent truth), the functions of a folded file read back with the
    kind their label says (a thread root is enums.kind.thread...), and the
    script compares no kind or origin with a number of its own;
  - containment: no asset can end the element it is emitted in ("</script",
    "<!--" in report.js; "]]>" in flame.js, which sits in CDATA; '<' or '&' in
    flame.css, which is XML text; "</style" in report.css).

Env: PYFLARE (the binary). Prints "assets: N passed, N failed, N skipped" last;
exit status 1 on failure. FILTER arguments run only the checks whose name
contains one of them.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402  (the results file make test sums)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ASSETS = os.path.join(ROOT, "src", "output", "assets")
PYFLARE = os.environ.get("PYFLARE", os.path.join(ROOT, "build", "pyflare"))

results = {"passed": 0, "failed": 0, "skipped": 0}


def report(status, name, why=""):
    key = {"PASS": "passed", "FAIL": "failed", "SKIP": "skipped"}[status]
    results[key] += 1
    print("%s %s%s" % (status, name, ": " + why if why else ""), flush=True)


def asset(name):
    with open(os.path.join(ASSETS, name), "rb") as f:
        return f.read()


def c_enum(header, first):
    """The enum whose first enumerator is `first`, as {NAME: value}, as C counts them."""
    with open(header) as f:
        text = f.read()
    m = re.search(r"typedef enum \{([^}]*\b%s\b[^}]*)\}" % first, text)
    if not m:
        raise ValueError("no enum starting with %s in %s" % (first, header))
    values, nxt = {}, 0
    for item in re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S).split(","):
        item = item.strip()
        if not item:
            continue
        name, _, value = item.partition("=")
        nxt = int(value.strip(), 0) if value.strip() else nxt
        values[name.strip()] = nxt
        nxt += 1
    return values


def check_syntax():
    node = shutil.which("node")
    for name in sorted(os.listdir(ASSETS)):
        if not name.endswith(".js"):
            continue
        if not node:
            report("SKIP", "syntax/" + name, "no node on PATH (tools/setup-debian.sh installs it)")
            continue
        r = subprocess.run([node, "--check", os.path.join(ASSETS, name)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True)
        if r.returncode:
            report("FAIL", "syntax/" + name, r.stdout.strip())
        else:
            report("PASS", "syntax/" + name)


def check_containment():
    rules = [("report.js", [b"</script", b"<!--"]), ("flame.js", [b"]]>"]), ("flame.css", [b"<", b"&"]),
             ("report.css", [b"</style"])]
    for name, bad in rules:
        text = asset(name).lower()
        found = [b.decode() for b in bad if b in text]
        if found:
            report("FAIL", "containment/" + name, "holds %s" % ", ".join(repr(f) for f in found))
        else:
            report("PASS", "containment/" + name)


FOLDED = (b"P1;T2;main (app.py:3);work (app.py:10);len (/usr/lib/libc.so.6) 5\n"
          b"P1;T2;main (app.py:3);<idle> 2\n"
          b"P1;T3;run (/usr/lib/python3.12/threading.py:10) 1\n")


def write(tmp, ext):
    src = os.path.join(tmp, "in.folded")
    with open(src, "wb") as f:
        f.write(FOLDED)
    out = os.path.join(tmp, "out." + ext)
    r = subprocess.run([PYFLARE, "convert", src, out], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    if r.returncode:
        raise RuntimeError("pyflare convert to .%s failed: %s" % (ext, r.stdout.strip()))
    with open(out, "rb") as f:
        return f.read()


def check_embedded(tmp):
    try:
        html, svg = write(tmp, "html"), write(tmp, "svg")
    except Exception as e:
        report("FAIL", "embedded", str(e))
        return None
    pieces = [("report.css", html, b"<style>", b"</style>"),
              ("report.html", html, b"<div class=\"sub\" id=\"total\"></div>\n", b"<script type="),
              ("report.js", html, b"\"}</script>\n<script>", b"</script>\n</body>"),
              ("flame.css", svg, b"<style>", b"</style>"),
              ("flame.js", svg, b";\n", b"]]></script>")]
    for name, page, before, after in pieces:
        want = asset(name)
        at = page.find(before + want + after)
        if at < 0:
            report("FAIL", "embedded/" + name, "the written page does not hold the file's bytes between %r and %r"
                   % (before, after))
        else:
            report("PASS", "embedded/" + name)
    return html


def check_enums(html):
    header = os.path.join(ROOT, "src", "profile", "profile.h")
    try:
        truth = {"kind": {k[len("PF_FUNC_"):].lower(): v for k, v in c_enum(header, "PF_FUNC_PYTHON").items()},
                 "origin": {k[len("PF_ORIGIN_"):].lower(): v for k, v in c_enum(header, "PF_ORIGIN_UNKNOWN").items()}}
    except ValueError as e:
        report("FAIL", "enums/header", str(e))
        return
    # The report layer's legend (what a frame is coloured as), where there is one: its values
    # reach the script as data too, so a change on one side only fails here.
    legend_h = os.path.join(ROOT, "src", "report", "legend.h")
    has_legend = os.path.exists(legend_h)
    if has_legend:
        try:
            truth["legend"] = {k[len("RP_"):].lower(): v for k, v in c_enum(legend_h, "RP_OWN").items()
                               if k != "RP_NLEGEND"}
        except ValueError as e:
            report("FAIL", "enums/header", str(e))
            return
    m = re.search(rb'<script type="application/json" id="pf-data">(.*?)</script>', html, re.S)
    data = json.loads(m.group(1)) if m else {}
    enums = data.get("enums")
    if enums != truth:
        report("FAIL", "enums/values", "the page says %r, the headers declare %r" % (enums, truth))
        return
    report("PASS", "enums/values")
    # Every name the script reads exists in the data.
    js = asset("report.js").decode()
    used = ({("kind", n) for n in re.findall(r"\bK\.(\w+)", js)} | {("origin", n) for n in re.findall(r"\bO\.(\w+)", js)} |
            {("legend", n) for n in re.findall(r"\bLG\.(\w+)", js)})
    missing = sorted("%s.%s" % u for u in used if u[1] not in enums.get(u[0], {}))
    if not used or missing:
        report("FAIL", "enums/names", "report.js uses %s, not in the page's enums" % (missing or "no enum name"))
    else:
        report("PASS", "enums/names", "%d names used" % len(used))
    # No value of its own: a kind or origin is never compared with a number literal.
    names = "fnKind|fnKnown|kind|known" + ("|o" if has_legend else "")  # o: colour()'s legend entry
    own = re.findall(r"\b(?:" + names + r")(?:\[[^\]]*\])?\s*(?:[<>]=?|[!=]==?)\s*-?\d+", js)
    if own:
        report("FAIL", "enums/no-literals", "report.js compares with numbers: %s" % own)
    else:
        report("PASS", "enums/no-literals")
    # The data means what the names say: the reader's kinds, through the page's names.
    s = data["strings"]
    kind_of = {s[n]: k for n, k in zip(data["funcs"]["name"], data["funcs"]["kind"])}
    want = {"P1": "process", "T2": "thread", "main": "python", "len": "native", "<idle>": "other"}
    wrong = ["%s is %s, not %s (%d)" % (f, kind_of.get(f), k, enums["kind"][k]) for f, k in want.items()
             if kind_of.get(f) != enums["kind"][k]]
    if wrong:
        report("FAIL", "enums/kinds", "; ".join(wrong))
    else:
        report("PASS", "enums/kinds")


def main():
    filters = sys.argv[1:]
    checks = [("syntax", check_syntax), ("containment", check_containment)]
    for name, fn in checks:
        if not filters or any(f in name for f in filters):
            fn()
    if not filters or any(f in "embedded enums" for f in filters):
        if not os.access(PYFLARE, os.X_OK):
            report("SKIP", "embedded", "no pyflare binary at %s (set PYFLARE)" % PYFLARE)
        else:
            tmp = tempfile.mkdtemp(prefix="pyflare-assets.")
            try:
                html = check_embedded(tmp)
                if html is not None and (not filters or any(f in "enums" for f in filters)):
                    check_enums(html)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    print("assets: %(passed)d passed, %(failed)d failed, %(skipped)d skipped" % results)
    harness.record("assets", results["passed"], results["failed"], results["skipped"])
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
