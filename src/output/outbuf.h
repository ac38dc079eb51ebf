/* outbuf.h — a large write buffer in front of a FILE, for writers that emit
 * millions of small pieces (SVG frames, HTML data). Errors are remembered in
 * `failed` rather than checked at every call; the writer checks once at the end. */
#ifndef PYFLARE_OUTPUT_OUTBUF_H
#define PYFLARE_OUTPUT_OUTBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "output/writer.h"

typedef struct out_buf {
    FILE *f;
    size_t len;
    int failed;
    int error;       /* errno of the first failed write, for the message */
    char b[1 << 16];
} out_buf;

void out_buf_flush(out_buf *s);
void out_buf_put(out_buf *s, const char *p, size_t n);
void out_buf_puts(out_buf *s, const char *p);
/* Numbers without printf, for the pieces written once per frame: the same
 * text as printf's "%" PRIu64 and "%.Nf" (0 <= decimals <= 3; the exact
 * binary value rounded half to even, as glibc does). */
void out_buf_u64(out_buf *s, uint64_t v);
void out_buf_fixed(out_buf *s, double x, int decimals);
/* printf into the buffer; one piece is at most 255 bytes (longer is cut). */
void out_buf_printf(out_buf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs a writer's body with a fresh buffer in front of f, flushes it, and
 * turns a write failure into "cannot write the NAME output: REASON". 0 or -1. */
typedef int (*out_buf_body)(const pf_profile *p, out_buf *s, const out_options *o, pf_error *err);
int out_buf_write(const pf_profile *p, FILE *f, const out_options *o, const char *name, out_buf_body body,
                  pf_error *err);

#endif
