#!/usr/bin/env python3
"""formats_visual — the flame graph (SVG), the HTML report and the folded-stack commands.

Checks, with the standard library only:
  - `pyflare flamegraph`, `convert` and `diff` on well-formed, odd and broken
    folded input (py-spy, Austin, CRLF, comments, long lines; malformed lines
    reported with their line number, --lenient counting what it skipped, no
    output file left behind on failure);
  - the SVG is well-formed XML, for ordinary and hostile names, and hostile
    names come out as text;
  - in headless Chromium (tests/browser, playwright-core from npm, Debian's
    chromium): hover, zoom, reset and search in the SVG; every view of the
    HTML report; no dialog or injected element for hostile names; and the time
    a 1,000,000-sample report takes to first render (printed, not asserted).

Needs PYFLARE (the binary). PYFLARE_BUILD (the build directory, for
libpyflare.a) lets it build a small generator of profiles with a sample
timeline; without it, or without cc, those checks are skipped with the
reason. Prints "formats_visual: N passed, N failed, N skipped" last.
"""
import base64
import bisect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402  (tests/harness.py: results, the summary line)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BROWSER_DIR = os.path.join(ROOT, "tests", "browser")
PYFLARE = os.environ.get("PYFLARE") or os.path.join(ROOT, "build", "pyflare")
BUILD = os.environ.get("PYFLARE_BUILD") or os.path.join(ROOT, "build")
SVG = "{http://www.w3.org/2000/svg}"

suite = harness.Suite("formats_visual")
TMP = tempfile.mkdtemp(prefix="pyflare-visual-")


def report(name, ok, detail=""):
    suite.result(ok, name, detail)


skip = suite.skip


def check(name, fn):
    try:
        fn()
        report(name, True)
    except AssertionError as e:
        report(name, False, str(e)[:1500])
    except Exception as e:  # a crash in the test is a failure too, with its reason
        report(name, False, "%s: %s" % (type(e).__name__, str(e)[:1500]))


def path(name):
    return os.path.join(TMP, name)


def write(name, data):
    p = path(name)
    with open(p, "wb") as f:
        f.write(data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data)
    return p


def pyflare(*args, stdin=None, timeout=600):
    r = subprocess.run([PYFLARE] + list(args), input=stdin, capture_output=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


def one_line(err):
    lines = [l for l in err.splitlines() if l.strip()]
    return len(lines) == 1, lines


def no_leftovers(target):
    d = os.path.dirname(target)
    base = os.path.basename(target)
    return not os.path.exists(target) and not [f for f in os.listdir(d)
                                               if f.startswith(base + ".tmp") or f.startswith("." + base + ".pyflare-")]


# ---- folded input, as the tests think of it ------------------------------------------------

def parse_folded(text):
    """(frames, count) per line, with the reader's rules."""
    out = []
    for line in text.split("\n"):  # not splitlines(): names may hold U+2028
        line = line.rstrip("\r")
        if not line.strip() or line.startswith("# "):
            continue
        stack, _, count = line.rstrip(" \t").rpartition(" ")
        out.append(([f for f in stack.split(";") if f], int(count)))
    return out


def matched_percent(stacks, regex):
    """Share of samples whose stack has a frame matching regex: what "Matched" must say."""
    r = re.compile(regex)
    total = sum(c for _, c in stacks)
    hit = sum(c for frames, c in stacks if any(r.search(f) for f in frames))
    return 100.0 * hit / total if total else 0.0


def func_label(frame):
    """"name (file:line)" -> "name (file)", the functions table's label."""
    if frame.endswith(")") and " (" in frame:
        i = frame.rindex(" (")
        name, inner = frame[:i], frame[i + 2:-1]
        m = re.match(r"^(.*):[1-9]\d*$", inner)
        return "%s (%s)" % (name, m.group(1) if m else inner)
    return frame


def svg_frames(root):
    """The frame groups: <g id="f"> holds one <g> per row, each holding one <g> per frame."""
    f = [g for g in root.iter(SVG + "g") if g.get("id") == "f"]
    assert len(f) == 1, "no <g id=\"f\"> frame container"
    rows = list(f[0])
    frames = []
    for depth, row in enumerate(rows):
        y = float(re.match(r"translate\([\d.]+,([\d.]+)\)", row.get("transform")).group(1))
        for g in row:
            title = g.find(SVG + "title")
            rect = g.find(SVG + "rect")
            text = g.find(SVG + "text")
            frames.append({"depth": depth, "y": y, "title": title.text if title is not None else None,
                           "x": float(rect.get("x")), "w": float(rect.get("width")), "fill": rect.get("fill"),
                           "text": text.text if text is not None else None, "cls": g.get("class")})
    return frames


def rgb(fill):
    return tuple(int(fill[i:i + 2], 16) for i in (1, 3, 5))


# ---- the commands ------------------------------------------------------------------------

SIMPLE = (
    "main (app.py:1);work (app.py:10);calc (app.py:20) 50\n"
    "main (app.py:1);work (app.py:10);recv (/usr/lib/python3.11/socket.py:5) 30\n"
    "main (app.py:1);idle (app.py:30) 20\n"
    "main (app.py:1);work (app.py:10);calc (app.py:20);np.sum (/v/lib/python3.11/site-packages/numpy/core.py:7) 10\n"
    "main (app.py:1);work (app.py:10);calc (app.py:20);memcpy (libc.so.6) 4\n"
    "thread (MainThread);main (app.py:1) 6\n"
)

HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    "\"'><img src=x onerror=alert(1)>",
    "&amp",
    "x&amp y",
    "]]>",
    "ctl\x01\x07\x1b[31mred",
    "tab\there",
    "bad\udcff\udcfeutf8",  # invalid UTF-8 bytes 0xff 0xfe (surrogateescape)
    "</svg><svg onload=alert(2)>",
    "\u2028line\u2029sep",
]


def hostile_folded():
    lines = []
    for i, n in enumerate(HOSTILE_NAMES):
        lines.append("main (app.py:1);%s (evil<b>.py:%d) %d" % (n, i + 1, 5 + i))
        lines.append("%s;leaf 3" % n)
    return "\n".join(lines) + "\n"


def test_svg_wellformed():
    src = write("simple.folded", SIMPLE)
    out = path("simple.svg")
    rc, _, err = pyflare("flamegraph", "--title", "T & <b>", "--subtitle", "S \"q\"", src, "-o", out)
    assert rc == 0, err
    root = ET.parse(out).getroot()
    frames = svg_frames(root)
    titles = [f["title"].split("\n")[0] for f in frames]
    for name in ("all", "main", "work", "calc", "recv", "idle", "np.sum", "memcpy", "thread (MainThread)"):
        assert name in titles, "no frame for %r in %r" % (name, titles)
    assert all(f["w"] > 0 for f in frames)
    assert sum(1 for f in frames if f["text"]) >= 5, "frames carry no text"
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    assert "T & <b>" in texts and "S \"q\"" in texts, texts[:5]
    allf = [f for f in frames if f["depth"] == 0][0]
    assert abs(allf["w"] - 1180) < 0.01 and allf["title"].endswith("120 samples (100.00%)"), allf
    main = [f for f in frames if f["title"].startswith("main\napp.py:1\n") and f["depth"] == 1][0]
    assert "114 samples" in main["title"], main
    # colours by origin: own code warm, stdlib blue, third-party green, native khaki, thread purple
    col = {f["title"].split("\n")[0]: rgb(f["fill"]) for f in frames}
    assert col["calc"][0] >= 225 and col["calc"][2] <= 80, col["calc"]
    assert col["recv"][2] >= 215 and col["recv"][0] <= 140, col["recv"]
    assert col["np.sum"][1] >= 190 and col["np.sum"][2] <= 140, col["np.sum"]
    assert 190 <= col["memcpy"][0] <= 220 and col["memcpy"][2] <= 165, col["memcpy"]
    assert col["thread (MainThread)"][2] >= 220, col["thread (MainThread)"]
    # same function name, same colour, in another graph too
    out2 = path("simple2.svg")
    rc, _, err = pyflare("flamegraph", write("other.folded", "x;calc (app.py:20) 3\n"), "-o", out2)
    col2 = {f["title"].split("\n")[0]: f["fill"] for f in svg_frames(ET.parse(out2).getroot())}
    assert col2["calc"] == [f["fill"] for f in frames if f["title"].startswith("calc\n")][0]
    scripts = list(root.iter(SVG + "script"))
    assert len(scripts) == 1


STDLIB_PROGRAM = """import json, time
def own_loop():
    end = time.time() + 1.5
    while time.time() < end:
        json.dumps({"k": list(range(200))})
own_loop()
"""


def test_svg_recorded_origins():
    """record shortens file names (json/encoder.py, not .../lib/python3.11/json/encoder.py):
    the origin colours must survive that."""
    out = path("origins.svg")
    rc, _, err = pyflare("record", "--rate", "500", "-o", out, "--", sys.executable, "-c", STDLIB_PROGRAM)
    assert rc == 0, err
    frames = svg_frames(ET.parse(out).getroot())
    col = {}
    for f in frames:
        name, loc = (f["title"].split("\n") + ["", ""])[:2]
        col[(name, loc.split(":")[0])] = rgb(f["fill"])
    stdlib = [c for (name, loc), c in col.items() if loc.startswith("json/")]
    own = [c for (name, loc), c in col.items() if name == "own_loop"]
    assert stdlib and all(c[2] >= 215 and c[0] <= 140 for c in stdlib), ("json/ frames not blue", stdlib, sorted(col))
    assert own and all(c[0] >= 225 and c[2] <= 80 for c in own), ("own_loop not warm", own)


def test_svg_hostile():
    src = write("hostile.folded", hostile_folded())
    out = path("hostile.svg")
    rc, _, err = pyflare("flamegraph", "--title", "<script>alert(9)</script>", src, "-o", out)
    assert rc == 0, err
    raw = open(out, "rb").read()
    raw.decode("utf-8")  # strictly valid UTF-8
    root = ET.fromstring(raw)
    frames = svg_frames(root)
    names = [f["title"].split("\n")[0] for f in frames]
    for n in ("<script>alert(1)</script>", "\"'><img src=x onerror=alert(1)>", "&amp", "x&amp y", "]]>",
              "</svg><svg onload=alert(2)>", "\u2028line\u2029sep"):
        assert n in names, "%r not shown as text in %r" % (n, names)
    assert "ctl\ufffd\ufffd\ufffd[31mred" in names, names
    assert "bad\ufffd\ufffdutf8" in names, names
    tags = {el.tag for el in root.iter()}
    assert not {t for t in tags if t.split("}")[-1] in ("img", "foreignObject", "iframe", "a")}, tags
    assert len(list(root.iter(SVG + "script"))) == 1
    for el in root.iter():
        for k in el.attrib:
            assert not k.lower().startswith("on"), "event attribute %s on %s" % (k, el.tag)
    texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
    assert "<script>alert(9)</script>" in texts


def test_svg_options():
    src = write("simple.folded", SIMPLE)
    rc, _, err = pyflare("flamegraph", "--reverse", src, "-o", path("rev.svg"))
    assert rc == 0, err
    fr = svg_frames(ET.parse(path("rev.svg")).getroot())
    row1 = {f["title"].split("\n")[0] for f in fr if f["depth"] == 1}
    assert row1 == {"calc", "recv", "idle", "np.sum", "memcpy", "main"}, row1
    rc, _, err = pyflare("flamegraph", "--inverted", src, "-o", path("inv.svg"))
    fr = svg_frames(ET.parse(path("inv.svg")).getroot())
    assert fr[0]["depth"] == 0 and fr[0]["y"] < [f for f in fr if f["depth"] == 1][0]["y"], "icicle: root not on top"
    fr = svg_frames(ET.parse(path("simple.svg")).getroot())
    assert fr[0]["y"] > [f for f in fr if f["depth"] == 1][0]["y"], "flame graph: root not at the bottom"
    # minwidth: 3000 one-sample leaves beside a heavy one get merged into one grey frame
    lines = ["main (app.py:1);hot (app.py:2) 200000"] + ["main (app.py:1);f%d (app.py:%d) 1" % (i, i + 3) for i in range(3000)]
    many = write("many.folded", "\n".join(lines) + "\n")
    rc, _, err = pyflare("flamegraph", many, "-o", path("many.svg"))
    assert rc == 0, err
    fr = svg_frames(ET.parse(path("many.svg")).getroot())
    merged = [f for f in fr if f["cls"] == "m"]
    assert len(merged) == 1 and "3000 frames" in merged[0]["title"], merged
    assert len(fr) < 10, len(fr)
    rc, _, err = pyflare("flamegraph", "--minwidth", "0", many, "-o", path("many0.svg"))
    fr0 = svg_frames(ET.parse(path("many0.svg")).getroot())
    assert len(fr0) == 3003, len(fr0)
    assert os.path.getsize(path("many.svg")) * 10 < os.path.getsize(path("many0.svg"))
    # stdout output and stdin input
    rc, out, err = pyflare("flamegraph", "-", stdin=SIMPLE.encode())
    assert rc == 0 and out.startswith(b"<?xml") and ET.fromstring(out) is not None, err


def test_diff():
    before = write("before.folded", "main (a.py:1);grow (a.py:2) 10\nmain (a.py:1);shrink (a.py:3) 10\nmain (a.py:1);same (a.py:4) 10\n")
    after = write("after.folded", "main (a.py:1);grow (a.py:2) 40\nmain (a.py:1);shrink (a.py:3) 5\nmain (a.py:1);same (a.py:4) 15\nmain (a.py:1);new (a.py:5) 15\n")
    out = path("diff.svg")
    rc, _, err = pyflare("diff", before, after, "-o", out)
    assert rc == 0, err
    fr = {f["title"].split("\n")[0]: f for f in svg_frames(ET.parse(out).getroot())}
    g, s, n = rgb(fr["grow"]["fill"]), rgb(fr["shrink"]["fill"]), rgb(fr["new"]["fill"])
    assert g[0] == 255 and g[1] < 200, ("grow should be red", g)
    assert s[2] == 255 and s[0] < 200, ("shrink should be blue", s)
    assert n[0] == 255 and n[1] < 255, ("new should be red", n)
    assert "self 33.33% -> 53.33%" in fr["grow"]["title"], fr["grow"]["title"]
    rc, _, err = pyflare("diff", before, path("nope.folded"), "-o", path("diff2.svg"))
    assert rc != 0 and one_line(err)[0] and "nope.folded" in err and no_leftovers(path("diff2.svg")), err


def test_convert_formats():
    src = write("simple.folded", SIMPLE)
    rc, _, err = pyflare("convert", src, path("rt.folded"))
    assert rc == 0, err
    got = sorted(open(path("rt.folded")).read().splitlines())
    assert got == sorted(SIMPLE.splitlines()), (got, sorted(SIMPLE.splitlines()))
    rc, _, err = pyflare("convert", src, path("s.html"))
    assert rc == 0, err
    rc, out, err = pyflare("convert", "--format", "folded", src, "-")
    assert rc == 0 and out.decode().count("\n") == 6, err
    # py-spy, Austin (with its header), CRLF, blank lines, comments
    austin = ("# austin: 3.6.0\n# mode: wall\n\n"
              "P4242;T7f00aa;/usr/lib/python3.11/runpy.py:_run_module_as_main:196;app.py:main:10 5\r\n"
              "P4242;T7f00aa;/usr/lib/python3.11/runpy.py:_run_module_as_main:196;app.py:main:10;<frozen x>:f:3 7\r\n")
    rc, out, err = pyflare("convert", "--format", "folded", write("austin.folded", austin), "-")
    assert rc == 0, err
    assert sorted(out.decode().splitlines()) == [
        "P4242;T7f00aa;_run_module_as_main (/usr/lib/python3.11/runpy.py:196);main (app.py:10) 5",
        "P4242;T7f00aa;_run_module_as_main (/usr/lib/python3.11/runpy.py:196);main (app.py:10);f (<frozen x>:3) 7",
    ], out.decode()
    # frames with spaces and odd shapes stay whole
    odd = "thread (0x7f12 worker one);do stuff (x);a:b;f (not a path) 3\n"
    rc, out, err = pyflare("convert", "--format", "folded", write("odd.folded", odd), "-")
    assert rc == 0 and out.decode() == odd, (out, err)
    # a very long line: 20,000 frames
    deep = ";".join("f%d (m.py:%d)" % (i % 50, i % 50 + 1) for i in range(20000)) + " 1\n"
    rc, _, err = pyflare("flamegraph", write("deep.folded", deep), "-o", path("deep.svg"))
    assert rc == 0, err
    assert len(svg_frames(ET.parse(path("deep.svg")).getroot())) == 20001


# ---- the merged tree, computed here from the folded text ----------------------------------

FRAME_W = 1180


def canonical(label):
    """A label as the reader understands it: Austin's "file:func:line" is "func (file:line)"."""
    m = re.match(r"^([^:]*\.py):([^:]+):([1-9]\d*)$", label)
    return "%s (%s:%s)" % (m.group(2), m.group(1), m.group(3)) if m else label


def merged_tree(stacks, reverse):
    """{path tuple: [total, self]} for every prefix of every stack with a count above 0."""
    tree = {(): [0, 0]}
    for frames, count in stacks:
        if not count:
            continue
        frames = [canonical(f) for f in (reversed(frames) if reverse else frames)]
        tree[()][0] += count
        for d in range(1, len(frames) + 1):
            node = tree.setdefault(tuple(frames[:d]), [0, 0])
            node[0] += count
        tree[tuple(frames)][1] += count
    return tree


def drawn(tree, minwidth):
    """What a flame graph must draw: {path: weight} for frames at least minwidth px wide whose
    parents are drawn, and {parent path: (narrow children, their weight)} for the merged ones."""
    total = tree[()][0]
    keep, narrow = {(): total}, {}
    for path_ in sorted(tree, key=len):
        if not path_ or path_[:-1] not in keep:
            continue
        w = tree[path_][0]
        if w * FRAME_W < minwidth * total:
            n, nw = narrow.get(path_[:-1], (0, 0))
            narrow[path_[:-1]] = (n + 1, nw + w)
        else:
            keep[path_] = w
    return keep, {k: v for k, v in narrow.items() if v[1] * FRAME_W >= minwidth * total}


def svg_tree(svg_path):
    """The SVG's frames as {path: weight} and {parent path: (merged count, weight)}, each frame's
    parent found by position (the frame one row down whose span holds it), its weight and
    label read from its title, and its diff line if any."""
    frames = svg_frames(ET.parse(svg_path).getroot())
    total = int(re.search(r"var T=(\d+),", open(svg_path).read()).group(1))
    by_depth = {}
    for f in frames:  # exact sample start and weight, as the script recovers them
        f["s"], f["n"] = round(f["x"] * total / FRAME_W), round(f["w"] * total / FRAME_W)
        if f["cls"] != "m":
            by_depth.setdefault(f["depth"], []).append(f)
    starts = {}
    for d, row in by_depth.items():
        row.sort(key=lambda q: q["s"])
        starts[d] = [q["s"] for q in row]
    keep, narrow, diff = {}, {}, {}
    for f in frames:
        lines = f["title"].split("\n")
        w = int(re.match(r"^([\d,]+) samples? ", lines[2]).group(1).replace(",", ""))
        assert w == f["n"], ("title and width disagree", f)
        if f["depth"] == 0:
            f["path"] = ()
        else:
            row = by_depth[f["depth"] - 1]
            parent = row[bisect.bisect_right(starts[f["depth"] - 1], f["s"]) - 1]
            assert parent["s"] <= f["s"] and f["s"] + f["n"] <= parent["s"] + parent["n"], ("no parent for", f)
            if f["cls"] == "m":
                n = int(re.match(r"^(\d+) frames narrower", lines[0]).group(1))
                narrow[parent["path"]] = (n, w)
                continue
            label = "%s (%s)" % (lines[0], lines[1]) if lines[1] else lines[0]
            f["path"] = parent["path"] + (label,)
        keep[f["path"]] = w
        if len(lines) > 3 and lines[3].startswith("self "):
            diff[f["path"]] = lines[3]
    return keep, narrow, diff


def random_folded(seed, lines=3000):
    """Stacks from a random call graph, with heavy-tailed counts, zero counts, repeated lines,
    Austin's spelling of the same frames, thread roots and a native frame."""
    import random
    rng = random.Random(seed)
    funcs = ["f%d (m%d.py:%d)" % (i, i % 7, i % 11 + 1) for i in range(60)] + ["memcpy (libc.so.6)"]
    callees = [[rng.randrange(len(funcs)) for _ in range(rng.randint(1, 5))] for _ in funcs]
    out = []
    for i in range(lines):
        at = rng.randrange(3)
        stack = [funcs[at]]
        for _ in range(rng.randint(0, 25)):
            at = rng.choice(callees[at])
            stack.append(funcs[at])
        if rng.random() < 0.2:
            stack = [re.sub(r"^(\S+) \((\S+\.py):(\d+)\)$", r"\2:\1:\3", f) for f in stack]
        if rng.random() < 0.1:
            stack.insert(0, "thread (worker %d)" % rng.randrange(2))
        count = 0 if rng.random() < 0.03 else int(rng.paretovariate(1.1))
        line = "%s %d" % (";".join(stack), count)
        out.append(line)
        if rng.random() < 0.05:
            out.append(line)  # the same stack twice in a row
    return "\n".join(out) + "\n"


def test_svg_tree_truth():
    """flamegraph and diff draw exactly the tree merged here from the folded text: every frame
    at least --minwidth wide (forward and --reverse), merged narrow frames, diff's self shares."""
    for seed in (1, 2):
        text = random_folded(seed)
        stacks = parse_folded(text)
        src = write("rand%d.folded" % seed, text)
        for reverse in (False, True):
            tree = merged_tree(stacks, reverse)
            for minwidth in (0.1, 0, 3):
                out = path("rand.svg")
                args = ["flamegraph", "--minwidth", str(minwidth)] + (["--reverse"] if reverse else []) + [src, "-o", out]
                rc, _, err = pyflare(*args)
                assert rc == 0, err
                want_keep, want_narrow = drawn(tree, minwidth)
                got_keep, got_narrow, _ = svg_tree(out)
                assert got_keep == want_keep, (args, sorted(set(got_keep.items()) ^ set(want_keep.items()))[:10])
                assert got_narrow == want_narrow, (args, sorted(set(got_narrow.items()) ^ set(want_narrow.items()))[:10])
                assert len(want_narrow) > 0 or minwidth == 0, "the input should have narrow frames to merge"
    # diff: each drawn frame's self share before and after
    before, after = random_folded(3), random_folded(4)
    out = path("rand_diff.svg")
    rc, _, err = pyflare("diff", write("b.folded", before), write("a.folded", after), "-o", out)
    assert rc == 0, err
    tb, ta = merged_tree(parse_folded(before), False), merged_tree(parse_folded(after), False)
    got_keep, _, diff = svg_tree(out)
    assert got_keep == drawn(ta, 0.1)[0]
    for path_, line in diff.items():
        b = 100.0 * tb[path_][1] / tb[()][0] if path_ in tb else 0.0
        a = 100.0 * ta[path_][1] / ta[()][0]
        assert line.startswith("self %.2f%% -> %.2f%%" % (b, a)), (path_, line, b, a)
    assert len(diff) == len(got_keep), (len(diff), len(got_keep))


def test_svg_same_as_convert():
    """flamegraph merges the lines itself; convert --format svg draws the profile's call tree:
    for any input and options the two SVGs are the same bytes."""
    src = write("rand5.folded", random_folded(5))
    for opts in ([], ["--reverse"], ["--inverted"], ["--minwidth", "0"], ["--minwidth", "7.5", "--reverse"]):
        rc, a, err = pyflare("flamegraph", *opts, src)
        rc2, b, err2 = pyflare("convert", "--format", "svg", *opts, src, "-")
        assert rc == 0 and rc2 == 0, (err, err2)
        assert a == b, (opts, len(a), len(b))


def test_errors():
    out = path("err.svg")
    rc, _, err = pyflare("flamegraph", path("missing.folded"), "-o", out)
    ok, lines = one_line(err)
    assert rc != 0 and ok and "cannot open" in err and no_leftovers(out), (rc, err)
    cases = [
        ("a;b 1\nno_count_here\nc 2\n", ":2: missing sample count"),
        ("a;b 1\nc 2\nd -5\n", ":3: sample count '-5' is negative"),
        ("a 12x\n", ":1: sample count '12x' is not a whole number"),
        ("a 1.5\n", ":1: sample count '1.5' is not a whole number"),
        ("a 1\n;; 5\n", ":2: empty stack"),
        ("a 1\n 5\n", ":2: empty stack"),
        ("a 99999999999999999999\n", ":1: sample count '99999999999999999999' is too large"),
        ("a\x00b 1\n", ":1: NUL byte"),
    ]
    for text, want in cases:
        src = write("bad.folded", text)
        rc, _, err = pyflare("flamegraph", src, "-o", out)
        ok, lines = one_line(err)
        assert rc != 0 and ok and (src + want) in err and no_leftovers(out), (text, rc, err)
        rc, _, err = pyflare("convert", src, path("err.html"))
        assert rc != 0 and (src + want) in err and no_leftovers(path("err.html")), (text, err)
    # --lenient skips and counts
    src = write("mixed.folded", "a;b 1\nno count\nc -1\n\n# comment\nd x\ne 4\n")
    rc, _, err = pyflare("flamegraph", "--lenient", src, "-o", out)
    assert rc == 0 and "skipped 3 malformed lines" in err and os.path.exists(out), (rc, err)
    fr = svg_frames(ET.parse(out).getroot())
    assert fr[0]["title"].endswith("5 samples (100.00%)"), fr[0]
    os.unlink(out)
    # usage errors
    for args, want in [
        (["convert", "--format", "nope", src, path("x.svg")], "unknown format 'nope'"),
        (["convert", src, path("x.weird")], "cannot tell the format"),
        (["flamegraph", "--minwidth", "-1", src], "invalid --minwidth"),
        (["flamegraph", "--bogus", src], "unknown option '--bogus'"),
        (["flamegraph"], "expected one input file"),
        (["diff", src], "two input files"),
        (["flamegraph", TMP, "-o", out], "cannot read"),
        (["flamegraph", src, "-o", "/nonexistent-dir/x.svg"], "/nonexistent-dir/x.svg"),
    ]:
        rc, _, err = pyflare(*args)
        ok, lines = one_line(err)
        assert rc != 0 and ok and want in err, (args, rc, err)
    for cmd in ("flamegraph", "convert", "diff"):
        rc, out_, err = pyflare(cmd, "--help")
        assert rc == 0 and b"usage: pyflare " + cmd.encode() in out_, (cmd, err)


def test_cli_names():
    """--version; output suffixes in any case and .json as speedscope; a flame graph or a pprof
    fed back as input is named for what it is, not reported as a bad sample count."""
    rc, out, err = pyflare("--version")
    assert rc == 0 and re.match(rb"^pyflare \d+\.\d+\.\d+\n$", out), (rc, out, err)
    src = write("names.folded", "main;work 3\nmain;idle 1\n")
    rc, _, err = pyflare("convert", src, path("UPPER.SVG"))
    assert rc == 0, err
    svg_frames(ET.parse(path("UPPER.SVG")).getroot())
    for name in ("plain.json", "UPPER.JSON", "x.Speedscope.Json"):
        rc, _, err = pyflare("convert", src, path(name))
        assert rc == 0, (name, err)
        doc = json.load(open(path(name)))
        assert doc["$schema"].startswith("https://www.speedscope.app/"), (name, doc.keys())
    rc, _, err = pyflare("convert", src, path("graph.svg"))
    rc2, _, _ = pyflare("convert", src, path("prof.pprof"))
    assert rc == 0 and rc2 == 0, err
    for fed, what in (("graph.svg", "SVG"), ("prof.pprof", "gzip")):
        for args in (["flamegraph", path(fed), "-o", path("again.svg")], ["convert", "--lenient", "--format", "folded", path(fed), "-"]):
            rc, _, err = pyflare(*args)
            ok, lines = one_line(err)
            assert rc != 0 and ok and "not folded stacks" in err and what in err, (args, rc, err)


def html_varints(d, most=None):
    """The varints of a report's binary block (the first most of them)."""
    raw = zlib.decompress(base64.b64decode(d["bin"]))
    pos, vals = 0, []
    while pos < len(raw) and (most is None or len(vals) < most):
        v, pos = harness.read_varint(raw, pos)
        vals.append(v)
    return vals


def html_data(p):
    """The JSON block of a report, with its binary block checked and decoded."""
    html = open(p, "rb").read().decode("utf-8")
    m = re.search(r'<script type="application/json" id="pf-data">(.*?)</script>', html, re.S)
    assert m, "no JSON data block"
    block = m.group(1)
    assert "<" not in block and "\u2028" not in block and "\u2029" not in block, "unescaped markup in the data block"
    d = json.loads(block)
    vals = html_varints(d)
    assert len(vals) == d["n"] + 2 * (d["n"] - 1) + 3 * d["ns"], "binary block has the wrong length"
    d["self"] = vals[:d["n"]]
    return html, d


def test_html_static():
    src = write("hostile.folded", hostile_folded())
    out = path("hostile.html")
    rc, _, err = pyflare("convert", "--title", "</title><script>alert(7)</script>", src, out)
    assert rc == 0, err
    html, d = html_data(out)
    for n in ("<script>alert(1)</script>", "\"'><img src=x onerror=alert(1)>", "</svg><svg onload=alert(2)>"):
        assert n in d["strings"], n
    assert html.count("<script") == 2 and "&lt;/title&gt;&lt;script&gt;alert(7)" in html
    assert sum(d["self"]) == sum(c for _, c in parse_folded(hostile_folded()))
    assert d["ns"] == 0


# ---- the browser ----------------------------------------------------------------------------

def browser_ready():
    """None when the browser checks can run, else why not."""
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(chromium):
        return "no Chromium at %s (Debian: apt-get install chromium)" % chromium
    if not shutil.which("node"):
        return "no node (Debian: apt-get install nodejs npm)"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        if not shutil.which("npm"):
            return "playwright-core is not installed and there is no npm to install it"
        r = subprocess.run(["npm", "ci", "--prefix", BROWSER_DIR, "--no-audit", "--no-fund"], capture_output=True,
                           text=True, timeout=600)
        if r.returncode != 0:
            return "npm ci in tests/browser failed: %s" % (r.stderr.strip().splitlines() or ["?"])[-1]
    return None


def node(script, *args, timeout=900):
    r = subprocess.run(["node", os.path.join(BROWSER_DIR, script)] + list(args), capture_output=True, text=True,
                       timeout=timeout, cwd=BROWSER_DIR)
    assert r.returncode == 0, "node %s failed: %s" % (script, r.stderr[-2000:])
    return json.loads(r.stdout.strip().split("\n")[-1])  # names may hold U+2028: not splitlines()


def assert_clean(o):
    assert not o["dialogs"], "dialogs fired: %r" % o["dialogs"]
    assert not o["errors"], "page errors: %r" % o["errors"]
    inj = o["injected"]
    assert inj["img"] == 0 and inj["onattrs"] == 0 and inj["bold"] == 0, "injected markup: %r" % inj


def figure(text):
    m = re.search(r"([\d.]+)%", text or "")
    assert m, "no percentage in %r" % text
    return float(m.group(1))


def browser_svg_interact():
    lines = []
    for i in range(40):
        lines.append("main (app.py:1);handler%d (app.py:%d);db.query (/v/lib/python3.11/site-packages/orm/q.py:9) %d" % (i % 7, i % 7 + 10, 10 + i))
        lines.append("main (app.py:1);handler%d (app.py:%d);json.dumps (/usr/lib/python3.11/json/__init__.py:231);encode (/usr/lib/python3.11/json/encoder.py:%d) %d" % (i % 5, i % 5 + 10, 100 + i % 3, 5 + i))
    text = "\n".join(lines) + "\n"
    src = write("browse.folded", text)
    out = path("browse.svg")
    rc, _, err = pyflare("flamegraph", src, "-o", out)
    assert rc == 0, err
    regex = r"db\.query|encode \("
    o = node("check_svg.mjs", out, "interact", regex)
    assert_clean({**o, "dialogs": [d for d in o["dialogs"] if d["type"] != "prompt"]})
    t = o["tooltip"]
    name, loc = o["hover"]["title"].split("\n")[:2]
    assert t["shown"] and t["lines"][0] == name and t["lines"][1] == loc, t
    assert re.match(r"^[\d,]+ samples, [\d.]+% of all", t["lines"][2]), t
    z = o["zoom"]
    assert abs(z["after"] - 1180) < 0.5 and z["before"] < 1100, z
    assert z["ancestors"] >= 2 and z["ancestorsGreyed"] == z["ancestors"], z
    assert z["outsideShown"] == 0 and z["resetShown"], z
    assert abs(o["reset"]["width"] - z["before"]) < 0.05 and o["reset"]["greyed"] == 0 and o["reset"]["hidden"] == 0, o["reset"]
    want = matched_percent(parse_folded(text), regex)
    assert abs(figure(o["matched"]) - want) < 0.006, (o["matched"], want)
    assert o["highlighted"] > 0


def browser_svg_hostile():
    o = node("check_svg.mjs", path("hostile.svg"), "hostile")
    assert_clean(o)
    assert o["injected"]["scripts"] == 1
    assert "<script>alert(1)</script>" in o["titles"], o["titles"]


def gen_profile():
    """Builds tests/formats_visual/gen_profile.c against libpyflare.a, or says why not."""
    lib = os.path.join(BUILD, "libpyflare.a")
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not os.path.exists(lib):
        return None, "no %s (set PYFLARE_BUILD)" % lib
    if not cc:
        return None, "no C compiler"
    exe = path("gen_profile")
    flags = []
    with open(lib, "rb") as fh:
        if b"__asan_" in fh.read():
            # `make asan` builds the library with sanitizers (and clang): link the generator to match.
            flags = ["-fsanitize=address,undefined"]
            cc = shutil.which("clang") or cc
    r = subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-O2"] + flags + ["-I", os.path.join(ROOT, "src"),
                        os.path.join(HERE, "gen_profile.c"), lib, "-lz", "-lm", "-o", exe], capture_output=True, text=True)
    if r.returncode != 0:
        return None, "cannot build gen_profile: %s" % r.stderr.strip()[-300:]
    return exe, None


def browser_html_interact(gen):
    out = path("report.html")
    subprocess.run([gen, "3000", "3", out], check=True)
    stacks = parse_folded(open(out + ".folded").read())
    regex = r"decode|recv_into"
    o = node("check_html.mjs", out, "interact", regex)
    assert_clean(o)
    assert o["hover"]["tip"] and o["hover"]["tip"].split("\n")[0] == o["hover"]["label"].split(" (")[0], o["hover"]
    z = o["zoom"]
    assert z["zoomRoot"] and abs(z["after"] - z["width"]) < 0.5 and z["before"] < z["width"] - 10, z
    assert z["greyed"] == z["depth"] and z["greyedFull"] == z["depth"], z
    assert o["reset"]["zoomRoot"] == 0 and abs(o["reset"]["rootWidth"] - o["reset"]["width"]) < 0.5, o["reset"]
    assert o["icicle"]["rootAbove"] is True
    want = matched_percent(stacks, regex)
    assert abs(figure(o["matched"]) - want) < 0.006, (o["matched"], want)
    assert all(o["sort"].values()), o["sort"]
    # the table agrees with the folded stacks: self and total per function
    fself, ftot = {}, {}
    for frames, c in stacks:
        labs = [func_label(f) for f in frames]
        fself[labs[-1]] = fself.get(labs[-1], 0) + c
        for lab in set(labs):
            ftot[lab] = ftot.get(lab, 0) + c
    for f in o["functions"]:
        lab = "%s (%s)" % (f["name"], f["file"]) if f["file"] else f["name"]
        assert f["self"] == fself.get(lab, 0) and f["total"] == ftot.get(lab), (f, fself.get(lab), ftot.get(lab))
    assert o["tableRows"] == len(ftot) and 0 < o["tableFiltered"] < o["tableRows"], (o["tableRows"], len(ftot))
    # callers and callees of the selected function
    sel = o["selected"]
    assert sel["shown"], sel
    callers, callees = {}, {}
    for frames, c in stacks:
        labs = [func_label(f) for f in frames]
        if sel["name"] not in labs:
            continue
        i = labs.index(sel["name"])
        k = labs[i - 1] if i else "(root)"
        callers[k] = callers.get(k, 0) + c
        if i + 1 < len(labs):
            callees[labs[i + 1]] = callees.get(labs[i + 1], 0) + c
    got = {n: int(w.split()[0].replace(",", "")) for n, w in sel["callers"]}
    assert got == callers, (sel["name"], got, callers)
    got = {n: int(w.split()[0].replace(",", "")) for n, w in sel["callees"] if w}
    assert got == callees, (sel["name"], got, callees)
    assert o["tree"]["expanded"] and o["tree"]["after"] > o["tree"]["before"], o["tree"]
    tl = o["timeline"]
    assert tl["canvas"] and len(tl["rows"]) == 3 and tl["rows"][0].startswith("MainThread"), tl


def browser_html_hostile(gen):
    out = path("hostile_report.html")
    subprocess.run([gen, "3000", "3", out, "hostile"], check=True)
    o = node("check_html.mjs", out, "hostile")
    assert_clean(o)
    assert o["injected"]["scripts"] == 2, o["injected"]
    assert o["title"] == "<script>alert(5)</script> title" and o["h1"] == o["title"], (o["title"], o["h1"])
    assert any(r.startswith("<b onmouseover=alert(4)>worker</b>") for r in o["timeline"]["rows"]), o["timeline"]
    # and a report made from folded stacks with hostile names: no timeline, said so
    o = node("check_html.mjs", path("hostile.html"), "hostile")
    assert_clean(o)
    assert not o["timeline"]["canvas"] and "No timeline" in o["timeline"]["empty"], o["timeline"]


# A real program for the recorded-profile checks: after a moment of start-up it
# only ever runs spin_hot (in two callers), so a search for it must match
# nearly everything, and callers split roughly 1:3.
RECORDED_PROGRAM = """import time
def spin_hot(seconds):
    end = time.time() + seconds
    while time.time() < end:
        pass
def light():
    spin_hot(0.5)
def heavy():
    spin_hot(1.5)
light()
heavy()
"""


def browser_recorded():
    """SVG and HTML written by `pyflare record` from a real program, driven in Chromium."""
    for ext, script in ((".svg", "check_svg.mjs"), (".html", "check_html.mjs")):
        out = path("recorded" + ext)
        rc, _, err = pyflare("record", "--rate", "500", "-o", out, "--", sys.executable, "-c", RECORDED_PROGRAM)
        assert rc == 0 and os.path.exists(out), "record -o %s: exit %d: %s" % (out, rc, err)
        o = node(script, out, "interact", "spin_hot")
        assert_clean({**o, "dialogs": [d for d in o["dialogs"] if d["type"] != "prompt"]})
        pct = figure(o["matched"])
        assert 80 <= pct <= 100, (ext, o["matched"])
        if ext == ".html":
            names = [f["name"] for f in o["functions"]]
            assert "spin_hot" in names and "heavy" in names and "light" in names, names
            tl = o["timeline"]
            # one row, the main thread (unnamed: the program never imports threading)
            assert tl["canvas"] and len(tl["rows"]) == 1, tl


# A real program for the Source tab: hot in spin_hot's loop, with hostile text in its source.
SOURCE_PROGRAM = """import time
# </script><script>window.PWNED=1</script>
BAIT = "<img src=x onerror=window.PWNED=2><b>bold</b>"
def spin_hot(seconds):
    end = time.time() + seconds
    x = 0
    while time.time() < end:
        x += 1
def light():
    spin_hot(0.4)
def heavy():
    spin_hot(1.2)
light()
heavy()
"""
SOURCE_LOOP = (7, 8)  # the lines of spin_hot's loop, where all its own time goes


def own_by_line(d, filename):
    """{line: own weight} of the frames in filename, from the page's tree (the samples the report holds)."""
    parent, frame = html_tree(d)
    S, out = d["strings"], {}
    for k in range(1, d["n"]):
        f = d["frames"]["func"][frame[k]]
        if S[d["funcs"]["file"][f]] == filename and d["self"][k]:
            line = d["frames"]["line"][frame[k]]
            out[line] = out.get(line, 0) + d["self"][k]
    return out


def browser_source():
    """The Source tab of a report recorded from a real program, in Chromium."""
    prog = write("srcprog.py", SOURCE_PROGRAM)
    out = path("source.html")
    rc, _, err = pyflare("record", "--rate", "500", "-o", out, "--", sys.executable, prog)
    assert rc == 0, err
    _, d = html_data(out)
    truth = own_by_line(d, "srcprog.py")
    assert sum(truth.values()) > 100, truth
    hot_line = max(truth, key=lambda ln: truth[ln])
    assert hot_line in SOURCE_LOOP, truth
    o = node("check_html.mjs", out, "source", "spin_hot", str(hot_line))
    assert_clean(o)
    assert o["pwned"] is None, o["pwned"]
    f = next((f for f in o["files"] if f["name"] == "srcprog.py"), None)
    assert f, [x["name"] for x in o["files"]]
    assert o["files"][0]["name"] == "srcprog.py", "the hottest file comes first: %r" % [x["name"] for x in o["files"]]
    shown = {r["line"]: r["own"] for r in f["rows"] if r["own"]}
    assert shown == truth, (shown, truth)
    assert sum(shown.values()) == sum(truth.values())
    assert int(f["hot"]) == hot_line, (f["hot"], hot_line)
    code = [r["code"] for r in f["rows"]]
    assert code[:3] == SOURCE_PROGRAM.splitlines()[:3], code[:3]  # hostile text shown as text
    assert len(f["rows"]) == len(SOURCE_PROGRAM.splitlines()), len(f["rows"])
    # heavy's call line carries spin_hot's time as total, no own
    heavy_call = next(r for r in f["rows"] if r["line"] == 12)
    assert heavy_call["own"] == 0 and heavy_call["total"] > 0, heavy_call
    # the widest spin_hot frame at its hottest line in the flame graph: hovered, its tooltip tells the keys; Ctrl-clicked, the
    # Source tab shows (scrolled to) its line, selected and marked hot (it is spin_hot's hottest line), and the
    # graph was not zoomed on the way; clicked (a zoom), then its file:line link in the bar; shift-clicked
    m = re.match(r"spin_hot \(srcprog\.py:(\d+)\)", o["clicked"] or "")
    assert m, o["clicked"]
    assert int(m.group(1)) == hot_line, (m.group(1), truth)
    want = "src-0-%s" % m.group(1)
    assert o["tip"] and "Ctrl-click" in o["tip"] and "Source" in o["tip"], o["tip"]
    assert o["afterCtrl"]["zoomRoot"] == 0, ("Ctrl-click zoomed", o["afterCtrl"])
    assert o["afterCtrl"]["hot"] and o["afterCtrl"]["inView"], o["afterCtrl"]
    assert o["link"] == "srcprog.py:%s \u2197" % m.group(1), o["link"]
    for how in ("afterCtrl", "afterLink", "afterShift"):
        assert o[how]["sourceVisible"] and o[how]["selected"] == want, (how, o[how], want)
    assert o["afterLink"]["selectedText"] == SOURCE_PROGRAM.splitlines()[int(m.group(1)) - 1]
    assert o["afterLink"]["inView"], o["afterLink"]
    assert o["hottest"][0] == "srcprog.py:%d" % hot_line, o["hottest"]
    # the function table's source link: the function's hottest line
    assert o.get("afterTable", {}).get("selected") == "src-0-%d" % hot_line, o.get("afterTable")
    assert o.get("afterTableLink", {}).get("selected") == "src-0-%d" % hot_line, o.get("afterTableLink")
    # a timeline sample of spin_hot clicked: its own line
    m = re.match(r"spin_hot \(srcprog\.py:(\d+)\)", (o.get("timeline") or {}).get("label", ""))
    assert m and "click: its line in Source" in o["timeline"]["tip"], o.get("timeline")
    assert o["timeline"]["selected"] == "src-0-%s" % m.group(1) and o["timeline"]["inView"], o["timeline"]
    # a file that could not be read: its lines and figures, no text, and a note
    frozen = [x for x in o["files"] if x["name"].startswith("<frozen")]
    for x in frozen:
        assert "could not be read" in x["note"] and all(r["code"] == "" for r in x["rows"]), x


# A real program hot in a standard-library file (difflib, pure Python): its Source tab shows an excerpt.
LIBRARY_PROGRAM = """import difflib, time
a = [str(i % 97) for i in range(3000)]
b = a[::-1]
end = time.time() + 1.5
while time.time() < end:
    difflib.SequenceMatcher(None, a, b).ratio()
"""


def browser_source_library():
    """A standard-library file's Source tab, in Chromium: the excerpt (report/excerpt.h) shows every line with
    samples and the first line of every function seen, each as the real file has it, and says where lines
    were left out; the program's own file stays whole."""
    import difflib
    with open(difflib.__file__, encoding="utf-8") as f:
        real = f.read().splitlines()
    prog = write("libprog.py", LIBRARY_PROGRAM)
    out = path("libsource.html")
    rc, _, err = pyflare("record", "--rate", "500", "-o", out, "--", sys.executable, prog)
    assert rc == 0, err
    _, d = html_data(out)
    S = d["strings"]
    shown_name = next(S[x[0]] for x in d["src"]["files"] if S[x[0]].endswith("difflib.py"))
    truth = {ln: w for ln, w in own_by_line(d, shown_name).items() if ln > 0}  # line 0: a frame by function
    assert sum(truth.values()) > 100, truth
    firsts = set()  # the first lines of the difflib functions seen, as the module itself knows them
    for f in range(1, len(d["funcs"]["file"])):
        if S[d["funcs"]["file"][f]] == shown_name:
            obj = difflib
            for part in S[d["funcs"]["name"][f]].split("."):
                obj = getattr(obj, part, None)
            if hasattr(obj, "__code__"):
                firsts.add(obj.__code__.co_firstlineno)
    assert firsts, "no difflib function named"
    o = node("check_html.mjs", out, "source", "find_longest_match")
    assert_clean(o)
    lib = next(f for f in o["files"] if f["name"] == shown_name)
    rows = {r["line"]: r for r in lib["rows"]}
    assert {ln: r["own"] for ln, r in rows.items() if r["own"]} == truth, "every line with samples, its own figure"
    missing = sorted(ln for ln in firsts | set(truth) if ln not in rows)
    assert not missing, "lines not shown: %r" % missing
    wrong = [(ln, r["code"]) for ln, r in rows.items() if r["code"] != real[ln - 1]]
    assert not wrong, "shown unlike the file: %r" % wrong[:3]
    assert lib["gaps"] and len(rows) < len(real) / 2, (len(rows), len(real), lib["gaps"][:2])
    assert all("not kept" in g for g in lib["gaps"]), lib["gaps"][:2]
    assert "functions with samples" in lib["summary"], lib["summary"]
    own = next(f for f in o["files"] if f["name"] == "libprog.py")
    assert not own["gaps"] and len(own["rows"]) == len(LIBRARY_PROGRAM.splitlines()), own
    assert "functions with samples" not in own["summary"], own["summary"]


def test_source_cap_and_text():
    """A source file over the cap is left out with a note (its lines keep their figures);
    the text format lists the hottest line of the hot function with its source."""
    big = write("bigsrc.py", SOURCE_PROGRAM + ("# padding " + "x" * 90 + "\n") * 22000)
    out = path("bigsrc.html")
    rc, _, err = pyflare("record", "--rate", "500", "-o", out, "--", sys.executable, big)
    assert rc == 0, err
    _, d = html_data(out)
    S = d["strings"]
    f = [x for x in d["src"]["files"] if S[x[0]] == "bigsrc.py"]
    assert f and f[0][3] == -1 and "larger than 2 MB" in f[0][5], f
    k = d["src"]["files"].index(f[0])
    lines = d["src"]["lines"]
    own = {lines[i + 1]: lines[i + 2] for i in range(0, len(lines), 4) if lines[i] == k and lines[i + 2]}
    assert own == own_by_line(d, "bigsrc.py"), (own, own_by_line(d, "bigsrc.py"))
    # the text format
    prog = write("srcprog_txt.py", SOURCE_PROGRAM)
    rc, text, err = pyflare("record", "--rate", "500", "-o", "-", "--", sys.executable, prog)
    assert rc == 0, err
    text = text.decode("utf-8", "replace")
    assert "Hottest lines by own time" in text, text[:2000]
    part = text.split("Hottest lines by own time", 1)[1].split("Call tree", 1)[0].splitlines()
    first = next(i for i, ln in enumerate(part) if "srcprog_txt.py:" in ln)
    m = re.search(r"^\s*([\d.]+)%\s+([\d.]+)%\s+srcprog_txt\.py:(\d+)$", part[first])
    assert m and int(m.group(3)) in SOURCE_LOOP and float(m.group(1)) > 20, part[:6]
    assert part[first + 1].strip() == SOURCE_PROGRAM.splitlines()[int(m.group(3)) - 1].strip(), part[first:first + 2]


def browser_html_timing(gen):
    out = path("million.html")
    t = time.time()
    subprocess.run([gen, "1000000", "8", out], check=True)
    gen_s = time.time() - t
    o = node("check_html.mjs", out, "timing")
    assert not o["errors"], o["errors"]
    assert o["samples"] == 1000000
    print("        1,000,000-sample report: %.1f MB, %d tree nodes, written in %.1f s (with the generator); "
          "Chromium first render %.0f ms after navigation start (%.0f ms wall incl. page load); load average %s"
          % (os.path.getsize(out) / 1e6, o["nodes"], gen_s, o["readyMs"], o["wallMs"],
             " ".join("%.1f" % x for x in os.getloadavg())))


# ---- one sibling order and one origin, in every output ----------------------------------------

# Siblings of equal weight whose byte order as labels ("f (app.py:10)" before "f (app.py:9)")
# differs from the one order (report/order.h): name, then file, then the line as a number.
ORDER_LINES = ["f (app.py:10)", "f (app.py:9)", "f (app.py:100)", "g (a.py:5)", "f (b.py:2)", "f_x (app.py:1)",
               "f.y (z.py:3)"]
ORDER_WANT = ["f (app.py:9)", "f (app.py:10)", "f (app.py:100)", "f (b.py:2)", "f.y (z.py:3)", "f_x (app.py:1)",
              "g (a.py:5)"]


def html_tree(d):
    """(parent, frame) per node of a report's tree, from its binary block (preorder)."""
    vals = html_varints(d, 3 * d["n"])
    parent, frame = [None], [0]
    for k in range(1, d["n"]):
        dist, fr = vals[d["n"] + 2 * (k - 1)], vals[d["n"] + 2 * (k - 1) + 1]
        parent.append(k - dist)
        frame.append(fr)
    return parent, frame


def html_label(d, fr):
    S, f = d["strings"], d["frames"]["func"][fr]
    name, file, line = S[d["funcs"]["name"][f]], S[d["funcs"]["file"][f]], d["frames"]["line"][fr]
    return "%s (%s:%d)" % (name, file, line) if file and line > 0 else ("%s (%s)" % (name, file) if file else name)


def svg_children_order(svg_path, depth):
    """Labels of the frames drawn at depth (1 = the root's children), left to right."""
    row = [f for f in svg_frames(ET.parse(svg_path).getroot()) if f["depth"] == depth and f["cls"] != "m"]
    row.sort(key=lambda f: f["x"])
    return ["%s (%s)" % tuple(f["title"].split("\n")[:2]) for f in row]


def test_sibling_order():
    """One profile drawn as SVG (from the call tree and from folded rows, forward and leaf first),
    HTML and text: siblings come in the same order everywhere, the one order of report/order.h."""
    text = "".join("main (app.py:1);%s 10\n" % f for f in ORDER_LINES)
    src = write("order.folded", text)
    got = {}
    for name, args in (("flamegraph", ["flamegraph", src, "-o", path("order1.svg")]),
                       ("convert svg", ["convert", "--format", "svg", src, path("order2.svg")])):
        rc, _, err = pyflare(*args)
        assert rc == 0, err
        got[name] = svg_children_order(args[-1], 2)
    rc, _, err = pyflare("flamegraph", "--reverse", src, "-o", path("order3.svg"))
    assert rc == 0, err
    got["flamegraph --reverse"] = svg_children_order(path("order3.svg"), 1)
    rc, _, err = pyflare("convert", src, path("order.html"))
    assert rc == 0, err
    _, d = html_data(path("order.html"))
    parent, frame = html_tree(d)
    main = [k for k in range(1, d["n"]) if parent[k] == 0][0]
    got["html"] = [html_label(d, frame[k]) for k in range(1, d["n"]) if parent[k] == main]
    rc, out, err = pyflare("convert", "--format", "text", src, "-")
    assert rc == 0, err
    tree = out.decode().split("Call tree", 1)[1]
    got["text"] = ["%s (%s)" % m for m in re.findall(r"[├└]─ [\d.]+% \d+  (\S+)  (\S+)$", tree, re.M)]
    bad = {k: v for k, v in got.items() if v != ORDER_WANT}
    assert not bad, ("want", ORDER_WANT, "got", bad)


LEGEND = ["own code", "standard library", "third-party", "native", "thread / process", "other"]


def svg_legend_entry(fill):
    """The legend entry a frame's fill belongs to (svg.c's palettes, one range each)."""
    r, g, b = rgb(fill)
    if r == g == b:
        return "other"
    if b <= 80:
        return "own code"
    if b >= 215:
        return "standard library" if r <= 140 else "thread / process"
    if r <= 165 and g >= 190:
        return "third-party"
    if r >= 190:
        return "native"
    return "?%s" % fill


def svg_origins(svg_path):
    out = {}
    for f in svg_frames(ET.parse(svg_path).getroot()):
        if f["depth"] and f["cls"] != "m":
            out.setdefault(f["title"].split("\n")[0], set()).add(svg_legend_entry(f["fill"]))
    return out


def html_origins(html_path):
    _, d = html_data(html_path)
    S, out = d["strings"], {}
    for f, n in enumerate(d["funcs"]["name"]):
        out.setdefault(S[n], set()).add(LEGEND[d["funcs"]["origin"][f]])
    return out


ORIGIN_PROGRAM = """import json, sys, threading, time
sys.path.insert(0, sys.argv[1])
import pkg.mod
def own_loop():
    end = time.time() + 1.2
    while time.time() < end:
        json.dumps({"k": list(range(300))})
        pkg.mod.spin(200)
t = threading.Thread(target=own_loop)
t.start()
t.join()
"""
ORIGIN_WANT = {"own_loop": "own code", "JSONEncoder.encode": "standard library", "Thread.run": "standard library",
               "spin": "third-party"}


def origin_round_trip(python):
    """A real program run by python: its own code, the standard library and a package under a
    site-packages directory. Recorded as SVG, HTML and folded (shortened and full paths), the
    folded files drawn again as SVG and HTML: every function has one origin in every output."""
    work = tempfile.mkdtemp(prefix="origins-", dir=TMP)
    os.makedirs(os.path.join(work, "site-packages", "pkg"))
    open(os.path.join(work, "site-packages", "pkg", "__init__.py"), "w").close()
    with open(os.path.join(work, "site-packages", "pkg", "mod.py"), "w") as fh:
        fh.write("def spin(n):\n    s = 0\n    for i in range(n * 50):\n        s += i\n    return s\n")
    script = os.path.join(work, "prog.py")
    with open(script, "w") as fh:
        fh.write(ORIGIN_PROGRAM)
    outs = {}
    for name, extra in (("svg", []), ("html", []), ("folded", []), ("full.folded", ["--full-paths"])):
        out = os.path.join(work, "rec." + name)
        rc, _, err = pyflare("record", "--rate", "400", *extra, "-o", out, "--", python, script,
                             os.path.join(work, "site-packages"))
        assert rc == 0, (python, name, err)
        outs[name] = out
    folded = open(outs["folded"]).read()
    assert "threading.py" in folded, folded[:500]
    seen = {"record svg": svg_origins(outs["svg"]), "record html": html_origins(outs["html"])}
    for name in ("folded", "full.folded"):
        svg, html = os.path.join(work, name + ".svg"), os.path.join(work, name + ".html")
        rc, _, err = pyflare("flamegraph", outs[name], "-o", svg)
        rc2, _, err2 = pyflare("convert", outs[name], html)
        assert rc == 0 and rc2 == 0, (err, err2)
        seen[name + " -> svg"], seen[name + " -> html"] = svg_origins(svg), html_origins(html)
    problems = []
    for func, want in ORIGIN_WANT.items():
        for out, origins in seen.items():
            if origins.get(func) != {want}:
                problems.append("%s in %s: %s, want %s" % (func, out, origins.get(func), want))
    every = {}
    for out, origins in seen.items():
        for func, o in origins.items():
            every.setdefault(func, {})[out] = o
    for func, by_out in every.items():
        if len(set(frozenset(o) for o in by_out.values())) > 1:
            problems.append("%s differs: %s" % (func, by_out))
    assert not problems, (python, problems[:12])


def test_origins_everywhere():
    origin_round_trip(sys.executable)


PY313T = os.path.join(os.environ.get("PYFLARE_PY313T") or "/var/lib/pyflare/py313t", "bin", "python3.13t")


def main():
    if not os.access(PYFLARE, os.X_OK):
        suite.failed("setup", "cannot run %s (set PYFLARE)" % PYFLARE)
        return suite.finish()
    print("formats_visual (%s)" % PYFLARE)
    check("svg: well-formed, frames, colours by origin, title", test_svg_wellformed)
    check("svg: hostile names are text", test_svg_hostile)
    check("svg: origin colours survive record's path shortening", test_svg_recorded_origins)
    check("svg: --reverse, --inverted, --minwidth, stdin/stdout", test_svg_options)
    check("diff: growth red, shrink blue", test_diff)
    check("svg: frames and merged frames are the tree merged from the input (--reverse, --minwidth, diff)",
          test_svg_tree_truth)
    check("svg: flamegraph's own merge and convert's call tree give the same bytes", test_svg_same_as_convert)
    check("convert: round trip, py-spy, Austin, CRLF, comments, long lines", test_convert_formats)
    check("errors: missing file, malformed lines with line numbers, --lenient, usage", test_errors)
    check("html: data block escaped and complete", test_html_static)
    check("cli: --version, suffixes in any case, .json, a flame graph as input", test_cli_names)
    check("svg, html, text: one sibling order (name, file, line as a number)", test_sibling_order)
    check("origin: the same in svg and html, recorded and after a folded round trip", test_origins_everywhere)
    check("source: a file over the cap left out with a note; text lists the hottest lines with source",
          test_source_cap_and_text)
    if os.access(PY313T, os.X_OK):
        check("origin: the same everywhere, free-threaded python3.13t/ dirs", lambda: origin_round_trip(PY313T))
    else:
        skip("origin: the same everywhere, free-threaded python3.13t/ dirs", "no %s" % PY313T)

    why = browser_ready()
    browser = ["svg in Chromium: hover, zoom, reset, search", "svg in Chromium: hostile names",
               "html in Chromium: every view", "html in Chromium: hostile names", "html in Chromium: 1,000,000 samples",
               "svg and html recorded from a real program, in Chromium",
               "html in Chromium: Source tab of a recorded program (counts, hottest line, jump, hostile text)",
               "html in Chromium: Source tab of a standard-library file (its excerpt)"]
    if why:
        for name in browser:
            skip(name, why)
    else:
        check(browser[0], browser_svg_interact)
        check(browser[1], browser_svg_hostile)
        check(browser[5], browser_recorded)
        check(browser[6], browser_source)
        check(browser[7], browser_source_library)
        gen, gen_why = gen_profile()
        if not gen:
            for name in browser[2:5]:
                skip(name, gen_why)
        else:
            check(browser[2], lambda: browser_html_interact(gen))
            check(browser[3], lambda: browser_html_hostile(gen))
            check(browser[4], lambda: browser_html_timing(gen))
    shutil.rmtree(TMP, ignore_errors=True)
    return suite.finish()


if __name__ == "__main__":
    sys.exit(main())
