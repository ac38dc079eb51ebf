/* fuzz_folded.c — libFuzzer target for the folded-stack reader and the writers that draw its result.
 *
 * Build and run (from the repo root):
 *   sh tools/embed.sh build/gen/assets.c src/output/assets/?*
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *         -Isrc tests/fuzz/fuzz_folded.c src/input/?*.c src/report/?*.c src/output/?*.c src/profile/?*.c src/base/?*.c \
 *         build/gen/assets.c -lz -lm -o build/fuzz_folded
 *   mkdir -p build/fuzz_corpus_folded && build/fuzz_folded build/fuzz_corpus_folded -max_total_time=180
 *
 * The first input byte picks lenient (bit 0) and the writer options (reverse,
 * inverted); the rest is the folded text. Besides the sanitizers, each run
 * checks properties that must hold for any bytes:
 *   - a strict read either succeeds or fails with a "NAME:LINE: ..." message
 *     (or "NAME is not folded stacks: ..." for another format);
 *   - a lenient read never fails (short of memory, or input that is another
 *     format altogether) and counts what it skipped;
 *   - the folded writer's output always reads back, and writing that again
 *     gives the same text (read and write agree on what a label is);
 *   - the svg and html writers succeed on whatever was read;
 *   - reading the lines as stacks (in_read_folded_stacks, what flamegraph
 *     and diff do) accepts and rejects exactly what the tree reader does, and
 *     the svg writer draws the same bytes from them as from the call tree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input/folded_read.h"
#include "output/writer.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

static pf_profile *read_text(const char *data, size_t len, int lenient, size_t *skipped, pf_error *err, int *rc) {
    FILE *in = fmemopen((void *)data, len, "rb");
    if (!in) {
        *rc = -2;
        return NULL;
    }
    pf_profile *p = pf_profile_new();
    REQUIRE(p);
    pf_meta m = *pf_profile_meta_const(p);
    m.mode = PF_MODE_SAMPLED;
    pf_profile_set_meta(p, &m);
    *rc = in_read_folded(in, "in", p, lenient, skipped, err);
    fclose(in);
    pf_profile_finish(p);
    return p;
}

static pf_profile *read_stacks(const char *data, size_t len, int lenient, in_stacks *s, size_t *skipped,
                               pf_error *err, int *rc) {
    FILE *in = fmemopen((void *)data, len, "rb");
    REQUIRE(in);
    pf_profile *p = pf_profile_new();
    REQUIRE(p);
    pf_meta m = *pf_profile_meta_const(p);
    m.mode = PF_MODE_SAMPLED;
    pf_profile_set_meta(p, &m);
    *rc = in_read_folded_stacks(in, "in", p, s, lenient, skipped, err);
    fclose(in);
    pf_profile_finish(p);
    return p;
}

static char *write_svg_mem(const pf_profile *p, const out_options *o, size_t *len) {
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    REQUIRE(f);
    pf_error err;
    REQUIRE(out_write_svg(p, f, o, &err) == 0);
    fclose(f);
    return buf;
}

static char *write_folded(const pf_profile *p, size_t *len) {
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    REQUIRE(f);
    pf_error err;
    out_options o = {.minwidth = 0.1};
    REQUIRE(out_write_folded(p, f, &o, &err) == 0);
    fclose(f);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    static FILE *devnull;
    if (!devnull)
        devnull = fopen("/dev/null", "wb");
    REQUIRE(devnull);

    pf_error err = {0};
    size_t skipped = 0;
    int rc;
    pf_profile *p = read_text(text, len, flags & 1, &skipped, &err, &rc);
    if (rc == -2)
        return 0;
    /* A line's fault, or the whole input's kind (a first line that is HTML, JSON, ...),
     * which --lenient does not skip: that input is not folded stacks at all. */
    int foreign = rc != 0 && !strncmp(err.msg, "in is not folded stacks: ", 25);
    if (flags & 1)
        REQUIRE(rc == 0 || foreign);
    else if (rc != 0)
        REQUIRE((!strncmp(err.msg, "in:", 3) && strchr(err.msg + 3, ':')) || foreign);
    in_stacks st = {0};
    pf_error err_s = {0};
    size_t skipped_s = 0;
    int rc_s;
    pf_profile *ps = read_stacks(text, len, flags & 1, &st, &skipped_s, &err_s, &rc_s);
    REQUIRE(rc_s == rc && skipped_s == skipped && !strcmp(err_s.msg, err.msg));
    if (rc != 0) {
        pf_profile_free(p);
        pf_profile_free(ps);
        in_stacks_free(&st);
        return 0;
    }
    REQUIRE(st.total == pf_total_weight(p));

    /* Round trip through the folded writer. */
    size_t l1, l2, l3;
    char *out1 = write_folded(p, &l1);
    size_t sk2 = 0;
    pf_profile *p2 = read_text(out1, l1, 1, &sk2, &err, &rc);
    REQUIRE(rc == 0);
    REQUIRE(pf_total_weight(p2) <= pf_total_weight(p));
    char *out2 = write_folded(p2, &l2);
    pf_profile *p3 = read_text(out2, l2, 0, &sk2, &err, &rc);
    REQUIRE(rc == 0);
    char *out3 = write_folded(p3, &l3);
    REQUIRE(l2 == l3 && !memcmp(out2, out3, l2));

    /* The drawing writers take whatever was read; the title is input too. */
    char title[65];
    size_t tl = len < 64 ? len : 64;
    memcpy(title, text, tl);
    title[tl] = 0;
    out_options o = {.minwidth = (flags & 8) ? 0 : 0.1, .reverse = (flags >> 1) & 1, .inverted = (flags >> 2) & 1,
                     .title = title, .subtitle = title};
    REQUIRE(out_write_svg(p, devnull, &o, &err) == 0);
    size_t la, lb;
    char *from_tree = write_svg_mem(p, &o, &la);
    o.stacks = &st;
    char *from_stacks = write_svg_mem(ps, &o, &lb);
    REQUIRE(la == lb && !memcmp(from_tree, from_stacks, la));
    free(from_tree);
    free(from_stacks);
    /* diff, against the stacks themselves (every frame equal) and against the round trip */
    o.baseline = ps;
    o.baseline_stacks = &st;
    from_stacks = write_svg_mem(ps, &o, &lb);
    o.stacks = NULL;
    o.baseline_stacks = NULL;
    o.baseline = p;
    from_tree = write_svg_mem(p, &o, &la);
    REQUIRE(la == lb && !memcmp(from_tree, from_stacks, la));
    free(from_tree);
    free(from_stacks);
    o.baseline = p2;
    REQUIRE(out_write_svg(p, devnull, &o, &err) == 0);
    o.baseline = NULL;
    REQUIRE(out_write_html(p, devnull, &o, &err) == 0);

    free(out1);
    free(out2);
    free(out3);
    pf_profile_free(p);
    pf_profile_free(p2);
    pf_profile_free(p3);
    pf_profile_free(ps);
    in_stacks_free(&st);
    return 0;
}
