/* linetable.c — instruction offset -> line number, for every CPython line-table format.
 *
 * Each decoder mirrors what that version's PyCode_Addr2Line computes for a
 * well-formed table (so the profiler reports the same line a traceback would),
 * but treats the bytes as hostile: they were copied from another process and may
 * be torn by a concurrent write, or not be a line table at all. Where CPython
 * would assert or read past the end, we return -1 instead.
 *
 * Line numbers are accumulated in 64 bits so no table, however long or crafted,
 * can overflow; a result that does not fit an int is reported as -1. */
#include "cpython/linetable.h"

#include <limits.h>

/* Far beyond any real line number, far below int64 overflow: lets the
 * accumulators stop early on absurd tables without per-step overflow math. */
#define LINE_SANITY_LIMIT ((int64_t)1 << 40)

static int line_result(int64_t line) {
    if (line < INT_MIN || line > INT_MAX) return -1;
    return (int)line;
}

static int signed_byte(uint8_t b) {
    /* Spelled out rather than cast: converting 128..255 to int8_t is
     * implementation-defined in C11. */
    return b >= 128 ? (int)b - 256 : (int)b;
}

/* co_lnotab (2.7 - 3.9): pairs (bytecode increment, line increment). The line
 * of an offset is firstlineno plus the line increments of every pair whose
 * cumulative address is <= the offset. A trailing odd byte is ignored, as
 * CPython's size/2 loop does, and an offset past the end gets the last line. */
static int lnotab_line(const uint8_t *t, size_t len, int firstlineno, int64_t off,
                       int signed_deltas) {
    int64_t line = firstlineno, addr = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        addr += t[i];
        if (addr > off) break;
        line += signed_deltas ? signed_byte(t[i + 1]) : t[i + 1];
    }
    return line_result(line);
}

/* co_linetable (3.10): pairs (range length in bytes, signed line delta), where
 * a delta of -128 means "this range has no line" and does not move the running
 * line. Zero-length ranges only carry line deltas (for jumps > 127 lines).
 * Offsets past the last range have no line (-1), unlike co_lnotab. */
static int linetable310_line(const uint8_t *t, size_t len, int firstlineno, int64_t off) {
    if (off < 0) return firstlineno; /* f_lasti == -1: frame not started yet */
    int64_t computed = firstlineno, start = -1, end = 0, line = -1;
    size_t pos = 0;
    while (end <= off) {
        /* One call of CPython's PyLineTable_NextAddressRange: advance, then
         * skip empty ranges. CPython only asserts that the skipping stays inside
         * the table; a missing or half entry here means the table ran out. */
        do {
            if (len - pos < 2) return -1; /* pos <= len always holds */
            start = end;
            end += t[pos];
            int ldelta = signed_byte(t[pos + 1]);
            pos += 2;
            if (ldelta == -128) {
                line = -1;
            } else {
                computed += ldelta;
                line = computed;
            }
        } while (start == end);
    }
    return line_result(line); /* -1 for "no line", as CPython's ar_line */
}

/* An unsigned varint of the 3.11 location table: 6 data bits per byte, least
 * significant chunk first, bit 6 = more follows. Values are 32-bit in CPython;
 * a seventh chunk cannot occur in a valid table, so it counts as malformed.
 * Returns 0, or -1 if the varint is cut off or too long. */
static int read_varint(const uint8_t *t, size_t len, size_t *pos, uint32_t *out) {
    uint32_t val = 0;
    for (unsigned shift = 0; shift <= 30; shift += 6) {
        if (*pos >= len) return -1;
        uint8_t b = t[(*pos)++];
        val |= (uint32_t)(b & 63) << shift; /* unsigned: high bits drop as in CPython */
        if (!(b & 64)) {
            *out = val;
            return 0;
        }
    }
    return -1;
}

/* Location table (3.11+): entries of a header byte with bit 7 set (code in bits
 * 3-6, code units covered - 1 in bits 0-2) and trailing bytes with bit 7 clear.
 * Only codes 10-14 move the line: 10/11/12 by 0/1/2, 13 (no columns) and 14
 * (long form) by a signed varint right after the header. Code 15 = no location.
 * Like CPython, the next entry is found by scanning for the next byte with bit
 * 7 set, not by parsing the current entry's payload. */
static int locations311_line(const uint8_t *t, size_t len, int firstlineno, int64_t off) {
    if (off < 0) return firstlineno; /* prev_instr before the first instruction */
    if (len == 0 || !(t[0] & 0x80)) return -1;
    int64_t computed = firstlineno, end = 0, line = -1;
    size_t pos = 0;
    while (end <= off) {
        if (pos >= len) return -1; /* offset past the code the table describes */
        uint8_t head = t[pos];
        int code = (head >> 3) & 15;
        int64_t delta = 0;
        if (code == 13 || code == 14) {
            size_t vpos = pos + 1;
            uint32_t uval;
            if (read_varint(t, len, &vpos, &uval) < 0) return -1;
            delta = (uval & 1) ? -(int64_t)(uval >> 1) : (int64_t)(uval >> 1);
        } else if (code >= 10 && code <= 12) {
            delta = code - 10;
        }
        computed += delta;
        if (computed > LINE_SANITY_LIMIT || computed < -LINE_SANITY_LIMIT) return -1;
        line = code == 15 ? -1 : computed;
        end += ((head & 7) + 1) * 2; /* code units are 2 bytes */
        do {
            pos++;
        } while (pos < len && !(t[pos] & 0x80));
    }
    return line_result(line);
}

int py_line_for_offset(py_lines_model model, const uint8_t *table, size_t len,
                       int firstlineno, int64_t byte_offset) {
    if (!table) len = 0; /* an absent table is an empty one */
    switch (model) {
    case PY_LINES_LNOTAB_UNSIGNED:
        return lnotab_line(table, len, firstlineno, byte_offset, 0);
    case PY_LINES_LNOTAB_SIGNED:
        return lnotab_line(table, len, firstlineno, byte_offset, 1);
    case PY_LINES_LINETABLE_310:
        return linetable310_line(table, len, firstlineno, byte_offset);
    case PY_LINES_LOCATIONS_311:
        return locations311_line(table, len, firstlineno, byte_offset);
    }
    return -1;
}
