/* outbuf.c — the buffered writer shared by the SVG and HTML writers (see outbuf.h). */
#include "output/outbuf.h"

#include <stdarg.h>
#include <string.h>

void out_buf_flush(out_buf *s) {
    if (s->len && fwrite(s->b, 1, s->len, s->f) != s->len)
        s->failed = 1;
    s->len = 0;
}

void out_buf_put(out_buf *s, const char *p, size_t n) {
    if (n > sizeof s->b - s->len) {
        out_buf_flush(s);
        if (n > sizeof s->b) {
            if (fwrite(p, 1, n, s->f) != n)
                s->failed = 1;
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
