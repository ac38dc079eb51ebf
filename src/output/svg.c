/* svg.c — the svg writer: a self-contained interactive flame graph.
 *
 * The file shows the graph without script (every frame is a
 * <g><title/><rect/><text/></g>, so image viewers and XML tools see it) and
 * carries a small inline script for hover details, click-to-zoom, reset and
 * regular-expression search. Nothing is loaded from the network.
 *
 * Size matters for big profiles, so the markup is terse: frames are grouped
 * in one <g> per row, which carries the row's y, so a frame needs no y of its
 * own; frames narrower than minwidth pixels are not drawn one by one but
 * merged into one grey frame per parent; x and width carry just enough
 * decimals that the script can recover each frame's exact sample count and
 * start from them, which is all it needs to zoom and to measure a search.
 *
 * Everything the profiled program named (functions, files, thread names) is
 * untrusted: it is written only as escaped XML text, never into the script or
 * an attribute, and the script only ever moves it with textContent. */
#include "output/assets.h"
#include "output/escape.h"
#include "input/folded_read.h"
#include "output/outbuf.h"
#include "output/writer.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/u64map.h"

#define IMG_W 1200
#define PAD 10
#define FRAME_W (IMG_W - 2 * PAD)
#define ROW_H 16
#define RECT_H 15
#define RECT_H_STR "15"
#define CHAR_W 7.08 /* average advance of 12px Verdana; the script uses the same */
#define BOTTOM_H 40

/* ---- buffered output --------------------------------------------------- */


/* ---- untrusted text as XML (escape.h) ---------------------------------------- */

static void xml_str(out_buf *o, const char *s) { out_esc_xml(o, s, strlen(s), 0); }

/* ---- numbers --------------------------------------------------------------- */

/* v * FRAME_W / total as fixed point with `dec` decimals, trailing zeros cut. */
static void put_px(out_buf *o, uint64_t v, uint64_t total, int dec, uint64_t p10) {
    unsigned __int128 num = (unsigned __int128)v * FRAME_W * p10;
    uint64_t q = (uint64_t)((num + total / 2) / total);
    out_buf_u64(o, q / p10);
    uint64_t frac = q % p10;
    if (frac) {
        char f[24];
        int n = dec;
        while (frac % 10 == 0)
            frac /= 10, n--;
        f[0] = '.';
        for (int i = n; i > 0; i--, frac /= 10)
            f[i] = (char)('0' + frac % 10);
        out_buf_put(o, f, (size_t)n + 1);
    }
}

/* 1234567 -> "1,234,567" */
static void put_count(out_buf *o, uint64_t v) {
    char out[32];
    int n = sizeof out, digits = 0;
    do {
        if (digits && digits % 3 == 0)
            out[--n] = ',';
        out[--n] = (char)('0' + v % 10);
        digits++;
    } while (v /= 10);
    out_buf_put(o, out + n, sizeof out - (size_t)n);
}

/* A weight as the profile's unit says: samples, or time for traced profiles. */
static void put_weight(out_buf *o, uint64_t v, int is_ns) {
    if (!is_ns) {
        put_count(o, v);
        out_buf_puts(o, v == 1 ? " sample" : " samples");
    } else if (v >= 1000000000)
        out_buf_printf(o, "%.2f s", v / 1e9);
    else if (v >= 1000000)
        out_buf_printf(o, "%.2f ms", v / 1e6);
    else if (v >= 1000)
        out_buf_printf(o, "%.2f us", v / 1e3);
    else
        out_buf_printf(o, "%" PRIu64 " ns", v);
}

/* ---- frame labels ------------------------------------------------------------ */

/* Every frame's folded label in one buffer; frame 0 (the root) is "all". */
typedef struct labels {
    char *buf;
    size_t len, cap;
    size_t *off;
    size_t n;
    uint32_t *rank; /* frame -> position in label order */
} labels;

static int cmp_frames_by_label(const void *a, const void *b, void *ctx) {
    const labels *l = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(l->buf + l->off[x], l->buf + l->off[y]);
    return c ? c : (x > y) - (x < y);
}

static const char *label_of(const labels *l, uint32_t frame) { return l->buf + l->off[frame]; }

static int labels_build(const pf_profile *p, labels *l) {
    size_t nframes;
    pf_frames(p, &nframes);
    memset(l, 0, sizeof *l);
    l->n = nframes ? nframes : 1;
    l->off = malloc(l->n * sizeof *l->off);
    l->rank = malloc(l->n * sizeof *l->rank);
    uint32_t *order = malloc(l->n * sizeof *order);
    if (!l->off || !l->rank || !order) {
        free(order);
        return -1;
    }
    for (size_t i = 0; i < l->n; i++) {
        char tmp[512];
        const char *text = "all";
        size_t len = 3;
        char *big = NULL;
        if (i) {
            int n = out_frame_label(p, (pf_frame_id)i, tmp, sizeof tmp);
            len = n > 0 ? (size_t)n : 0;
            text = tmp;
            if (len >= sizeof tmp) {
                big = malloc(len + 1);
                if (!big) {
                    free(order);
                    return -1;
                }
                out_frame_label(p, (pf_frame_id)i, big, len + 1);
                text = big;
            }
        }
        if (l->len + len + 1 > l->cap) {
            size_t cap = l->cap ? l->cap : 4096;
            while (cap < l->len + len + 1)
                cap *= 2;
            char *nb = realloc(l->buf, cap);
            if (!nb) {
                free(big);
                free(order);
                return -1;
            }
            l->buf = nb;
            l->cap = cap;
        }
        l->off[i] = l->len;
        memcpy(l->buf + l->len, text, len);
        l->buf[l->len + len] = 0;
        l->len += len + 1;
        free(big);
        order[i] = (uint32_t)i;
    }
    qsort_r(order, l->n, sizeof *order, cmp_frames_by_label, l);
    for (size_t i = 0; i < l->n; i++)
        l->rank[order[i]] = (uint32_t)i;
    free(order);
    return 0;
}

static void labels_free(labels *l) {
    free(l->buf);
    free(l->off);
    free(l->rank);
}

/* ---- the tree as drawn ------------------------------------------------------- */

/* The frames that will be drawn: the profile's tree, or the tree merged from
 * the leaf (reverse), keeping only nodes at least min_w wide. Each kept node
 * remembers how many narrower children it had and their weight, which is
 * all the picture needs of them; children are ordered by label so the
 * picture does not depend on input order. Pruning before sorting matters: a
 * million-line input has tens of millions of nodes, a picture ~100,000. */
typedef struct vnode {
    uint32_t frame, first_child, next_sibling, narrow_n;
    uint64_t self, total, narrow_w;
} vnode;

typedef struct vtree {
    vnode *n;
    size_t len, cap;
} vtree;

static uint32_t vt_add(vtree *t, uint32_t frame, uint64_t self, uint64_t total) {
    if (t->len == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        vnode *bigger = realloc(t->n, cap * sizeof *bigger);
        if (!bigger)
            return 0;
        t->n = bigger;
        t->cap = cap;
    }
    t->n[t->len] = (vnode){frame, 0, 0, 0, self, total, 0};
    return (uint32_t)t->len++;
}

typedef struct kid {
    uint32_t parent, rank, id;
} kid;

static int cmp_kids(const void *a, const void *b) {
    const kid *x = a, *y = b;
    if (x->parent != y->parent)
        return x->parent < y->parent ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* A whole tree in whichever shape it comes: the profile's nodes, or a
 * reversed trie (nodes plus parents). Parents always precede children. */
typedef struct src_tree {
    const pf_node *pn;
    const vnode *vn;
    const uint32_t *vparent;
    size_t n;
} src_tree;

#define SRC_PARENT(s, i) ((s)->pn ? (s)->pn[i].parent : (s)->vparent[i])
#define SRC_FRAME(s, i) ((s)->pn ? (i ? (s)->pn[i].frame : 0) : (s)->vn[i].frame)
#define SRC_SELF(s, i) ((s)->pn ? (s)->pn[i].self : (s)->vn[i].self)
#define SRC_TOTAL(s, i) ((s)->pn ? (s)->pn[i].total : (s)->vn[i].total)

/* Copies the nodes at least minwidth pixels wide (whose parents are kept)
 * into t and links them, siblings in label order. */
static int vt_compact(const src_tree *src, double minwidth, const labels *l, vtree *t) {
    uint32_t *cid = malloc((src->n ? src->n : 1) * sizeof *cid);
    size_t kcap = 1024, nk = 0;
    kid *k = malloc(kcap * sizeof *k);
    int rc = -1;
    memset(t, 0, sizeof *t);
    if (!cid || !k || !src->n)
        goto out;
    vt_add(t, 0, SRC_SELF(src, 0), SRC_TOTAL(src, 0));
    if (t->len != 1)
        goto out;
    double min_w = minwidth * (double)SRC_TOTAL(src, 0) / FRAME_W;
    cid[0] = 0;
    for (size_t i = 1; i < src->n; i++) {
        uint64_t w = SRC_TOTAL(src, i);
        uint32_t p = cid[SRC_PARENT(src, i)];
        cid[i] = UINT32_MAX;
        if (!w || p == UINT32_MAX)
            continue;
        if ((double)w < min_w) {
            t->n[p].narrow_w += w;
            t->n[p].narrow_n++;
            continue;
        }
        uint32_t frame = SRC_FRAME(src, i);
        uint32_t id = vt_add(t, frame, SRC_SELF(src, i), w);
        if (!id)
            goto out;
        if (nk == kcap) {
            kcap *= 2;
            kid *bigger = realloc(k, kcap * sizeof *bigger);
            if (!bigger)
                goto out;
            k = bigger;
        }
        k[nk++] = (kid){p, l->rank[frame], id};
        cid[i] = id;
    }
    qsort(k, nk, sizeof *k, cmp_kids);
    for (size_t i = 0; i < nk; i++) {
        if (!i || k[i - 1].parent != k[i].parent)
            t->n[k[i].parent].first_child = k[i].id;
        else
            t->n[k[i - 1].id].next_sibling = k[i].id;
    }
    rc = 0;
out:
    free(cid);
    free(k);
    return rc;
}

/* The tree merged from the leaf: each stack, read leaf first, goes into a
 * new trie keyed by (parent, frame). */
static int vt_reversed(const pf_profile *p, vnode **out_nodes, uint32_t **out_parent, size_t *out_n) {
    size_t n;
    const pf_node *nodes = pf_nodes(p, &n);
    vtree t = {0};
    size_t pcap = 1024;
    uint32_t *parent = malloc(pcap * sizeof *parent);
    u64map map = {0};
    int rc = -1;
    vt_add(&t, 0, 0, 0);
    if (!parent || t.len != 1)
        goto out;
    parent[0] = 0;
    for (size_t i = 1; i < n; i++) {
        uint64_t w = nodes[i].self;
        if (!w)
            continue;
        uint32_t at = 0;
        t.n[0].total += w;
        for (pf_node_id k = (pf_node_id)i; k != PF_ROOT; k = nodes[k].parent) {
            uint64_t key = (uint64_t)at << 32 | nodes[k].frame;
            uint32_t child = u64map_get(&map, key);
            if (child == U64MAP_NONE) {
                child = vt_add(&t, nodes[k].frame, 0, 0);
                if (!child)
                    goto out;
                if (child >= pcap) {
                    pcap *= 2;
                    uint32_t *bigger = realloc(parent, pcap * sizeof *bigger);
                    if (!bigger)
                        goto out;
                    parent = bigger;
                }
                if (u64map_put(&map, key, child) != 0)
                    goto out;
                parent[child] = at;
            }
            t.n[child].total += w;
            at = child;
        }
        t.n[at].self += w;
    }
    rc = 0;
out:
    u64map_free(&map);
    if (rc) {
        free(t.n);
        free(parent);
        return -1;
    }
    *out_nodes = t.n;
    *out_parent = parent;
    *out_n = t.len;
    return 0;
}

/* The drawn tree of p, forward or reversed, pruned at minwidth pixels. */
static int vt_build(const pf_profile *p, int reverse, double minwidth, const labels *l, vtree *t) {
    src_tree src = {0};
    vnode *rn = NULL;
    uint32_t *rp = NULL;
    if (reverse) {
        if (vt_reversed(p, &rn, &rp, &src.n) != 0)
            return -1;
        src.vn = rn, src.vparent = rp;
    } else {
        src.pn = pf_nodes(p, &src.n);
    }
    int rc = vt_compact(&src, minwidth, l, t);
    free(rn);
    free(rp);
    return rc;
}

/* The same drawn tree straight from the input's lines (out_read_folded_stacks),
 * top down: the lines below a drawn node are split by their frame at the
 * next depth, each group is a child, and a group narrower than min_w is only
 * counted, never split further. So the work is the lines times the depth at
 * which they become too narrow to draw, and no node below that is ever made;
 * a group's lines are kept contiguous in one index array, split in place by
 * a counting pass. Children come out in label order, as vt_compact's do. */
typedef struct split_task {
    uint32_t node, depth;
    size_t a, b; /* the group: idx[a .. b) */
} split_task;

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int vt_from_stacks(const out_stacks *s, int reverse, double minwidth, const labels *l, vtree *t) {
    size_t nr = l->n, n = s->nlines;
    uint32_t *by_rank = malloc(nr * sizeof *by_rank);  /* rank -> frame */
    uint32_t *slot = malloc(nr * sizeof *slot);        /* rank -> this group's child slot */
    uint64_t *w = malloc(nr * sizeof *w), *self = malloc(nr * sizeof *self);
    uint64_t *order = malloc(nr * sizeof *order);      /* rank << 32 | slot, sorted */
    size_t *cnt = malloc(nr * sizeof *cnt), *pos = malloc(nr * sizeof *pos);
    uint32_t *idx = malloc((n ? n : 1) * sizeof *idx), *tmp = malloc((n ? n : 1) * sizeof *tmp);
    uint32_t *key = malloc((n ? n : 1) * sizeof *key); /* a line's slot in its group, or UINT32_MAX */
    size_t tcap = 256, nt = 0;
    split_task *task = malloc(tcap * sizeof *task);
    int rc = -1;
    memset(t, 0, sizeof *t);
    if (!by_rank || !slot || !w || !self || !order || !cnt || !pos || !idx || !tmp || !key || !task)
        goto out;
    if (n > UINT32_MAX || nr > UINT32_MAX)
        goto out;
    for (size_t f = 0; f < nr; f++) {
        by_rank[l->rank[f]] = (uint32_t)f;
        slot[f] = UINT32_MAX;
    }
    size_t ni = 0;
    for (size_t i = 0; i < n; i++)
        if (s->lines[i].count)
            idx[ni++] = (uint32_t)i;
    vt_add(t, 0, 0, s->total);
    if (t->len != 1)
        goto out;
    double min_w = minwidth * (double)s->total / FRAME_W;
    task[nt++] = (split_task){0, 0, 0, ni};
    while (nt) {
        split_task g = task[--nt];
        size_t d = g.depth, nk = 0;
        /* Which child each line goes to, and each child's weights. */
        for (size_t i = g.a; i < g.b; i++) {
            if (i + 8 < g.b) { /* the lines are far apart in memory: ask early */
                const out_stack_line *ahead = &s->lines[idx[i + 8]];
                __builtin_prefetch(&s->frames[ahead->off + (reverse ? ahead->len - 1 - d : d)]);
                if (i + 16 < g.b)
                    __builtin_prefetch(&s->lines[idx[i + 16]]);
            }
            const out_stack_line *ln = &s->lines[idx[i]];
            if (ln->len <= d) {
                key[i] = UINT32_MAX; /* ends at this node: its self weight, counted by the parent */
                continue;
            }
            pf_frame_id fr = s->frames[ln->off + (reverse ? ln->len - 1 - d : d)];
            uint32_t r = l->rank[fr], k = slot[r];
            if (k == UINT32_MAX) {
                k = slot[r] = (uint32_t)nk;
                order[nk++] = (uint64_t)r << 32 | k;
                w[k] = self[k] = 0;
                cnt[k] = 0;
            }
            w[k] += ln->count;
            cnt[k]++;
            if (ln->len == d + 1)
                self[k] += ln->count;
            key[i] = k;
        }
        qsort(order, nk, sizeof *order, cmp_u64);
        /* Children in label order: the narrow ones counted, the others made
         * and given consecutive ranges of the group. */
        size_t at = 0;
        uint32_t last = 0;
        for (size_t j = 0; j < nk; j++) {
            uint32_t k = (uint32_t)order[j], r = (uint32_t)(order[j] >> 32);
            slot[r] = UINT32_MAX;
            if ((double)w[k] < min_w) {
                t->n[g.node].narrow_w += w[k];
                t->n[g.node].narrow_n++;
                pos[k] = SIZE_MAX;
                continue;
            }
            uint32_t c = vt_add(t, by_rank[r], self[k], w[k]);
            if (!c)
                goto out;
            if (last)
                t->n[last].next_sibling = c;
            else
                t->n[g.node].first_child = c;
            last = c;
            if (nt == tcap) {
                tcap *= 2;
                split_task *bigger = realloc(task, tcap * sizeof *bigger);
                if (!bigger)
                    goto out;
                task = bigger;
            }
            task[nt++] = (split_task){c, (uint32_t)(d + 1), g.a + at, g.a + at + cnt[k]};
            pos[k] = at;
            at += cnt[k];
        }
        /* Gather each drawn child's lines into its range. */
        for (size_t i = g.a; i < g.b; i++) {
            uint32_t k = key[i];
            if (k != UINT32_MAX && pos[k] != SIZE_MAX)
                tmp[pos[k]++] = idx[i];
        }
        memcpy(idx + g.a, tmp, at * sizeof *idx);
    }
    rc = 0;
out:
    if (rc) {
        free(t->n);
        memset(t, 0, sizeof *t);
    }
    free(by_rank);
    free(slot);
    free(w);
    free(self);
    free(order);
    free(cnt);
    free(pos);
    free(idx);
    free(tmp);
    free(key);
    free(task);
    return rc;
}

/* ---- origin and colour ------------------------------------------------------- */

enum { ORIG_OWN, ORIG_STDLIB, ORIG_THIRD, ORIG_NATIVE, ORIG_ROOT, ORIG_OTHER, NORIG };
static const char *const origin_names[NORIG] = {"own code", "standard library", "third-party",
                                                "native", "thread / process", "other"};
static const char *const origin_swatch[NORIG] = {"#f0a060", "#78b4e6", "#90d890", "#d4c896", "#c0a8e8", "#c8c8c8"};

/* Does file contain "/lib/pythonX[.Y]/" (an interpreter's standard library)? */
static int in_stdlib(const char *file) {
    for (const char *s = strstr(file, "/lib/python"); s; s = strstr(s + 1, "/lib/python")) {
        const char *c = s + 11;
        if (*c < '0' || *c > '9')
            continue;
        while ((*c >= '0' && *c <= '9') || *c == '.')
            c++;
        if (*c == '/')
            return 1;
    }
    return 0;
}

static int origin_of(const pf_profile *p, const pf_func *fn) {
    switch (fn->kind) {
    case PF_FUNC_NATIVE: return ORIG_NATIVE;
    case PF_FUNC_THREAD:
    case PF_FUNC_PROCESS: return ORIG_ROOT;
    case PF_FUNC_OTHER: return ORIG_OTHER;
    default: break;
    }
    switch (fn->origin) { /* known when whoever shortened the file name said so */
    case PF_ORIGIN_OWN: return ORIG_OWN;
    case PF_ORIGIN_STDLIB: return ORIG_STDLIB;
    case PF_ORIGIN_THIRD_PARTY: return ORIG_THIRD;
    default: break;
    }
    const char *file = pf_str(p, fn->file);
    if (strstr(file, "/site-packages/") || strstr(file, "/dist-packages/"))
        return ORIG_THIRD;
    if (in_stdlib(file) || !strncmp(file, "<frozen ", 8))
        return ORIG_STDLIB;
    return ORIG_OWN;
}

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return u64map_hash(h);
}

/* A colour within the origin's palette, the same for the same function name
 * in every graph, so a function is recognisable across files. */
static void origin_colour(int origin, const char *name, char out[8]) {
    uint64_t h = hash_str(name);
    unsigned a = (unsigned)(h & 0xff), b = (unsigned)(h >> 8 & 0xff);
    unsigned r, g, bl;
    switch (origin) {
    case ORIG_OWN: r = 225 + a * 30 / 255, g = 95 + b * 100 / 255, bl = 50 + a * 30 / 255; break;
    case ORIG_STDLIB: r = 95 + b * 45 / 255, g = 150 + a * 45 / 255, bl = 215 + b * 35 / 255; break;
    case ORIG_THIRD: r = 110 + a * 55 / 255, g = 190 + b * 40 / 255, bl = 95 + a * 45 / 255; break;
    case ORIG_NATIVE: r = 190 + a * 30 / 255, g = 175 + a * 30 / 255, bl = 130 + b * 35 / 255; break;
    case ORIG_ROOT: r = 175 + a * 30 / 255, g = 150 + b * 30 / 255, bl = 220 + a * 30 / 255; break;
    default: r = g = bl = 195 + a * 20 / 255; break;
    }
    snprintf(out, 8, "#%02x%02x%02x", r, g, bl);
}

/* ---- differential ------------------------------------------------------------ */

/* For each drawn node, the self weight of the baseline node reached by the
 * same sequence of labels (0 if none). Both trees have siblings sorted by
 * label, so matching children is a merge of two sorted lists. */
static int diff_match(const vtree *cur, const labels *lc, const vtree *base, const labels *lb, uint64_t *bself) {
    uint32_t(*stack)[2] = malloc((cur->len ? cur->len : 1) * sizeof *stack);
    if (!stack)
        return -1;
    size_t sp = 0;
    memset(bself, 0, cur->len * sizeof *bself);
    stack[sp][0] = 0, stack[sp][1] = 0, sp++;
    bself[0] = base->n[0].self;
    while (sp) {
        sp--;
        uint32_t c = cur->n[stack[sp][0]].first_child, b = base->n[stack[sp][1]].first_child;
        while (c && b) {
            int cmp = strcmp(label_of(lc, cur->n[c].frame), label_of(lb, base->n[b].frame));
            if (cmp < 0)
                c = cur->n[c].next_sibling;
            else if (cmp > 0)
                b = base->n[b].next_sibling;
            else {
                bself[c] = base->n[b].self;
                stack[sp][0] = c, stack[sp][1] = b, sp++;
                c = cur->n[c].next_sibling;
                b = base->n[b].next_sibling;
            }
        }
    }
    free(stack);
    return 0;
}

/* ---- layout ------------------------------------------------------------------ */

typedef struct item {
    uint32_t node;   /* the drawn node, or the parent of a merged frame */
    uint32_t merged; /* > 0: this many narrow siblings drawn as one */
    uint32_t depth;
    uint64_t start, weight;
} item;

/* Breadth-first, so items come out row by row, each row left to right; the
 * narrow children of a frame follow its drawn ones as one merged frame when
 * together they are wide enough to see. */
static item *layout(const vtree *t, double min_w, size_t *nitems, uint32_t *maxdepth) {
    size_t cap = 1024, n = 0;
    item *it = malloc(cap * sizeof *it);
    if (!it)
        return NULL;
    it[n++] = (item){0, 0, 0, 0, t->n[0].total};
    *maxdepth = 0;
    for (size_t q = 0; q < n; q++) {
        item cur = it[q];
        if (cur.depth > *maxdepth)
            *maxdepth = cur.depth;
        if (cur.merged)
            continue;
        const vnode *v = &t->n[cur.node];
        uint64_t at = cur.start;
        for (uint32_t c = v->first_child;; c = t->n[c].next_sibling) {
            int merged = !c;
            if (merged && !(v->narrow_n && v->narrow_w && (double)v->narrow_w >= min_w))
                break;
            if (n == cap) {
                cap *= 2;
                item *bigger = realloc(it, cap * sizeof *bigger);
                if (!bigger) {
                    free(it);
                    return NULL;
                }
                it = bigger;
            }
            if (merged) {
                it[n++] = (item){cur.node, v->narrow_n, cur.depth + 1, at, v->narrow_w};
                break;
            }
            it[n++] = (item){c, 0, cur.depth + 1, at, t->n[c].total};
            at += t->n[c].total;
        }
    }
    *nitems = n;
    return it;
}

/* ---- the script ---------------------------------------------------------------- */

/* The script and style are src/output/assets/flame.{js,css} (see assets.h).
 * The script reads everything it needs from the markup: a frame's row is its
 * depth, its exact start and weight come back from x and width, its name and
 * place from the title's first two lines. */

/* ---- the writer -------------------------------------------------------------- */

static void diff_colour(uint64_t self, uint64_t total, uint64_t bself, uint64_t btotal, double maxd, char out[8]) {
    double d = (total ? (double)self / total : 0) - (btotal ? (double)bself / btotal : 0);
    double v = maxd > 0 ? fabs(d) / maxd : 0;
    unsigned k = (unsigned)(v * 200 + 0.5);
    if (d > 0)
        snprintf(out, 8, "#ff%02x%02x", 255 - k, 255 - k);
    else if (d < 0)
        snprintf(out, 8, "#%02x%02xff", 255 - k, 255 - k);
    else
        snprintf(out, 8, "#ffffff");
}

static int write_svg(const pf_profile *p, out_buf *o, const out_options *opt, pf_error *err) {
    size_t nframes, nfuncs;
    const pf_frame *frames = pf_frames(p, &nframes);
    const pf_func *funcs = pf_funcs(p, &nfuncs);
    const pf_profile *base = opt ? opt->baseline : NULL;
    int reverse = opt && opt->reverse, inverted = opt && opt->inverted;
    double minwidth = opt && opt->minwidth >= 0 && isfinite(opt->minwidth) ? opt->minwidth : 0.1;
    const char *title = opt && opt->title ? opt->title : "pyflare";
    const char *subtitle = opt && opt->subtitle && *opt->subtitle ? opt->subtitle : NULL;
    const pf_meta *meta = pf_profile_meta_const(p);
    int is_ns = meta->weight_unit && !strcmp(meta->weight_unit, "nanoseconds");

    labels lc = {0}, lb = {0};
    vtree vc = {0}, vb = {0};
    uint64_t *bself = NULL;
    item *items = NULL;
    char (*fcolour)[8] = NULL; /* per function: its colour ("" = not yet known) and origin */
    unsigned char *forigin = NULL;
    int rc = -1;
    const out_stacks *stacks = opt ? opt->stacks : NULL, *bstacks = opt ? opt->baseline_stacks : NULL;
    if (labels_build(p, &lc) != 0)
        goto oom;
    if (stacks ? vt_from_stacks(stacks, reverse, minwidth, &lc, &vc) : vt_build(p, reverse, minwidth, &lc, &vc))
        goto oom;
    if (base) {
        if (labels_build(base, &lb) != 0)
            goto oom;
        if (bstacks ? vt_from_stacks(bstacks, reverse, 0, &lb, &vb) : vt_build(base, reverse, 0, &lb, &vb))
            goto oom;
        bself = malloc((vc.len ? vc.len : 1) * sizeof *bself);
        if (!bself || diff_match(&vc, &lc, &vb, &lb, bself) != 0)
            goto oom;
    }
    uint64_t total = vc.n[0].total, btotal = base ? vb.n[0].total : 0;
    /* A frame is narrow when weight * FRAME_W / total < minwidth. */
    double min_w = minwidth * (double)total / FRAME_W;
    size_t nitems = 0;
    uint32_t maxdepth = 0;
    items = total ? layout(&vc, min_w, &nitems, &maxdepth) : NULL;
    if (total && !items)
        goto oom;

    /* The largest change of self share among drawn frames scales the colours. */
    double maxd = 0;
    if (base)
        for (size_t i = 0; i < nitems; i++) {
            if (items[i].merged)
                continue;
            const vnode *v = &vc.n[items[i].node];
            double d = fabs((double)v->self / total - (btotal ? (double)bself[items[i].node] / btotal : 0));
            if (d > maxd)
                maxd = d;
        }

    int dec = 1;
    uint64_t p10 = 10;
    while (dec < 6 && (double)p10 <= 2.0 * (double)total / FRAME_W)
        dec++, p10 *= 10;

    int top_h = subtitle ? 60 : 44;
    int rows = total ? (int)maxdepth + 1 : 1;
    int height = top_h + rows * ROW_H + BOTTOM_H;

    out_buf_puts(o, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
    out_buf_printf(o,
              "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
              "xmlns=\"http://www.w3.org/2000/svg\">\n",
              IMG_W, height, IMG_W, height);
    out_buf_puts(o, "<style>");
    out_buf_puts(o, out_asset_flame_css);
    out_buf_puts(o, "</style>\n");
    out_buf_puts(o, "<rect width=\"100%\" height=\"100%\" fill=\"#f2f2ee\"/>\n");
    out_buf_printf(o, "<text class=\"ti\" x=\"%d\" y=\"26\" text-anchor=\"middle\">", IMG_W / 2);
    xml_str(o, title);
    out_buf_puts(o, "</text>\n");
    if (subtitle) {
        out_buf_printf(o, "<text x=\"%d\" y=\"46\" text-anchor=\"middle\" fill=\"#555\">", IMG_W / 2);
        xml_str(o, subtitle);
        out_buf_puts(o, "</text>\n");
    }
    out_buf_printf(o, "<text id=\"rz\" class=\"b\" x=\"%d\" y=\"26\" style=\"display:none\">Reset Zoom</text>\n", PAD);
    out_buf_printf(o, "<text id=\"sb\" class=\"b\" x=\"%d\" y=\"26\" text-anchor=\"end\">Search</text>\n", IMG_W - PAD);
    out_buf_printf(o, "<text id=\"m\" x=\"%d\" y=\"%d\" text-anchor=\"end\"></text>\n", IMG_W - PAD, height - 12);
    if (!total)
        out_buf_printf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">No samples</text>\n", IMG_W / 2,
                  top_h + ROW_H);

    unsigned origins_seen = 0;
    fcolour = calloc(nfuncs ? nfuncs : 1, sizeof *fcolour);
    forigin = malloc(nfuncs ? nfuncs : 1);
    if (!fcolour || !forigin)
        goto oom;
    out_buf_puts(o, "<g id=\"f\">");
    uint32_t row = UINT32_MAX;
    for (size_t i = 0; i < nitems; i++) {
        const item *it = &items[i];
        if (it->depth != row) {
            if (row != UINT32_MAX)
                out_buf_puts(o, "</g>");
            row = it->depth;
            int y = top_h + (int)(inverted ? row : maxdepth - row) * ROW_H;
            out_buf_printf(o, "\n<g transform=\"translate(%d,%d)\">", PAD, y);
        }
        const vnode *v = &vc.n[it->node];
        const pf_func *fn = NULL;
        const char *name = "all";
        char colour[8] = "#c8c8c8";
        if (!it->merged && it->node) {
            const pf_frame *fr = &frames[v->frame];
            fn = &funcs[fr->func];
            name = pf_str(p, fn->name);
        }
        if (base && !it->merged)
            diff_colour(v->self, total, bself[it->node], btotal, maxd, colour);
        else if (fn) {
            /* A function's colour depends on it alone: worked out once. */
            size_t f = (size_t)(fn - funcs);
            if (!fcolour[f][0]) {
                forigin[f] = (unsigned char)origin_of(p, fn);
                origin_colour(forigin[f], name, fcolour[f]);
            }
            origins_seen |= 1u << forigin[f];
            memcpy(colour, fcolour[f], sizeof colour);
        }

        out_buf_puts(o, it->merged ? "\n<g class=\"m\"><title>" : "\n<g><title>");
        if (it->merged) {
            out_buf_printf(o, "%" PRIu32 " frames narrower than %.2g px, merged\n\n", it->merged, minwidth);
        } else {
            xml_str(o, name);
            out_buf_puts(o, "\n");
            if (fn && fn->kind != PF_FUNC_THREAD && fn->kind != PF_FUNC_PROCESS && fn->kind != PF_FUNC_OTHER &&
                fn->file && *pf_str(p, fn->file)) {
                xml_str(o, pf_str(p, fn->file));
                if (frames[v->frame].line > 0) {
                    out_buf_put(o, ":", 1);
                    out_buf_u64(o, (uint64_t)frames[v->frame].line);
                }
            }
            out_buf_puts(o, "\n");
        }
        put_weight(o, it->weight, is_ns);
        out_buf_put(o, " (", 2);
        out_buf_fixed(o, 100.0 * (double)it->weight / (double)total, 2);
        out_buf_put(o, "%)", 2);
        if (base && !it->merged) {
            double after = 100.0 * (double)v->self / total;
            double before = btotal ? 100.0 * (double)bself[it->node] / btotal : 0;
            out_buf_printf(o, "\nself %.2f%% -> %.2f%% (%+.2f)", before, after, after - before);
        }
        out_buf_puts(o, "</title><rect x=\"");
        put_px(o, it->start, total, dec, p10);
        out_buf_puts(o, "\" width=\"");
        put_px(o, it->weight, total, dec, p10);
        out_buf_puts(o, "\" height=\"" RECT_H_STR "\" fill=\"");
        out_buf_put(o, colour, 7);
        out_buf_put(o, "\"/>", 3);

        double wpx = (double)it->weight * FRAME_W / (double)total;
        size_t chars = (size_t)floor(wpx / CHAR_W);
        if (chars >= 3) {
            double xpx = (double)it->start * FRAME_W / (double)total;
            out_buf_puts(o, "<text x=\"");
            out_buf_fixed(o, xpx + 3, 1);
            out_buf_puts(o, "\" y=\"11\">");
            if (it->merged) {
                char tmp[96];
                int n = snprintf(tmp, sizeof tmp, "%" PRIu32 " frames narrower than %.2g px, merged", it->merged,
                                 minwidth);
                out_esc_xml(o, tmp, (size_t)n, chars);
            } else {
                const char *l = label_of(&lc, v->frame);
                out_esc_xml(o, l, strlen(l), chars);
            }
            out_buf_puts(o, "</text>");
        }
        out_buf_puts(o, "</g>");
    }
    if (row != UINT32_MAX)
        out_buf_puts(o, "</g>");
    out_buf_puts(o, "\n</g>\n");

    /* Legend: what the colours mean. */
    int lx = PAD, ly = height - 24;
    out_buf_printf(o, "<g transform=\"translate(%d,%d)\">", lx, ly);
    int x = 0;
    if (base) {
        out_buf_puts(o, "<rect width=\"10\" height=\"10\" fill=\"#ff5050\"/><text x=\"14\" y=\"9\">self share grew</text>"
                   "<rect x=\"130\" width=\"10\" height=\"10\" fill=\"#5050ff\"/>"
                   "<text x=\"144\" y=\"9\">shrank (compared with the baseline)</text>");
    } else {
        for (int k = 0; k < NORIG; k++) {
            if (!(origins_seen & 1u << k))
                continue;
            out_buf_printf(o, "<rect x=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"9\">%s</text>", x,
                      origin_swatch[k], x + 14, origin_names[k]);
            x += 14 + (int)(strlen(origin_names[k]) * CHAR_W) + 16;
        }
    }
    out_buf_puts(o, "</g>\n");

    out_buf_puts(o, "<g id=\"tip\" style=\"display:none\" pointer-events=\"none\"><rect rx=\"3\"/><text></text></g>\n");
    out_buf_printf(o, "<script><![CDATA[\nvar T=%" PRIu64 ",FW=%d,CW=%g,NSU=%d;\n", total, FRAME_W, CHAR_W, is_ns);
    out_buf_puts(o, out_asset_flame_js);
    out_buf_puts(o, "]]></script>\n</svg>\n");
    rc = 0;
    goto done;
oom:
    rc = pf_fail(err, PF_ERR_NOMEM, "out of memory drawing the flame graph");
done:
    free(fcolour);
    free(forigin);
    free(items);
    free(bself);
    free(vc.n);
    free(vb.n);
    labels_free(&lc);
    labels_free(&lb);
    return rc;
}

int out_write_svg(const pf_profile *p, FILE *f, const out_options *o, pf_error *err) {
    if (pf_profile_failed(p) || (o && o->baseline && pf_profile_failed(o->baseline)))
        return pf_fail(err, PF_ERR_NOMEM, "the profile is incomplete (out of memory while recording)");
    return out_buf_write(p, f, o, "svg", write_svg, err);
}
