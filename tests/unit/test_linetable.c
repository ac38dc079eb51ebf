/* test_linetable.c — py_line_for_offset against the interpreters themselves.
 *
 * The bulk of the checks replay linetable_fixtures.h: real tables compiled by
 * every CPython from 2.7 to 3.13, with the line each interpreter assigns to each
 * bytecode range (dis.findlinestarts / co_lines()). Every byte offset of every
 * code object is checked, plus the offsets just before and after the code.
 * Hand-made tables then cover what real compilers never emit: empty, truncated
 * and malformed tables, and line numbers that would overflow. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "cpython/linetable.h"
#include "linetable_fixtures.h"

static int line_of(py_lines_model m, const char *table, size_t len, int first, int64_t off) {
    return py_line_for_offset(m, (const uint8_t *)table, len, first, off);
}

static void test_fixtures(void) {
    long offsets = 0;
    long instructions = 0;
    for (size_t i = 0; i < LT_FIXTURES_COUNT; i++) {
        const lt_fixture *f = &lt_fixtures[i];
        int mismatches = 0;
        int32_t expect_start = 0;
        /* The ranges must tile the code from 0, or the fixture is not what we think. */
        for (size_t r = 0; r < f->nranges; r++) {
            CHECK_EQ_INT(f->ranges[r].start, expect_start);
            expect_start = f->ranges[r].end;
            for (int32_t off = f->ranges[r].start; off < f->ranges[r].end; off++) {
                int got = line_of(f->model, f->table, f->table_len, f->firstlineno, off);
                offsets++;
                if (got != f->ranges[r].line && mismatches++ < 3)
                    fprintf(stderr, "  %s %s %s (first %d): offset %d: got %d, want %d\n",
                            f->version, f->tag, f->name, f->firstlineno, (int)off, got,
                            (int)f->ranges[r].line);
            }
        }
        CHECK_EQ_INT(expect_start, f->code_len);
        CHECK_EQ_INT(mismatches, 0);
        instructions += f->ninstr;

        /* Before the first instruction: f_lasti = -1 (<= 3.10), prev_instr one
         * code unit before the code (3.11, 3.12). CPython answers firstlineno. */
        CHECK_EQ_INT(line_of(f->model, f->table, f->table_len, f->firstlineno, -1), f->firstlineno);
        CHECK_EQ_INT(line_of(f->model, f->table, f->table_len, f->firstlineno, -2), f->firstlineno);

        /* Past the end: co_lnotab keeps the last line, the newer tables run out. */
        int want_end = f->has_end_line ? f->end_line : -1;
        CHECK_EQ_INT(line_of(f->model, f->table, f->table_len, f->firstlineno, f->code_len), want_end);
        CHECK_EQ_INT(line_of(f->model, f->table, f->table_len, f->firstlineno, INT64_MAX), want_end);
    }
    printf("test_linetable: %zu fixtures, %ld instructions, %ld byte offsets\n",
           (size_t)LT_FIXTURES_COUNT, instructions, offsets);
}

static void test_empty_tables(void) {
    /* An empty co_lnotab means "all on the first line"; the newer formats have
     * no range to find. A NULL table with length 0 is the same empty table. */
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_UNSIGNED, "", 0, 7, 0), 7);
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_SIGNED, "", 0, 7, 100), 7);
    CHECK_EQ_INT(line_of(PY_LINES_LINETABLE_310, "", 0, 7, 0), -1);
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "", 0, 7, 0), -1);
    CHECK_EQ_INT(py_line_for_offset(PY_LINES_LOCATIONS_311, NULL, 0, 7, 0), -1);
    CHECK_EQ_INT(py_line_for_offset(PY_LINES_LNOTAB_SIGNED, NULL, 5, 7, 0), 7);
    CHECK_EQ_INT(line_of(PY_LINES_LINETABLE_310, "", 0, 7, -1), 7);
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "", 0, 7, -2), 7);
    CHECK_EQ_INT(line_of((py_lines_model)0, "\x02\x01", 2, 7, 0), -1);
}

static void test_lnotab(void) {
    /* The same bytes read unsigned (2.7) and signed (3.6+). */
    const char t[] = "\x04\x02\x06\xc8\x02\x01";
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_UNSIGNED, t, 6, 10, 0), 10);
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_UNSIGNED, t, 6, 10, 3), 10);
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_UNSIGNED, t, 6, 10, 4), 12);
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_UNSIGNED, t, 6, 10, 10), 212);
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_UNSIGNED, t, 6, 10, 12), 213);
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_UNSIGNED, t, 6, 10, 1000), 213);
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_SIGNED, t, 6, 100, 10), 46);
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_SIGNED, t, 6, 100, 12), 47);
    /* A trailing odd byte is ignored (CPython iterates len/2 pairs). */
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_SIGNED, "\x04\x02\x06", 3, 10, 100), 12);
    /* Zero address increments stack line increments at one address. */
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_SIGNED, "\x00\x7f\x00\x7f\x02\x01", 6, 1, 0), 255);
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_SIGNED, "\x00\x7f\x00\x7f\x02\x01", 6, 1, 2), 256);
    /* A line beyond int is not a line. */
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_UNSIGNED, "\x00\xff\x00\xff", 4, INT_MAX - 300, 0), -1);
    CHECK_EQ_INT(line_of(PY_LINES_LNOTAB_SIGNED, "\x00\x80", 2, INT_MIN + 5, 0), -1);
}

static void test_linetable_310(void) {
    /* (6 bytes, +0) (4 bytes, no line) (0 bytes, +5) (2 bytes, +1): the
     * no-line entry leaves the running line alone; the empty entry only carries
     * a delta into the next range. */
    const char t[] = "\x06\x00\x04\x80\x00\x05\x02\x01";
    for (int off = 0; off < 6; off++) CHECK_EQ_INT(line_of(PY_LINES_LINETABLE_310, t, 8, 10, off), 10);
    for (int off = 6; off < 10; off++) CHECK_EQ_INT(line_of(PY_LINES_LINETABLE_310, t, 8, 10, off), -1);
    CHECK_EQ_INT(line_of(PY_LINES_LINETABLE_310, t, 8, 10, 10), 16);
    CHECK_EQ_INT(line_of(PY_LINES_LINETABLE_310, t, 8, 10, 11), 16);
    CHECK_EQ_INT(line_of(PY_LINES_LINETABLE_310, t, 8, 10, 12), -1);
    CHECK_EQ_INT(line_of(PY_LINES_LINETABLE_310, t, 8, 10, -1), 10);
    /* Negative deltas. */
    CHECK_EQ_INT(line_of(PY_LINES_LINETABLE_310, "\x02\x05\x02\xfd", 4, 1, 2), 3);
    /* A half entry at the end, and a trailing empty entry (where CPython would
     * read past the table), both just run out. */
    CHECK_EQ_INT(line_of(PY_LINES_LINETABLE_310, "\x04\x01\x07", 3, 1, 3), 2);
    CHECK_EQ_INT(line_of(PY_LINES_LINETABLE_310, "\x04\x01\x07", 3, 1, 4), -1);
    CHECK_EQ_INT(line_of(PY_LINES_LINETABLE_310, "\x04\x01\x00\x03", 4, 1, 4), -1);
}

static void test_locations_311(void) {
    /* first = 100:
     *   E8 06        code 13 (no columns), 1 unit, line +3        -> 103
     *   F9           code 15 (no location), 2 units                -> none
     *   D8 05 09     code 11 (one line, +1), 1 unit, cols 5..9    -> 104
     *   F0 05 00 01 03  code 14 (long), 1 unit, line -2 (svarint 5) -> 102
     *   9A 07        code 3 (short form), 3 units, same line        -> 102 */
    const char t[] = "\xe8\x06\xf9\xd8\x05\x09\xf0\x05\x00\x01\x03\x9a\x07";
    size_t n = sizeof t - 1;
    int want[] = {103, 103, -1, -1, -1, -1, 104, 104, 102, 102, 102, 102, 102, 102, 102, 102};
    for (int off = 0; off < 16; off++) CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, t, n, 100, off), want[off]);
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, t, n, 100, 16), -1);
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, t, n, 100, -2), 100);

    /* Codes 10 and 12 move the line by 0 and 2. */
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "\xd0\x01\x02\xe0\x01\x02", 6, 5, 0), 5);
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "\xd0\x01\x02\xe0\x01\x02", 6, 5, 2), 7);

    /* Multi-byte varint: +1000 is svarint 2000 = chunks 16, 31. */
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "\xe8\x50\x1f", 3, 1, 0), 1001);
    /* -1000: svarint 2001 = chunks 17, 31. */
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "\xe8\x51\x1f", 3, 2000, 1), 1000);

    /* Truncated varints: in the entry asked for, and in an earlier one. A
     * truncated varint in a later entry does not matter. */
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "\xe8", 1, 1, 0), -1);
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "\xe8\x46", 2, 1, 0), -1);
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "\xd0\x01\x02\xe8\x40", 5, 1, 0), 1);
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "\xd0\x01\x02\xe8\x40", 5, 1, 2), -1);
    /* Seven varint chunks cannot come from a 32-bit value. */
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "\xf0\x40\x40\x40\x40\x40\x40\x01", 8, 1, 0), -1);
    /* A table that does not start with an entry header. */
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "\x68\x06", 2, 1, 0), -1);
    /* Like CPython, entries are delimited by bit 7: stray payload bytes are skipped. */
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "\xd8\x01\x02\x03\x04\xd8\x00", 7, 1, 2), 3);
    /* Huge line deltas cannot overflow. */
    CHECK_EQ_INT(line_of(PY_LINES_LOCATIONS_311, "\xf0\x7e\x7f\x7f\x7f\x7f\x03", 7, INT_MAX - 5, 0), -1);
}

int main(void) {
    test_fixtures();
    test_empty_tables();
    test_lnotab();
    test_linetable_310();
    test_locations_311();
    return check_report("test_linetable");
}
