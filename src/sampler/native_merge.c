/* native_merge.c — a thread's native and Python frames as one stack (see native_merge.h). */
#include "sampler/native_merge.h"

#include <stdint.h>
#include <string.h>

int native_is_eval(const char *function, int major) {
    const char *eval = major >= 3 ? "_PyEval_EvalFrameDefault" : "PyEval_EvalFrameEx";
    size_t len = strlen(eval);
    return function && strncmp(function, eval, len) == 0 && (function[len] == 0 || function[len] == '.');
}

/* The shim below the group of Python frames starting at k (0: none known). */
static uint64_t shim_of_group(const py_frame *py, size_t npy, size_t k) {
    while (k < npy && !py[k].entry)
        k++;
    return k < npy ? py[k].shim : 0;
}

/* Whether native frame i's stack (from its stack pointer up to its caller's) holds addr.
 * Without the caller's (the last frame an unwind found) it is not known to: taken as
 * reaching to the top of memory, the frame where an unwind stopped would stand for the
 * next Python group and vanish (tests/native "lost"). */
static int frame_holds(const uint64_t *sps, size_t nnative, size_t i, uint64_t addr) {
    if (!sps || !addr || !sps[i] || i + 1 >= nnative || !sps[i + 1])
        return 0;
    return sps[i] <= addr && addr < sps[i + 1];
}

size_t native_merge(const target_native_sym *native, const uint64_t *sps, size_t nnative, const py_frame *py,
                    size_t npy, int major, merged_frame *out, size_t cap) {
    size_t n = 0, k = 0;
    uint64_t shim = shim_of_group(py, npy, 0);
    for (size_t i = 0; i < nnative && n < cap; i++) {
        if (k < npy && (native_is_eval(native[i].function, major) || frame_holds(sps, nnative, i, shim))) {
            /* This call of the loop ran Python frames k up to its entry frame. */
            do
                out[n++] = (merged_frame){&py[k], NULL};
            while (!py[k++].entry && k < npy && n < cap);
            shim = shim_of_group(py, npy, k);
        } else {
            out[n++] = (merged_frame){NULL, &native[i]};
        }
    }
    while (k < npy && n < cap)
        out[n++] = (merged_frame){&py[k++], NULL};
    return n;
}
