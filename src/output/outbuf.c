/* outbuf.c — the writers' sink (see outbuf.h). */
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

void out_buf_init(out_buf *s, FILE *f, char *storage, size_t cap) {
    s->f = f;
    s->b = storage;
    s->len = 0;
    s->cap = cap;
    s->failed = 0;
    s->error = 0;
}

void out_buf_flush(out_buf *s) {
    errno = 0;
    if (s->len && fwrite(s->b, 1, s->len, s->f) != s->len)
        failed(s);
    s->len = 0;
}

void out_buf_put_slow(out_buf *s, const char *p, size_t n) {
    out_buf_flush(s);
    if (n > s->cap) { /* bigger than the buffer: straight through */
        errno = 0;
        if (fwrite(p, 1, n, s->f) != n)
            failed(s);
        return;
    }
    memcpy(s->b, p, n);
    s->len = n;
}

void out_buf_u64(out_buf *s, uint64_t v) {
    char tmp[24];
    int n = sizeof tmp;
    do
        tmp[--n] = (char)('0' + v % 10);
    while (v /= 10);
    out_buf_put(s, tmp + n, sizeof tmp - (size_t)n);
}

void out_buf_i64(out_buf *s, int64_t v) {
    if (v < 0) {
        out_buf_putc(s, '-');
        out_buf_u64(s, (uint64_t)0 - (uint64_t)v);
    } else {
        out_buf_u64(s, (uint64_t)v);
    }
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
    if (n <= 0)
        return;
    if ((size_t)n < sizeof tmp) {
        out_buf_put(s, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1); /* a long name: rare */
    if (!big) {
        if (!s->failed)
            s->error = ENOMEM;
        s->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    out_buf_put(s, big, (size_t)n);
    free(big);
}

int out_buf_run(FILE *f, const char *what, out_buf_fn body, const void *data, pf_error *err) {
    enum { CAP = 1 << 16 };
    out_buf *s = malloc(sizeof *s + CAP); /* 64 KiB: not on the stack */
    if (!s)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    out_buf_init(s, f, (char *)(s + 1), CAP);
    int rc = body(s, data, err);
    out_buf_flush(s);
    if (rc == 0 && !s->failed) { /* stdio may hold the last piece: its failure is this writer's too */
        errno = 0;
        if (fflush(f) != 0)
            failed(s);
    }
    if (rc == 0 && s->failed && s->error == ENOMEM) /* out_buf_printf's copy of a long piece */
        rc = pf_fail(err, PF_ERR_NOMEM, "out of memory writing %s", what);
    else if (rc == 0 && s->failed)
        rc = pf_fail(err, PF_ERR_IO, "cannot write %s: %s", what, strerror(s->error));
    free(s);
    return rc;
}

typedef struct profile_job {
    const pf_profile *p;
    const out_options *o;
    out_buf_body body;
} profile_job;

static int run_profile_job(out_buf *s, const void *data, pf_error *err) {
    const profile_job *j = data;
    return j->body(j->p, s, j->o, err);
}

int out_buf_write(const pf_profile *p, FILE *f, const out_options *o, const char *name, out_buf_body body,
                  pf_error *err) {
    profile_job j = {p, o, body};
    char what[64];
    snprintf(what, sizeof what, "the %s output", name);
    return out_buf_run(f, what, run_profile_job, &j, err);
}
