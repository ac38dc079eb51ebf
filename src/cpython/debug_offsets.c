/* debug_offsets.c — turning _Py_DebugOffsets into a py_layout (see debug_offsets.h).
 *
 * The struct is a flat run of uint64 values: a header (cookie, version,
 * free_threaded), then sections, most of them starting with their struct's
 * size. A shape is that list of sections and fields, copied in order from the
 * version's own header (Include/internal/pycore_debug_offsets.h; 3.13:
 * pycore_runtime.h) — tools/gen_layouts/debug_offsets_shape.py prints it from
 * a header to compare. A field's word index is its position in that list,
 * so adding a version is adding its text, not code.
 *
 * Nothing is believed because the table says it: every offset used must fit,
 * with the width read there, inside the size its section declares, and every
 * size is bounded. A table that fails is refused as a whole, never partly
 * used. Only shapes we have the headers for are listed; any other version,
 * a newer minor or a pre-release (betas moved fields), is refused by name. */
#include "cpython/debug_offsets.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct shape {
    int major, minor;
    uint32_t prerelease;  /* the one pre-release (PY_VERSION_HEX) this shape is exact for, or 0: finals only */
    const char *sections; /* "section: field field ...; section: ..." in header order */
} shape;

static const shape shapes[] = {
    {3, 13, 0,
     "runtime_state: size finalizing interpreters_head; "
     "interpreter_state: size id next threads_head gc imports_modules sysdict builtins ceval_gil "
     "gil_runtime_state gil_runtime_state_enabled gil_runtime_state_locked gil_runtime_state_holder; "
     "thread_state: size prev next interp current_frame thread_id native_thread_id datastack_chunk status; "
     "interpreter_frame: size previous executable instr_ptr localsplus owner; "
     "code_object: size filename name qualname linetable firstlineno argcount localsplusnames "
     "localspluskinds co_code_adaptive; "
     "pyobject: size ob_type; type_object: size tp_name tp_repr tp_flags; "
     "tuple_object: size ob_item ob_size; list_object: size ob_item ob_size; "
     "dict_object: size ma_keys ma_values; float_object: size ob_fval; long_object: size lv_tag ob_digit; "
     "bytes_object: size ob_size ob_sval; unicode_object: size state length asciiobject_size; "
     "gc: size collecting"},
    {3, 14, 0,
     "runtime_state: size finalizing interpreters_head; "
     "interpreter_state: size id next threads_head threads_main gc imports_modules sysdict builtins "
     "ceval_gil gil_runtime_state gil_runtime_state_enabled gil_runtime_state_locked "
     "gil_runtime_state_holder code_object_generation tlbc_generation; "
     "thread_state: size prev next interp current_frame thread_id native_thread_id datastack_chunk status; "
     "interpreter_frame: size previous executable instr_ptr localsplus owner stackpointer tlbc_index; "
     "code_object: size filename name qualname linetable firstlineno argcount localsplusnames "
     "localspluskinds co_code_adaptive co_tlbc; "
     "pyobject: size ob_type; type_object: size tp_name tp_repr tp_flags; "
     "tuple_object: size ob_item ob_size; list_object: size ob_item ob_size; "
     "set_object: size used table mask; dict_object: size ma_keys ma_values; float_object: size ob_fval; "
     "long_object: size lv_tag ob_digit; bytes_object: size ob_size ob_sval; "
     "unicode_object: size state length asciiobject_size; gc: size collecting; "
     "gen_object: size gi_name gi_iframe gi_frame_state; llist_node: next prev; "
     "debugger_support: eval_breaker remote_debugger_support remote_debugging_enabled "
     "debugger_pending_call debugger_script_path debugger_script_path_size"},
    {3, 15, 0,
     "runtime_state: size finalizing interpreters_head; "
     "interpreter_state: size id next threads_head threads_main gc imports_modules sysdict builtins "
     "ceval_gil gil_runtime_state gil_runtime_state_enabled gil_runtime_state_locked "
     "gil_runtime_state_holder code_object_generation tlbc_generation; "
     "thread_state: size prev next interp current_frame base_frame last_profiled_frame "
     "last_profiled_frame_seq thread_id native_thread_id datastack_chunk status holds_gil gil_requested "
     "current_exception exc_state; "
     "err_stackitem: exc_value; "
     "interpreter_frame: size previous executable instr_ptr localsplus owner stackpointer tlbc_index; "
     "code_object: size filename name qualname linetable firstlineno argcount localsplusnames "
     "localspluskinds co_code_adaptive co_tlbc; "
     "pyobject: size ob_type; type_object: size tp_name tp_repr tp_flags tp_basicsize tp_dictoffset; "
     "heap_type_object: size ht_cached_keys; "
     "tuple_object: size ob_item ob_size; list_object: size ob_item ob_size; "
     "set_object: size used table mask; dict_object: size ma_keys ma_values; float_object: size ob_fval; "
     "long_object: size lv_tag ob_digit; bytes_object: size ob_size ob_sval; "
     "unicode_object: size state length asciiobject_size compactunicodeobject_size; "
     "gc: size collecting frame generation_stats_size generation_stats; "
     "gen_object: size gi_name gi_iframe gi_frame_state; llist_node: next prev; "
     "debugger_support: eval_breaker remote_debugger_support remote_debugging_enabled "
     "debugger_pending_call debugger_script_path debugger_script_path_size"},
};

#define HEADER_WORDS 3             /* cookie, version, free_threaded */
#define MAX_STRUCT_SIZE (1 << 20)  /* no struct the table describes is near this */

const char *py_debug_offsets_known(void) { return "3.13 to 3.15"; }

/* Where one field lives in a shape: its word index, and its section's size
 * word (-1 when the section declares no size). */
typedef struct place {
    int word, size_word;
} place;

/* Finds section.field in s by walking the text. Returns 0, or -1 when the
 * shape has no such field. */
static int find_field(const shape *s, const char *section, const char *field, place *out) {
    const char *p = s->sections;
    int word = HEADER_WORDS;
    while (*p) {
        const char *colon = strchr(p, ':');
        if (!colon)
            return -1;
        int this_section = (size_t)(colon - p) == strlen(section) && !memcmp(p, section, (size_t)(colon - p));
        int size_word = -1;
        p = colon + 1;
        for (;;) {
            while (*p == ' ')
                p++;
            if (!*p || *p == ';')
                break;
            size_t len = strcspn(p, " ;");
            if (len == 4 && !memcmp(p, "size", 4) && size_word < 0)
                size_word = word;
            if (this_section && strlen(field) == len && !memcmp(p, field, len)) {
                *out = (place){word, size_word};
                return 0;
            }
            word++;
            p += len;
        }
        if (*p == ';')
            p++;
        while (*p == ' ')
            p++;
    }
    return -1;
}

static size_t shape_words(const shape *s) {
    size_t words = HEADER_WORDS;
    for (const char *p = s->sections; *p;) {
        p += strcspn(p, ":;");
        if (*p == ':') { /* names after a colon are fields */
            p++;
            for (;;) {
                while (*p == ' ')
                    p++;
                if (!*p || *p == ';')
                    break;
                p += strcspn(p, " ;");
                words++;
            }
        }
        if (*p == ';')
            p++;
    }
    return words;
}

/* Reads checked offsets out of one table; the first failure sticks. */
typedef struct reader {
    const shape *s;
    const uint64_t *w;
    int failed;
    pf_error *err;
} reader;

static int64_t bad(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int64_t bad(reader *r, const char *fmt, ...) {
    if (!r->failed) {
        char what[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        pf_fail(r->err, PF_ERR_CORRUPT,
                "CPython %d.%d's _Py_DebugOffsets does not hold together (%s): refusing to read the "
                "process with it", r->s->major, r->s->minor, what);
    }
    r->failed = 1;
    return 0;
}

/* The offset section.field, checked: `width` bytes read there must lie inside
 * the section's declared size (width 0: an offset at which a variable part
 * begins, which may equal the size). Missing fields are PY_NO_FIELD when
 * optional and a failure when not. */
static int64_t get(reader *r, const char *section, const char *field, uint64_t width, int optional) {
    place at;
    if (find_field(r->s, section, field, &at) != 0) {
        if (optional)
            return PY_NO_FIELD;
        return bad(r, "pyflare's shape for it has no %s.%s", section, field);
    }
    uint64_t v = r->w[at.word];
    if (at.size_word < 0)
        return v <= MAX_STRUCT_SIZE ? (int64_t)v : bad(r, "%s.%s is %llu", section, field, (unsigned long long)v);
    uint64_t size = r->w[at.size_word];
    if (size == 0 || size > MAX_STRUCT_SIZE)
        return bad(r, "%s's size is %llu", section, (unsigned long long)size);
    if (at.word == at.size_word)
        return (int64_t)size;
    if (v > size || width > size - v)
        return bad(r, "%s.%s at %llu lies outside the %llu bytes the table declares for %s", section, field,
                   (unsigned long long)v, (unsigned long long)size, section);
    return (int64_t)v;
}

/* The interpreter's GIL fields are counted from the interpreter state; the
 * layout wants them inside the GIL struct, which must itself be inside it. */
static int64_t gil_field(reader *r, int64_t gil_state, const char *field, uint64_t width) {
    int64_t v = get(r, "interpreter_state", field, width, 0);
    if (r->failed)
        return 0;
    if (v < gil_state)
        return bad(r, "interpreter_state.%s at %lld lies before the GIL struct at %lld", field, (long long)v,
                   (long long)gil_state);
    return v - gil_state;
}

/* The collector's `collecting` flag, counted from the interpreter state: the
 * gc struct (its declared size) must lie inside the interpreter state, and
 * the int inside the gc struct. PY_NO_FIELD when a shape has no gc section. */
static int64_t gc_collecting(reader *r) {
    int64_t size = get(r, "gc", "size", 0, 1);
    int64_t collecting = get(r, "gc", "collecting", 4, 1);
    if (r->failed || size == PY_NO_FIELD || collecting == PY_NO_FIELD)
        return PY_NO_FIELD;
    int64_t gc = get(r, "interpreter_state", "gc", (uint64_t)size, 1);
    return r->failed || gc == PY_NO_FIELD ? PY_NO_FIELD : gc + collecting;
}

/* One offset _Py_DebugOffsets gives: where it goes in py_layout, where the
 * table has it (see get for width), and what its absence means. */
typedef struct wanted {
    size_t at; /* offsetof(py_layout, ...): an int64_t */
    const char *section, *field;
    uint64_t width;
    enum { REQUIRED, ABSENT_NONE, ABSENT_BASE } absent; /* a failure; PY_NO_FIELD; the header table's value stays */
} wanted;
#define W(member, section, field, width, absent) {offsetof(py_layout, member), section, field, width, absent}

/* Read in this order (the first failure is the one reported): the interpreter
 * state's, then its GIL fields (gil_field), then the rest. */
static const wanted interp_offsets[] = {
    W(runtime.interpreters_head, "runtime_state", "interpreters_head", 8, REQUIRED),
    W(interp.next, "interpreter_state", "next", 8, REQUIRED),
    W(interp.tstate_head, "interpreter_state", "threads_head", 8, REQUIRED),
    W(interp.modules, "interpreter_state", "imports_modules", 8, REQUIRED),
    W(interp.gil, "interpreter_state", "ceval_gil", 8, REQUIRED),
    W(interp.gil_embedded, "interpreter_state", "gil_runtime_state", 0, REQUIRED),
};

static const wanted offsets[] = {
    W(tstate.next, "thread_state", "next", 8, REQUIRED),
    W(tstate.interp, "thread_state", "interp", 8, REQUIRED),
    W(tstate.thread_id, "thread_state", "thread_id", 8, REQUIRED),
    W(tstate.native_thread_id, "thread_state", "native_thread_id", 8, REQUIRED),
    W(tstate.current_frame, "thread_state", "current_frame", 8, REQUIRED),
    W(tstate.datastack_chunk, "thread_state", "datastack_chunk", 8, REQUIRED),
    /* 3.15+: the sentinel ending each chain, and who holds the GIL per thread.
     * Taken from the table or not at all, never from the header table. */
    W(tstate.base_frame, "thread_state", "base_frame", 8, ABSENT_NONE),
    W(tstate.holds_gil, "thread_state", "holds_gil", 4, ABSENT_NONE),
    W(iframe.size, "interpreter_frame", "size", 0, REQUIRED),
    W(iframe.previous, "interpreter_frame", "previous", 8, REQUIRED),
    W(iframe.code, "interpreter_frame", "executable", 8, REQUIRED),
    W(iframe.instr, "interpreter_frame", "instr_ptr", 8, REQUIRED),
    W(iframe.owner, "interpreter_frame", "owner", 1, REQUIRED),
    /* 3.14+: what asyncio.c needs to go from a task to its coroutines. */
    W(iframe.stackpointer, "interpreter_frame", "stackpointer", 8, ABSENT_NONE),
    W(gen.gi_iframe, "gen_object", "gi_iframe", 0, ABSENT_NONE),
    W(gen.gi_frame_state, "gen_object", "gi_frame_state", 1, ABSENT_NONE),
    W(set.table, "set_object", "table", 8, ABSENT_NONE),
    W(set.mask, "set_object", "mask", 8, ABSENT_NONE),
    W(code.filename, "code_object", "filename", 8, REQUIRED),
    W(code.name, "code_object", "name", 8, REQUIRED),
    W(code.qualname, "code_object", "qualname", 8, REQUIRED),
    W(code.linetable, "code_object", "linetable", 8, REQUIRED),
    W(code.firstlineno, "code_object", "firstlineno", 4, REQUIRED),
    W(code.code_adaptive, "code_object", "co_code_adaptive", 0, REQUIRED),
    W(type.ob_type, "pyobject", "ob_type", 8, REQUIRED),
    W(type.tp_name, "type_object", "tp_name", 8, REQUIRED),
    W(type.tp_flags, "type_object", "tp_flags", 8, REQUIRED),
    /* 3.15 publishes these; before, the header table (base) has them. */
    W(type.tp_basicsize, "type_object", "tp_basicsize", 8, ABSENT_BASE),
    W(type.tp_dictoffset, "type_object", "tp_dictoffset", 8, ABSENT_BASE),
    W(type.ht_cached_keys, "heap_type_object", "ht_cached_keys", 8, ABSENT_BASE),
    W(dict.ma_keys, "dict_object", "ma_keys", 8, REQUIRED),
    W(dict.ma_values, "dict_object", "ma_values", 8, REQUIRED),
    W(misc.ob_size, "long_object", "lv_tag", 8, REQUIRED),
    W(misc.ob_digit, "long_object", "ob_digit", 0, REQUIRED),
    W(bytes.ob_size, "bytes_object", "ob_size", 8, REQUIRED),
    W(bytes.ob_sval, "bytes_object", "ob_sval", 0, REQUIRED),
    W(unicode.state, "unicode_object", "state", 4, REQUIRED),
    W(unicode.length, "unicode_object", "length", 8, REQUIRED),
    W(unicode.ascii_size, "unicode_object", "asciiobject_size", 0, REQUIRED),
    W(unicode.compact_size, "unicode_object", "compactunicodeobject_size", 0, ABSENT_NONE),
};

static void read_offsets(reader *r, py_layout *L, const wanted *w, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int64_t v = get(r, w[i].section, w[i].field, w[i].width, w[i].absent != REQUIRED);
        if (v != PY_NO_FIELD || w[i].absent != ABSENT_BASE)
            memcpy((char *)L + w[i].at, &v, sizeof v);
    }
}

static const shape *shape_for(uint64_t version, pf_error *err) {
    int major = (int)(version >> 24) & 0xff, minor = (int)(version >> 16) & 0xff;
    int micro = (int)(version >> 8) & 0xff, level = (int)(version >> 4) & 0xf, serial = (int)version & 0xf;
    const shape *known = NULL, *newest = &shapes[sizeof shapes / sizeof shapes[0] - 1];
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        if (s->major != major || s->minor != minor)
            continue;
        if (level == 0xF ? !s->prerelease : s->prerelease == (uint32_t)version)
            return s;
        known = s;
    }
    if (known || (major == newest->major && minor <= newest->minor && minor >= shapes[0].minor)) {
        const char *tag = level == 0xA ? "a" : level == 0xB ? "b" : level == 0xC ? "rc" : "?";
        return pf_fail(err, PF_ERR_UNSUPPORTED,
                       "CPython %d.%d.%d%s%d is a pre-release, whose debug offsets moved between "
                       "builds: pyflare reads %d.%d final releases only",
                       major, minor, micro, tag, serial, major, minor),
               NULL;
    }
    if (major > newest->major || (major == newest->major && minor > newest->minor))
        return pf_fail(err, PF_ERR_UNSUPPORTED,
                       "CPython %d.%d is newer than pyflare knows: it reads 2.7 and 3.6 to %d.%d; "
                       "a pyflare release for %d.%d is needed", major, minor, newest->major, newest->minor,
                       major, minor),
               NULL;
    return pf_fail(err, PF_ERR_CORRUPT, "implausible _Py_DebugOffsets version 0x%08llx",
                   (unsigned long long)version),
           NULL;
}

int py_layout_from_debug_offsets(const uint8_t *bytes, size_t len, const py_layout *base,
                                 py_layout *out, pf_error *err) {
    if (len < 24 || memcmp(bytes, "xdebugpy", 8) != 0)
        return pf_fail(err, PF_ERR_UNSUPPORTED, "no _Py_DebugOffsets cookie at the start of _PyRuntime");
    uint64_t version, free_threaded;
    memcpy(&version, bytes + 8, 8);
    memcpy(&free_threaded, bytes + 16, 8);
    int major = (int)(version >> 24) & 0xff, minor = (int)(version >> 16) & 0xff;
    const shape *s = shape_for(version, err);
    if (!s)
        return -1;
    /* A free-threaded table is only read with a free-threaded base of the
     * same minor version: the header's fields it lacks (dict internals, type
     * sizes) all moved with the 32-byte object header. */
    int base_ft = base->build == PY_BUILD_FREE_THREADED;
    if (free_threaded && (!base_ft || (int)(base->version_hex >> 24) != major ||
                          (int)((base->version_hex >> 16) & 0xff) != minor))
        return pf_fail(err, PF_ERR_UNSUPPORTED,
                       "CPython %d.%d is a free-threaded build, which pyflare reads for 3.13 only "
                       "(%d.%dt's per-thread bytecode and object layout are not known to it); "
                       "profile a build with the GIL instead", major, minor, major, minor);
    if (!free_threaded && base_ft)
        return pf_fail(err, PF_ERR_CORRUPT,
                       "CPython %d.%d's _Py_DebugOffsets says it has a GIL but was paired with a "
                       "free-threaded table", major, minor);
    size_t words = shape_words(s);
    if (len < words * 8 || words * 8 > PY_DEBUG_OFFSETS_MAX_BYTES)
        return pf_fail(err, PF_ERR_CORRUPT, "short _Py_DebugOffsets");
    uint64_t w[PY_DEBUG_OFFSETS_MAX_BYTES / 8];
    memcpy(w, bytes, words * 8);
    reader r = {s, w, 0, err};

    py_layout L = *base;
    L.version_hex = (uint32_t)version;
    L.lines = PY_LINES_LOCATIONS_311;
    L.frames = PY_FRAMES_DIRECT;
    L.instr = PY_INSTR_POINTER;
    L.str = PY_STR_PEP393;
    L.dicts = PY_DICT_311;
    L.managed = free_threaded ? PY_MANAGED_313_FT : PY_MANAGED_313;
    L.ints = PY_LONG_TAG;
    L.build = free_threaded ? PY_BUILD_FREE_THREADED : PY_BUILD_GIL;

    /* Gone since 3.13 (the table has no such fields). */
    L.runtime.tstate_current = PY_NO_FIELD;
    L.tstate.frame = L.tstate.cframe = L.tstate.cframe_current_frame = PY_NO_FIELD;
    read_offsets(&r, &L, interp_offsets, sizeof interp_offsets / sizeof interp_offsets[0]);
    L.interp.gil_locked = gil_field(&r, L.interp.gil_embedded, "gil_runtime_state_locked", 4);
    L.interp.gil_last_holder = gil_field(&r, L.interp.gil_embedded, "gil_runtime_state_holder", 8);
    read_offsets(&r, &L, offsets, sizeof offsets / sizeof offsets[0]);
    L.interp.gc_collecting = gc_collecting(&r);
    if (free_threaded) {
        /* No GIL to name a holder (3.13t keeps the struct, disabled): every
         * thread's run state comes from the kernel, as for non-holders. */
        L.interp.gil = L.interp.gil_embedded = PY_NO_FIELD;
        L.interp.gil_locked = L.interp.gil_last_holder = PY_NO_FIELD;
    }
    /* PyCompactUnicodeObject adds utf8_length and utf8 to PyASCIIObject;
     * published from 3.15, else the header table's difference. */
    if (L.unicode.compact_size == PY_NO_FIELD)
        L.unicode.compact_size = L.unicode.ascii_size + (base->unicode.compact_size - base->unicode.ascii_size);
    if (r.failed)
        return -1;
    /* Offsets the walker reads as fixed-size records. */
    if (L.iframe.size > 512 || L.iframe.size < L.iframe.owner + 1 || L.unicode.compact_size > 256 ||
        L.unicode.ascii_size < L.unicode.state + 4)
        return pf_fail(err, PF_ERR_CORRUPT,
                       "CPython %d.%d's _Py_DebugOffsets does not hold together (implausible frame or str "
                       "sizes): refusing to read the process with it", major, minor);
    *out = L;
    return 0;
}
