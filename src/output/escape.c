/* escape.c — string escaping shared by the writers (see escape.h). */
#include "output/escape.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t out_utf8_len(const unsigned char *s) {
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 && s[0] < 0xF0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
    if (!len)
        return 0;
    /* A NUL terminator is not a continuation byte, so this never reads past the string. */
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    uint32_t cp = len == 2 ? (s[0] & 0x1Fu) : len == 3 ? (s[0] & 0x0Fu) : (s[0] & 0x07u);
    for (size_t i = 1; i < len; i++)
        cp = cp << 6 | (s[i] & 0x3Fu);
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

void out_json_string(FILE *f, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    while (*p) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', f);
            fputc(*p++, f);
        } else if (*p < 0x20 || *p == 0x7F) {
            fprintf(f, "\\u%04x", *p++);
        } else {
            size_t len = out_utf8_len(p);
            if (len) {
                fwrite(p, 1, len, f);
                p += len;
            } else {
                fputs("\\ufffd", f);
                p++;
            }
        }
    }
    fputc('"', f);
}

char *out_utf8_clean(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    /* Each invalid byte grows to the 3-byte U+FFFD at most. */
    char *out = malloc(3 * n + 1), *o = out;
    if (!out)
        return NULL;
    while (*p) {
        size_t len = out_utf8_len(p);
        if (len) {
            memcpy(o, p, len);
            o += len;
            p += len;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
        }
    }
    *o = 0;
    return out;
}

/* The text escape of the character at *s: fills piece (NUL-terminated) and
 * returns how many input bytes it stands for. */
static size_t text_piece(const unsigned char *s, char piece[8]) {
    size_t len = out_utf8_len(s);
    if (len == 1 && (s[0] < 0x20 || s[0] == 0x7F)) {
        if (s[0] == '\n')
            memcpy(piece, "\\n", 3);
        else if (s[0] == '\t')
            memcpy(piece, "\\t", 3);
        else if (s[0] == '\r')
            memcpy(piece, "\\r", 3);
        else
            snprintf(piece, 8, "\\x%02x", s[0]);
        return 1;
    }
    if (len == 2 && s[0] == 0xC2 && s[1] < 0xA0) { /* C1 controls: some terminals act on them */
        snprintf(piece, 8, "\\u%04x", s[1]);
        return 2;
    }
    if (!len) {
        snprintf(piece, 8, "\\x%02x", s[0]);
        return 1;
    }
    memcpy(piece, s, len);
    piece[len] = 0;
    return len;
}

char *out_text_escape(const char *s) {
    /* The longest escape, "\u0085", is 6 bytes for 2 input bytes; "\xNN" is 4 for 1. */
    char *out = malloc(4 * strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    char piece[8];
    while (*p) {
        p += text_piece(p, piece);
        size_t k = strlen(piece);
        memcpy(o, piece, k);
        o += k;
    }
    *o = 0;
    return out;
}

void out_text_write(FILE *f, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    char piece[8];
    while (*p) {
        p += text_piece(p, piece);
        fputs(piece, f);
    }
}

uint32_t out_utf8_next(const unsigned char *s, size_t len, size_t *adv) {
    unsigned c = s[0];
    *adv = 1;
    if (c < 0x80)
        return c;
    size_t n;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0xFFFD;
    if (len < n)
        return 0xFFFD;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0xFFFD;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0xFFFD;
    *adv = n;
    return cp;
}
