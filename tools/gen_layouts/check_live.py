# check_live.py - check a generated py_layout against the interpreter running
# this script, by reading its own objects through ctypes.
#
#   <python> tools/gen_layouts/check_live.py src/cpython/layouts_generated.c
#
# Runs under 2.7 and every 3.x (keep the syntax 2.7-compatible).  For 3.13+ it
# also compares the table with the interpreter's own _Py_DebugOffsets (read
# from the start of _PyRuntime; field names come from the installed
# internal/pycore_runtime.h).  Exit status 1 if anything disagrees.
from __future__ import print_function

import ctypes
import os
import re
import sys
import sysconfig

FAILS = []
PASSES = [0]


def check(what, got, want):
    if got == want:
        PASSES[0] += 1
    else:
        FAILS.append("%s: memory says %r, expected %r" % (what, got, want))


def load_layout(path):
    text = open(path).read()
    want = "%d.%d." % sys.version_info[:2]
    for m in re.finditer(r"\{ /\* ([0-9.]+\w*) \*/\n(.*?)\n    \},", text, re.S):
        if m.group(1).startswith(want):
            L = {}
            for k, v in re.findall(r"\.([\w.]+) = ([^,]+),", m.group(2)):
                v = v.strip()
                if v == "PY_NO_FIELD":
                    L[k] = None
                elif v.startswith("PY_"):
                    L[k] = v
                else:
                    L[k] = int(v, 0)
            return m.group(1), L
    sys.exit("check_live: no layout for %s in %s" % (want, path))


def ptr(a):
    return ctypes.c_void_p.from_address(a).value or 0


def i64(a):
    return ctypes.c_int64.from_address(a).value


def i32(a):
    return ctypes.c_int32.from_address(a).value


def u8(a):
    return ctypes.c_uint8.from_address(a).value


def mem(a, n):
    return ctypes.string_at(a, n)


api = ctypes.pythonapi
api.PyThreadState_Get.restype = ctypes.c_void_p
api.PyInterpreterState_Head.restype = ctypes.c_void_p


class Holder(object):
    pass


def frames(L, tstate):
    """Check tstate -> current frame -> code, for this very function's frame."""
    me = sys._getframe()
    if L["tstate.frame"] is not None:
        cur = ctypes.c_void_p.from_address(tstate + L["tstate.frame"]).value
        check("tstate.frame", cur, id(me))
        check("frame_object.code", ptr(cur + L["frame_object.code"]), id(me.f_code))
        check("frame_object.back", ptr(cur + L["frame_object.back"]), id(me.f_back))
        caller = me.f_back
        lasti = i32(id(caller) + L["frame_object.lasti"])
        if L["instr"] == "PY_INSTR_LASTI_UNITS":
            lasti *= 2  # frame.f_lasti reports bytes even when the field counts units
        check("frame_object.lasti", lasti, caller.f_lasti)
        return
    if L["tstate.cframe"] is not None:
        cf = ctypes.c_void_p.from_address(tstate + L["tstate.cframe"]).value
        cur = ctypes.c_void_p.from_address(cf + L["tstate.cframe_current_frame"]).value
    else:
        cur = ctypes.c_void_p.from_address(tstate + L["tstate.current_frame"]).value
    co = me.f_code
    check("iframe.code", ptr(cur + L["iframe.code"]), id(co))
    prev = ptr(cur + L["iframe.previous"])
    check("iframe.previous -> code", ptr(prev + L["iframe.code"]), id(me.f_back.f_code))
    check("iframe.owner (0 = thread)", u8(cur + L["iframe.owner"]), 0)
    first = id(co) + L["code.code_adaptive"]
    instr = ptr(cur + L["iframe.instr"])
    check("iframe.instr inside co_code_adaptive",
          first <= instr < first + len(co.co_code), True)
    chunk = ptr(tstate + L["tstate.datastack_chunk"])
    size = ptr(chunk + 8)  # _PyStackChunk {previous, size, top, data[]}
    check("tstate.datastack_chunk holds the frame", chunk < cur < chunk + size, True)


def check_gc_flag(L, interp):
    """The collector's `collecting` flag: 0 here, 1 seen from a gc.callbacks
    "start" callback (3.3+). 2.7/3.6 keep it in a static, not in the table."""
    import gc
    if L["interp.gc_collecting"] is not None:
        flag = interp + L["interp.gc_collecting"]
    elif L["runtime.gc_collecting"] is not None:
        flag = ctypes.addressof(ctypes.c_char.in_dll(api, "_PyRuntime")) + L["runtime.gc_collecting"]
    else:
        return
    check("gc collecting, outside a collection", i32(flag), 0)
    seen = []

    def on_gc(phase, info):
        if phase == "start":
            seen.append(i32(flag))

    gc.callbacks.append(on_gc)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(on_gc)
    check("gc collecting, inside gc.collect()", seen, [1])


def main():
    name, L = load_layout(sys.argv[1])
    v = sys.version_info
    check("version_hex", L["version_hex"], sys.hexversion)

    tstate = api.PyThreadState_Get()
    interp = api.PyInterpreterState_Head()
    if L["runtime.interpreters_head"] is not None:
        rt = ctypes.addressof(ctypes.c_char.in_dll(api, "_PyRuntime"))
        check("runtime.interpreters_head", ptr(rt + L["runtime.interpreters_head"]), interp)
        if L["runtime.tstate_current"] is not None:
            check("runtime.tstate_current", ptr(rt + L["runtime.tstate_current"]), tstate)
    check("interp.next", ptr(interp + L["interp.next"]), 0)
    check("tstate.interp", ptr(tstate + L["tstate.interp"]), interp)
    t, seen = ptr(interp + L["interp.tstate_head"]), False
    while t:
        seen = seen or t == tstate
        t = ptr(t + L["tstate.next"])
    check("interp.tstate_head/tstate.next reach this thread", seen, True)
    check("interp.modules", ptr(interp + L["interp.modules"]), id(sys.modules))
    if L["interp.gil"] is not None:
        gil = ptr(interp + L["interp.gil"])
        check("interp.gil == &interp->_gil", gil, interp + L["interp.gil_embedded"])
        check("gil locked", i32(gil + L["interp.gil_locked"]), 1)
        check("gil last_holder", ptr(gil + L["interp.gil_last_holder"]), tstate)
    check_gc_flag(L, interp)
    if v[0] == 2:
        import thread
        ident = thread.get_ident()
    else:
        import threading
        ident = threading.get_ident()
    check("tstate.thread_id", ptr(tstate + L["tstate.thread_id"]), ident)
    if L["tstate.native_thread_id"] is not None:
        import threading
        check("tstate.native_thread_id", ptr(tstate + L["tstate.native_thread_id"]),
              threading.get_native_id())
    frames(L, tstate)

    co = main.__code__ if v[0] > 2 else main.func_code
    check("code.filename", ptr(id(co) + L["code.filename"]), id(co.co_filename))
    check("code.name", ptr(id(co) + L["code.name"]), id(co.co_name))
    if L["code.qualname"] is not None:
        check("code.qualname", ptr(id(co) + L["code.qualname"]), id(co.co_qualname))
    check("code.firstlineno", i32(id(co) + L["code.firstlineno"]), co.co_firstlineno)
    lt = co.co_linetable if v >= (3, 10) else co.co_lnotab
    check("code.linetable", ptr(id(co) + L["code.linetable"]), id(lt))

    d = {}
    check("type.ob_type", ptr(id(d) + L["type.ob_type"]), id(dict))
    tp_name = ctypes.c_char_p.from_address(id(dict) + L["type.tp_name"]).value
    check("type.tp_name", tp_name, b"dict")
    check("type.tp_flags", ptr(id(dict) + L["type.tp_flags"]), dict.__flags__)
    check("type.tp_basicsize", i64(id(Holder) + L["type.tp_basicsize"]), Holder.__basicsize__)
    check("type.tp_dictoffset", i64(id(Holder) + L["type.tp_dictoffset"]),
          Holder.__dictoffset__)

    b = b"hello, bytes"
    check("bytes.ob_size", i64(id(b) + L["bytes.ob_size"]), len(b))
    check("bytes.ob_sval", mem(id(b) + L["bytes.ob_sval"], len(b)), b)

    if v[0] == 2:
        u = u"h\u00e9llo \U0001f600"
        check("unicode.length", i64(id(u) + L["unicode.length"]), len(u))
        data = ptr(id(u) + L["unicode.ascii_size"])
        raw = mem(data, len(u) * L["unicode.compact_size"])
        check("unicode.str", raw.decode("utf-32-le" if L["unicode.compact_size"] == 4
                                        else "utf-16-le"), u)
    else:
        s = "".join(["ascii", "-text"])
        check("unicode.length", i64(id(s) + L["unicode.length"]), len(s))
        check("unicode ascii data", mem(id(s) + L["unicode.ascii_size"], len(s)), s.encode())
        st = ctypes.c_uint32.from_address(id(s) + L["unicode.state"]).value
        # state bits: interned:2 kind:3 compact:1 ascii:1 (3.12+: interned:2 still)
        check("unicode.state kind/compact/ascii", (st >> 2) & 0x1F, 1 | 8 | 16)
        w = "".join(["caf", "\u00e9"])
        check("unicode compact latin-1 data",
              mem(id(w) + L["unicode.compact_size"], len(w)), w.encode("latin-1"))

    check_dicts(L, v)

    check("misc.md_dict", ptr(id(sys) + L["misc.md_dict"]), id(sys.__dict__))
    n = (1 << 40) + 12345
    if L["misc.ob_ival"] is not None:
        check("misc.ob_ival", i64(id(123456) + L["misc.ob_ival"]), 123456)
        n = long(n)  # noqa: F821 (2.7 only)
    size = i64(id(n) + L["misc.ob_size"])
    nd = size >> 3 if L["misc.ob_size"] is not None and v >= (3, 12) else size
    check("long digit count", nd, 2)
    bits = L["misc.digit_bits"]
    ct = ctypes.c_uint32 if bits == 30 else ctypes.c_uint16
    sz = ctypes.sizeof(ct)
    d0 = ct.from_address(id(n) + L["misc.ob_digit"]).value
    d1 = ct.from_address(id(n) + L["misc.ob_digit"] + sz).value
    check("long digits", d0 | (d1 << bits), n)

    if v >= (3, 13):
        debug_offsets(L)

    print("check_live %s: %d checks passed, %d failed" % (name, PASSES[0], len(FAILS)))
    for f in FAILS:
        print("  FAIL " + f)
    return 1 if FAILS else 0


def check_dicts(L, v):
    keys = [object() for _ in range(3)]
    d = dict((k, i) for i, k in enumerate(keys))
    check("dict.ma_used", i64(id(d) + L["dict.ma_used"]), 3)
    ks = ptr(id(d) + L["dict.ma_keys"])
    if v[0] == 2:
        mask = i64(id(d) + L["dict.ma_mask"])
        check("dict.ma_mask", mask, 7)
        found = set()
        for i in range(mask + 1):
            found.add(ptr(ks + i * L["dict.entry_size"] + 8))
        check("dict entries hold the keys", set(map(id, keys)) <= found, True)
        return
    check("dict.ma_values (combined)", ptr(id(d) + L["dict.ma_values"]), 0)
    check("dict.dk_nentries", i64(ks + L["dict.dk_nentries"]), 3)
    if L["dict.dk_size"] is not None:
        nslots = i64(ks + L["dict.dk_size"])
        check("dict.dk_size", nslots, 8)
        entries = ks + L["dict.dk_indices"] + nslots * 1
    else:
        check("dict.dk_log2_size", u8(ks + L["dict.dk_log2_size"]), 3)
        check("dict.dk_log2_index_bytes", u8(ks + L["dict.dk_log2_index_bytes"]), 3)
        check("dict.dk_kind (general)", u8(ks + L["dict.dk_kind"]), 0)
        entries = ks + L["dict.dk_indices"] + (1 << u8(ks + L["dict.dk_log2_index_bytes"]))
        sd = {"alpha": keys[0], "beta": keys[1]}
        sk = ptr(id(sd) + L["dict.ma_keys"])
        check("dict.dk_kind (unicode)", u8(sk + L["dict.dk_kind"]) != 0, True)
        ue = sk + L["dict.dk_indices"] + (1 << u8(sk + L["dict.dk_log2_index_bytes"]))
        check("unicode entry 1 key", ptr(ue + L["dict.unicode_entry_size"]), id("beta"))
        check("unicode entry 1 value", ptr(ue + L["dict.unicode_entry_size"] + 8), id(keys[1]))
    for i, k in enumerate(keys):  # entries are {hash, key, value}
        check("dict entry %d key" % i, ptr(entries + i * L["dict.entry_size"] + 8), id(k))

    if L["type.ht_cached_keys"] is None:
        return
    class C(object):
        def __init__(self, a):
            self.a = a
    val = object()
    obj = C(val)
    check("type.ht_cached_keys set", ptr(id(C) + L["type.ht_cached_keys"]) != 0, True)
    managed = L["managed"]
    if managed == "PY_MANAGED_311":
        values = ptr(id(obj) - 4 * 8)
    elif managed == "PY_MANAGED_312":
        word = ptr(id(obj) - 3 * 8)
        check("3.12 values pointer tagged", word & 1, 1)
        values = word + 1
    else:
        values = id(obj) + C.__basicsize__
    check("dict.values_array: obj.a", ptr(values + L["dict.values_array"]), id(val))


def debug_offsets(L):
    """Compare with the interpreter's own _Py_DebugOffsets (3.13+)."""
    hdr = os.path.join(sysconfig.get_paths()["include"], "internal", "pycore_runtime.h")
    text = re.sub(r"//[^\n]*", "", open(hdr).read())
    body = re.search(r"typedef struct _Py_DebugOffsets \{(.*?)\n\} _Py_DebugOffsets;",
                     text, re.S).group(1)
    names, group = [], None
    for line in body.splitlines():
        m = re.match(r"\s*struct \w+\s*\{", line)
        if m:
            group = re.search(r"\}\s*(\w+);", body[body.index(line):]).group(1)
            continue
        m = re.match(r"\s*uint64_t (\w+);", line)
        if m:
            names.append(((group + ".") if group else "") + m.group(1))
        if re.match(r"\s*\}", line):
            group = None
    rt = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    check("debug cookie", mem(rt, 8), b"xdebugpy")
    D = {}
    for i, n in enumerate(names):
        D[n] = ctypes.c_uint64.from_address(rt + 8 + 8 * i).value
    check("debug version", D["version"], L["version_hex"])
    pairs = [
        ("runtime_state.interpreters_head", "runtime.interpreters_head", 0),
        ("interpreter_state.next", "interp.next", 0),
        ("interpreter_state.threads_head", "interp.tstate_head", 0),
        ("interpreter_state.imports_modules", "interp.modules", 0),
        ("interpreter_state.ceval_gil", "interp.gil", 0),
        ("interpreter_state.gil_runtime_state", "interp.gil_embedded", 0),
        # these two are offsets from the interpreter state, i.e. _gil + field
        ("interpreter_state.gil_runtime_state_locked", "interp.gil_locked", "gil"),
        ("interpreter_state.gil_runtime_state_holder", "interp.gil_last_holder", "gil"),
        ("thread_state.next", "tstate.next", 0),
        ("thread_state.interp", "tstate.interp", 0),
        ("thread_state.current_frame", "tstate.current_frame", 0),
        ("thread_state.thread_id", "tstate.thread_id", 0),
        ("thread_state.native_thread_id", "tstate.native_thread_id", 0),
        ("thread_state.datastack_chunk", "tstate.datastack_chunk", 0),
        ("interpreter_frame.size", "iframe.size", 0),
        ("interpreter_frame.previous", "iframe.previous", 0),
        ("interpreter_frame.executable", "iframe.code", 0),
        ("interpreter_frame.instr_ptr", "iframe.instr", 0),
        ("interpreter_frame.owner", "iframe.owner", 0),
        ("code_object.filename", "code.filename", 0),
        ("code_object.name", "code.name", 0),
        ("code_object.qualname", "code.qualname", 0),
        ("code_object.linetable", "code.linetable", 0),
        ("code_object.firstlineno", "code.firstlineno", 0),
        ("code_object.co_code_adaptive", "code.code_adaptive", 0),
        ("pyobject.ob_type", "type.ob_type", 0),
        ("type_object.tp_name", "type.tp_name", 0),
        ("type_object.tp_flags", "type.tp_flags", 0),
        ("dict_object.ma_keys", "dict.ma_keys", 0),
        ("dict_object.ma_values", "dict.ma_values", 0),
        ("long_object.lv_tag", "misc.ob_size", 0),
        ("long_object.ob_digit", "misc.ob_digit", 0),
        ("bytes_object.ob_size", "bytes.ob_size", 0),
        ("bytes_object.ob_sval", "bytes.ob_sval", 0),
        ("unicode_object.state", "unicode.state", 0),
        ("unicode_object.length", "unicode.length", 0),
        ("unicode_object.asciiobject_size", "unicode.ascii_size", 0),
    ]
    for dname, lname, base in pairs:
        want = L[lname]
        if base == "gil":
            want += L["interp.gil_embedded"]
        check("_Py_DebugOffsets.%s vs %s" % (dname, lname), D.get(dname), want)


if __name__ == "__main__":
    sys.exit(main())
