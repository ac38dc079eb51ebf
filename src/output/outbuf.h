/* outbuf.h — the sink every writer writes through: a buffer in front of a
 * FILE, for writers that emit millions of small pieces (SVG frames, HTML
 * data, folded lines). Errors are remembered in `failed` rather than checked
 * at every call; the writer checks once at the end. The escapers of each
 * target syntax (escape.h) write to it too. */
#ifndef PYFLARE_OUTPUT_OUTBUF_H
#define PYFLARE_OUTPUT_OUTBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "output/writer.h"

typedef struct out_buf {
    FILE *f;
    char *b;         /* the caller's storage, cap bytes */
    size_t len, cap;
    int failed;
    int error;       /* errno of the first failed write, for the message */
} out_buf;

/* A sink writing to f through storage (cap bytes, at least 32). */
void out_buf_init(out_buf *s, FILE *f, char *storage, size_t cap);
void out_buf_flush(out_buf *s);
/* What out_buf_put does when the piece does not fit. */
void out_buf_put_slow(out_buf *s, const char *p, size_t n);
/* Inline: most pieces are a few bytes, often of a length known where they
 * are written, and copying them is the writers' hot path. */
static inline void out_buf_put(out_buf *s, const char *p, size_t n) {
    if (n <= s->cap - s->len) {
        memcpy(s->b + s->len, p, n);
        s->len += n;
    } else {
        out_buf_put_slow(s, p, n);
    }
}
static inline void out_buf_puts(out_buf *s, const char *p) { out_buf_put(s, p, strlen(p)); }
static inline void out_buf_putc(out_buf *s, char c) {
    if (s->len == s->cap)
        out_buf_flush(s);
    s->b[s->len++] = c;
}
/* Numbers without printf, for the pieces written once per frame: the same
 * text as printf's "%" PRIu64, "%" PRId64 and "%.Nf" (0 <= decimals <= 3; the
 * exact binary value rounded half to even, as glibc does). */
void out_buf_u64(out_buf *s, uint64_t v);
void out_buf_i64(out_buf *s, int64_t v);
void out_buf_fixed(out_buf *s, double x, int decimals);
/* printf into the buffer, whatever the length. */
void out_buf_printf(out_buf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Runs body(s, data, err) with a fresh 64 KiB buffer in front of f, flushes
 * it (and f), and turns a write failure into "cannot write WHAT: REASON"
 * (what: "the svg output", "to standard output"). 0 or -1. The one way every
 * writer, the profile's and dump's, reaches its FILE. */
typedef int (*out_buf_fn)(out_buf *s, const void *data, pf_error *err);
int out_buf_run(FILE *f, const char *what, out_buf_fn body, const void *data, pf_error *err);

/* out_buf_run for a profile writer's body; its failure is "cannot write the NAME output: REASON". */
typedef int (*out_buf_body)(const pf_profile *p, out_buf *s, const out_options *o, pf_error *err);
int out_buf_write(const pf_profile *p, FILE *f, const out_options *o, const char *name, out_buf_body body,
                  pf_error *err);

#endif
