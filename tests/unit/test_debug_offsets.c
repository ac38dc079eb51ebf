/* test_debug_offsets.c — _Py_DebugOffsets of real 3.14/3.15 binaries, and bad tables.
 *
 * The fixtures are the tables Debian's interpreters carry in their .PyRuntime
 * section (gen_debug_offsets_fixtures.py). What pyflare makes of them must
 * equal what offsetof() says in the same version's headers (the generated
 * tables, tools/gen_layouts): two independent sources. Then tables that lie —
 * an offset past its section's declared size, a free-threaded build, a newer
 * minor, a pre-release — must be refused by name, never read. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "cpython/debug_offsets.h"
#include "debug_offsets_fixtures.h"

#define NFIX (sizeof debug_offsets_fixtures / sizeof debug_offsets_fixtures[0])

static void put_u64(uint8_t *b, size_t word, uint64_t v) { memcpy(b + word * 8, &v, 8); }
static uint64_t get_u64(const uint8_t *b, size_t word) {
    uint64_t v;
    memcpy(&v, b + word * 8, 8);
    return v;
}

/* The fields a header table and the interpreter's own table both carry. */
static void same_as_headers(const py_layout *got, const py_layout *want, const char *name) {
    CHECK_EQ_INT(got->runtime.interpreters_head, want->runtime.interpreters_head);
    CHECK_EQ_INT(got->interp.next, want->interp.next);
    CHECK_EQ_INT(got->interp.tstate_head, want->interp.tstate_head);
    CHECK_EQ_INT(got->interp.modules, want->interp.modules);
    if (want->build == PY_BUILD_FREE_THREADED) {
        /* No GIL holder to read: every thread's state comes from the kernel. */
        CHECK_EQ_INT(got->interp.gil, PY_NO_FIELD);
        CHECK_EQ_INT(got->interp.gil_last_holder, PY_NO_FIELD);
    } else {
        CHECK_EQ_INT(got->interp.gil_embedded, want->interp.gil_embedded);
        CHECK_EQ_INT(got->interp.gil_locked, want->interp.gil_locked);
        CHECK_EQ_INT(got->interp.gil_last_holder, want->interp.gil_last_holder);
    }
    /* The collector's flag (the <GC> frame): the table's gc section inside its interpreter state. */
    CHECK(got->interp.gc_collecting != PY_NO_FIELD);
    CHECK_EQ_INT(got->interp.gc_collecting, want->interp.gc_collecting);
    CHECK_EQ_INT(got->interp.stw_requester, want->interp.stw_requester);
    CHECK_EQ_INT(got->build, want->build);
    CHECK_EQ_INT(got->managed, want->managed);
    CHECK_EQ_INT(got->type.ob_type, want->type.ob_type);
    CHECK_EQ_INT(got->bytes.ob_sval, want->bytes.ob_sval);
    CHECK_EQ_INT(got->unicode.length, want->unicode.length);
    CHECK_EQ_INT(got->tstate.next, want->tstate.next);
    CHECK_EQ_INT(got->tstate.thread_id, want->tstate.thread_id);
    CHECK_EQ_INT(got->tstate.native_thread_id, want->tstate.native_thread_id);
    CHECK_EQ_INT(got->tstate.current_frame, want->tstate.current_frame);
    CHECK_EQ_INT(got->tstate.datastack_chunk, want->tstate.datastack_chunk);
    CHECK_EQ_INT(got->tstate.base_frame, want->tstate.base_frame);
    CHECK_EQ_INT(got->tstate.holds_gil, want->tstate.holds_gil);
    CHECK_EQ_INT(got->iframe.size, want->iframe.size);
    CHECK_EQ_INT(got->iframe.previous, want->iframe.previous);
    CHECK_EQ_INT(got->iframe.code, want->iframe.code);
    CHECK_EQ_INT(got->iframe.instr, want->iframe.instr);
    CHECK_EQ_INT(got->iframe.owner, want->iframe.owner);
    CHECK_EQ_INT(got->code.filename, want->code.filename);
    CHECK_EQ_INT(got->code.qualname, want->code.qualname);
    CHECK_EQ_INT(got->code.firstlineno, want->code.firstlineno);
    CHECK_EQ_INT(got->code.linetable, want->code.linetable);
    CHECK_EQ_INT(got->code.code_adaptive, want->code.code_adaptive);
    CHECK_EQ_INT(got->type.tp_flags, want->type.tp_flags);
    CHECK_EQ_INT(got->type.tp_basicsize, want->type.tp_basicsize);
    CHECK_EQ_INT(got->type.tp_dictoffset, want->type.tp_dictoffset);
    CHECK_EQ_INT(got->type.ht_cached_keys, want->type.ht_cached_keys);
    CHECK_EQ_INT(got->dict.ma_keys, want->dict.ma_keys);
    CHECK_EQ_INT(got->unicode.state, want->unicode.state);
    CHECK_EQ_INT(got->unicode.ascii_size, want->unicode.ascii_size);
    CHECK_EQ_INT(got->unicode.compact_size, want->unicode.compact_size);
    CHECK_EQ_INT(got->misc.ob_digit, want->misc.ob_digit);
}

static int refused(const uint8_t *bytes, const py_layout *base, const char *expect) {
    py_layout out;
    pf_error err = {0};
    int rc = py_layout_from_debug_offsets(bytes, PY_DEBUG_OFFSETS_MAX_BYTES, base, &out, &err);
    if (rc == 0 || !strstr(err.msg, expect)) {
        fprintf(stderr, "  expected a refusal naming \"%s\", got rc %d: %s\n", expect, rc, err.msg);
        return 0;
    }
    return 1;
}

int main(void) {
    CHECK(NFIX >= 2);
    for (size_t i = 0; i < NFIX; i++) {
        const debug_offsets_fixture *f = &debug_offsets_fixtures[i];
        uint64_t version = get_u64(f->bytes, 1);
        int minor = (int)(version >> 16) & 0xff;
        int free_threaded = get_u64(f->bytes, 2) != 0;
        const py_layout *want = py_layout_for(3, minor, free_threaded);
        CHECK(want != NULL);
        if (!want)
            continue;
        py_layout got;
        pf_error err = {0};
        int rc = py_layout_from_debug_offsets(f->bytes, sizeof f->bytes, want, &got, &err);
        if (rc != 0)
            fprintf(stderr, "  %s: %s\n", f->name, err.msg);
        CHECK_EQ_INT(rc, 0);
        if (rc == 0)
            same_as_headers(&got, want, f->name);

        uint8_t bad[PY_DEBUG_OFFSETS_MAX_BYTES];
        char expect[128];
        if (free_threaded) {
            /* 3.13t read with a table that has a GIL: refused, never half-read. */
            CHECK(refused(f->bytes, py_layout_for(3, minor, 0), "free-threaded build"));
            /* Its table calling itself GIL-ful with the free-threaded base. */
            memcpy(bad, f->bytes, sizeof bad);
            put_u64(bad, 2, 0);
            CHECK(refused(bad, want, "says it has a GIL"));
        } else {
            /* Free-threaded 3.14/3.15 (no table of theirs): refused by name and version. */
            memcpy(bad, f->bytes, sizeof bad);
            put_u64(bad, 2, 1);
            snprintf(expect, sizeof expect, "CPython 3.%d is a free-threaded build, which pyflare reads for 3.13 only",
                     minor);
            CHECK(refused(bad, want, expect));
        }
        /* A minor newer than any shape. */
        memcpy(bad, f->bytes, sizeof bad);
        put_u64(bad, 1, 0x031002f0);
        CHECK(refused(bad, want, "CPython 3.16 is newer than pyflare knows"));
        /* A pre-release of a known minor. */
        memcpy(bad, f->bytes, sizeof bad);
        put_u64(bad, 1, (version & 0xffff0000u) | 0xb4);
        snprintf(expect, sizeof expect, "CPython 3.%d.0b4 is a pre-release", minor);
        CHECK(refused(bad, want, expect));
        /* No cookie. */
        memcpy(bad, f->bytes, sizeof bad);
        bad[0] = 'X';
        CHECK(refused(bad, want, "no _Py_DebugOffsets cookie"));
        /* An offset outside its section: interpreter_frame.owner (word 31 + 5
         * in 3.14, frames start later in 3.15) moved past the frame's size.
         * Found by value, so the test does not restate the shape. */
        memcpy(bad, f->bytes, sizeof bad);
        size_t owner_word = 0;
        for (size_t w = 3; w < 120 && !owner_word; w++)
            if (get_u64(bad, w) == (uint64_t)want->iframe.size && get_u64(bad, w + 1) == (uint64_t)want->iframe.previous &&
                get_u64(bad, w + 5) == (uint64_t)want->iframe.owner)
                owner_word = w + 5;
        CHECK(owner_word != 0);
        put_u64(bad, owner_word, (uint64_t)want->iframe.size);
        CHECK(refused(bad, want, "interpreter_frame.owner at"));
        /* The collector's flag outside its gc section. interpreter_state.gc is the
         * word before imports_modules; the gc section is a (size, collecting) pair
         * whose second word, added to it, gives the header's offset: each such pair
         * is tried (another section may match by chance), and one must be refused
         * as gc.collecting. */
        uint64_t gc_at = 0;
        for (size_t v = 3; v + 1 < 200 && !gc_at; v++)
            if (get_u64(f->bytes, v + 1) == (uint64_t)want->interp.modules &&
                get_u64(f->bytes, v) < (uint64_t)want->interp.modules)
                gc_at = get_u64(f->bytes, v);
        int gc_refused = 0;
        for (size_t w = 3; w + 1 < 200 && gc_at && !gc_refused; w++) {
            if (get_u64(f->bytes, w + 1) >= get_u64(f->bytes, w) ||
                gc_at + get_u64(f->bytes, w + 1) != (uint64_t)want->interp.gc_collecting)
                continue;
            memcpy(bad, f->bytes, sizeof bad);
            put_u64(bad, w + 1, get_u64(bad, w));
            py_layout out;
            pf_error why = {0};
            gc_refused = py_layout_from_debug_offsets(bad, PY_DEBUG_OFFSETS_MAX_BYTES, want, &out, &why) != 0 &&
                         strstr(why.msg, "gc.collecting at") != NULL;
        }
        CHECK(gc_refused);
        /* A section size beyond reason. */
        memcpy(bad, f->bytes, sizeof bad);
        put_u64(bad, 3, (uint64_t)1 << 40); /* runtime_state.size */
        CHECK(refused(bad, want, "runtime_state's size"));
    }
    return check_report("debug_offsets");
}
