/* check.h — the tiny assertion kit of the C unit tests.
 *
 * Each test binary counts checks (and skips: check_skip() says why a check
 * could not run) and ends with check_report(), which prints "NAME: N passed,
 * N failed, N skipped", appends the counts to $PYFLARE_RESULTS when set (the
 * file `make test` sums, see tests/harness.py) and returns the exit status. */
#ifndef PYFLARE_TESTS_CHECK_H
#define PYFLARE_TESTS_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_passed, check_failed, check_skipped;

#define CHECK(cond) do { \
    if (cond) check_passed++; \
    else { check_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_EQ_INT(a, b) do { \
    long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
    if (check_a_ == check_b_) check_passed++; \
    else { check_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", \
                                   __FILE__, __LINE__, #a, #b, check_a_, check_b_); } \
} while (0)

#define CHECK_EQ_STR(a, b) do { \
    const char *check_a_ = (a), *check_b_ = (b); \
    if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) check_passed++; \
    else { check_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", \
                                   __FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)", \
                                   check_b_ ? check_b_ : "(null)"); } \
} while (0)

/* Prints "skipped: WHY" and counts one skipped check. */
static inline void check_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void check_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("skipped: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    check_skipped++;
}

static inline int check_report(const char *name) {
    printf("%s: %d passed, %d failed, %d skipped\n", name, check_passed, check_failed, check_skipped);
    const char *results = getenv("PYFLARE_RESULTS");
    FILE *f = results && *results ? fopen(results, "a") : NULL;
    if (f) {
        fprintf(f, "%s %d %d %d\n", name, check_passed, check_failed, check_skipped);
        fclose(f);
    }
    return check_failed ? 1 : 0;
}

#endif
