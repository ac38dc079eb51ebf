/* test_excerpt.c — what the reports keep of a source file (report/excerpt.h):
 * a library function's whole block (decorators, a header over several lines,
 * blank lines and comments inside, tabs), a lone line, the program's own file
 * whole; and on thousands of random texts, that an excerpt's excerpt is
 * itself (what makes a report written from a capture the same bytes as one
 * written directly), that kept lines are the file's own and every line seen
 * is kept, and that no line changes its number. */
#include "check.h"
#include "report/excerpt.h"

#include <stdint.h>

static pf_func_id lib_func(pf_profile *p, const char *name, const char *file, int first, pf_origin origin) {
    pf_func_id f = pf_func_intern(p, pf_intern(p, name), pf_intern(p, file), first, PF_FUNC_PYTHON);
    pf_func_set_origin(p, f, origin);
    return f;
}

/* Applies file's excerpt to a copy of text; returns the copy (NUL-ended). */
static char *excerpt_of(const pf_profile *p, const char *file, const char *text, rp_span **spans, size_t *nspans) {
    rp_excerpt *e = rp_excerpt_new(p);
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    memcpy(copy, text, len + 1);
    CHECK(e && rp_excerpt_apply(e, pf_intern((pf_profile *)p, file), copy, &len, spans, nspans) == 0);
    copy[len] = 0;
    rp_excerpt_free(e);
    return copy;
}

static const char *LIB =
    "import os\n"                       /* 1 */
    "\n"                                /* 2 */
    "class Matcher:\n"                  /* 3 */
    "    @staticmethod\n"               /* 4 */
    "    @other(\n"                     /* 5 */
    "        1)\n"                      /* 6 */
    "    def find(\n"                   /* 7 */
    "        a,\n"                      /* 8 */
    "        b,\n"                      /* 9 */
    "    ):  # the header's end\n"      /* 10 */
    "        x = 1\n"                   /* 11 */
    "\n"                                /* 12 */
    "# a comment at the margin\n"       /* 13 */
    "\tif x:\n"                         /* 14: a tab is 8 columns, inside */
    "            return a\n"            /* 15 */
    "    def other(self):\n"            /* 16: ends find's block */
    "        pass\n"                    /* 17 */
    "\n"                                /* 18 */
    "\n"                                /* 19 */
    "\n"                                /* 20 */
    "\n"                                /* 21 */
    "def far():\n"                      /* 22 */
    "    return 1\n"                    /* 23 */
    "\n"                                /* 24 */
    "\n"                                /* 25 */
    "\n"                                /* 26 */
    "\n"                                /* 27 */
    "\n"                                /* 28 */
    "z = [i for i in range(3)]\n"       /* 29 */
    "\n"                                /* 30 */
    "\n"                                /* 31 */
    "\n"                                /* 32 */
    "\n"                                /* 33 */
    "last = 1";                         /* 34: no newline */

static void test_blocks(void) {
    pf_profile *p = pf_profile_new();
    pf_func_id find = lib_func(p, "Matcher.find", "lib/python3.12/m.py", 4, PF_ORIGIN_STDLIB);
    pf_frame_intern(p, find, 15);
    pf_func_id comp = lib_func(p, "<listcomp>", "lib/python3.12/m.py", 29, PF_ORIGIN_STDLIB);
    pf_frame_intern(p, comp, 29);
    pf_func_id own = lib_func(p, "main", "app.py", 1, PF_ORIGIN_OWN);
    pf_frame_intern(p, own, 3);

    rp_span *s = NULL;
    size_t n = 0;
    char *out = excerpt_of(p, "lib/python3.12/m.py", LIB, &s, &n);
    /* find: decorators from 4 (context from 2) through 16, the line that ends
     * its block, + 2; the comprehension: its line +-2; far: never seen */
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK_EQ_INT(s[0].first, 2);
        CHECK_EQ_INT(s[0].last, 18);
        CHECK_EQ_INT(s[1].first, 27);
        CHECK_EQ_INT(s[1].last, 31);
    }
    const char *want = "\n"
                       "\n"
                       "class Matcher:\n"
                       "    @staticmethod\n"
                       "    @other(\n"
                       "        1)\n"
                       "    def find(\n"
                       "        a,\n"
                       "        b,\n"
                       "    ):  # the header's end\n"
                       "        x = 1\n"
                       "\n"
                       "# a comment at the margin\n"
                       "\tif x:\n"
                       "            return a\n"
                       "    def other(self):\n"
                       "        pass\n"
                       "\n\n\n\n\n\n\n\n\n\n\n"
                       "z = [i for i in range(3)]\n"
                       "\n\n\n\n";
    CHECK_EQ_STR(out, want);
    free(s);
    /* the excerpt of the excerpt */
    char *again = excerpt_of(p, "lib/python3.12/m.py", out, &s, &n);
    CHECK_EQ_STR(again, out);
    free(s), free(again), free(out);

    /* the program's own file: whole, no spans */
    out = excerpt_of(p, "app.py", LIB, &s, &n);
    CHECK_EQ_STR(out, LIB);
    CHECK(s == NULL && n == 0);
    /* a file no frame names: whole too (nothing says it is a library's) */
    free(out);
    out = excerpt_of(p, "other.py", LIB, &s, &n);
    CHECK_EQ_STR(out, LIB);
    free(out);
    pf_profile_free(p);
}

static uint64_t rng = 88172645463325252ull;
static unsigned next_rand(unsigned n) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static const char *PIECES[] = {"def f(", "):", "x = 1", "@dec", "# note", "", "return", "if a:", "class C:",
                               "    ", "\t", "'''", "a, b,", "#:", "x:  # y", " \f", "\r"};

/* A random text of n lines, Python-shaped enough to reach every path. */
static char *random_text(unsigned nlines) {
    size_t cap = (size_t)nlines * 64 + 1, len = 0;
    char *t = malloc(cap);
    for (unsigned i = 0; i < nlines; i++) {
        unsigned ind = next_rand(4) * 4;
        for (unsigned k = 0; k < ind; k++)
            t[len++] = next_rand(16) ? ' ' : '\t';
        for (unsigned k = next_rand(3); k > 0; k--) {
            const char *piece = PIECES[next_rand(sizeof PIECES / sizeof *PIECES)];
            memcpy(t + len, piece, strlen(piece));
            len += strlen(piece);
        }
        if (i + 1 < nlines || next_rand(2))
            t[len++] = '\n';
    }
    t[len] = 0;
    return t;
}

static size_t count_newlines(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Line i (1-based) of s, into buf. */
static const char *line_of(const char *s, unsigned i, char *buf, size_t cap) {
    for (unsigned k = 1; k < i && s; k++) {
        s = strchr(s, '\n');
        if (s)
            s++;
    }
    if (!s)
        return "";
    size_t n = strcspn(s, "\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return buf;
}

static void test_random(void) {
    int not_same = 0, not_verbatim = 0, not_kept = 0, renumbered = 0;
    for (int round = 0; round < 3000; round++) {
        unsigned nlines = 1 + next_rand(120);
        char *text = random_text(nlines);
        pf_profile *p = pf_profile_new();
        unsigned seen[8];
        unsigned nseen = next_rand(8);
        for (unsigned k = 0; k < nseen; k++) {
            char name[16];
            snprintf(name, sizeof name, next_rand(4) ? "f%u" : "<lambda%u>", k);
            unsigned first = 1 + next_rand(nlines + 3);
            pf_func_id f = lib_func(p, name, "site-packages/x.py", (int)first, PF_ORIGIN_THIRD_PARTY);
            seen[k] = first + next_rand(30);
            pf_frame_intern(p, f, (int)seen[k]);
        }
        rp_span *s = NULL;
        size_t n = 0;
        char *once = excerpt_of(p, "site-packages/x.py", text, &s, &n);
        char *twice = excerpt_of(p, "site-packages/x.py", once, NULL, NULL);
        not_same += strcmp(once, twice) != 0;
        renumbered += count_newlines(once) != count_newlines(text);
        char a[8192], b[8192];
        for (size_t k = 0; k < n; k++)
            for (int32_t ln = s[k].first; ln <= s[k].last; ln++)
                not_verbatim += strcmp(line_of(once, (unsigned)ln, a, sizeof a), line_of(text, (unsigned)ln, b, sizeof b)) != 0;
        size_t len = strlen(text), real_lines = count_newlines(text) + (len && text[len - 1] != '\n');
        for (unsigned k = 0; k < nseen; k++) {
            if (seen[k] > real_lines)
                continue;
            int in = 0;
            for (size_t q = 0; q < n; q++)
                in |= (int32_t)seen[k] >= s[q].first && (int32_t)seen[k] <= s[q].last;
            not_kept += !in;
        }
        free(s), free(once), free(twice), free(text);
        pf_profile_free(p);
    }
    CHECK_EQ_INT(not_same, 0);
    CHECK_EQ_INT(not_verbatim, 0);
    CHECK_EQ_INT(not_kept, 0);
    CHECK_EQ_INT(renumbered, 0);
}

int main(void) {
    test_blocks();
    test_random();
    return check_report("test_excerpt");
}
