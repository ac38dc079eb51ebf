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
#include "report/legend.h"
#include "report/order.h"
#include "report/tree.h"

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

/* A frame's folded label ("all" for the root) in *buf, grown as needed;
 * NULL when out of memory. Only drawn frames wide enough for text need one. */
static const char *label_of(const pf_profile *p, pf_frame_id frame, char **buf, size_t *cap) {
    if (!frame)
        return "all";
    int n = out_frame_label(p, frame, *buf, *cap);
    if (n >= 0 && (size_t)n >= *cap) {
        char *bigger = realloc(*buf, (size_t)n + 1);
        if (!bigger)
            return NULL;
        *buf = bigger;
        *cap = (size_t)n + 1;
        out_frame_label(p, frame, *buf, *cap);
    }
    return *buf;
}

/* ---- the tree as drawn ------------------------------------------------------- */

/* The frames that will be drawn are report/tree.h's display tree, pruned at
 * minwidth pixels: built from the profile, or, for folded rows, here. */

/* The same drawn tree straight from the input's lines (in_read_folded_stacks),
 * top down: the lines below a drawn node are split by their frame at the
 * next depth, each group is a child, and a group narrower than min_w is only
 * counted, never split further. So the work is the lines times the depth at
 * which they become too narrow to draw, and no node below that is ever made;
 * a group's lines are kept contiguous in one index array, split in place by
 * a counting pass. Children come out in the one order (report/order.h), as
 * rp_tree_build's do. */
typedef struct split_task {
    uint32_t node, depth;
    size_t a, b; /* the group: idx[a .. b) */
} split_task;

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int tree_from_stacks(const in_stacks *s, int reverse, double minwidth, const uint32_t *ranks, size_t nframes,
                            rp_tree *t) {
    size_t nr = nframes ? nframes : 1, n = s->nlines;
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
        by_rank[ranks[f]] = (uint32_t)f;
        slot[f] = UINT32_MAX;
    }
    size_t ni = 0;
    for (size_t i = 0; i < n; i++)
        if (s->lines[i].count)
            idx[ni++] = (uint32_t)i;
    rp_tree_add(t, 0, 0, s->total);
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
                const in_stack_line *ahead = &s->lines[idx[i + 8]];
                __builtin_prefetch(&s->frames[ahead->off + (reverse ? ahead->len - 1 - d : d)]);
                if (i + 16 < g.b)
                    __builtin_prefetch(&s->lines[idx[i + 16]]);
            }
            const in_stack_line *ln = &s->lines[idx[i]];
            if (ln->len <= d) {
                key[i] = UINT32_MAX; /* ends at this node: its self weight, counted by the parent */
                continue;
            }
            pf_frame_id fr = s->frames[ln->off + (reverse ? ln->len - 1 - d : d)];
            uint32_t r = ranks[fr], k = slot[r];
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
            uint32_t c = rp_tree_add(t, by_rank[r], self[k], w[k]);
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
    if (rc)
        rp_tree_free(t);
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

/* Swatches for the legend, one per rp_legend entry; frames get shades of them. */
static const char *const legend_swatch[RP_NLEGEND] = {"#f0a060", "#78b4e6", "#90d890", "#d4c896", "#c0a8e8", "#c8c8c8"};

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return u64map_hash(h);
}

/* A colour within the origin's palette, the same for the same function name
 * in every graph, so a function is recognisable across files. */
static void origin_colour(rp_legend origin, const char *name, char out[8]) {
    uint64_t h = hash_str(name);
    unsigned a = (unsigned)(h & 0xff), b = (unsigned)(h >> 8 & 0xff);
    unsigned r, g, bl;
    switch (origin) {
    case RP_OWN: r = 225 + a * 30 / 255, g = 95 + b * 100 / 255, bl = 50 + a * 30 / 255; break;
    case RP_STDLIB: r = 95 + b * 45 / 255, g = 150 + a * 45 / 255, bl = 215 + b * 35 / 255; break;
    case RP_THIRD_PARTY: r = 110 + a * 55 / 255, g = 190 + b * 40 / 255, bl = 95 + a * 45 / 255; break;
    case RP_NATIVE: r = 190 + a * 30 / 255, g = 175 + a * 30 / 255, bl = 130 + b * 35 / 255; break;
    case RP_ROOT: r = 175 + a * 30 / 255, g = 150 + b * 30 / 255, bl = 220 + a * 30 / 255; break;
    default: r = g = bl = 195 + a * 20 / 255; break;
    }
    snprintf(out, 8, "#%02x%02x%02x", r, g, bl);
}

/* ---- differential ------------------------------------------------------------ */

/* For each drawn node, the self weight of the baseline node reached by the
 * same sequence of frames (0 if none). Both trees have siblings in the one
 * order, so matching children is a merge of two sorted lists. */
static int diff_match(const pf_profile *pc, const rp_tree *cur, const pf_profile *pb, const rp_tree *base,
                      uint64_t *bself) {
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
            int cmp = rp_frame_cmp(pc, cur->n[c].frame, pb, base->n[b].frame);
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
static item *layout(const rp_tree *t, double min_w, size_t *nitems, uint32_t *maxdepth) {
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
        const rp_node *v = &t->n[cur.node];
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
    int is_ns = meta->mode == PF_MODE_TRACED; /* traced weights are nanoseconds, sampled ones counts */

    uint32_t *rc_ranks = NULL, *rb_ranks = NULL;
    rp_tree vc = {0}, vb = {0};
    char *label = NULL;
    size_t label_cap = 0;
    uint64_t *bself = NULL;
    item *items = NULL;
    char (*fcolour)[8] = NULL; /* per function: its colour ("" = not yet known) and origin */
    unsigned char *forigin = NULL;
    int rc = -1;
    const in_stacks *stacks = opt ? opt->stacks : NULL, *bstacks = opt ? opt->baseline_stacks : NULL;
    if (!(rc_ranks = rp_frame_ranks(p)))
        goto oom;
    if (stacks ? tree_from_stacks(stacks, reverse, minwidth, rc_ranks, nframes, &vc)
               : rp_tree_build(p, reverse, minwidth, FRAME_W, rc_ranks, &vc))
        goto oom;
    if (base) {
        size_t nbframes;
        pf_frames(base, &nbframes);
        if (!(rb_ranks = rp_frame_ranks(base)))
            goto oom;
        if (bstacks ? tree_from_stacks(bstacks, reverse, 0, rb_ranks, nbframes, &vb)
                    : rp_tree_build(base, reverse, 0, FRAME_W, rb_ranks, &vb))
            goto oom;
        bself = malloc((vc.len ? vc.len : 1) * sizeof *bself);
        if (!bself || diff_match(p, &vc, base, &vb, bself) != 0)
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
            const rp_node *v = &vc.n[items[i].node];
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
        const rp_node *v = &vc.n[it->node];
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
                forigin[f] = (unsigned char)rp_legend_of(fn);
                origin_colour((rp_legend)forigin[f], name, fcolour[f]);
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
                const char *l = label_of(p, v->frame, &label, &label_cap);
                if (!l)
                    goto oom;
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
        for (int k = 0; k < RP_NLEGEND; k++) {
            if (!(origins_seen & 1u << k))
                continue;
            out_buf_printf(o, "<rect x=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"9\">%s</text>", x,
                      legend_swatch[k], x + 14, rp_legend_names[k]);
            x += 14 + (int)(strlen(rp_legend_names[k]) * CHAR_W) + 16;
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
    rp_tree_free(&vc);
    rp_tree_free(&vb);
    free(rc_ranks);
    free(rb_ranks);
    free(label);
    return rc;
}

int out_write_svg(const pf_profile *p, FILE *f, const out_options *o, pf_error *err) {
    if (pf_profile_failed(p) || (o && o->baseline && pf_profile_failed(o->baseline)))
        return pf_fail(err, PF_ERR_NOMEM, "the profile is incomplete (out of memory while recording)");
    return out_buf_write(p, f, o, "svg", write_svg, err);
}
