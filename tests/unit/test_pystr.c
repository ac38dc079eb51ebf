/* test_pystr.c — PEP 393 header decoding and the UTF-8 transcoders.
 *
 * Headers are synthesized with the real 3.11 and 3.12 offsets (checked against
 * each version's cpython/unicodeobject.h with a probe: PyASCIIObject.length at
 * 16, state at 32; sizeof(PyASCIIObject) 48 / 40, sizeof(PyCompactUnicodeObject)
 * 72 / 56 — 3.12 dropped wstr). Expected UTF-8 for bytes input is what
 * bytes.decode("utf-8", "replace").encode() gives in CPython. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "cpython/pystr.h"

#define K_ASCII(kind) ((uint32_t)(kind) << 2 | 1u << 5 | 1u << 6)
#define K_COMPACT(kind) ((uint32_t)(kind) << 2 | 1u << 5)

static py_layout layout_312(void) {
    py_layout l;
    memset(&l, 0, sizeof l);
    l.version_hex = 0x030C01F0;
    l.str = PY_STR_PEP393;
    l.unicode.length = 16;
    l.unicode.state = 32;
    l.unicode.ascii_size = 40;
    l.unicode.compact_size = 56;
    return l;
}

static py_layout layout_311(void) {
    py_layout l = layout_312();
    l.version_hex = 0x030B07F0;
    l.unicode.ascii_size = 48;
    l.unicode.compact_size = 72;
    return l;
}

/* A header as the target would hold it: refcount and type are noise. */
static void make_hdr(uint8_t *hdr, size_t size, int64_t length, uint32_t state) {
    memset(hdr, 0xA5, size);
    memcpy(hdr + 16, &length, sizeof length);
    memcpy(hdr + 32, &state, sizeof state);
}

static void test_shapes(void) {
    py_layout l12 = layout_312(), l11 = layout_311();
    uint8_t hdr[72];
    py_str_shape s;

    /* Interned compact ASCII (interned = 1). */
    make_hdr(hdr, sizeof hdr, 5, K_ASCII(1) | 1);
    CHECK_EQ_INT(py_str_shape_of(&l12, hdr, 56, &s), 0);
    CHECK_EQ_INT(s.kind, 1);
    CHECK_EQ_INT(s.ascii, 1);
    CHECK_EQ_INT(s.compact, 1);
    CHECK_EQ_INT(s.length, 5);
    CHECK_EQ_INT(s.data_offset, 40);
    CHECK_EQ_INT(py_str_shape_of(&l11, hdr, 72, &s), 0);
    CHECK_EQ_INT(s.data_offset, 48);
    /* Only the words it decodes need to be there. */
    CHECK_EQ_INT(py_str_shape_of(&l12, hdr, 36, &s), 0);
    CHECK_EQ_INT(py_str_shape_of(&l12, hdr, 35, &s), -1);

    /* Compact Latin-1, UCS-2, UCS-4: data after PyCompactUnicodeObject. 3.12's
     * statically_allocated bit (7) and 3.11's ready bit (7) are ignored. */
    make_hdr(hdr, sizeof hdr, 4, K_COMPACT(1) | 1u << 7);
    CHECK_EQ_INT(py_str_shape_of(&l12, hdr, 56, &s), 0);
    CHECK_EQ_INT(s.kind, 1);
    CHECK_EQ_INT(s.ascii, 0);
    CHECK_EQ_INT(s.data_offset, 56);
    make_hdr(hdr, sizeof hdr, 2, K_COMPACT(2));
    CHECK_EQ_INT(py_str_shape_of(&l11, hdr, 72, &s), 0);
    CHECK_EQ_INT(s.kind, 2);
    CHECK_EQ_INT(s.data_offset, 72);
    make_hdr(hdr, sizeof hdr, 1, K_COMPACT(4) | 2);
    CHECK_EQ_INT(py_str_shape_of(&l12, hdr, 56, &s), 0);
    CHECK_EQ_INT(s.kind, 4);
    CHECK_EQ_INT(s.length, 1);
    make_hdr(hdr, sizeof hdr, 0, K_ASCII(1));
    CHECK_EQ_INT(py_str_shape_of(&l12, hdr, 56, &s), 0);
    CHECK_EQ_INT(s.length, 0);

    /* Implausible headers. */
    make_hdr(hdr, sizeof hdr, 3, K_COMPACT(0)); /* not ready (wchar kind) */
    CHECK_EQ_INT(py_str_shape_of(&l11, hdr, 72, &s), -1);
    make_hdr(hdr, sizeof hdr, 3, K_COMPACT(3));
    CHECK_EQ_INT(py_str_shape_of(&l12, hdr, 56, &s), -1);
    make_hdr(hdr, sizeof hdr, 3, K_COMPACT(7));
    CHECK_EQ_INT(py_str_shape_of(&l12, hdr, 56, &s), -1);
    make_hdr(hdr, sizeof hdr, 3, 1u << 2); /* legacy, not compact */
    CHECK_EQ_INT(py_str_shape_of(&l12, hdr, 56, &s), -1);
    make_hdr(hdr, sizeof hdr, -1, K_ASCII(1));
    CHECK_EQ_INT(py_str_shape_of(&l12, hdr, 56, &s), -1);
    make_hdr(hdr, sizeof hdr, 3, K_ASCII(2)); /* ascii but 2 bytes wide */
    CHECK_EQ_INT(py_str_shape_of(&l12, hdr, 56, &s), -1);
    make_hdr(hdr, sizeof hdr, 3, K_ASCII(1));
    CHECK_EQ_INT(py_str_shape_of(NULL, hdr, 56, &s), -1);
    CHECK_EQ_INT(py_str_shape_of(&l12, NULL, 56, &s), -1);
    py_layout l27 = l12;
    l27.unicode.length = PY_NO_FIELD; /* a layout with no PEP 393 str */
    CHECK_EQ_INT(py_str_shape_of(&l27, hdr, 56, &s), -1);
}

static void test_str_to_utf8(void) {
    char out[64];

    CHECK_EQ_INT(py_str_to_utf8("hello", 5, 1, out, sizeof out), 5);
    CHECK_EQ_STR(out, "hello");

    const uint8_t latin1[] = {'c', 'a', 'f', 0xE9};
    CHECK_EQ_INT(py_str_to_utf8(latin1, 4, 1, out, sizeof out), 5);
    CHECK_EQ_STR(out, "caf\xc3\xa9");

    /* UCS-2 "Ω日本" stored at an odd address. */
    uint8_t buf[32];
    const uint16_t ucs2[] = {0x03A9, 0x65E5, 0x672C};
    memcpy(buf + 1, ucs2, sizeof ucs2);
    CHECK_EQ_INT(py_str_to_utf8(buf + 1, 3, 2, out, sizeof out), 8);
    CHECK_EQ_STR(out, "\xce\xa9\xe6\x97\xa5\xe6\x9c\xac");

    /* UCS-4 "a🔥", unaligned too. */
    const uint32_t ucs4[] = {'a', 0x1F525};
    memcpy(buf + 3, ucs4, sizeof ucs4);
    CHECK_EQ_INT(py_str_to_utf8(buf + 3, 2, 4, out, sizeof out), 5);
    CHECK_EQ_STR(out, "a\xf0\x9f\x94\xa5");

    /* Lone surrogates (a surrogateescape'd byte 0x80 is U+DC80) and values
     * beyond Unicode become U+FFFD. */
    const uint16_t lone[] = {'a', 0xDC80, 0xD800, 'b'};
    CHECK_EQ_INT(py_str_to_utf8(lone, 4, 2, out, sizeof out), 8);
    CHECK_EQ_STR(out, "a\xef\xbf\xbd\xef\xbf\xbd" "b");
    const uint32_t bad4[] = {0xDFFF, 0x110000, 0xFFFFFFFF, 0x10FFFF};
    CHECK_EQ_INT(py_str_to_utf8(bad4, 4, 4, out, sizeof out), 13);
    CHECK_EQ_STR(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xf4\x8f\xbf\xbf");

    /* Truncation never splits a character and always terminates. */
    CHECK_EQ_INT(py_str_to_utf8(latin1, 4, 1, out, 5), 3);
    CHECK_EQ_STR(out, "caf");
    CHECK_EQ_INT(py_str_to_utf8(latin1, 4, 1, out, 6), 5);
    CHECK_EQ_STR(out, "caf\xc3\xa9");
    CHECK_EQ_INT(py_str_to_utf8(buf + 3, 2, 4, out, 5), 1);
    CHECK_EQ_STR(out, "a");
    CHECK_EQ_INT(py_str_to_utf8(ucs2, 3, 2, out, 3), 2);
    CHECK_EQ_STR(out, "\xce\xa9");
    CHECK_EQ_INT(py_str_to_utf8("hello", 5, 1, out, 1), 0);
    CHECK_EQ_STR(out, "");
    out[0] = 'X';
    CHECK_EQ_INT(py_str_to_utf8("hello", 5, 1, out, 0), 0);
    CHECK(out[0] == 'X'); /* cap 0: nothing may be written */

    /* Unknown kinds give an empty string. */
    CHECK_EQ_INT(py_str_to_utf8("hello", 5, 3, out, sizeof out), 0);
    CHECK_EQ_STR(out, "");
    CHECK_EQ_INT(py_str_to_utf8(NULL, 5, 1, out, sizeof out), 0);
    CHECK_EQ_INT(py_str_to_utf8("x", 0, 1, out, sizeof out), 0);
    CHECK_EQ_STR(out, "");
}

static void check_bytes(const char *in, const char *want) {
    char out[64];
    size_t n = py_bytes_to_utf8((const uint8_t *)in, strlen(in), out, sizeof out);
    CHECK_EQ_INT(n, strlen(want));
    CHECK_EQ_STR(out, want);
}

#define R "\xef\xbf\xbd"

static void test_bytes_to_utf8(void) {
    check_bytes("plain.py", "plain.py");
    check_bytes("na\xc3\xafve \xf0\x9f\x94\xa5", "na\xc3\xafve \xf0\x9f\x94\xa5");
    check_bytes("a\xff" "b", "a" R "b");
    check_bytes("caf\xe9", "caf" R);                 /* a Latin-1 file name */
    check_bytes("\xe6\x97", R);                      /* cut off at the end */
    check_bytes("\xf0\x9f\x94x", R "x");             /* cut off mid-string */
    check_bytes("\xc0\xaf", R R);                    /* overlong '/' */
    check_bytes("\xe0\x80\xaf", R R R);              /* overlong, 3 bytes */
    check_bytes("\xf0\x8f\xbf\xbf", R R R R);        /* overlong, 4 bytes */
    check_bytes("\xed\xa0\x80", R R R);              /* encoded surrogate */
    check_bytes("\xf4\x90\x80\x80", R R R R);        /* beyond U+10FFFF */
    check_bytes("\x80\xbf", R R);                    /* stray continuations */
    check_bytes("\xf5\xf8\xfe", R R R);

    char out[8];
    /* Truncation: never half a character, never half a U+FFFD. */
    CHECK_EQ_INT(py_bytes_to_utf8((const uint8_t *)"ab\xe6\x97\xa5", 5, out, 5), 2);
    CHECK_EQ_STR(out, "ab");
    CHECK_EQ_INT(py_bytes_to_utf8((const uint8_t *)"ab\xe6\x97\xa5", 5, out, 6), 5);
    CHECK_EQ_INT(py_bytes_to_utf8((const uint8_t *)"a\xff", 2, out, 4), 1);
    CHECK_EQ_STR(out, "a");
    CHECK_EQ_INT(py_bytes_to_utf8((const uint8_t *)"abc", 3, out, 1), 0);
    CHECK_EQ_STR(out, "");
    out[0] = 'X';
    CHECK_EQ_INT(py_bytes_to_utf8((const uint8_t *)"abc", 3, out, 0), 0);
    CHECK(out[0] == 'X');
    CHECK_EQ_INT(py_bytes_to_utf8(NULL, 3, out, sizeof out), 0);
    CHECK_EQ_STR(out, "");
}

int main(void) {
    test_shapes();
    test_str_to_utf8();
    test_bytes_to_utf8();
    return check_report("test_pystr");
}
