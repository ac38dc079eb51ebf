/* layout.h — where the fields the walker reads live, for one CPython version.
 *
 * Everything version-specific about reading CPython from outside is data in a
 * py_layout: byte offsets of struct fields, plus a few "model" enums for the
 * handful of places where versions differ in shape rather than in offsets (the
 * line-table format, how frames are linked, how dicts and ints are stored).
 * The walker branches on those models, never on version numbers.
 *
 * Before 3.13 the layouts come from tools/gen_layouts (a probe compiled against
 * each interpreter's own headers; output in layouts_generated.c). From 3.13 on
 * the target describes itself through _Py_DebugOffsets (debug_offsets.c), and
 * only the few fields the debug offsets lack come from the nearest table.
 *
 * An offset of PY_NO_FIELD means "this version has no such field". */
#ifndef PYFLARE_CPYTHON_LAYOUT_H
#define PYFLARE_CPYTHON_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define PY_NO_FIELD (-1)

/* The first _PyInterpreterFrame owner value that is not a Python function's
 * frame, in every version that has owners: 3.12/3.13 FRAME_OWNED_BY_CSTACK 3;
 * 3.14 FRAME_OWNED_BY_INTERPRETER 3 (entry frames), CSTACK 4; 3.15
 * INTERPRETER 3 (C frames and each thread's base frame). */
#define PY_OWNER_NOT_PYTHON 3

/* How the current line is encoded (see linetable.h). */
typedef enum {
    PY_LINES_LNOTAB_UNSIGNED = 1, /* 2.7: co_lnotab, unsigned line deltas */
    PY_LINES_LNOTAB_SIGNED,       /* 3.6-3.9: co_lnotab, signed line deltas */
    PY_LINES_LINETABLE_310,       /* 3.10: co_linetable */
    PY_LINES_LOCATIONS_311,       /* 3.11+: location table */
} py_lines_model;

/* How a thread's Python frames are reached and linked. */
typedef enum {
    PY_FRAMES_OBJECTS = 1,   /* <=3.10: tstate->frame, PyFrameObject.f_back */
    PY_FRAMES_CFRAME,        /* 3.11, 3.12: tstate->cframe->current_frame */
    PY_FRAMES_DIRECT,        /* 3.13+: tstate->current_frame */
} py_frames_model;

/* What the frame's instruction pointer means. */
typedef enum {
    PY_INSTR_LASTI_BYTES = 1, /* <=3.9: f_lasti is a byte offset */
    PY_INSTR_LASTI_UNITS,     /* 3.10: f_lasti counts 2-byte code units */
    PY_INSTR_POINTER,         /* 3.11+: pointer into co_code_adaptive */
} py_instr_model;

/* How str objects are stored. */
typedef enum {
    PY_STR_BYTES27 = 1,  /* 2.7: names are PyStringObject (bytes) */
    PY_STR_PEP393,       /* 3.3+: compact ASCII / Latin-1 / UCS-2 / UCS-4 */
} py_str_model;

/* How dicts are stored (used to find thread names). */
typedef enum {
    PY_DICT_27 = 1,   /* ma_mask + ma_table of {hash, key, value} */
    PY_DICT_36,       /* dk_size + variable-width dk_indices + entries */
    PY_DICT_311,      /* dk_log2_size / dk_log2_index_bytes / dk_kind */
} py_dict_model;

/* Where an instance keeps its attributes when tp_dictoffset does not say. */
typedef enum {
    PY_MANAGED_NONE = 1, /* <=3.10: the dict is at tp_dictoffset */
    PY_MANAGED_311,      /* dict at obj-3 words, values array at obj-4 words */
    PY_MANAGED_312,      /* obj-3 words: dict, or values pointer tagged by bit 0 */
    PY_MANAGED_313,      /* inline values at obj+tp_basicsize, dict at obj-3 words */
    PY_MANAGED_313_FT,   /* free-threaded 3.13: as 3.13, but the dict at obj-1 word (no GC pre-header) */
} py_managed_model;

/* Whether the threads share a GIL. */
typedef enum {
    PY_BUILD_GIL = 1,    /* one GIL: at most one thread runs Python at a time */
    PY_BUILD_FREE_THREADED, /* Py_GIL_DISABLED (PEP 703): no GIL holder, threads run in parallel;
                              objects start with a 32-byte header (ob_tid .. ob_type at 24) */
} py_build_model;

/* How ints are stored (thread idents are dict keys). */
typedef enum {
    PY_INT_27 = 1,  /* PyIntObject.ob_ival */
    PY_LONG_SIZE,   /* ob_size is the signed digit count */
    PY_LONG_TAG,    /* 3.12+: lv_tag = ndigits << 3 | sign */
} py_int_model;

typedef struct py_layout {
    uint32_t version_hex; /* PY_VERSION_HEX of the headers it was made from */

    py_lines_model lines;
    py_frames_model frames;
    py_instr_model instr;
    py_str_model str;
    py_dict_model dicts;
    py_managed_model managed;
    py_int_model ints;
    py_build_model build;

    struct {                      /* _PyRuntimeState (3.7+) */
        int64_t interpreters_head;
        int64_t tstate_current;   /* gilstate.tstate_current, 3.7-3.11 */
        int64_t gc_collecting;    /* int gc.collecting, 3.7-3.8 (the collector is the runtime's) */
    } runtime;

    struct {                      /* PyInterpreterState */
        int64_t next;
        int64_t tstate_head;
        int64_t modules;          /* sys.modules dict */
        int64_t gil;              /* 3.12+: struct _gil_runtime_state (ceval.gil ptr) */
        int64_t gil_embedded;     /* 3.12+: offset of the interp's own _gil */
        int64_t gil_locked;       /* offsets inside _gil_runtime_state */
        int64_t gil_last_holder;
        int64_t gc_collecting;    /* 3.9+: int gc.collecting (2.7, 3.6: a static, py_proc's gc_collecting_var) */
        int64_t stw_requester;    /* free-threaded: PyThreadState *stoptheworld.requester */
    } interp;

    struct {                      /* PyThreadState */
        int64_t next;
        int64_t interp;
        int64_t thread_id;        /* pthread_t, = threading.get_ident() */
        int64_t native_thread_id; /* Linux TID, 3.11+ */
        int64_t frame;            /* <=3.10: PyFrameObject * */
        int64_t cframe;           /* 3.11, 3.12: _PyCFrame * */
        int64_t cframe_current_frame;
        int64_t current_frame;    /* 3.13+: _PyInterpreterFrame * */
        int64_t datastack_chunk;  /* 3.11+ */
        int64_t base_frame;       /* 3.15+: the sentinel frame ending the chain (a pointer) */
        int64_t holds_gil;        /* 3.15+: int, this thread holds the GIL */
    } tstate;

    struct {                      /* PyFrameObject (<=3.10) */
        int64_t back;
        int64_t code;
        int64_t lasti;            /* int */
    } frame_object;

    struct {                      /* _PyInterpreterFrame (3.11+) */
        int64_t size;
        int64_t previous;
        int64_t code;             /* f_code / f_executable */
        int64_t instr;            /* prev_instr (3.11, 3.12) / instr_ptr (3.13+) */
        int64_t owner;            /* char; owners >= PY_OWNER_NOT_PYTHON are not Python code */
        int64_t stackpointer;     /* 3.14+ (debug offsets only): _PyStackRef *, the value stack's top */
        int64_t is_entry;         /* 3.11: bool, the first frame a C-level call of the eval loop ran */
    } iframe;

    /* 3.14+, from _Py_DebugOffsets only (PY_NO_FIELD in 3.13's; 0, unused, in
     * the generated tables): what asyncio.c follows from a task to its stack. */
    struct {                      /* PyGenObject (coroutines) */
        int64_t gi_iframe;        /* the embedded _PyInterpreterFrame */
        int64_t gi_frame_state;   /* int8 PyFrameState */
    } gen;

    struct {                      /* PySetObject (a task's awaiters) */
        int64_t table;            /* setentry {key, hash} * */
        int64_t mask;             /* Py_ssize_t: slots - 1 */
    } set;

    struct {                      /* PyCodeObject */
        int64_t filename;
        int64_t name;
        int64_t qualname;         /* 3.11+ */
        int64_t firstlineno;      /* int */
        int64_t linetable;        /* co_lnotab / co_linetable (a bytes object) */
        int64_t code_adaptive;    /* 3.11+: first code unit, inside the object */
    } code;

    struct {                      /* PyObject / PyVarObject / PyTypeObject */
        int64_t ob_type;
        int64_t tp_name;
        int64_t tp_flags;         /* unsigned long */
        int64_t tp_basicsize;
        int64_t tp_dictoffset;
        int64_t ht_cached_keys;   /* PyHeapTypeObject, 3.11+ */
    } type;

    struct {                      /* PyBytesObject (2.7: PyStringObject) */
        int64_t ob_size;
        int64_t ob_sval;
    } bytes;

    struct {                      /* PyASCIIObject / PyCompactUnicodeObject */
        int64_t length;
        int64_t state;            /* the bit-field word */
        int64_t ascii_size;       /* sizeof(PyASCIIObject): compact ASCII data */
        int64_t compact_size;     /* sizeof(PyCompactUnicodeObject) */
    } unicode;

    struct {                      /* PyDictObject and its keys */
        int64_t ma_used;
        int64_t ma_keys;          /* 2.7: ma_table */
        int64_t ma_values;
        int64_t ma_mask;          /* 2.7 only */
        int64_t dk_size;          /* 3.6-3.10: Py_ssize_t */
        int64_t dk_log2_size;     /* 3.11+: uint8 */
        int64_t dk_log2_index_bytes; /* 3.11+: uint8 */
        int64_t dk_kind;          /* 3.11+: uint8, 0 = general keys */
        int64_t dk_nentries;
        int64_t dk_indices;
        int64_t entry_size;       /* general entry: {hash, key, value} */
        int64_t unicode_entry_size; /* 3.11+: {key, value} */
        int64_t values_array;     /* 3.13: offset of values[] in _PyDictValues */
    } dict;

    struct {
        int64_t md_dict;          /* PyModuleObject */
        int64_t ob_digit;         /* PyLongObject digits */
        int64_t ob_size;          /* ob_size or lv_tag */
        int64_t ob_ival;          /* 2.7 PyIntObject */
        int64_t digit_bits;       /* PYLONG_BITS_IN_DIGIT */
    } misc;
} py_layout;

/* The generated tables (layouts_generated.c), newest last. */
extern const py_layout py_layouts[];
extern const size_t py_layouts_count;

/* The table made for major.minor with a GIL (free_threaded 0) or without
 * (free_threaded 1), or NULL. */
const py_layout *py_layout_for(int major, int minor, int free_threaded);

#endif
