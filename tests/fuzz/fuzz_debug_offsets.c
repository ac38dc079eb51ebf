/* fuzz_debug_offsets.c — libFuzzer target: _Py_DebugOffsets from hostile bytes.
 *
 * The input is the start of a target's _PyRuntime (the first bytes may be
 * forced to a cookie and a known version, so the fuzzer reaches the checks
 * past them). A table that is accepted must keep the promises the walker
 * relies on: the record sizes it reads stay within the bounds py_walker_new
 * checks, and no offset it uses is negative. Anything else is refused.
 *
 * Build and run:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *     tests/fuzz/fuzz_debug_offsets.c src/cpython/{debug_offsets,layouts_generated}.c \
 *     src/base/error.c -o build/fuzz_debug_offsets
 *   build/fuzz_debug_offsets -max_total_time=120 build/fuzz_debug_offsets_corpus
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/debug_offsets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t bytes[PY_DEBUG_OFFSETS_MAX_BYTES];
    if (size < 1)
        return 0;
    memset(bytes, 0, sizeof bytes);
    memcpy(bytes, data + 1, size - 1 < sizeof bytes ? size - 1 : sizeof bytes);
    if (data[0] & 1) { /* a valid header: cookie, 3.13/3.14/3.15 final, GIL build */
        static const uint64_t versions[] = {0x030d05f0, 0x030e0af0, 0x030f02f0};
        uint64_t version = versions[(data[0] >> 1) % 3], zero = 0;
        memcpy(bytes, "xdebugpy", 8);
        memcpy(bytes + 8, &version, 8);
        memcpy(bytes + 16, &zero, 8);
    }
    const py_layout *base = &py_layouts[py_layouts_count - 1];
    py_layout out;
    pf_error err;
    if (py_layout_from_debug_offsets(bytes, sizeof bytes, base, &out, &err) != 0) {
        if (!err.msg[0])
            abort(); /* a refusal always says why */
        return 0;
    }
    const int64_t used[] = {out.runtime.interpreters_head, out.interp.next, out.interp.tstate_head,
                            out.interp.modules, out.interp.gil, out.interp.gil_embedded, out.interp.gil_locked,
                            out.interp.gil_last_holder, out.tstate.next, out.tstate.interp, out.tstate.thread_id,
                            out.tstate.native_thread_id, out.tstate.current_frame, out.tstate.datastack_chunk,
                            out.iframe.previous, out.iframe.code, out.iframe.instr, out.iframe.owner,
                            out.code.filename, out.code.name, out.code.qualname, out.code.linetable,
                            out.code.firstlineno, out.code.code_adaptive, out.type.ob_type, out.type.tp_name,
                            out.type.tp_flags, out.dict.ma_keys, out.dict.ma_values, out.unicode.state,
                            out.unicode.length, out.unicode.ascii_size, out.unicode.compact_size};
    for (size_t i = 0; i < sizeof used / sizeof used[0]; i++)
        if (used[i] < 0 || used[i] > (1 << 20))
            abort();
    if (out.iframe.size > 512 || out.iframe.owner >= out.iframe.size || out.unicode.compact_size > 256)
        abort();
    return 0;
}
