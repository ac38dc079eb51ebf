/* fuzz_capture.c — libFuzzer target for the capture reader (src/input/capture_read.c).
 *
 * Build and run (from the repo root):
 *   sh tools/embed.sh build/gen/assets.c src/output/assets/?*
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *         -Isrc tests/fuzz/fuzz_capture.c src/input/?*.c src/report/?*.c src/output/?*.c src/profile/?*.c \
 *         src/base/?*.c build/gen/assets.c -lz -lm -o build/fuzz_capture
 *   mkdir -p build/fuzz_corpus_capture && build/fuzz_capture build/fuzz_corpus_capture -max_total_time=180
 * Seeds: small real captures in both kinds below: a file after a 0 byte, and its
 * body (inflated, SOURCES left out to keep it small) after a 1 (a version 2
 * body after a 5).
 *
 * The first input byte picks how the rest is read: bit 0 clear, as a whole
 * file (magic, header, zlib: what a damaged download looks like); set, as a
 * capture's body, given a correct header and checksum, so the fuzzer reaches
 * the section parser past the CRC that would stop almost every mutation;
 * then bit 1 set calls that body version 1 (the oldest sample log, still
 * read), else bit 2 set version 2 (columns not range-coded), else the
 * current version.
 * Besides the sanitizers, each run checks:
 *   - a read either succeeds or fails with one line that names the input and
 *     (for corruption) an offset;
 *   - what was read writes as a capture that reads back and writes again to
 *     the same bytes (the reader rebuilds every id where it was);
 *   - the folded and svg writers succeed on it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "input/capture_read.h"
#include "output/writer.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

static void put32(unsigned char *at, uint32_t v) {
    for (int i = 0; i < 4; i++)
        at[i] = (unsigned char)(v >> (8 * i));
}

/* Writes p with fn into a new buffer; returns its length (*out malloc'd). */
static size_t write_with(out_write_fn fn, const pf_profile *p, const out_options *o, char **out) {
    size_t len = 0;
    *out = NULL;
    FILE *f = open_memstream(out, &len);
    REQUIRE(f);
    pf_error err = {0};
    REQUIRE(fn(p, f, o, &err) == 0);
    REQUIRE(fclose(f) == 0);
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    const unsigned char *in = data + 1;
    size_t len = size - 1;
    unsigned char *wrapped = NULL;
    if (data[0] & 1) {
        wrapped = malloc(CAPTURE_HEADER_LEN + len + 1);
        REQUIRE(wrapped);
        memset(wrapped, 0, CAPTURE_HEADER_LEN);
        memcpy(wrapped, CAPTURE_MAGIC, CAPTURE_MAGIC_LEN);
        put32(wrapped + 8, data[0] & 2 ? CAPTURE_VERSION_MIN : data[0] & 4 ? 2u : CAPTURE_VERSION);
        put32(wrapped + 12, CAPTURE_STORED);
        put32(wrapped + 16, (uint32_t)len);
        put32(wrapped + 24, (uint32_t)crc32(crc32(0L, Z_NULL, 0), in, (uInt)len));
        memcpy(wrapped + CAPTURE_HEADER_LEN, in, len);
        in = wrapped;
        len += CAPTURE_HEADER_LEN;
    }
    pf_profile *p = pf_profile_new();
    REQUIRE(p);
    in_capture_info info;
    pf_error err = {0};
    int rc = in_read_capture_mem(in, len, "in", p, &info, &err);
    if (rc != 0) {
        REQUIRE(!strncmp(err.msg, "in: ", 4) || !strncmp(err.msg, "out of memory", 13));
        REQUIRE(!strchr(err.msg, '\n'));
        REQUIRE(err.kind != PF_ERR_CORRUPT || strstr(err.msg, "offset") || strstr(err.msg, "checksum"));
    } else {
        out_options o = {0};
        o.minwidth = 0.1;
        o.title = info.title;
        o.subtitle = info.subtitle;
        char *once, *twice, *text;
        size_t n1 = write_with(out_write_capture, p, &o, &once);
        pf_profile *q = pf_profile_new();
        REQUIRE(q);
        in_capture_info info2;
        REQUIRE(in_read_capture_mem((unsigned char *)once, n1, "again", q, &info2, &err) == 0);
        o.title = info2.title;
        o.subtitle = info2.subtitle;
        size_t n2 = write_with(out_write_capture, q, &o, &twice);
        REQUIRE(n1 == n2 && !memcmp(once, twice, n1));
        free(write_with(out_write_folded, q, &o, &text) ? text : text);
        free(write_with(out_write_svg, q, &o, &text) ? text : text);
        in_capture_info_free(&info2);
        pf_profile_free(q);
        free(once);
        free(twice);
        in_capture_info_free(&info);
    }
    pf_profile_free(p);
    free(wrapped);
    return 0;
}
