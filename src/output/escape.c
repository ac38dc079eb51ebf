/* escape.c — one escaper per target syntax, all writing to the sink (see escape.h). */
#include "output/escape.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ------------------------------------------------------------- */

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

/* ---- JSON ------------------------------------------------------------- */

void out_esc_json(out_buf *o, const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    size_t len = strlen(str), run = 0, i = 0, adv;
    out_buf_putc(o, '"');
    while (i < len) {
        /* Runs of plain ASCII are copied in one piece, which keeps big files fast. */
        if (s[i] >= 0x20 && s[i] < 0x7F && s[i] != '"' && s[i] != '\\' && s[i] != '<' && s[i] != '>' && s[i] != '&') {
            i++;
            continue;
        }
        uint32_t cp = out_utf8_next(s + i, len - i, &adv);
        char esc[8];
        const char *rep = NULL;
        if (cp == '"')
            rep = "\\\"";
        else if (cp == '\\')
            rep = "\\\\";
        else if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&' || cp == 0x7F || cp == 0x2028 || cp == 0x2029) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
            rep = esc;
        } else if (cp == 0xFFFD && adv == 1)
            rep = "\\ufffd";
        if (rep) {
            out_buf_put(o, str + run, i - run);
            out_buf_puts(o, rep);
            run = i + adv;
        }
        i += adv;
    }
    out_buf_put(o, str + run, i - run);
    out_buf_putc(o, '"');
}

/* ---- XML -------------------------------------------------------------- */

/* XML 1.0 cannot carry most control characters even as references, and a
 * newline inside a name would break the title's line structure. */
static int xml_unsafe(uint32_t cp) {
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFFFE || cp == 0xFFFF;
}

/* XML's and HTML's escape of s[0..len), at most limit characters: the same
 * entities, HTML's apostrophe too; what the syntax cannot carry (and invalid
 * UTF-8) as U+FFFD. Unchanged runs are written whole. */
static void markup(out_buf *o, const unsigned char *s, size_t len, size_t limit, int html) {
    size_t i = 0, chars = 0, run = 0, adv;
    while (i < len && chars < limit) {
        uint32_t cp = out_utf8_next(s + i, len - i, &adv);
        const char *rep = NULL;
        if (cp == '&')
            rep = "&amp;";
        else if (cp == '<')
            rep = "&lt;";
        else if (cp == '>')
            rep = "&gt;";
        else if (cp == '"')
            rep = "&quot;";
        else if (cp == '\'' && html)
            rep = "&#39;";
        else if ((html ? cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) : xml_unsafe(cp)) || (cp == 0xFFFD && adv == 1))
            rep = "\xEF\xBF\xBD"; /* U+FFFD */
        if (rep) {
            out_buf_put(o, (const char *)s + run, i - run);
            out_buf_puts(o, rep);
            run = i + adv;
        }
        i += adv;
        chars++;
    }
    out_buf_put(o, (const char *)s + run, i - run);
}

void out_esc_xml(out_buf *o, const char *str, size_t len, size_t max_chars) {
    const unsigned char *s = (const unsigned char *)str;
    /* Most names are plain ASCII that needs no escaping: one character a byte. */
    size_t plain = 0;
    while (plain < len && s[plain] >= 0x20 && s[plain] < 0x7F && s[plain] != '&' && s[plain] != '<' &&
           s[plain] != '>' && s[plain] != '"')
        plain++;
    if (plain == len) {
        if (max_chars && len > max_chars) {
            out_buf_put(o, str, max_chars - 2);
            out_buf_puts(o, "..");
        } else {
            out_buf_put(o, str, len);
        }
        return;
    }
    size_t limit = (size_t)-1, adv;
    if (max_chars) {
        size_t chars = 0;
        for (size_t i = 0; i < len && chars <= max_chars; i += adv, chars++)
            out_utf8_next(s + i, len - i, &adv);
        if (chars > max_chars)
            limit = max_chars - 2;
    }
    markup(o, s, len, limit, 0);
    if (limit != (size_t)-1)
        out_buf_puts(o, "..");
}

/* ---- HTML ------------------------------------------------------------- */

void out_esc_html(out_buf *o, const char *str) {
    markup(o, (const unsigned char *)str, strlen(str), (size_t)-1, 1);
}

/* ---- a line of text ---------------------------------------------------- */

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

void out_esc_text(out_buf *o, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    char piece[8];
    while (*p) {
        p += text_piece(p, piece);
        out_buf_puts(o, piece);
    }
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
