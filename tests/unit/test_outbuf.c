/* test_outbuf.c — the writers' sink. Its number formatting against printf
 * itself: out_buf_u64, out_buf_i64 and out_buf_fixed must write exactly what
 * "%" PRIu64, "%" PRId64 and "%.Nf" write, for random values, exact halves
 * (which round to even) and the values a flame graph writes (percentages and
 * pixel positions); out_buf_printf whatever the length; pieces larger than
 * the buffer, and a failed write remembered with its errno. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "output/outbuf.h"

static out_buf *buf;
static char storage[1 << 16];

static const char *got(void) {
    buf->b[buf->len] = 0;
    return buf->b;
}

static int same_fixed(double x, int dec) {
    char want[512];
    snprintf(want, sizeof want, "%.*f", dec, x);
    buf->len = 0;
    out_buf_fixed(buf, x, dec);
    if (strcmp(got(), want)) {
        fprintf(stderr, "out_buf_fixed(%.17g, %d): \"%s\", printf: \"%s\"\n", x, dec, got(), want);
        return 0;
    }
    return 1;
}

/* The next double towards +inf (up) or 0 (down), for x > 0; libm is not linked. */
static double step(double x, int up) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    b += up ? 1 : (uint64_t)-1;
    memcpy(&x, &b, sizeof x);
    return x;
}

static uint64_t rnd(void) { return (uint64_t)rand() << 42 ^ (uint64_t)rand() << 21 ^ (uint64_t)rand(); }

int main(void) {
    buf = malloc(sizeof *buf);
    out_buf_init(buf, NULL, storage, sizeof storage - 1); /* never flushed: every case fits */
    srand(12345);

    uint64_t ints[] = {0, 1, 9, 10, 99, 100, 12345, UINT32_MAX, UINT64_MAX, UINT64_MAX / 3};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        char want[32];
        snprintf(want, sizeof want, "%" PRIu64, ints[i]);
        buf->len = 0;
        out_buf_u64(buf, ints[i]);
        CHECK_EQ_STR(got(), want);
    }

    int bad = 0;
    /* exact halves and their neighbours: 0.125, 0.375, 2.5, 0.05 (not exact in binary) ... */
    static const double p10[] = {1, 10, 100, 1000};
    for (int k = 0; k < 4000; k++)
        for (int dec = 0; dec <= 3; dec++) {
            double half = (k + 0.5) / p10[dec];
            bad += !same_fixed(half, dec) + !same_fixed(step(half, 0), dec) + !same_fixed(step(half, 1), dec);
            bad += !same_fixed(k / 8.0, dec) + !same_fixed(k / 1024.0, dec);
        }
    /* what the svg writer formats: 100 * w / total and x * 1180 / total + 3 */
    for (int i = 0; i < 300000; i++) {
        uint64_t total = rnd() % 1000000000 + 1, w = rnd() % (total + 1);
        bad += !same_fixed(100.0 * (double)w / (double)total, 2);
        bad += !same_fixed((double)w * 1180 / (double)total + 3, 1);
    }
    /* anything, of any size and sign */
    for (int i = 0; i < 300000; i++) {
        uint64_t bits = rnd() ^ rnd() << 20;
        double x;
        memcpy(&x, &bits, sizeof x);
        if (isnan(x))
            continue;
        bad += !same_fixed((double)(bits % 10000000000000000ull) / (double)(rnd() % 100000 + 1), i % 4);
        bad += !same_fixed(x, i % 4);
    }
    double edges[] = {0.0, -0.0, 1e-320, 0.5, 1.5, 2.5, 0.05, 0.005, 0.0005, 999.9995, 1e15, 1e15 - 0.5, 1e100, -1.25, INFINITY};
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++)
        for (int dec = 0; dec <= 3; dec++)
            bad += !same_fixed(edges[i], dec);
    CHECK_EQ_INT(bad, 0);

    int64_t sints[] = {0, -1, 1, INT64_MIN, INT64_MAX, -1234567};
    for (size_t i = 0; i < sizeof sints / sizeof *sints; i++) {
        char want[32];
        snprintf(want, sizeof want, "%" PRId64, sints[i]);
        buf->len = 0;
        out_buf_i64(buf, sints[i]);
        CHECK_EQ_STR(got(), want);
    }

    /* printf pieces of any length (a long name), and pieces bigger than the buffer, through a real FILE */
    char *mem = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&mem, &size);
    char small[64];
    out_buf s;
    out_buf_init(&s, f, small, sizeof small);
    char longname[3000];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    out_buf_printf(&s, "<%s>", longname);
    out_buf_put(&s, longname, 100);
    for (int i = 0; i < 100; i++)
        out_buf_putc(&s, 'y');
    out_buf_flush(&s);
    fclose(f);
    CHECK(!s.failed);
    CHECK_EQ_INT(size, 3001 + 100 + 100);
    CHECK(mem && mem[0] == '<' && mem[3000] == '>' && mem[3001] == 'x' && mem[size - 1] == 'y');
    free(mem);

    /* a write that fails is remembered, with its errno */
    f = fopen("/dev/full", "w");
    if (f) {
        setvbuf(f, NULL, _IONBF, 0);
        out_buf_init(&s, f, small, sizeof small);
        out_buf_put(&s, longname, 200);
        out_buf_flush(&s);
        CHECK(s.failed);
        CHECK_EQ_INT(s.error, ENOSPC);
        fclose(f);
    }
    free(buf);
    return check_report("test_outbuf");
}
