/* test_escape.c — the escapers of escape.h on hostile input: control
 * characters, invalid UTF-8 (stray, truncated, overlong, surrogate, past
 * U+10FFFF), "</script>", "]]>", quotes, U+2028/2029. Each escaper gets exact
 * cases, written out by hand from the target syntax's rules, and random
 * bytes, after which its output must still obey those rules (valid UTF-8, no
 * raw markup or control character). Output goes through a real sink: a tiny
 * out_buf in front of an open_memstream FILE, so pieces cross flushes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "output/escape.h"

enum { JSON, XML, HTML, TEXT };

/* What escaper `which` writes for s (a malloc'd string). */
static char *esc(int which, const char *s, size_t max_chars) {
    char *mem = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&mem, &size);
    if (!f)
        abort();
    char storage[32]; /* small: escapes and runs straddle flushes */
    out_buf o;
    out_buf_init(&o, f, storage, sizeof storage);
    switch (which) {
    case JSON: out_esc_json(&o, s); break;
    case XML: out_esc_xml(&o, s, strlen(s), max_chars); break;
    case HTML: out_esc_html(&o, s); break;
    case TEXT: out_esc_text(&o, s); break;
    }
    out_buf_flush(&o);
    CHECK(!o.failed);
    fclose(f);
    return mem;
}

#define CHECK_ESC(which, in, max, want) do { \
    char *got_ = esc(which, in, max); \
    CHECK_EQ_STR(got_, want); \
    free(got_); \
} while (0)

/* Is s valid UTF-8 throughout (checked here, not with escape.c's own decoder)? */
static int valid_utf8(const unsigned char *s) {
    while (*s) {
        unsigned c = *s, n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 9;
        if (n == 9)
            return 0;
        uint32_t cp = n == 0 ? c : n == 1 ? c & 0x1F : n == 2 ? c & 0x0F : c & 0x07;
        for (unsigned i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i] & 0x3F);
        }
        static const uint32_t least[] = {0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        s += n + 1;
    }
    return 1;
}

static int has(const char *s, const char *needle) { return strstr(s, needle) != NULL; }

static int has_c0(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F)
            return 1;
    return 0;
}

/* Is s exactly one JSON string literal (RFC 8259's escapes only)? */
static int json_literal(const char *s) {
    size_t n = strlen(s);
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return 0;
    for (size_t k = 1; k + 1 < n; k++) {
        if (s[k] == '"')
            return 0;
        if (s[k] != '\\')
            continue;
        k++;
        if (k + 1 >= n)
            return 0;
        if (s[k] == 'u') {
            for (int d = 1; d <= 4; d++)
                if (k + (size_t)d + 1 >= n || !strchr("0123456789abcdefABCDEF", s[k + (size_t)d]))
                    return 0;
            k += 4;
        } else if (!strchr("\"\\/bfnrt", s[k])) {
            return 0;
        }
    }
    return 1;
}

/* Every '&' starts one of the given entities. */
static int entities_only(const char *s, const char *const *ents) {
    for (const char *a = strchr(s, '&'); a; a = strchr(a + 1, '&')) {
        int ok = 0;
        for (const char *const *e = ents; *e; e++)
            ok |= !strncmp(a, *e, strlen(*e));
        if (!ok)
            return 0;
    }
    return 1;
}

static void exact_cases(void) {
    /* JSON: quotes and backslashes escaped; C0, DEL, markup, line separators as \u; bad bytes \ufffd. */
    CHECK_ESC(JSON, "", 0, "\"\"");
    CHECK_ESC(JSON, "plain ascii (f.py:12)", 0, "\"plain ascii (f.py:12)\"");
    CHECK_ESC(JSON, "a\"b\\c", 0, "\"a\\\"b\\\\c\"");
    CHECK_ESC(JSON, "\x01\n\t\x1f\x7f", 0, "\"\\u0001\\u000a\\u0009\\u001f\\u007f\"");
    CHECK_ESC(JSON, "</script><!--x-->", 0, "\"\\u003c/script\\u003e\\u003c!--x--\\u003e\"");
    CHECK_ESC(JSON, "]]>&amp;", 0, "\"]]\\u003e\\u0026amp;\"");
    CHECK_ESC(JSON, "a\xe2\x80\xa8" "b\xe2\x80\xa9", 0, "\"a\\u2028b\\u2029\"");
    CHECK_ESC(JSON, "\xff", 0, "\"\\ufffd\"");
    CHECK_ESC(JSON, "\xe2\x82" "A", 0, "\"\\ufffd\\ufffdA\"");             /* truncated */
    CHECK_ESC(JSON, "\xc0\xaf", 0, "\"\\ufffd\\ufffd\"");                   /* overlong '/' */
    CHECK_ESC(JSON, "\xed\xa0\x80", 0, "\"\\ufffd\\ufffd\\ufffd\"");        /* surrogate */
    CHECK_ESC(JSON, "\xf4\x90\x80\x80", 0, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* past U+10FFFF */
    CHECK_ESC(JSON, "\xe2\x82", 0, "\"\\ufffd\\ufffd\"");                   /* truncated at the end */
    CHECK_ESC(JSON, "caf\xc3\xa9 \xef\xbf\xbd \xf0\x9f\x94\xa5 \xc2\x85", 0,
              "\"caf\xc3\xa9 \xef\xbf\xbd \xf0\x9f\x94\xa5 \xc2\x85\""); /* valid UTF-8 (a real U+FFFD, C1) kept */

    /* XML: the four markup characters as entities; what XML 1.0 cannot hold as U+FFFD. */
    CHECK_ESC(XML, "<a&b>\"c'", 0, "&lt;a&amp;b&gt;&quot;c'");
    CHECK_ESC(XML, "x]]>y", 0, "x]]&gt;y");
    CHECK_ESC(XML, "</script>", 0, "&lt;/script&gt;");
    CHECK_ESC(XML, "a\nb\x01\x7f", 0, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd");
    CHECK_ESC(XML, "\xc2\x85|\xef\xbf\xbe|\xef\xbf\xbf", 0, "\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd");
    CHECK_ESC(XML, "\xff\xc0\xaf", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    CHECK_ESC(XML, "\xe2\x80\xa8", 0, "\xe2\x80\xa8"); /* a character XML allows */
    CHECK_ESC(XML, "abcdefghij", 6, "abcd..");          /* cut to max_chars, ".." included */
    CHECK_ESC(XML, "abcdef", 6, "abcdef");
    CHECK_ESC(XML, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 5, "\xc3\xa9\xc3\xa9\xc3\xa9.."); /* characters, not bytes */
    CHECK_ESC(XML, "<<<<<<<<", 5, "&lt;&lt;&lt;..");   /* an entity counts as its one character */

    /* HTML: five characters as entities; controls and bad bytes as U+FFFD. */
    CHECK_ESC(HTML, "<script>alert('x')</script>", 0, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
    CHECK_ESC(HTML, "\"a&b\"", 0, "&quot;a&amp;b&quot;");
    CHECK_ESC(HTML, "t\x1b[31m\xc2\x9b\xfe", 0, "t\xef\xbf\xbd[31m\xef\xbf\xbd\xef\xbf\xbd");
    CHECK_ESC(HTML, "]]>", 0, "]]&gt;");

    /* A line of text: control characters and bad bytes made visible, nothing raw. */
    CHECK_ESC(TEXT, "a\nb\tc\rd", 0, "a\\nb\\tc\\rd");
    CHECK_ESC(TEXT, "\x1b[2J\x07", 0, "\\x1b[2J\\x07");
    CHECK_ESC(TEXT, "\x7f\xc2\x9b\xc2\x85", 0, "\\x7f\\u009b\\u0085");
    CHECK_ESC(TEXT, "\xff\xc0\xaf", 0, "\\xff\\xc0\\xaf");
    CHECK_ESC(TEXT, "caf\xc3\xa9 </script> ]]> \"q\" \\", 0, "caf\xc3\xa9 </script> ]]> \"q\" \\");

    /* The malloc'd text escape is the same escaper. */
    const char *hostile = "\"</script>\x01\xff\xe2\x80\xa8\\]]>\x1b\xc2\x85";
    char *a = esc(TEXT, hostile, 0), *c = out_text_escape(hostile);
    CHECK_EQ_STR(a, c);
    free(a), free(c);
}

/* Random bytes, biased towards the troublesome ones: whatever comes in, the
 * output keeps the syntax's rules. */
static void random_cases(void) {
    static const char pieces[][5] = {"<", ">", "&", "\"", "'", "\\", "]]>", "\n", "\x01", "\x7f", "\xff", "\xc0",
                                     "\xe2\x80\xa8", "\xe2\x80", "\xed\xa0\x80", "\xc2\x85", "\xef\xbf\xbe", "a", "\xc3\xa9",
                                     "\xf0\x9f\x94\xa5", "\xf4\x90"};
    static const char *const xml_ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", NULL};
    static const char *const html_ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;", NULL};
    int bad_json = 0, bad_xml = 0, bad_html = 0, bad_text = 0;
    srand(7);
    for (int round = 0; round < 20000; round++) {
        char in[200];
        size_t n = 0, want = (size_t)(rand() % 40);
        while (n < want && n + 5 < sizeof in) {
            const char *p = rand() % 3 ? pieces[rand() % (sizeof pieces / sizeof *pieces)] : NULL;
            if (p) {
                memcpy(in + n, p, strlen(p));
                n += strlen(p);
            } else {
                in[n++] = (char)(rand() % 255 + 1);
            }
        }
        in[n] = 0;
        char *j = esc(JSON, in, 0);
        /* one JSON string literal; inside it no raw '<', '>', '&', control or line separator */
        bad_json += !json_literal(j) || !valid_utf8((unsigned char *)j) || has_c0(j) || strpbrk(j, "<>&") ||
                    has(j, "\xe2\x80\xa8") || has(j, "\xe2\x80\xa9");
        free(j);
        size_t max = (size_t)(rand() % 3 ? 0 : rand() % 12 + 3);
        char *x = esc(XML, in, max);
        bad_xml += !valid_utf8((unsigned char *)x) || has_c0(x) || strpbrk(x, "<>\"") || !entities_only(x, xml_ents) ||
                   has(x, "\xef\xbf\xbe") || has(x, "\xc2\x85");
        free(x);
        char *h = esc(HTML, in, 0);
        bad_html += !valid_utf8((unsigned char *)h) || has_c0(h) || strpbrk(h, "<>\"'") || !entities_only(h, html_ents);
        free(h);
        char *t = esc(TEXT, in, 0);
        bad_text += !valid_utf8((unsigned char *)t) || has_c0(t) || has(t, "\xc2\x85");
        free(t);
    }
    CHECK_EQ_INT(bad_json, 0);
    CHECK_EQ_INT(bad_xml, 0);
    CHECK_EQ_INT(bad_html, 0);
    CHECK_EQ_INT(bad_text, 0);
}

int main(void) {
    exact_cases();
    random_cases();
    return check_report("test_escape");
}
