/* fuzz_linetable.c — libFuzzer target for py_line_for_offset and the UTF-8 transcoders.
 *
 * Build and run (from the repo root):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *         -Isrc tests/fuzz/fuzz_linetable.c src/cpython/linetable.c src/cpython/pystr.c \
 *         -o build/fuzz_linetable
 *   mkdir -p build/fuzz_corpus && FUZZ_MODEL=4 build/fuzz_linetable build/fuzz_corpus -max_total_time=60
 * FUZZ_MODEL=1..4 pins the py_lines_model (1 = 2.7 lnotab ... 4 = 3.11+
 * locations); unset, the first input byte picks it.
 *
 * Input: [model][firstlineno: 4][offset selector: 1][offset: 2 or 8][table...].
 * Besides the sanitizers, each run checks properties that must hold for any
 * bytes: a negative offset gives firstlineno, and the answer agrees with a
 * second, deliberately naive decoder that expands the whole table into ranges
 * first. The same bytes are also fed to the string transcoders, whose output
 * must be valid UTF-8 (py_bytes_to_utf8 leaves it unchanged) and whose
 * truncated outputs must be prefixes of the full one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/linetable.h"
#include "cpython/pystr.h"

#define REQUIRE(c) do { if (!(c)) __builtin_trap(); } while (0)

enum { MAX_RANGES = 1 << 16 };
typedef struct { int64_t start, end, line; } ref_range;
static ref_range ranges[MAX_RANGES];

static int ref_int(int64_t v) { return v < INT32_MIN || v > INT32_MAX ? -1 : (int)v; }

/* Expand the table into [start, end) -> line ranges, stopping at the first
 * malformed entry; anything after that has no answer (-1). Returns the count. */
static size_t ref_expand(py_lines_model m, const uint8_t *t, size_t len, int first) {
    size_t n = 0;
    int64_t line = first, addr = 0;
    if (m == PY_LINES_LNOTAB_UNSIGNED || m == PY_LINES_LNOTAB_SIGNED) {
        /* Pair k moves the line from its cumulative address on. */
        int64_t prev = 0;
        for (size_t i = 0; i + 1 < len && n < MAX_RANGES - 1; i += 2) {
            addr += t[i];
            if (addr > prev) ranges[n++] = (ref_range){prev, addr, line};
            prev = addr;
            line += m == PY_LINES_LNOTAB_SIGNED ? (int8_t)t[i + 1] : t[i + 1];
        }
        ranges[n++] = (ref_range){prev, INT64_MAX, line};
        return n;
    }
    if (m == PY_LINES_LINETABLE_310) {
        for (size_t i = 0; i + 1 < len && n < MAX_RANGES; i += 2) {
            int d = (int8_t)t[i + 1];
            int64_t l = d == -128 ? -1 : (line += d);
            if (t[i]) ranges[n++] = (ref_range){addr, addr + t[i], l};
            addr += t[i];
        }
        return n;
    }
    if (m == PY_LINES_LOCATIONS_311) {
        if (len == 0 || !(t[0] & 0x80)) return 0;
        size_t i = 0;
        while (i < len && n < MAX_RANGES) {
            int code = (t[i] >> 3) & 15, units = (t[i] & 7) + 1;
            if (code == 13 || code == 14) {
                uint64_t v = 0;
                size_t j = i + 1;
                int shift = 0, done = 0;
                while (j < len && shift <= 30) {
                    v |= (uint64_t)(t[j] & 63) << shift;
                    shift += 6;
                    if (!(t[j++] & 64)) { done = 1; break; }
                }
                if (!done) return n;
                v &= 0xFFFFFFFFu;
                line += (v & 1) ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
            } else if (code >= 10 && code <= 12) {
                line += code - 10;
            }
            /* linetable.c gives up on lines beyond 2^40 (never real). */
            if (line > ((int64_t)1 << 40) || line < -((int64_t)1 << 40)) return n;
            ranges[n++] = (ref_range){addr, addr + units * 2, code == 15 ? -1 : line};
            addr += units * 2;
            for (i++; i < len && !(t[i] & 0x80); i++) {}
        }
        return n;
    }
    return 0;
}

static int ref_line(size_t n, int64_t off) {
    for (size_t k = 0; k < n; k++)
        if (off >= ranges[k].start && (off < ranges[k].end || ranges[k].end == INT64_MAX))
            return ref_int(ranges[k].line);
    return -1;
}

static int valid_utf8(const char *s, size_t n) {
    static char again[4096 * 4 + 1];
    if (n >= sizeof again) return 1; /* too long to re-check cheaply */
    size_t m = py_bytes_to_utf8((const uint8_t *)s, n, again, sizeof again);
    return m == n && memcmp(again, s, n) == 0;
}

static void fuzz_strings(const uint8_t *data, size_t size, unsigned sel) {
    static char full[4096 * 4 + 1], part[4096 * 4 + 1];
    int kind = (int[]){1, 2, 4, 3}[sel & 3];
    size_t count = kind == 3 ? size : size / (size_t)kind;
    if (count > 4096) count = 4096;
    size_t cap = 1 + (sel >> 2) % 64;

    size_t n = py_str_to_utf8(data, count, kind, full, sizeof full);
    REQUIRE(n < sizeof full && valid_utf8(full, n));
    size_t k = py_str_to_utf8(data, count, kind, part, cap);
    REQUIRE(k < cap && k <= n && memcmp(part, full, k) == 0 && part[k] == 0);

    size_t bcount = size > 4096 ? 4096 : size;
    n = py_bytes_to_utf8(data, bcount, full, sizeof full);
    REQUIRE(n < sizeof full && valid_utf8(full, n));
    k = py_bytes_to_utf8(data, bcount, part, cap);
    REQUIRE(k < cap && k <= n && memcmp(part, full, k) == 0 && part[k] == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 9) return 0;
    static int pinned = -1;
    if (pinned < 0) {
        const char *e = getenv("FUZZ_MODEL");
        pinned = e ? atoi(e) : 0;
    }
    py_lines_model model = (py_lines_model)(pinned >= 1 && pinned <= 4 ? pinned : data[0] % 4 + 1);
    int32_t first;
    memcpy(&first, data + 1, 4);
    if (data[5] & 1) first = (int16_t)first; /* mostly realistic line numbers */
    unsigned sel = data[6];
    int64_t off;
    size_t pos;
    if (sel & 0x80) {
        if (size < 15) return 0;
        memcpy(&off, data + 7, 8);
        pos = 15;
    } else {
        uint16_t o;
        memcpy(&o, data + 7, 2);
        off = (sel & 0x40) ? -(int64_t)o : o;
        pos = 9;
    }
    if (pos > size) return 0;
    const uint8_t *table = data + pos;
    size_t len = size - pos;

    int got = py_line_for_offset(model, table, len, first, off);
    if (off < 0) {
        REQUIRE(got == first);
    } else {
        size_t n = ref_expand(model, table, len, first);
        REQUIRE(got == ref_line(n, off));
    }
    fuzz_strings(table, len, sel);
    return 0;
}
