/* proc.h — a CPython interpreter inside a target process, found and understood.
 *
 * py_proc_open() finds the interpreter (ELF symbols of the python binary or
 * libpython mapped into the target), learns its exact version from the
 * target's memory, and picks the layout that describes its structs. Everything
 * after that (threads, frames, names) reads through the py_proc. */
#ifndef PYFLARE_CPYTHON_PROC_H
#define PYFLARE_CPYTHON_PROC_H

#include <stdint.h>

#include "base/error.h"
#include "cpython/layout.h"
#include "target/target.h"

typedef struct py_proc {
    target *target;
    py_layout layout;          /* a copy: may be built from debug offsets */
    int major, minor, micro;
    char version[32];          /* "3.12.1", as the interpreter says */
    char binary[4096];         /* the ELF file the symbols came from (target's view) */

    uint64_t runtime;          /* address of _PyRuntime (3.7+), else 0 */
    uint64_t interp_head_var;  /* address of interp_head (2.7, 3.6), else 0 */
    uint64_t tstate_current_var; /* address of _PyThreadState_Current (2.7, 3.6), else 0 */
    uint64_t gc_collecting_var; /* address of gcmodule.c's static `collecting` (2.7, 3.6; a local
                                 * symbol, unstripped builds only), else 0 */
    int debug_offsets_version; /* 0, or the _Py_DebugOffsets version understood */

    struct py_type_cache {     /* type object address -> what it is, learned lazily */
        uint64_t addr;
        int kind;
    } types[16];
} py_proc;

int py_proc_open(target *t, py_proc **out, pf_error *err);
void py_proc_close(py_proc *p);

/* The first interpreter state, or 0 when the interpreter is not (yet) initialised. */
int py_proc_interp_head(py_proc *p, uint64_t *interp, pf_error *err);

#endif
