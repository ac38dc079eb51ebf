/* debug_offsets.h — a layout from the interpreter's own _Py_DebugOffsets (3.13+).
 *
 * From 3.13, _PyRuntime starts with a table of offsets written by the
 * interpreter itself: a cookie, its version, then groups of uint64 offsets.
 * Reading it instead of shipping a table is what lets a new CPython work
 * without a new pyflare, as long as the table's own shape is one we know. */
#ifndef PYFLARE_CPYTHON_DEBUG_OFFSETS_H
#define PYFLARE_CPYTHON_DEBUG_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "cpython/layout.h"

/* Bytes to read from the start of _PyRuntime to cover every known shape. */
#define PY_DEBUG_OFFSETS_MAX_BYTES 1024

/* Fills *out from the debug offsets in bytes[0..len). base supplies what the
 * debug offsets do not carry (dict internals, type sizes); it should be the
 * generated table nearest the target's version. Fails with PF_ERR_UNSUPPORTED
 * when the cookie is missing or the table's shape is one we do not know. */
int py_layout_from_debug_offsets(const uint8_t *bytes, size_t len, const py_layout *base,
                                 py_layout *out, pf_error *err);

/* The debug-offsets versions (major.minor) this build understands, e.g. "3.13". */
const char *py_debug_offsets_known(void);

#endif
