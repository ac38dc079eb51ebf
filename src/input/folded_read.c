/* folded_read.c — the folded-stack reader (see folded_read.h).
 *
 * Built for big inputs (a million lines, a gigabyte): lines are read a
 * megabyte at a time, and no line is too long; consecutive lines usually share a long prefix, so a
 * frame equal to the previous line's frame at the same depth reuses its frame
 * (and tree node) after a memcmp, without hashing; a label seen before maps
 * straight to its frame through the reader's own table of labels, so each
 * distinct label is parsed and interned only once. */
#include "input/folded_read.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"

/* Totals stay exact as JavaScript numbers in the html and svg writers. */
#define MAX_TOTAL (UINT64_C(1) << 53)

typedef struct prev_frame {
    size_t end;        /* where the frame's segment ends in its line: its ';', or the stack's end */
    pf_frame_id frame;
    pf_node_id node;   /* the tree node the stack reached at this frame (tree mode) */
    int kind;          /* its function's pf_func_kind */
} prev_frame;

/* A label seen before: its frame, found by the label's bytes and whether it
 * stood in a root position, where "T123" means a thread (elsewhere it does
 * not). Slots are small and the labels' bytes sit together in one buffer, so
 * the table stays in cache while hundreds of megabytes stream past. */
typedef struct label_slot {
    uint64_t hash;     /* 0 = an empty slot */
    pf_frame_id frame;
    uint32_t text;     /* offset of the label's label_text in the reader's text buffer */
} label_slot;

typedef struct label_text {
    uint32_t len;
    uint8_t at_root, kind;
    char bytes[]; /* len bytes, then padding to 4 */
} label_text;

/* A frame of the line being read, between the two passes of parse_one. */
typedef struct segment {
    size_t at, len, end; /* its label is line[at .. at + len); its segment ends at end */
    uint64_t state;      /* label_state of the label */
    uint64_t hash;       /* label_hash, for the root flag its depth has by default */
} segment;

typedef struct reader {
    pf_profile *p;
    in_stacks *stacks; /* where lines go in stacks mode; NULL: into p's call tree */
    label_slot *labels;
    size_t labels_cap, labels_used;
    char *text;
    size_t text_len, text_cap;
    prev_frame *prev, *cur;
    segment *seg;
    size_t frames_cap;
    size_t prev_stack_len; /* the stack part of the previous line */
    int prev_kept;      /* stacks mode: the previous line is the last one in stacks */
} reader;

static int starts_with(const char *s, size_t len, const char *prefix) {
    size_t n = strlen(prefix);
    return len >= n && !memcmp(s, prefix, n);
}

static int ends_with(const char *s, size_t len, const char *suffix) {
    size_t n = strlen(suffix);
    return len >= n && !memcmp(s + len - n, suffix, n);
}

static int all_digits(const char *s, size_t len) {
    if (!len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* A line number as written after a colon; anything else (0, a leading zero,
 * absurdly long) counts as no line, so the label is kept whole and written
 * back exactly as it was read. */
static int parse_line(const char *s, size_t len) {
    if (!all_digits(s, len) || len > 9 || s[0] == '0')
        return -1;
    int v = 0;
    for (size_t i = 0; i < len; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static int memmem_has(const char *s, size_t len, const char *needle) {
    return memmem(s, len, needle, strlen(needle)) != NULL;
}

/* Is this plausibly a file name rather than some other parenthesised note
 * such as a thread name? Only then is "func (x)" split without a line. */
static int looks_like_path(const char *s, size_t len) {
    return memchr(s, '/', len) || memchr(s, '\\', len) || ends_with(s, len, ".py") ||
           ends_with(s, len, ".pyx") || memmem_has(s, len, ".so");
}

static int is_native_file(const char *s, size_t len) {
    return memmem_has(s, len, ".so") || ends_with(s, len, ".dll") || ends_with(s, len, ".dylib");
}

/* The synthetic root a leading frame names, if any: Austin's "P<pid>" and
 * "T<tid>", py-spy's "process 123:..." and "thread (0x...)", Pyflame-style
 * "Thread 1234 ...". */
static int root_kind(const char *s, size_t len, pf_func_kind *kind) {
    if (len >= 2 && s[0] == 'P' && all_digits(s + 1, len - 1)) {
        *kind = PF_FUNC_PROCESS;
        return 1;
    }
    if (len >= 2 && s[0] == 'T') {
        size_t i = 1;
        while (i < len && (isxdigit((unsigned char)s[i]) || s[i] == ':' || s[i] == 'x'))
            i++;
        if (i == len) {
            *kind = PF_FUNC_THREAD;
            return 1;
        }
    }
    if (starts_with(s, len, "thread ") || starts_with(s, len, "Thread ")) {
        *kind = PF_FUNC_THREAD;
        return 1;
    }
    if (starts_with(s, len, "process ") || starts_with(s, len, "Process ")) {
        *kind = PF_FUNC_PROCESS;
        return 1;
    }
    return 0;
}

/* Splits a label into function, file and line, and interns the frame. */
static pf_frame_id parse_frame(pf_profile *p, const char *s, size_t len, int at_root, pf_func_kind *kind_out) {
    pf_func_kind kind = PF_FUNC_PYTHON;
    const char *name = s, *file = "";
    size_t name_len = len, file_len = 0;
    int line = 0;

    if (at_root && root_kind(s, len, &kind)) {
        /* whole label is the root's name */
    } else if (len >= 4 && s[len - 1] == ')') {
        /* "func (file:line)" or "func (path)": split at the last " (". */
        const char *open = NULL;
        for (size_t i = len - 1; i-- > 0;)
            if (s[i] == '(' && i > 0 && s[i - 1] == ' ') {
                open = s + i;
                break;
            }
        if (open && open - 1 > s) {
            const char *in = open + 1;
            size_t in_len = (size_t)(s + len - 1 - in);
            const char *colon = memrchr(in, ':', in_len);
            int l = colon ? parse_line(colon + 1, (size_t)(in + in_len - colon - 1)) : -1;
            if (colon && colon > in && l >= 0) {
                file = in, file_len = (size_t)(colon - in), line = l;
                name_len = (size_t)(open - 1 - s);
            } else if (in_len && looks_like_path(in, in_len)) {
                file = in, file_len = in_len;
                name_len = (size_t)(open - 1 - s);
            }
        }
    } else {
        /* Austin: "file:func:line". Split from the right so a file may hold ':'. */
        const char *c2 = memrchr(s, ':', len);
        const char *c1 = c2 && c2 > s ? memrchr(s, ':', (size_t)(c2 - s)) : NULL;
        if (c1 && c1 > s && c2 - c1 > 1) {
            int l = parse_line(c2 + 1, (size_t)(s + len - c2 - 1));
            size_t flen = (size_t)(c1 - s);
            if (l >= 0 && (looks_like_path(s, flen) || memchr(s, '.', flen) || s[0] == '<')) {
                file = s, file_len = flen, line = l;
                name = c1 + 1, name_len = (size_t)(c2 - c1 - 1);
            }
        }
    }
    if (kind == PF_FUNC_PYTHON) {
        if (file_len && is_native_file(file, file_len))
            kind = PF_FUNC_NATIVE;
        else if (!file_len && (ends_with(s, len, "_[k]") || memchr(s, '`', len) ||
                               (len == 9 && !memcmp(s, "[unknown]", 9))))
            kind = PF_FUNC_NATIVE; /* perf's kernel frames, dtrace's module`func */
        else if (!file_len && ((len == 6 && !memcmp(s, "(idle)", 6)) || (len == 6 && !memcmp(s, "<idle>", 6)) ||
                               (len == sizeof PF_GC_FRAME - 1 && !memcmp(s, PF_GC_FRAME, len))))
            kind = PF_FUNC_OTHER;
    }
    *kind_out = kind;
    pf_str_id nid = pf_intern_len(p, name, name_len);
    pf_str_id fid = pf_intern_len(p, file, file_len);
    pf_func_id fn = pf_func_intern(p, nid, fid, 0, kind);
    return pf_frame_intern(p, fn, line);
}

/* A label's hash: its bytes mixed in 8 at a time (the last word zero-filled),
 * then its length and root flag. scan_frame computes the first part while it
 * looks for the frame's end, so each byte is read once; label_state is the
 * same without the search, for a frame whose trailing blanks were dropped. */
#define WORD_ONES 0x0101010101010101ull
#define WORD_HIGHS 0x8080808080808080ull
#define HASH_SEED 0x9E3779B97F4A7C15ull

static inline uint64_t mix_word(uint64_t h, uint64_t w) {
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 32);
}

static uint64_t label_state(const char *s, size_t len) {
    uint64_t h = HASH_SEED, w;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, s + i, 8);
        h = mix_word(h, w);
    }
    if (i < len) {
        w = 0;
        for (size_t k = 0; i + k < len; k++)
            w |= (uint64_t)(unsigned char)s[i + k] << (8 * k);
        h = mix_word(h, w);
    }
    return h;
}

/* The length of the segment at s (up to the next ';' within n bytes, or n),
 * and its label_state in *state. A word holds a ';' where the word XORed with
 * ";;;;;;;;" has a zero byte; the lowest one flagged is exactly the first. */
static size_t scan_frame(const char *s, size_t n, uint64_t *state) {
    uint64_t h = HASH_SEED, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);
        uint64_t x = w ^ (';' * WORD_ONES), m = (x - WORD_ONES) & ~x & WORD_HIGHS;
        if (m) {
            unsigned k = (unsigned)__builtin_ctzll(m) >> 3;
            if (k)
                h = mix_word(h, w & ((1ull << (8 * k)) - 1));
            *state = h;
            return i + k;
        }
        h = mix_word(h, w);
    }
    w = 0;
    size_t k = 0;
    for (; i + k < n && s[i + k] != ';'; k++)
        w |= (uint64_t)(unsigned char)s[i + k] << (8 * k);
    if (k)
        h = mix_word(h, w);
    *state = h;
    return i + k;
}

/* The final hash; never 0 (the empty slot). */
static uint64_t label_hash(uint64_t state, size_t len, int at_root) {
    uint64_t h = (state ^ ((uint64_t)len << 1 | (uint64_t)at_root)) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    return h ? h : 1;
}

/* Are n bytes at a and b the same? (Labels are short: no call, 8 bytes a step.) */
static int same_bytes(const char *a, const char *b, size_t n) {
    uint64_t x, y;
    if (n < 8)
        return !memcmp(a, b, n);
    for (size_t i = 0; i + 8 <= n; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return 0;
    }
    memcpy(&x, a + n - 8, 8);
    memcpy(&y, b + n - 8, 8);
    return x == y;
}

/* How many leading bytes a and b (n bytes each at least) share. */
static size_t common_prefix(const char *a, const char *b, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return i + ((unsigned)__builtin_ctzll(x ^ y) >> 3);
    }
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

static int labels_grow(reader *r) {
    size_t cap = r->labels_cap ? r->labels_cap * 2 : 1024;
    label_slot *t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < r->labels_cap; i++) {
        const label_slot *e = &r->labels[i];
        if (!e->hash)
            continue;
        size_t j = (size_t)e->hash & (cap - 1);
        while (t[j].hash)
            j = (j + 1) & (cap - 1);
        t[j] = *e;
    }
    free(r->labels);
    r->labels = t;
    r->labels_cap = cap;
    return 0;
}

/* Keeps a copy of a new label in the text buffer; its offset, or 0 when out of memory. */
static uint32_t labels_keep_text(reader *r, const char *s, size_t len, int at_root, pf_func_kind kind) {
    size_t need = (sizeof(label_text) + len + 3) & ~(size_t)3, at = r->text_len ? r->text_len : 4;
    if (at + need > UINT32_MAX)
        return 0;
    if (PF_GROW(r->text, r->text_cap, at + need, 65536) != 0)
        return 0;
    label_text *t = (label_text *)(r->text + at);
    t->len = (uint32_t)len;
    t->at_root = (uint8_t)at_root;
    t->kind = (uint8_t)kind;
    memcpy(t->bytes, s, len);
    r->text_len = at + need;
    return (uint32_t)at;
}

/* The frame for a label (h: its label_hash), parsing it only the first time
 * it is seen; 0 when out of memory. */
static pf_frame_id frame_for(reader *r, const char *s, size_t len, uint64_t h, int at_root, pf_func_kind *kind) {
    if ((r->labels_used + 1) * 2 > r->labels_cap && labels_grow(r) != 0)
        return 0;
    size_t i = (size_t)h & (r->labels_cap - 1);
    for (; r->labels[i].hash; i = (i + 1) & (r->labels_cap - 1)) {
        if (r->labels[i].hash != h)
            continue;
        const label_text *t = (const label_text *)(r->text + r->labels[i].text);
        if (t->len == len && t->at_root == at_root && same_bytes(t->bytes, s, len)) {
            *kind = (pf_func_kind)t->kind;
            return r->labels[i].frame;
        }
    }
    pf_frame_id fr = parse_frame(r->p, s, len, at_root, kind);
    uint32_t text = fr ? labels_keep_text(r, s, len, at_root, *kind) : 0;
    if (!text)
        return 0;
    r->labels[i] = (label_slot){h, fr, text};
    r->labels_used++;
    return fr;
}

/* Adds a line's frames (already appended from `start`) and count to the
 * stacks; a line equal to the previous kept line only adds its count. */
static int stacks_keep(reader *r, size_t start, size_t depth, int same, size_t nprev, uint64_t count) {
    in_stacks *s = r->stacks;
    if (!count) { /* draws nothing: drop its frames, but it stays the line the next one is compared with */
        s->nframes = start;
        r->prev_kept = 0;
        return 0;
    }
    if (same && depth == nprev && r->prev_kept) {
        s->nframes = start;
        s->lines[s->nlines - 1].count += count;
        return 0;
    }
    if (depth > UINT32_MAX)
        return -1;
    if (PF_GROW(s->lines, s->lines_cap, s->nlines + 1, 4096) != 0)
        return -1;
    s->lines[s->nlines++] = (in_stack_line){start, (uint32_t)depth, count};
    r->prev_kept = 1;
    return 0;
}

static int stacks_push(in_stacks *s, pf_frame_id fr) {
    if (PF_GROW(s->frames, s->frames_cap, s->nframes + 1, 65536) != 0)
        return -1;
    s->frames[s->nframes++] = fr;
    return 0;
}

void in_stacks_free(in_stacks *s) {
    free(s->frames);
    free(s->lines);
    memset(s, 0, sizeof *s);
}

/* A short, printable copy of bad input for an error message. */
static void quote(char *out, size_t cap, const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < cap; i++)
        out[n++] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
    if (len && n < len && n + 4 >= cap)
        out[n++] = '.', out[n++] = '.', out[n++] = '.';
    out[n] = 0;
}

/* Room in prev, cur and seg for `most` frames. */
static int depth_needed(reader *r, size_t most) {
    void *const arrays[] = {&r->prev, &r->cur, &r->seg};
    const size_t elems[] = {sizeof *r->prev, sizeof *r->cur, sizeof *r->seg};
    return pf_grow_all(arrays, elems, 3, &r->frames_cap, most, 256);
}

/* Parses one line (without its newline) into the profile; prev/cur carry the
 * previous line's frames. Returns 0, or -1 with err set: PF_ERR_USAGE for a
 * malformed line (the message says why), PF_ERR_NOMEM. */
static int parse_one(reader *r, const char *line, size_t len, const char *prev_line, size_t *nprev,
                     uint64_t *total, pf_error *err) {
    if (memchr(line, 0, len)) {
        return pf_fail(err, PF_ERR_USAGE, "NUL byte in the line");
    }
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    size_t sp = len;
    while (sp && line[sp - 1] != ' ' && line[sp - 1] != '\t')
        sp--;
    if (!sp) {
        return pf_fail(err, PF_ERR_USAGE, "missing sample count at the end of the line (expected 'frame;frame;... COUNT')");
    }
    const char *count_s = line + sp;
    size_t count_len = len - sp;
    char shown[48];
    quote(shown, sizeof shown, count_s, count_len);
    if (count_s[0] == '-' && all_digits(count_s + 1, count_len - 1)) {
        return pf_fail(err, PF_ERR_USAGE, "sample count '%s' is negative", shown);
    }
    if (!all_digits(count_s, count_len)) {
        return pf_fail(err, PF_ERR_USAGE, "sample count '%s' is not a whole number", shown);
    }
    uint64_t count = 0;
    for (size_t i = 0; i < count_len; i++) {
        if (count > (MAX_TOTAL - 9) / 10) {
            return pf_fail(err, PF_ERR_USAGE, "sample count '%s' is too large", shown);
        }
        count = count * 10 + (uint64_t)(count_s[i] - '0');
    }
    if (count > MAX_TOTAL - *total) {
        return pf_fail(err, PF_ERR_USAGE, "sample counts add up to more than 2^53");
    }
    size_t stack_len = sp;
    while (stack_len && (line[stack_len - 1] == ' ' || line[stack_len - 1] == '\t'))
        stack_len--;

    /* The frames whose segment and ';' lie within the bytes this line shares
     * with the previous one are the previous line's frames: reused unread. */
    size_t depth = 0, at = 0, start = r->stacks ? r->stacks->nframes : 0;
    int same = 1, root_slots = 1;
    pf_node_id node = PF_ROOT;
    if (*nprev) {
        size_t n = stack_len < r->prev_stack_len ? stack_len : r->prev_stack_len;
        size_t lcp = common_prefix(line, prev_line, n);
        while (depth < *nprev && r->prev[depth].end < lcp) {
            r->cur[depth] = r->prev[depth];
            if (r->stacks && stacks_push(r->stacks, r->cur[depth].frame) != 0) {
                return pf_fail(err, PF_ERR_NOMEM, "out of memory");
            }
            depth++;
        }
        if (depth) {
            node = r->cur[depth - 1].node;
            at = r->cur[depth - 1].end + 1;
            /* Austin puts the thread after the process: both are roots. */
            if (r->cur[0].kind == PF_FUNC_PROCESS)
                root_slots = 2;
        }
    }
    /* The rest, in passes: first every frame's end and hash (computed while
     * looking for the end), asking the memory for its slot in the label
     * table; then for the label bytes the slots point to; then the lookups,
     * whose cache misses so overlap instead of waiting one after another. */
    size_t nseg = 0, first = depth;
    while (at < stack_len) {
        uint64_t state;
        size_t end = at + scan_frame(line + at, stack_len - at, &state);
        size_t flen = end - at;
        /* Trailing blanks are dropped from every frame, not only from the last
         * (where they cannot be told from the blanks before the count), so a
         * label reads back the same wherever the writer puts it. */
        while (flen && (line[at + flen - 1] == ' ' || line[at + flen - 1] == '\t'))
            flen--;
        if (flen) {
            if (depth_needed(r, first + nseg + 1) != 0) {
                if (r->stacks)
                    r->stacks->nframes = start;
                return pf_fail(err, PF_ERR_NOMEM, "out of memory");
            }
            if (flen != end - at)
                state = label_state(line + at, flen);
            /* The hash as a frame at this depth has it unless the root is a process (see below). */
            uint64_t h = label_hash(state, flen, first + nseg == 0);
            r->seg[nseg] = (segment){at, flen, end, state, h};
            if (r->labels_cap)
                __builtin_prefetch(&r->labels[h & (r->labels_cap - 1)]);
            nseg++;
        }
        at = end + 1;
    }
    /* By now the first slots are in: ask for the labels' bytes they point to. */
    if (r->labels_cap)
        for (size_t j = 0; j < nseg; j++) {
            const label_slot *e = &r->labels[r->seg[j].hash & (r->labels_cap - 1)];
            if (e->hash == r->seg[j].hash)
                __builtin_prefetch(r->text + e->text);
        }
    for (size_t j = 0; j < nseg; j++) {
        const segment *g = &r->seg[j];
        int at_root = depth < (size_t)root_slots;
        uint64_t h = at_root == (depth == 0) ? g->hash : label_hash(g->state, g->len, at_root);
        pf_func_kind kind = PF_FUNC_PYTHON;
        pf_frame_id fr = frame_for(r, line + g->at, g->len, h, at_root, &kind);
        if (!fr) {
            return pf_fail(err, PF_ERR_NOMEM, "out of memory");
        }
        /* Austin puts the thread after the process: both are roots. */
        if (depth == 0 && kind == PF_FUNC_PROCESS)
            root_slots = 2;
        same = same && depth < *nprev && r->prev[depth].frame == fr;
        if (same)
            node = r->prev[depth].node; /* the same path so far: the same node */
        else if (!r->stacks && !(node = pf_node_child(r->p, node, fr))) {
            return pf_fail(err, PF_ERR_NOMEM, "out of memory");
        }
        if (r->stacks && stacks_push(r->stacks, fr) != 0) {
            return pf_fail(err, PF_ERR_NOMEM, "out of memory");
        }
        r->cur[depth] = (prev_frame){g->end, fr, node, (int)kind};
        depth++;
    }
    if (!depth) {
        return pf_fail(err, PF_ERR_USAGE, "empty stack (no frames before the count)");
    }
    if (!r->stacks)
        pf_sample_add(r->p, node, 0, 0, count);
    else if (stacks_keep(r, start, depth, same, *nprev, count) != 0) {
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    }
    *total += count;
    prev_frame *t = r->prev;
    r->prev = r->cur;
    r->cur = t;
    *nprev = depth;
    r->prev_stack_len = stack_len;
    return 0;
}

/* What a first line says the input is when it is another format, or NULL: so a
 * flame graph fed back in is named as such rather than reported as a bad count. */
static const char *foreign_format(const char *line, size_t len) {
    size_t i = 0;
    if (len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3))
        i = 3; /* a UTF-8 byte order mark */
    while (i < len && isspace((unsigned char)line[i]))
        i++;
    const char *s = line + i;
    size_t n = len - i;
    if (n >= 2 && (unsigned char)s[0] == 0x1f && (unsigned char)s[1] == 0x8b)
        return "gzip-compressed data (a pprof profile?)";
    if (starts_with(s, n, "<svg") || starts_with(s, n, "<?xml"))
        return "an SVG (or other XML) file";
    if (starts_with(s, n, "<!DOCTYPE") || starts_with(s, n, "<!doctype") || starts_with(s, n, "<html"))
        return "an HTML file";
    if (starts_with(s, n, "{") || starts_with(s, n, "["))
        return "a JSON file";
    return NULL;
}

/* Lines from a stream, read a megabyte at a time into one buffer (stdio's
 * own buffer is a page: a gigabyte would take 250,000 read calls). The
 * previous line stays readable beside the current one: when the buffer is
 * refilled, everything from the kept line on moves to its front. */
typedef struct line_source {
    FILE *in;
    char *buf;
    size_t cap, pos, end, scanned; /* unread: buf[pos .. end), with no '\n' in buf[pos .. scanned) */
    int eof;
} line_source;

/* The next line in *line, *len (with its '\n' cut); *keep points to bytes
 * that must stay readable and is moved with them. Returns 1, 0 at the end,
 * or -1 with err set (a read error, or out of memory); name is the input's
 * name for the message. */
static int next_line(line_source *ls, const char *name, char **line, size_t *len, const char **keep, pf_error *err) {
    for (;;) {
        char *nl = ls->end > ls->scanned ? memchr(ls->buf + ls->scanned, '\n', ls->end - ls->scanned) : NULL;
        if (nl || (ls->eof && ls->pos < ls->end)) {
            size_t stop = nl ? (size_t)(nl - ls->buf) : ls->end;
            *line = ls->buf + ls->pos;
            *len = stop - ls->pos;
            ls->pos = ls->scanned = nl ? stop + 1 : stop;
            return 1;
        }
        ls->scanned = ls->end;
        if (ls->eof)
            return 0;
        size_t from = ls->pos;
        if (*keep && (size_t)(*keep - ls->buf) < from)
            from = (size_t)(*keep - ls->buf);
        if (from) {
            memmove(ls->buf, ls->buf + from, ls->end - from);
            ls->pos -= from, ls->end -= from, ls->scanned -= from;
            if (*keep)
                *keep -= from;
        }
        /* A long line: room for it and a good read (at least half a megabyte free). */
        size_t kept = *keep ? (size_t)(*keep - ls->buf) : 0;
        if (PF_GROW(ls->buf, ls->cap, ls->end + (1 << 19), 1 << 20) != 0)
            return pf_fail(err, PF_ERR_NOMEM, "%s: out of memory (reading a line longer than %zu bytes)", name,
                           ls->end - ls->pos);
        if (*keep)
            *keep = ls->buf + kept;
        errno = 0;
        size_t got = fread(ls->buf + ls->end, 1, ls->cap - ls->end, ls->in);
        ls->end += got;
        if (!got) {
            if (ferror(ls->in))
                return pf_fail(err, PF_ERR_IO, "%s: cannot read: %s", name, strerror(errno ? errno : EIO));
            ls->eof = 1;
        }
    }
}

static int read_folded(FILE *in, const char *name, pf_profile *p, in_stacks *stacks, int lenient, size_t *skipped,
                       pf_error *err) {
    reader r = {.p = p, .stacks = stacks};
    line_source ls = {.in = in};
    const char *prev_line = NULL; /* the last line read into the profile */
    size_t nprev = 0, lineno = 0, nskipped = 0;
    uint64_t total = 0;
    int rc = 0;
    pf_error why; /* what is wrong with one line, before it is put after the line's number */
    for (;;) {
        char *line = NULL;
        size_t len = 0;
        int got = next_line(&ls, name, &line, &len, &prev_line, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        lineno++;
        if (len && line[len - 1] == '\r')
            len--;
        size_t lead = 0;
        while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
            lead++;
        /* Blank lines, and "# ..." headers such as Austin's metadata. */
        if (lineno == 1 && starts_with(line, len, "# callgrind format")) {
            rc = pf_fail(err, PF_ERR_USAGE, "%s is not folded stacks: it is a callgrind file", name);
            break;
        }
        if (lead == len || (len >= 2 && line[0] == '#' && line[1] == ' '))
            continue;
        int res = parse_one(&r, line, len, prev_line, &nprev, &total, &why);
        if ((res < 0 && why.kind == PF_ERR_NOMEM) || pf_profile_failed(p)) {
            rc = pf_fail(err, PF_ERR_NOMEM, "%s:%zu: out of memory", name, lineno);
            break;
        }
        if (res < 0) {
            /* The first line not being folded stacks may say what the input is instead. */
            const char *foreign = !total && !nskipped ? foreign_format(line, len) : NULL;
            if (foreign) {
                rc = pf_fail(err, PF_ERR_USAGE, "%s is not folded stacks: it looks like %s (give folded stacks, "
                                                "one 'frame;frame;... COUNT' per line)", name, foreign);
                break;
            }
            if (!lenient) {
                rc = pf_fail(err, PF_ERR_USAGE, "%s:%zu: %s", name, lineno, why.msg);
                break;
            }
            nskipped++;
            continue; /* the previous line stays the one the next is compared with */
        }
        prev_line = line;
    }
    if (skipped)
        *skipped = nskipped;
    free(ls.buf);
    free(r.labels);
    free(r.text);
    free(r.prev);
    free(r.cur);
    free(r.seg);
    if (stacks && rc == 0)
        stacks->total = total;
    return rc;
}

int in_read_folded(FILE *in, const char *name, pf_profile *p, int lenient, size_t *skipped, pf_error *err) {
    return read_folded(in, name, p, NULL, lenient, skipped, err);
}

int in_read_folded_stacks(FILE *in, const char *name, pf_profile *p, in_stacks *s, int lenient, size_t *skipped,
                           pf_error *err) {
    return read_folded(in, name, p, s, lenient, skipped, err);
}
