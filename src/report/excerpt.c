/* excerpt.c — how much of a source file the reports keep (see excerpt.h):
 * the profile's frames give, per file, the lines seen and the first lines of
 * the functions seen; a function's end is read from the text's indentation. */
#include "report/excerpt.h"

#include <stdlib.h>
#include <string.h>

#include "base/grow.h"

enum { MARK_LINE, MARK_BODY };

typedef struct mark {
    pf_str_id file;
    int32_t line;    /* the line seen, or the function's first line */
    uint8_t kind;    /* MARK_* */
    uint8_t library; /* the function is standard library or third-party */
} mark;

struct rp_excerpt {
    mark *marks; /* by file, then line */
    size_t n;
};

static int by_file(const void *x, const void *y) {
    const mark *a = x, *b = y;
    if (a->file != b->file)
        return a->file < b->file ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

/* A function whose body the text shows as a block: a def or a class, not
 * "<module>", "<lambda>" or a comprehension (their first line is all). */
static int has_block(const char *qualname) {
    const char *last = strrchr(qualname, '.');
    return *(last ? last + 1 : qualname) != '<';
}

rp_excerpt *rp_excerpt_new(const pf_profile *p) {
    size_t nfr, nfn, cap = 0;
    const pf_frame *frames = pf_frames(p, &nfr);
    const pf_func *funcs = pf_funcs(p, &nfn);
    rp_excerpt *e = calloc(1, sizeof *e);
    unsigned char *seen = calloc(nfn ? nfn : 1, 1);
    if (!e || !seen)
        goto fail;
    for (size_t i = 1; i < nfr; i++) {
        pf_func_id f = frames[i].func;
        if (f >= nfn || funcs[f].kind != PF_FUNC_PYTHON || !funcs[f].file)
            continue;
        uint8_t lib = funcs[f].origin == PF_ORIGIN_STDLIB || funcs[f].origin == PF_ORIGIN_THIRD_PARTY;
        if (frames[i].line > 0) {
            if (PF_GROW(e->marks, cap, e->n + 1, 256) != 0)
                goto fail;
            e->marks[e->n++] = (mark){funcs[f].file, frames[i].line, MARK_LINE, lib};
        }
        if (!seen[f] && funcs[f].firstline > 0 && has_block(pf_str(p, funcs[f].name))) {
            seen[f] = 1;
            if (PF_GROW(e->marks, cap, e->n + 1, 256) != 0)
                goto fail;
            e->marks[e->n++] = (mark){funcs[f].file, funcs[f].firstline, MARK_BODY, lib};
        }
    }
    if (e->n)
        qsort(e->marks, e->n, sizeof *e->marks, by_file);
    free(seen);
    return e;
fail:
    free(seen);
    rp_excerpt_free(e);
    return NULL;
}

void rp_excerpt_free(rp_excerpt *e) {
    if (!e)
        return;
    free(e->marks);
    free(e);
}

/* ---- the text's lines ---- */

typedef struct lines {
    const char *text;
    size_t *start; /* start[i]: offset of line i + 1; start[n]: the end */
    size_t n;
} lines;

static const char *line_at(const lines *t, size_t i, size_t *len) {
    size_t end = t->start[i + 1];
    if (end > t->start[i] && t->text[end - 1] == '\n')
        end--;
    *len = end - t->start[i];
    return t->text + t->start[i];
}

/* The line's indentation in columns (a tab to the next multiple of 8, as
 * Python counts), or -1 when it is blank or only a comment. */
static long indent_of(const lines *t, size_t i) {
    size_t len;
    const char *s = line_at(t, i, &len);
    long col = 0;
    for (size_t k = 0; k < len; k++) {
        if (s[k] == ' ')
            col++;
        else if (s[k] == '\t')
            col = (col / 8 + 1) * 8;
        else if (s[k] == '\f' || s[k] == '\r')
            continue;
        else
            return s[k] == '#' ? -1 : col;
    }
    return -1;
}

/* The line, without a trailing comment or blanks, ends with ':' (a def's,
 * a class's or a decorator-free header's last line). A '#' inside a string
 * can fool it; then the block is only read a little longer or shorter. */
static int ends_header(const lines *t, size_t i) {
    size_t len;
    const char *s = line_at(t, i, &len);
    const char *hash = memchr(s, '#', len);
    if (hash)
        len = (size_t)(hash - s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    return len && s[len - 1] == ':';
}

/* The last line (index) of the block a function starting at index first
 * spans: its decorators and header (up to HEADER_MAX lines, to the one ending
 * with ':'), then every line indented deeper than the first, blank lines and
 * comments between them included, through the line that ends the block (so
 * that the excerpt's own text ends it at the same place). */
#define HEADER_MAX 64
static size_t block_end(const lines *t, size_t first) {
    long base = indent_of(t, first);
    if (base < 0)
        return first;
    size_t i = first;
    while (i + 1 < t->n && indent_of(t, i) == base) { /* decorators */
        size_t len, k = 0;
        const char *s = line_at(t, i, &len);
        while (k < len && (s[k] == ' ' || s[k] == '\t' || s[k] == '\f'))
            k++;
        if (k == len || s[k] != '@')
            break;
        i++;
    }
    for (size_t k = i; k < t->n && k < i + HEADER_MAX; k++)
        if (ends_header(t, k)) {
            i = k;
            break;
        }
    for (i = i + 1; i < t->n; i++) {
        long ind = indent_of(t, i);
        if (ind >= 0 && ind <= base)
            return i; /* the line that ends the block, kept too */
    }
    return t->n - 1;
}

static void keep(unsigned char *kept, size_t n, long first, long last) {
    if (first < 0)
        first = 0;
    for (long i = first; i <= last && (size_t)i < n; i++)
        kept[i] = 1;
}

int rp_excerpt_apply(const rp_excerpt *e, pf_str_id file, char *text, size_t *len, rp_span **spans, size_t *nspans) {
    if (spans)
        *spans = NULL, *nspans = 0;
    /* This file's marks: a binary search for the first. */
    size_t lo = 0, hi = e->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->marks[mid].file < file)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    int library = 1;
    while (end < e->n && e->marks[end].file == file)
        library &= e->marks[end++].library;
    if (end == lo || !library) /* the program's own file, or one no frame names: whole */
        return 0;

    lines t = {text, NULL, 0};
    size_t n = 1;
    for (size_t k = 0; k < *len; k++)
        n += text[k] == '\n';
    t.start = malloc((n + 1) * sizeof *t.start);
    unsigned char *kept = calloc(n, 1);
    if (!t.start || !kept) {
        free(t.start), free(kept);
        return -1;
    }
    t.start[0] = 0;
    for (size_t k = 0; k < *len; k++)
        if (text[k] == '\n')
            t.start[++t.n] = k + 1;
    if (t.start[t.n] < *len || t.n == 0) /* a last line without its newline */
        t.n++;
    t.start[t.n] = *len;

    for (size_t m = lo; m < end; m++) {
        long at = (long)e->marks[m].line - 1, last = at;
        if ((size_t)at >= t.n)
            continue;
        if (e->marks[m].kind == MARK_BODY)
            last = (long)block_end(&t, (size_t)at);
        keep(kept, t.n, at - EXCERPT_CONTEXT, last + EXCERPT_CONTEXT);
    }

    /* The spans kept, then the lines left out emptied in place (the text
     * only shrinks). */
    int rc = 0;
    if (spans) {
        size_t cap = 0;
        for (size_t i = 0; i < t.n && rc == 0; i++) {
            if (!kept[i])
                continue;
            if (*nspans && (*spans)[*nspans - 1].last == (int32_t)i)
                (*spans)[*nspans - 1].last = (int32_t)i + 1;
            else if (PF_GROW(*spans, cap, *nspans + 1, 16) == 0)
                (*spans)[(*nspans)++] = (rp_span){(int32_t)i + 1, (int32_t)i + 1};
            else
                rc = -1;
        }
    }
    if (rc == 0) {
        size_t out = 0;
        for (size_t i = 0; i < t.n; i++) {
            size_t from = t.start[i], to = t.start[i + 1];
            if (kept[i]) {
                memmove(text + out, text + from, to - from);
                out += to - from;
            } else if (to > from && text[to - 1] == '\n')
                text[out++] = '\n';
        }
        *len = out;
    } else {
        free(*spans);
        *spans = NULL, *nspans = 0;
    }
    free(t.start), free(kept);
    return rc;
}
