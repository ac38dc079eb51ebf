/* code.h — code objects decoded once and cached by address.
 *
 * A frame names its code object by address; decoding one (name, file, line
 * table) costs several remote reads, so each is decoded once and kept. The
 * cache is an open-addressing table keyed by address; an entry is trusted
 * until the code object it came from is seen to change (see py_code_get). */
#ifndef PYFLARE_CPYTHON_CODE_H
#define PYFLARE_CPYTHON_CODE_H

#include <stddef.h>
#include <stdint.h>

#include "cpython/proc.h"

typedef struct py_code {
    uint64_t addr;
    uint64_t name_ptr, file_ptr; /* the str objects it was decoded from ... */
    uint64_t table_ptr;          /* ... and its line table's bytes object: with firstlineno, its identity */
    char *function;              /* co_qualname (3.11+) or co_name, UTF-8 */
    char *file;                  /* co_filename, UTF-8 */
    int firstlineno;
    uint8_t *linetable;
    size_t linetable_len;
    uint32_t cookie;             /* the consumer's own id for this code (a profile's function), 0 = unset */
    uint64_t checked;            /* the walker's sample that last confirmed it; 0 = just decoded */
} py_code;

typedef struct py_code_cache py_code_cache;

py_code_cache *py_code_cache_new(void);
void py_code_cache_free(py_code_cache *c);

/* The cached code object at addr, or NULL (nothing is read). */
py_code *py_code_find(py_code_cache *c, uint64_t addr);

/* The decoded code object at addr, from the cache or read now. */
py_code *py_code_get(py_code_cache *c, py_proc *p, uint64_t addr, pf_error *err);

/* Where a code object's identity lies (name, file and line table pointers,
 * first line): bytes [*lo, *lo + *len) of it. */
void py_code_identity_span(const py_layout *L, int64_t *lo, size_t *len);
/* Whether those bytes (read at code->addr + lo) are still code's: freed
 * objects' addresses are reused, so all four must match (a new function of
 * the same name in a file of the same name can have both its strings where
 * the old ones were). */
int py_code_same(const py_layout *L, const py_code *code, const uint8_t *identity, int64_t lo);

/* Confirms that the code object at code->addr is still the one decoded (the
 * address may have been freed and reused); if not, decodes it again in place
 * (cookie reset to 0). Returns 0, or -1 if it cannot be read now. */
int py_code_recheck(py_proc *p, py_code *code, pf_error *err);

/* The line of a frame executing code at the given byte offset into its bytecode. */
int py_code_line(const py_proc *p, const py_code *code, int64_t byte_offset);

#endif
