/* outbuf.c — the buffered writer shared by the SVG and HTML writers (see outbuf.h). */
#include "output/outbuf.h"

#include <errno.h>
#include <math.h>
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

void out_buf_u64(out_buf *s, uint64_t v) {
    char tmp[24];
    int n = sizeof tmp;
    do
        tmp[--n] = (char)('0' + v % 10);
    while (v /= 10);
    out_buf_put(s, tmp + n, sizeof tmp - (size_t)n);
}

/* x * 10^decimals rounded to a whole number, exactly: x is mant * 2^e, so the
 * product is (mant * 10^decimals) * 2^e, shifted, with the bits shifted out
 * deciding the rounding (half to even). For 0 <= x < 1e15 (the caller checks). */
static uint64_t scaled_round(double x, uint64_t p10) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int exp = (int)(bits >> 52 & 0x7ff);
    uint64_t mant = bits & ((UINT64_C(1) << 52) - 1);
    if (!exp) /* zero, or subnormal: far below any rounding step */
        return 0;
    mant |= UINT64_C(1) << 52;
    int e = exp - 1075; /* x = mant * 2^e */
    uint64_t m = mant * p10; /* < 2^63 for p10 <= 1000 */
    if (e >= 0)
        return m << e;
    if (e <= -64)
        return 0;
    unsigned sh = (unsigned)-e;
    uint64_t q = m >> sh, rem = m & ((UINT64_C(1) << sh) - 1), half = UINT64_C(1) << (sh - 1);
    if (rem > half || (rem == half && (q & 1)))
        q++;
    return q;
}

void out_buf_fixed(out_buf *s, double x, int decimals) {
    static const uint64_t p10s[] = {1, 10, 100, 1000};
    if (!(x >= 0 && x < 1e15) || decimals < 0 || decimals > 3 || (x == 0 && signbit(x))) {
        out_buf_printf(s, "%.*f", decimals, x);
        return;
    }
    uint64_t p10 = p10s[decimals], q = scaled_round(x, p10);
    out_buf_u64(s, q / p10);
    if (decimals) {
        char frac[4] = {'.'};
        uint64_t f = q % p10;
        for (int i = decimals; i > 0; i--, f /= 10)
            frac[i] = (char)('0' + f % 10);
        out_buf_put(s, frac, (size_t)decimals + 1);
    }
}

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
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
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
