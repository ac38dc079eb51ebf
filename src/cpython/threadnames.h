/* threadnames.h — the names the threading module gives to threads.
 *
 * CPython keeps a thread's name only in its threading.Thread object, found in
 * threading._active (ident -> Thread) of the thread's own interpreter. Reading
 * that dict costs a remote read per entry, so a name book reads it whole at
 * most once per sample and interpreter, and only when a thread it is asked
 * about was not in the last reading: naming every thread of a server with
 * 10 000 threads is one pass over the dict, not one pass per thread. */
#ifndef PYFLARE_CPYTHON_THREADNAMES_H
#define PYFLARE_CPYTHON_THREADNAMES_H

#include <stddef.h>
#include <stdint.h>

#include "cpython/proc.h"

typedef struct py_name_book py_name_book;

py_name_book *py_name_book_new(py_proc *p);
void py_name_book_free(py_name_book *b);

/* Marks a new sample: the dict may have changed since it was last read. */
void py_name_book_new_sample(py_name_book *b);

/* The name of the thread with this ident in interp, into out (UTF-8).
 * Returns 1 when found, 0 when the threading module does not know the thread,
 * -1 when the dict could not be read. */
int py_name_book_lookup(py_name_book *b, uint64_t interp, uint64_t thread_id, char *out, size_t cap,
                        pf_error *err);

#endif
