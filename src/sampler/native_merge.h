/* native_merge.h — one stack from a thread's native frames and its Python ones.
 *
 * The one rule for `--native`: each evaluation-loop frame on the native stack
 * (_PyEval_EvalFrameDefault; PyEval_EvalFrameEx on 2.7) is replaced by the
 * Python frames that call of the loop was running. Which those are, the walker
 * says by py_frame.entry: the frames from the innermost down to the next one
 * marked entry (<=3.10 every frame object has its own call of the loop; 3.11+
 * one call runs frames up to its entry frame / C-stack shim). Innermost native
 * eval frame takes the innermost group, and so on outwards. A native frame is
 * such a call by its name, or (3.12+) by holding, between its stack pointer
 * and its caller's, the shim frame of the next group: the loop's own local,
 * so a binary without the loop's symbol (Debian's static 3.14 without its
 * -dbg package) merges too. Python frames left
 * over (an unwind that stopped early) go below everything, outermost, so the
 * Python part is never lost; an eval frame left over stays a native frame. */
#ifndef PYFLARE_SAMPLER_NATIVE_MERGE_H
#define PYFLARE_SAMPLER_NATIVE_MERGE_H

#include <stddef.h>

#include "cpython/walker.h"
#include "target/native.h"

/* Stands on top of a thread's Python frames when its native stack could not be read. */
#define NATIVE_UNAVAILABLE "[native stack unavailable]"

typedef struct merged_frame {
    const py_frame *py;              /* a Python frame, or NULL for a native one */
    const target_native_sym *native; /* a native frame (when py is NULL) */
} merged_frame;

/* 1 when a native function of this name is a call of the evaluation loop of
 * a CPython of this major version (a compiler's split-off part, e.g.
 * "_PyEval_EvalFrameDefault.cold", counts as the function). */
int native_is_eval(const char *function, int major);

/* Merges nnative native frames (with their stack pointers, sps, which may be
 * NULL) and npy Python frames, both innermost first, into out (innermost
 * first; up to cap; the outermost are left out beyond). Returns how many
 * frames out holds. */
size_t native_merge(const target_native_sym *native, const uint64_t *sps, size_t nnative, const py_frame *py,
                    size_t npy, int major, merged_frame *out, size_t cap);

#endif
