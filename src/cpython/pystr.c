/* pystr.c — PEP 393 str headers and string transcoding to UTF-8.
 *
 * Input bytes come from another process and may be garbage (a stale pointer, a
 * string being freed), so the header decoder rejects anything a live compact
 * str could not look like, and the transcoders always emit valid, terminated
 * UTF-8 whatever they are fed. */
#include "cpython/pystr.h"

#include <string.h>

/* Bits of PyASCIIObject.state, identical from 3.3 to 3.13. */
#define STATE_KIND_SHIFT 2
#define STATE_KIND_MASK 7u
#define STATE_COMPACT (1u << 5)
#define STATE_ASCII (1u << 6)

/* Nothing this profiler reads is longer; also keeps length * kind far from
 * overflowing for callers that size a read from it. */
#define STR_MAX_LENGTH ((int64_t)1 << 40)

#define REPLACEMENT 0xFFFDu

int py_str_shape_of(const py_layout *layout, const uint8_t *hdr, size_t hdr_len,
                    py_str_shape *out) {
    if (!layout || !hdr || !out) return -1;
    int64_t len_off = layout->unicode.length, state_off = layout->unicode.state;
    if (len_off < 0 || state_off < 0) return -1; /* PY_NO_FIELD: not a PEP 393 layout */
    if ((uint64_t)len_off + 8 > hdr_len || (uint64_t)state_off + 4 > hdr_len) return -1;

    int64_t length;
    uint32_t state; /* the bit-field word is an unsigned int */
    memcpy(&length, hdr + len_off, sizeof length);
    memcpy(&state, hdr + state_off, sizeof state);

    int kind = (int)((state >> STATE_KIND_SHIFT) & STATE_KIND_MASK);
    int compact = (state & STATE_COMPACT) != 0;
    int ascii = (state & STATE_ASCII) != 0;
    /* Kind 0 is a not-yet-ready legacy string (<= 3.11); non-compact strings
     * keep their data behind a pointer we do not follow. Both are rare for
     * code-object names and far more likely to mean "not a str at all". */
    if (kind != 1 && kind != 2 && kind != 4) return -1;
    if (!compact) return -1;
    if (length < 0 || length > STR_MAX_LENGTH) return -1;
    if (ascii && kind != 1) return -1;

    int64_t data_offset = ascii ? layout->unicode.ascii_size : layout->unicode.compact_size;
    if (data_offset <= 0) return -1;

    out->kind = kind;
    out->ascii = ascii;
    out->compact = compact;
    out->length = length;
    out->data_offset = data_offset;
    return 0;
}

/* UTF-8 for one scalar value (the caller has already mapped anything invalid
 * to U+FFFD). Returns the byte count, 1-4. */
static size_t encode_utf8(uint32_t cp, uint8_t buf[4]) {
    if (cp < 0x80) {
        buf[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (uint8_t)(0xC0 | (cp >> 6));
        buf[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (uint8_t)(0xE0 | (cp >> 12));
        buf[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = (uint8_t)(0xF0 | (cp >> 18));
    buf[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    buf[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    buf[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* Append n bytes if they fit with room for the NUL; 0 when out is full. */
static int put(char *out, size_t cap, size_t *w, const uint8_t *bytes, size_t n) {
    if (n > cap - 1 - *w) return 0;
    memcpy(out + *w, bytes, n);
    *w += n;
    return 1;
}

size_t py_str_to_utf8(const void *units, size_t count, int kind, char *out, size_t cap) {
    if (!out || cap == 0) return 0;
    size_t w = 0;
    out[0] = '\0';
    if (!units || (kind != 1 && kind != 2 && kind != 4)) return 0;
    const uint8_t *p = units;
    for (size_t i = 0; i < count; i++) {
        uint32_t cp;
        if (kind == 1) {
            cp = p[i];
        } else if (kind == 2) {
            uint16_t u;
            memcpy(&u, p + i * 2, sizeof u); /* the copy may sit at any alignment */
            cp = u;
        } else {
            memcpy(&cp, p + i * 4, sizeof cp);
        }
        /* A str may hold lone surrogates (surrogateescape) and a garbage UCS-4
         * buffer anything: neither has a UTF-8 form. */
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = REPLACEMENT;
        uint8_t buf[4];
        if (!put(out, cap, &w, buf, encode_utf8(cp, buf))) break;
    }
    out[w] = '\0';
    return w;
}

size_t py_bytes_to_utf8(const uint8_t *bytes, size_t count, char *out, size_t cap) {
    if (!out || cap == 0) return 0;
    size_t w = 0;
    out[0] = '\0';
    if (!bytes) return 0;
    static const uint8_t fffd[3] = {0xEF, 0xBF, 0xBD};
    size_t i = 0;
    while (i < count) {
        uint8_t b0 = bytes[i];
        size_t need;            /* length of the sequence b0 starts */
        uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
        if (b0 < 0x80) need = 1;
        else if (b0 >= 0xC2 && b0 <= 0xDF) need = 2;
        else if (b0 == 0xE0) { need = 3; lo = 0xA0; }       /* no overlongs */
        else if (b0 == 0xED) { need = 3; hi = 0x9F; }       /* no surrogates */
        else if (b0 >= 0xE1 && b0 <= 0xEF) need = 3;
        else if (b0 == 0xF0) { need = 4; lo = 0x90; }       /* no overlongs */
        else if (b0 >= 0xF1 && b0 <= 0xF3) need = 4;
        else if (b0 == 0xF4) { need = 4; hi = 0x8F; }       /* <= U+10FFFF */
        else need = 0;          /* stray continuation, C0/C1, F5-FF */

        /* Take the longest valid prefix of the sequence: a broken sequence is
         * replaced by one U+FFFD as a whole, and the byte that broke it starts
         * the next one (Unicode's "maximal subpart" rule, as Python does). */
        size_t got = 1;
        while (need > 1 && got < need && i + got < count) {
            uint8_t b = bytes[i + got];
            uint8_t l = got == 1 ? lo : 0x80, h = got == 1 ? hi : 0xBF;
            if (b < l || b > h) break;
            got++;
        }
        int ok = need != 0 && got == need;
        if (!put(out, cap, &w, ok ? bytes + i : fffd, ok ? need : 3)) break;
        i += got;
    }
    out[w] = '\0';
    return w;
}
