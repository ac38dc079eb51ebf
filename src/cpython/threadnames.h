/* threadnames.h — the names the threading module gives to threads.
 *
 * CPython keeps a thread's name only in its threading.Thread object, found in
 * threading._active (ident -> Thread) of the thread's own interpreter. Reading
 * that dict is slow next to a stack walk, so callers look names up once per
 * thread and keep them. */
#ifndef PYFLARE_CPYTHON_THREADNAMES_H
#define PYFLARE_CPYTHON_THREADNAMES_H

#include <stddef.h>
#include <stdint.h>

#include "cpython/proc.h"

/* The name of the thread with this ident in interp, into out (UTF-8).
 * Returns 1 when found, 0 when the threading module does not know the thread,
 * -1 when the dict could not be read. */
int py_thread_name(py_proc *p, uint64_t interp, uint64_t thread_id, char *out, size_t cap, pf_error *err);

#endif
