/* probe.c — print one py_layout initializer for the CPython whose headers this
 * is compiled against.  Build tool only (see gen_layouts.py); not part of pyflare.
 *
 *   cc -std=gnu11 -DPy_BUILD_CORE -I<inc> [-I<inc>/internal] probe.c -o probe
 *
 * Output: the body of one designated initializer (".field.sub = value," lines),
 * one line per py_layout field; model enums are printed as ".<enum_type> = X,"
 * and named by gen_layouts.py.  gen_layouts.py checks that every field of
 * py_layout (as declared in src/cpython/layout.h) is printed exactly once.
 *
 * Offsets come from offsetof/sizeof on the installed headers.  The only
 * exceptions are structs that a version keeps private to its .c files (no
 * installed header declares them); for those, a minimal mirror struct is
 * declared below, each with a note on where the real one lives. */

#include <Python.h>
#include <frameobject.h>
#include <stddef.h>
#include <stdio.h>

#if PY_MAJOR_VERSION == 2
#  include <longintrepr.h>
#  include <intobject.h>
#  include <stringobject.h>
#elif PY_VERSION_HEX < 0x03070000
#  include <longintrepr.h>
#elif PY_VERSION_HEX < 0x03080000
#  include <longintrepr.h>
#  include "internal/pystate.h"          /* _PyRuntimeState */
#elif PY_VERSION_HEX < 0x03090000
#  include <longintrepr.h>
#  include "internal/pycore_pystate.h"   /* _PyRuntimeState, PyInterpreterState */
#elif PY_VERSION_HEX < 0x030B0000
#  include <longintrepr.h>
#  include "internal/pycore_runtime.h"
#  include "internal/pycore_interp.h"
#  if PY_VERSION_HEX >= 0x030A0000
#    include "internal/pycore_moduleobject.h"
#  endif
#else
#  include "internal/pycore_runtime.h"
#  include "internal/pycore_interp.h"
#  include "internal/pycore_frame.h"
#  include "internal/pycore_dict.h"
#  include "internal/pycore_moduleobject.h"
#  if PY_VERSION_HEX >= 0x030C0000
#    include "internal/pycore_gil.h"
#  endif
#endif

/* ---- mirrors of structs no installed header declares ---------------------- */

#if PY_MAJOR_VERSION == 3 && PY_VERSION_HEX < 0x030B0000
/* 3.6-3.10 keep PyDictKeysObject in Objects/dict-common.h (not installed).
 * Its head is: refcount, size, lookup function, usable, nentries, then the
 * index array (a union of int8/16/32/64 arrays in 3.6, char[] from 3.7; both
 * start at the same, pointer-aligned offset).  Entries are {hash, key, value}. */
struct probe_dictkeys {
    Py_ssize_t dk_refcnt;
    Py_ssize_t dk_size;
    void *dk_lookup;
    Py_ssize_t dk_usable;
    Py_ssize_t dk_nentries;
    int64_t dk_indices[1];
};
struct probe_dictentry {
    Py_hash_t me_hash;
    PyObject *me_key;
    PyObject *me_value;
};
#endif

#if PY_VERSION_HEX < 0x030A0000
/* Before 3.10 PyModuleObject is private to Objects/moduleobject.c; it starts
 * { PyObject_HEAD; PyObject *md_dict; ... } in every version. */
struct probe_module {
    PyObject_HEAD
    PyObject *md_dict;
};
#endif

/* ---- output helpers --------------------------------------------------------- */

static void put(const char *name, long long value)
{
    printf("        .%s = %lld,\n", name, value);
}
static void none(const char *name)
{
    printf("        .%s = PY_NO_FIELD,\n", name);
}
/* Models are named by their enum type; gen_layouts.py maps each type to the
 * py_layout member declared with it, so renaming a member needs no change here. */
static void model(const char *enum_type, const char *value)
{
    printf("        .<%s> = %s,\n", enum_type, value);
}
#define OFF(name, type, member) put(name, (long long)offsetof(type, member))
#define SIZE(name, type) put(name, (long long)sizeof(type))

int main(void)
{
    printf("        .version_hex = 0x%08lx,\n", (unsigned long)PY_VERSION_HEX);

    /* ---- models ---- */
#if PY_MAJOR_VERSION == 2
    model("py_lines_model", "PY_LINES_LNOTAB_UNSIGNED");
#elif PY_VERSION_HEX < 0x030A0000
    model("py_lines_model", "PY_LINES_LNOTAB_SIGNED");
#elif PY_VERSION_HEX < 0x030B0000
    model("py_lines_model", "PY_LINES_LINETABLE_310");
#else
    model("py_lines_model", "PY_LINES_LOCATIONS_311");
#endif

#if PY_VERSION_HEX < 0x030B0000
    model("py_frames_model", "PY_FRAMES_OBJECTS");
#elif PY_VERSION_HEX < 0x030D0000
    model("py_frames_model", "PY_FRAMES_CFRAME");
#else
    model("py_frames_model", "PY_FRAMES_DIRECT");
#endif

#if PY_VERSION_HEX < 0x030A0000
    model("py_instr_model", "PY_INSTR_LASTI_BYTES");
#elif PY_VERSION_HEX < 0x030B0000
    model("py_instr_model", "PY_INSTR_LASTI_UNITS");
#else
    model("py_instr_model", "PY_INSTR_POINTER");
#endif

#if PY_MAJOR_VERSION == 2
    model("py_str_model", "PY_STR_BYTES27");
    model("py_dict_model", "PY_DICT_27");
#elif PY_VERSION_HEX < 0x030B0000
    model("py_str_model", "PY_STR_PEP393");
    model("py_dict_model", "PY_DICT_36");
#else
    model("py_str_model", "PY_STR_PEP393");
    model("py_dict_model", "PY_DICT_311");
#endif

#if PY_VERSION_HEX < 0x030B0000
    model("py_managed_model", "PY_MANAGED_NONE");
#elif PY_VERSION_HEX < 0x030C0000
    model("py_managed_model", "PY_MANAGED_311");
#elif PY_VERSION_HEX < 0x030D0000
    model("py_managed_model", "PY_MANAGED_312");
#elif defined(Py_GIL_DISABLED)
    /* No GC pre-header in the free-threaded build: MANAGED_DICT_OFFSET is -1 word. */
    model("py_managed_model", "PY_MANAGED_313_FT");
#else
    model("py_managed_model", "PY_MANAGED_313");
#endif

#if PY_MAJOR_VERSION == 2
    model("py_int_model", "PY_INT_27");
#elif PY_VERSION_HEX < 0x030C0000
    model("py_int_model", "PY_LONG_SIZE");
#else
    model("py_int_model", "PY_LONG_TAG");
#endif

#ifdef Py_GIL_DISABLED
    model("py_build_model", "PY_BUILD_FREE_THREADED");
#else
    model("py_build_model", "PY_BUILD_GIL");
#endif

    /* ---- _PyRuntimeState ---- */
#if PY_VERSION_HEX >= 0x03070000
    OFF("runtime.interpreters_head", _PyRuntimeState, interpreters.head);
#else
    none("runtime.interpreters_head");
#endif
#if PY_VERSION_HEX >= 0x03070000 && PY_VERSION_HEX < 0x030C0000
    OFF("runtime.tstate_current", _PyRuntimeState, gilstate.tstate_current);
#else
    none("runtime.tstate_current");
#endif
    /* `collecting` lived in gcmodule.c statics before 3.7, in the runtime in
     * 3.7-3.8 and in each interpreter from 3.9. */
#if PY_VERSION_HEX >= 0x03070000 && PY_VERSION_HEX < 0x03090000
    OFF("runtime.gc_collecting", _PyRuntimeState, gc.collecting);
#else
    none("runtime.gc_collecting");
#endif

    /* ---- PyInterpreterState ---- */
    OFF("interp.next", PyInterpreterState, next);
    /* The thread list moved into a `threads` sub-struct in 3.11 (not 3.12). */
#if PY_VERSION_HEX >= 0x030B0000
    OFF("interp.tstate_head", PyInterpreterState, threads.head);
#else
    OFF("interp.tstate_head", PyInterpreterState, tstate_head);
#endif
#if PY_VERSION_HEX >= 0x030C0000
    OFF("interp.modules", PyInterpreterState, imports.modules);
    OFF("interp.gil", PyInterpreterState, ceval.gil);
    OFF("interp.gil_embedded", PyInterpreterState, _gil);
    OFF("interp.gil_locked", struct _gil_runtime_state, locked);
    OFF("interp.gil_last_holder", struct _gil_runtime_state, last_holder);
#else
    OFF("interp.modules", PyInterpreterState, modules);
    none("interp.gil");
    none("interp.gil_embedded");
    none("interp.gil_locked");
    none("interp.gil_last_holder");
#endif
#if PY_VERSION_HEX >= 0x03090000
    OFF("interp.gc_collecting", PyInterpreterState, gc.collecting);
#else
    none("interp.gc_collecting");
#endif
#ifdef Py_GIL_DISABLED
    OFF("interp.stw_requester", PyInterpreterState, stoptheworld.requester);
#else
    none("interp.stw_requester");
#endif

    /* ---- PyThreadState ---- */
    OFF("tstate.next", PyThreadState, next);
    OFF("tstate.interp", PyThreadState, interp);
    OFF("tstate.thread_id", PyThreadState, thread_id);
    /* PyThreadState only records the native id from 3.11 (before that,
     * threading.get_native_id() asks the OS and nothing is stored). */
#if PY_VERSION_HEX >= 0x030B0000
    OFF("tstate.native_thread_id", PyThreadState, native_thread_id);
#else
    none("tstate.native_thread_id");
#endif
#if PY_VERSION_HEX < 0x030B0000
    OFF("tstate.frame", PyThreadState, frame);
    none("tstate.cframe");
    none("tstate.cframe_current_frame");
    none("tstate.current_frame");
    none("tstate.datastack_chunk");
#elif PY_VERSION_HEX < 0x030D0000
    none("tstate.frame");
    OFF("tstate.cframe", PyThreadState, cframe);
    OFF("tstate.cframe_current_frame", _PyCFrame, current_frame);
    none("tstate.current_frame");
    OFF("tstate.datastack_chunk", PyThreadState, datastack_chunk);
#else
    none("tstate.frame");
    none("tstate.cframe");
    none("tstate.cframe_current_frame");
    OFF("tstate.current_frame", PyThreadState, current_frame);
    OFF("tstate.datastack_chunk", PyThreadState, datastack_chunk);
#endif
#if PY_VERSION_HEX >= 0x030F0000
    OFF("tstate.base_frame", PyThreadState, base_frame);
    OFF("tstate.holds_gil", PyThreadState, holds_gil);
#else
    /* 3.14 has holds_gil too, but only 3.15's debug offsets publish it (and
     * pyflare uses it only from there): before, the GIL says who holds it. */
    none("tstate.base_frame");
    none("tstate.holds_gil");
#endif

    /* ---- PyFrameObject / _PyInterpreterFrame ---- */
#if PY_VERSION_HEX < 0x030B0000
    OFF("frame_object.back", PyFrameObject, f_back);
    OFF("frame_object.code", PyFrameObject, f_code);
    OFF("frame_object.lasti", PyFrameObject, f_lasti);
    none("iframe.size");
    none("iframe.previous");
    none("iframe.code");
    none("iframe.instr");
    none("iframe.owner");
    none("iframe.is_entry");
#else
    none("frame_object.back");
    none("frame_object.code");
    none("frame_object.lasti");
    SIZE("iframe.size", _PyInterpreterFrame);
    OFF("iframe.previous", _PyInterpreterFrame, previous);
#  if PY_VERSION_HEX < 0x030D0000
    OFF("iframe.code", _PyInterpreterFrame, f_code);
    OFF("iframe.instr", _PyInterpreterFrame, prev_instr);
#  else
    OFF("iframe.code", _PyInterpreterFrame, f_executable);
    OFF("iframe.instr", _PyInterpreterFrame, instr_ptr);
#  endif
    OFF("iframe.owner", _PyInterpreterFrame, owner);
#  if PY_VERSION_HEX < 0x030C0000
    OFF("iframe.is_entry", _PyInterpreterFrame, is_entry);
#  else
    none("iframe.is_entry");
#  endif
#endif

    /* ---- PyCodeObject ---- */
    OFF("code.filename", PyCodeObject, co_filename);
    OFF("code.name", PyCodeObject, co_name);
#if PY_VERSION_HEX >= 0x030B0000
    OFF("code.qualname", PyCodeObject, co_qualname);
#else
    none("code.qualname");
#endif
    OFF("code.firstlineno", PyCodeObject, co_firstlineno);
#if PY_VERSION_HEX < 0x030A0000
    OFF("code.linetable", PyCodeObject, co_lnotab);
#else
    OFF("code.linetable", PyCodeObject, co_linetable);
#endif
#if PY_VERSION_HEX >= 0x030B0000
    OFF("code.code_adaptive", PyCodeObject, co_code_adaptive);
#else
    none("code.code_adaptive");
#endif

    /* ---- PyObject / PyTypeObject ---- */
    OFF("type.ob_type", PyObject, ob_type);
    OFF("type.tp_name", PyTypeObject, tp_name);
    OFF("type.tp_flags", PyTypeObject, tp_flags);
    OFF("type.tp_basicsize", PyTypeObject, tp_basicsize);
    OFF("type.tp_dictoffset", PyTypeObject, tp_dictoffset);
    /* ht_cached_keys exists since 3.3, but only 3.11+ walkers use it. */
#if PY_VERSION_HEX >= 0x030B0000
    OFF("type.ht_cached_keys", PyHeapTypeObject, ht_cached_keys);
#else
    none("type.ht_cached_keys");
#endif

    /* ---- bytes ---- */
#if PY_MAJOR_VERSION == 2
    OFF("bytes.ob_size", PyStringObject, ob_size);
    OFF("bytes.ob_sval", PyStringObject, ob_sval);
#else
    OFF("bytes.ob_size", PyBytesObject, ob_base.ob_size);
    OFF("bytes.ob_sval", PyBytesObject, ob_sval);
#endif

    /* ---- str ---- */
#if PY_MAJOR_VERSION == 2
    /* 2.7 unicode is not PEP 393: the slots are reused as documented in the
     * generated file's header (data pointer offset, code unit size). */
    OFF("unicode.length", PyUnicodeObject, length);
    none("unicode.state");
    OFF("unicode.ascii_size", PyUnicodeObject, str);
    SIZE("unicode.compact_size", Py_UNICODE);
#else
    OFF("unicode.length", PyASCIIObject, length);
    OFF("unicode.state", PyASCIIObject, state);
    SIZE("unicode.ascii_size", PyASCIIObject);
    SIZE("unicode.compact_size", PyCompactUnicodeObject);
#endif

    /* ---- dict ---- */
    OFF("dict.ma_used", PyDictObject, ma_used);
#if PY_MAJOR_VERSION == 2
    OFF("dict.ma_keys", PyDictObject, ma_table);
    none("dict.ma_values");
    OFF("dict.ma_mask", PyDictObject, ma_mask);
    none("dict.dk_size");
    none("dict.dk_log2_size");
    none("dict.dk_log2_index_bytes");
    none("dict.dk_kind");
    none("dict.dk_nentries");
    none("dict.dk_indices");
    SIZE("dict.entry_size", PyDictEntry);
    none("dict.unicode_entry_size");
    none("dict.values_array");
#elif PY_VERSION_HEX < 0x030B0000
    OFF("dict.ma_keys", PyDictObject, ma_keys);
    OFF("dict.ma_values", PyDictObject, ma_values);
    none("dict.ma_mask");
    OFF("dict.dk_size", struct probe_dictkeys, dk_size);
    none("dict.dk_log2_size");
    none("dict.dk_log2_index_bytes");
    none("dict.dk_kind");
    OFF("dict.dk_nentries", struct probe_dictkeys, dk_nentries);
    OFF("dict.dk_indices", struct probe_dictkeys, dk_indices);
    SIZE("dict.entry_size", struct probe_dictentry);
    none("dict.unicode_entry_size");
    none("dict.values_array");
#else
    OFF("dict.ma_keys", PyDictObject, ma_keys);
    OFF("dict.ma_values", PyDictObject, ma_values);
    none("dict.ma_mask");
    none("dict.dk_size");
    OFF("dict.dk_log2_size", PyDictKeysObject, dk_log2_size);
    OFF("dict.dk_log2_index_bytes", PyDictKeysObject, dk_log2_index_bytes);
    OFF("dict.dk_kind", PyDictKeysObject, dk_kind);
    OFF("dict.dk_nentries", PyDictKeysObject, dk_nentries);
    OFF("dict.dk_indices", PyDictKeysObject, dk_indices);
    SIZE("dict.entry_size", PyDictKeyEntry);
    SIZE("dict.unicode_entry_size", PyDictUnicodeEntry);
    OFF("dict.values_array", PyDictValues, values);
#endif

    /* ---- modules, ints ---- */
#if PY_VERSION_HEX < 0x030A0000
    OFF("misc.md_dict", struct probe_module, md_dict);
#else
    OFF("misc.md_dict", PyModuleObject, md_dict);
#endif
#if PY_VERSION_HEX >= 0x030C0000
    OFF("misc.ob_digit", PyLongObject, long_value.ob_digit);
    OFF("misc.ob_size", PyLongObject, long_value.lv_tag);
#elif PY_MAJOR_VERSION == 2
    OFF("misc.ob_digit", PyLongObject, ob_digit);
    OFF("misc.ob_size", PyLongObject, ob_size);
#else
    OFF("misc.ob_digit", PyLongObject, ob_digit);
    OFF("misc.ob_size", PyLongObject, ob_base.ob_size);
#endif
#if PY_MAJOR_VERSION == 2
    OFF("misc.ob_ival", PyIntObject, ob_ival);
#else
    none("misc.ob_ival");
#endif
    put("misc.digit_bits", PYLONG_BITS_IN_DIGIT);
    return 0;
}
