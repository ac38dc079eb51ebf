/* walker.h — every thread of a CPython process and its Python stack.
 *
 * One call to py_walker_sample() reads interpreters -> thread states -> frames
 * and returns them innermost frame first. Results live in the walker and are
 * overwritten by the next call, so a sampler loop allocates nothing per frame
 * once warmed up. */
#ifndef PYFLARE_CPYTHON_WALKER_H
#define PYFLARE_CPYTHON_WALKER_H

#include <stddef.h>
#include <stdint.h>

#include "cpython/code.h"
#include "cpython/proc.h"

#define PY_MAX_DEPTH 8192   /* deeper stacks are truncated (and flagged) */
#define PY_MAX_THREADS (1 << 20) /* more is taken for a corrupt thread list */

typedef struct py_frame {
    py_code *code;          /* mutable only for its consumer cookie */
    int line;
    /* 1 when this is the outermost of the frames one C-level call of the eval
     * loop ran (<=3.10: every frame; 3.11: is_entry; 3.12+: the next older
     * frame is a C-stack shim, or there is none): what a native eval frame
     * stands for (sampler/native_merge.c). */
    int entry;
    /* 3.12+, on an entry frame: the address of the shim frame below it, which
     * lives on the C stack inside that call of the eval loop's own frame (so
     * the call is found by stack address even where the loop has no symbol); 0 otherwise. */
    uint64_t shim;
} py_frame;

typedef struct py_thread {
    uint64_t tstate;
    uint64_t interp;
    uint64_t thread_id;     /* threading.get_ident() */
    int64_t native_id;      /* Linux TID, -1 when unknown */
    int holds_gil;          /* 1, 0, or -1 when this version does not tell */
    int in_gc;              /* 1: this thread is running its interpreter's garbage collector
                             * (walker.c's gc_collector rule); its samples get a <GC> frame */
    py_frame *frames;       /* innermost first */
    size_t nframes;
    int truncated;          /* deeper than PY_MAX_DEPTH */
    pf_error_kind error;    /* PF_OK, or why this thread's stack could not be read */
} py_thread;

typedef struct py_walker py_walker;

int py_walker_new(py_proc *p, py_walker **out, pf_error *err);
void py_walker_free(py_walker *w);

/* Reads every thread. Fails only when the process as a whole cannot be read;
 * a thread whose stack is torn mid-read is returned with error set. */
int py_walker_sample(py_walker *w, const py_thread **threads, size_t *n, pf_error *err);

/* Reads that were not served by the prefetch, since the walker was made (statistics). */
uint64_t py_walker_missed_reads(const py_walker *w);

#endif
