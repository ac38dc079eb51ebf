/* debug_offsets.c — turning _Py_DebugOffsets into a py_layout (see debug_offsets.h).
 *
 * The struct is a flat run of uint64 values, so a known shape is just a list of
 * "field F is the Nth word". One list per shape: only the shapes we have the
 * headers for are listed, and any other version is refused by name rather than
 * read wrongly. */
#include "cpython/debug_offsets.h"

#include <string.h>

/* Word indexes in the 3.13 _Py_DebugOffsets (Include/internal/pycore_runtime.h). */
typedef struct shape {
    int major, minor;
    size_t words;       /* total uint64 words in the struct */
    int runtime_interpreters_head;
    int interp_next, interp_threads_head, interp_modules, interp_ceval_gil, interp_gil_state,
        interp_gil_locked, interp_gil_holder;
    int tstate_next, tstate_interp, tstate_current_frame, tstate_thread_id, tstate_native_thread_id,
        tstate_datastack_chunk;
    int frame_size, frame_previous, frame_executable, frame_instr_ptr, frame_owner;
    int code_filename, code_name, code_qualname, code_linetable, code_firstlineno, code_adaptive;
    int object_ob_type;
    int type_tp_name, type_tp_flags;
    int dict_ma_keys, dict_ma_values;
    int long_lv_tag, long_ob_digit;
    int bytes_ob_size, bytes_ob_sval;
    int unicode_state, unicode_length, unicode_ascii_size;
} shape;

static const shape shapes[] = {
    {
        .major = 3, .minor = 13, .words = 73,
        .runtime_interpreters_head = 5,
        .interp_next = 8, .interp_threads_head = 9, .interp_modules = 11, .interp_ceval_gil = 14,
        .interp_gil_state = 15, .interp_gil_locked = 17, .interp_gil_holder = 18,
        .tstate_next = 21, .tstate_interp = 22, .tstate_current_frame = 23, .tstate_thread_id = 24,
        .tstate_native_thread_id = 25, .tstate_datastack_chunk = 26,
        .frame_size = 28, .frame_previous = 29, .frame_executable = 30, .frame_instr_ptr = 31,
        .frame_owner = 33,
        .code_filename = 35, .code_name = 36, .code_qualname = 37, .code_linetable = 38,
        .code_firstlineno = 39, .code_adaptive = 43,
        .object_ob_type = 45,
        .type_tp_name = 47, .type_tp_flags = 49,
        .dict_ma_keys = 57, .dict_ma_values = 58,
        .long_lv_tag = 62, .long_ob_digit = 63,
        .bytes_ob_size = 65, .bytes_ob_sval = 66,
        .unicode_state = 68, .unicode_length = 69, .unicode_ascii_size = 70,
    },
};

const char *py_debug_offsets_known(void) { return "3.13"; }

int py_layout_from_debug_offsets(const uint8_t *bytes, size_t len, const py_layout *base,
                                 py_layout *out, pf_error *err) {
    if (len < 24 || memcmp(bytes, "xdebugpy", 8) != 0)
        return pf_fail(err, PF_ERR_UNSUPPORTED, "no _Py_DebugOffsets cookie at the start of _PyRuntime");
    uint64_t version;
    memcpy(&version, bytes + 8, 8);
    int major = (int)(version >> 24) & 0xff, minor = (int)(version >> 16) & 0xff;
    uint64_t free_threaded;
    memcpy(&free_threaded, bytes + 16, 8);
    if (free_threaded)
        return pf_fail(err, PF_ERR_UNSUPPORTED,
                       "CPython %d.%d is a free-threaded build, which pyflare does not read yet", major, minor);
    const shape *s = NULL;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (shapes[i].major == major && shapes[i].minor == minor)
            s = &shapes[i];
    if (!s)
        return pf_fail(err, PF_ERR_UNSUPPORTED,
                       "CPython %d.%d describes itself with debug offsets in a layout pyflare does not "
                       "know (it knows %s)", major, minor, py_debug_offsets_known());
    if (len < s->words * 8)
        return pf_fail(err, PF_ERR_CORRUPT, "short _Py_DebugOffsets");
    uint64_t w[PY_DEBUG_OFFSETS_MAX_BYTES / 8];
    memcpy(w, bytes, s->words * 8);

    *out = *base;
    out->version_hex = (uint32_t)version;
    out->lines = PY_LINES_LOCATIONS_311;
    out->frames = PY_FRAMES_DIRECT;
    out->instr = PY_INSTR_POINTER;
    out->str = PY_STR_PEP393;
    out->dicts = PY_DICT_311;
    out->managed = PY_MANAGED_313;
    out->ints = PY_LONG_TAG;

    out->runtime.interpreters_head = (int64_t)w[s->runtime_interpreters_head];
    out->runtime.tstate_current = PY_NO_FIELD;
    out->interp.next = (int64_t)w[s->interp_next];
    out->interp.tstate_head = (int64_t)w[s->interp_threads_head];
    out->interp.modules = (int64_t)w[s->interp_modules];
    out->interp.gil = (int64_t)w[s->interp_ceval_gil];
    out->interp.gil_embedded = (int64_t)w[s->interp_gil_state];
    /* The debug offsets give locked/holder relative to the interpreter (its own
     * _gil); the layout wants them relative to the gil struct. */
    out->interp.gil_locked = (int64_t)(w[s->interp_gil_locked] - w[s->interp_gil_state]);
    out->interp.gil_last_holder = (int64_t)(w[s->interp_gil_holder] - w[s->interp_gil_state]);
    out->tstate.next = (int64_t)w[s->tstate_next];
    out->tstate.interp = (int64_t)w[s->tstate_interp];
    out->tstate.thread_id = (int64_t)w[s->tstate_thread_id];
    out->tstate.native_thread_id = (int64_t)w[s->tstate_native_thread_id];
    out->tstate.frame = PY_NO_FIELD;
    out->tstate.cframe = PY_NO_FIELD;
    out->tstate.cframe_current_frame = PY_NO_FIELD;
    out->tstate.current_frame = (int64_t)w[s->tstate_current_frame];
    out->tstate.datastack_chunk = (int64_t)w[s->tstate_datastack_chunk];
    out->iframe.size = (int64_t)w[s->frame_size];
    out->iframe.previous = (int64_t)w[s->frame_previous];
    out->iframe.code = (int64_t)w[s->frame_executable];
    out->iframe.instr = (int64_t)w[s->frame_instr_ptr];
    out->iframe.owner = (int64_t)w[s->frame_owner];
    out->code.filename = (int64_t)w[s->code_filename];
    out->code.name = (int64_t)w[s->code_name];
    out->code.qualname = (int64_t)w[s->code_qualname];
    out->code.linetable = (int64_t)w[s->code_linetable];
    out->code.firstlineno = (int64_t)w[s->code_firstlineno];
    out->code.code_adaptive = (int64_t)w[s->code_adaptive];
    out->type.ob_type = (int64_t)w[s->object_ob_type];
    out->type.tp_name = (int64_t)w[s->type_tp_name];
    out->type.tp_flags = (int64_t)w[s->type_tp_flags];
    out->dict.ma_keys = (int64_t)w[s->dict_ma_keys];
    out->dict.ma_values = (int64_t)w[s->dict_ma_values];
    out->misc.ob_size = (int64_t)w[s->long_lv_tag];
    out->misc.ob_digit = (int64_t)w[s->long_ob_digit];
    out->bytes.ob_size = (int64_t)w[s->bytes_ob_size];
    out->bytes.ob_sval = (int64_t)w[s->bytes_ob_sval];
    out->unicode.state = (int64_t)w[s->unicode_state];
    out->unicode.length = (int64_t)w[s->unicode_length];
    /* PyCompactUnicodeObject adds utf8_length and utf8 to PyASCIIObject. */
    out->unicode.compact_size = (int64_t)w[s->unicode_ascii_size] + (base->unicode.compact_size - base->unicode.ascii_size);
    out->unicode.ascii_size = (int64_t)w[s->unicode_ascii_size];
    return 0;
}
