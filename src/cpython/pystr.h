/* pystr.h — make printable UTF-8 out of CPython string objects read from outside.
 *
 * Function and file names come out of the target as raw object bytes. This
 * module decodes the PEP 393 str header (3.3+) to learn where the characters
 * are and how wide they are, and transcodes the characters (or a 2.7 byte
 * string) to NUL-terminated UTF-8 without ever producing invalid UTF-8. */
#ifndef PYFLARE_CPYTHON_PYSTR_H
#define PYFLARE_CPYTHON_PYSTR_H

#include <stddef.h>
#include <stdint.h>

#include "cpython/layout.h"

typedef struct {
    int kind;            /* 1, 2 or 4 bytes per code unit */
    int ascii;
    int compact;
    int64_t length;      /* in code points (= code units) */
    int64_t data_offset; /* from object start */
} py_str_shape;

/* Decode the header of a PEP 393 str object (3.3+) from bytes `hdr` (read from
 * the object's start; layout->unicode.compact_size bytes always suffice) using
 * the layout's offsets (unicode.length, unicode.state, ascii_size,
 * compact_size). State bits: interned 0-1, kind 2-4, compact 5, ascii 6.
 * Returns 0, or -1 if the header is implausible (kind not 1/2/4, not compact,
 * negative length, ascii with kind != 1) or hdr_len is too short to hold it. */
int py_str_shape_of(const py_layout *layout, const uint8_t *hdr, size_t hdr_len,
                    py_str_shape *out);

/* Transcode `count` code units of width `kind` (1 = Latin-1, 2 = UCS-2,
 * 4 = UCS-4; units may be unaligned) to UTF-8 into out[cap], always
 * NUL-terminating when cap >= 1. Surrogates (U+D800-DFFF, e.g. from
 * surrogateescape'd file names) and code points > U+10FFFF become U+FFFD.
 * Truncates at a code-point boundary if out is too small. An unknown kind
 * gives "". Returns bytes written (excluding NUL). */
size_t py_str_to_utf8(const void *units, size_t count, int kind, char *out, size_t cap);

/* Python 2 byte strings / 3.x bytes: copy as UTF-8, replacing each invalid
 * UTF-8 sequence (maximal subpart, as bytes.decode("utf-8", "replace") does)
 * with U+FFFD, NUL-terminate, truncate at a character boundary. Returns bytes
 * written (excluding NUL). */
size_t py_bytes_to_utf8(const uint8_t *bytes, size_t count, char *out, size_t cap);

#endif
