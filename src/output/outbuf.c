/* outbuf.c — the buffered writer shared by the SVG and HTML writers (see outbuf.h). */
#include "output/outbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void failed(out_buf *s) {
    if (!s->failed)
        s->error = errno ? errno : EIO;
    s->failed = 1;
}

void out_buf_flush(out_buf *s) {
    errno = 0;
    if (s->len && fwrite(s->b, 1, s->len, s->f) != s->len)
        failed(s);
    s->len = 0;
}

void out_buf_put(out_buf *s, const char *p, size_t n) {
    if (n > sizeof s->b - s->len) {
        out_buf_flush(s);
        if (n > sizeof s->b) {
            errno = 0;
            if (fwrite(p, 1, n, s->f) != n)
                failed(s);
            return;
        }
    }
    memcpy(s->b + s->len, p, n);
    s->len += n;
}

void out_buf_puts(out_buf *s, const char *p) { out_buf_put(s, p, strlen(p)); }

void out_buf_printf(out_buf *s, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        out_buf_put(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

int out_buf_write(const pf_profile *p, FILE *f, const out_options *o, const char *name, out_buf_body body,
                  pf_error *err) {
    out_buf *s = malloc(sizeof *s); /* 64 KiB: not on the stack */
    if (!s)
        return pf_fail(err, PF_ERR_IO, "out of memory");
    s->f = f;
    s->len = 0;
    s->failed = 0;
    s->error = 0;
    int rc = body(p, s, o, err);
    out_buf_flush(s);
    if (rc == 0 && !s->failed) { /* stdio may hold the last piece: its failure is this writer's too */
        errno = 0;
        if (fflush(f) != 0)
            failed(s);
    }
    if (rc == 0 && s->failed)
        rc = pf_fail(err, PF_ERR_IO, "cannot write the %s output: %s", name, strerror(s->error));
    free(s);
    return rc;
}
