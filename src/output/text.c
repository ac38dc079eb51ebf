/* text.c — a report for the terminal, in the spirit of pyinstrument's
 * console output: a header (what ran, for how long, how it was measured), a
 * table of the top functions by own time with their own and total shares,
 * and the call tree with percentages.
 *
 * The tree is report/tree.h's display tree. It hides frames under 1% of the
 * total, lists children heaviest first (siblings of equal weight in the one
 * order of report/order.h, as every other output draws them) and collapses long pass-through chains (frames that only call one visible
 * child and lose under 1% on the way, typical of framework plumbing) into one
 * "[N frames hidden]" line, keeping the first and last of the chain. Below
 * MAX_DEPTH printed levels the tree ends with "[deeper frames not shown]",
 * which also bounds the recursion here.
 *
 * Names are escaped (control characters and invalid UTF-8 become visible
 * escapes) so a hostile name cannot send escape sequences to the terminal.
 * ANSI colour only when o->color: the CLI decides from isatty and NO_COLOR.
 *
 * After the top functions, the hottest lines (report/lines.h): file:line, own
 * and total %, and the line's source when o->read_source can read the file. */
#include "output/writer.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/aggregate.h"
#include "report/lines.h"
#include "report/tree.h"
#include "output/escape.h"
#include "output/outbuf.h"

#define MAX_DEPTH 120
#define MIN_RUN 5 /* collapse pass-through chains at least this long */

typedef struct tctx {
    out_buf *o;
    const pf_profile *p;
    const rp_node *nodes; /* the display tree's; node 0 is the root */
    uint64_t grand;
    int color, traced;
    double unit_ns;   /* nanoseconds per unit of weight; 0 = show counts */
    double scale;     /* display divisor for nanoseconds */
    const char *unit; /* its name */
    char *prefix;
    size_t prefix_len;
} tctx;

static const char *c_(const tctx *t, const char *code) { return t->color ? code : ""; }
#define RESET(t) c_(t, "\033[0m")
#define DIM(t) c_(t, "\033[2m")

static const char *pct_color(const tctx *t, double pct) {
    if (!t->color)
        return "";
    return pct >= 50 ? "\033[1;31m" : pct >= 20 ? "\033[33m" : pct >= 5 ? "\033[32m" : "\033[2m";
}

static double pct_of(const tctx *t, uint64_t w) { return t->grand ? 100.0 * (double)w / (double)t->grand : 0; }

/* Weight w in the report's unit, as a fixed-width column. */
static void w_weight(const tctx *t, uint64_t w, int width) {
    if (t->unit_ns > 0)
        out_buf_printf(t->o, "%*.3f", width, (double)w * t->unit_ns / t->scale);
    else
        out_buf_printf(t->o, "%*" PRIu64, width, w);
}

static void w_label(const tctx *t, pf_frame_id frame) {
    size_t nfr, nfn;
    const pf_frame *frames = pf_frames(t->p, &nfr);
    const pf_func *funcs = pf_funcs(t->p, &nfn);
    const pf_frame *fr = frame < nfr ? &frames[frame] : &frames[0];
    const pf_func *fn = fr->func < nfn ? &funcs[fr->func] : &funcs[0];
    const char *name = pf_str(t->p, fn->name), *file = pf_str(t->p, fn->file);
    out_esc_text(t->o, *name ? name : "???");
    if (fn->kind == PF_FUNC_THREAD || fn->kind == PF_FUNC_PROCESS || fn->kind == PF_FUNC_OTHER || !*file ||
        !strcmp(file, "~"))
        return;
    out_buf_printf(t->o, "  %s", DIM(t));
    out_esc_text(t->o, file);
    int line = fr->line > 0 ? fr->line : fn->firstline;
    if (line > 0)
        out_buf_printf(t->o, ":%d", line);
    out_buf_puts(t->o, RESET(t));
}

/* The header states only what the profile knows: a profile converted from folded
 * stacks has no command, duration or rate, and its weights are stack counts. */
static void w_header(const tctx *t) {
    const pf_meta *m = pf_profile_meta_const(t->p);
    const char *cmd = pf_str(t->p, m->command), *py = pf_str(t->p, m->python);
    out_buf_printf(t->o, "%spyflare%s", c_(t, "\033[1m"), RESET(t));
    if (*cmd) {
        out_buf_puts(t->o, "  ");
        out_esc_text(t->o, cmd);
    }
    out_buf_putc(t->o, '\n');
    char dur[48] = "";
    if (m->duration_ns >= 1000000000u)
        snprintf(dur, sizeof dur, " %.3f s", (double)m->duration_ns / 1e9);
    else if (m->duration_ns)
        snprintf(dur, sizeof dur, " %.3f ms", (double)m->duration_ns / 1e6);
    /* A sampled profile's weight counts stacks: one per thread sampled at each tick. */
    if (t->traced)
        out_buf_printf(t->o, "Traced%s", dur);
    else
        out_buf_printf(t->o, "Sampled%s: %" PRIu64 " stack%s", dur, t->grand, t->grand == 1 ? "" : "s");
    if (!t->traced && m->rate_hz > 0)
        out_buf_printf(t->o, " at %.6g Hz", m->rate_hz);
    if (*py) {
        out_buf_puts(t->o, ", Python ");
        out_esc_text(t->o, py);
    }
    out_buf_putc(t->o, '\n');
    if (t->unit_ns > 0)
        out_buf_printf(t->o, "Times in %s%s.\n", t->unit, t->traced ? "" : " (stacks times the sampling period)");
    else
        out_buf_puts(t->o, "Weights are stack counts (the sampling rate is not known).\n");
}

typedef struct top_row {
    pf_func_id func;
    const out_agg_fn *fn;
} top_row;

static int by_self(const void *a, const void *b) {
    const out_agg_fn *x = ((const top_row *)a)->fn, *y = ((const top_row *)b)->fn;
    if (x->self != y->self)
        return x->self > y->self ? -1 : 1;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    pf_func_id i = ((const top_row *)a)->func, j = ((const top_row *)b)->func;
    return i < j ? -1 : i > j;
}

static int w_top(tctx *t, int top) {
    size_t nfn;
    const pf_func *funcs = pf_funcs(t->p, &nfn);
    uint32_t *cls = calloc(nfn ? nfn : 1, sizeof *cls);
    top_row *rows = malloc((nfn ? nfn : 1) * sizeof *rows);
    out_agg a;
    if (!cls || !rows) {
        free(cls);
        free(rows);
        return -1;
    }
    for (size_t i = 1; i < nfn; i++)
        cls[i] = funcs[i].kind == PF_FUNC_THREAD || funcs[i].kind == PF_FUNC_PROCESS ? 0 : (uint32_t)i;
    if (out_aggregate(t->p, cls, nfn, 0, &a) != 0) {
        free(cls);
        free(rows);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 1; i < nfn; i++)
        if (a.fns[i].self || a.fns[i].total)
            rows[n++] = (top_row){(pf_func_id)i, &a.fns[i]};
    qsort(rows, n, sizeof *rows, by_self);
    if ((size_t)top < n)
        n = (size_t)top;
    out_buf_printf(t->o, "\n%sTop %zu functions by own time%s\n", c_(t, "\033[1m"), n, RESET(t));
    out_buf_printf(t->o, "%s  own %%  total %%  %9s  %9s%s  function%s\n", DIM(t), t->unit_ns > 0 ? "own" : "own #",
                   t->unit_ns > 0 ? "total" : "total #", t->traced ? "        calls" : "", RESET(t));
    for (size_t i = 0; i < n; i++) {
        const out_agg_fn *fn = rows[i].fn;
        double ps = pct_of(t, fn->self), pt = pct_of(t, fn->total);
        out_buf_printf(t->o, "%s%6.1f%%%s  %s%6.1f%%%s  ", pct_color(t, ps), ps, RESET(t), pct_color(t, pt), pt,
                       RESET(t));
        w_weight(t, fn->self, 9);
        out_buf_puts(t->o, "  ");
        w_weight(t, fn->total, 9);
        if (t->traced) {
            /* Like pstats: all calls, and "/primitive" when recursion made them differ. */
            char calls[48];
            if (fn->calls != fn->prim_calls)
                snprintf(calls, sizeof calls, "%" PRIu64 "/%" PRIu64, fn->calls, fn->prim_calls);
            else
                snprintf(calls, sizeof calls, "%" PRIu64, fn->calls);
            out_buf_printf(t->o, "  %11s", calls);
        }
        out_buf_puts(t->o, "  ");
        /* The function's own label: its first line rather than a frame line. */
        const pf_func *fnc = &funcs[rows[i].func];
        const char *name = pf_str(t->p, fnc->name), *file = pf_str(t->p, fnc->file);
        out_esc_text(t->o, *name ? name : "???");
        if (*file && strcmp(file, "~") && fnc->kind != PF_FUNC_OTHER) {
            out_buf_printf(t->o, "  %s", DIM(t));
            out_esc_text(t->o, file);
            if (fnc->firstline > 0)
                out_buf_printf(t->o, ":%d", fnc->firstline);
            out_buf_puts(t->o, RESET(t));
        }
        out_buf_putc(t->o, '\n');
    }
    out_agg_free(&a);
    free(cls);
    free(rows);
    return 0;
}

/* ---- the hottest lines ---- */

#define HOT_LINES 10
#define HOT_SOURCE_MAX (2u << 20) /* bytes of a file read for its lines */

/* Line `line` (1-based) of text, trimmed of its indentation, into out
 * (cut at cap - 1 bytes); empty when the file has fewer lines. */
static void source_line(const char *text, size_t len, int32_t line, char *out, size_t cap) {
    const char *p = text, *end = text + len;
    for (int32_t k = 1; k < line && p < end; k++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    size_t n = 0;
    while (p + n < end && p[n] != '\n' && p[n] != '\r' && n + 1 < cap)
        n++;
    memcpy(out, p, n);
    out[n] = 0;
}

static int w_hot_lines(tctx *t, const out_options *o) {
    rp_lines l;
    if (rp_lines_build(t->p, &l) != 0)
        return -1;
    uint32_t hot[HOT_LINES];
    long n = rp_lines_hottest(&l, hot, HOT_LINES);
    if (n < 0) {
        rp_lines_free(&l);
        return -1;
    }
    if (n > 0) {
        out_buf_printf(t->o, "\n%sHottest lines by own time%s\n", c_(t, "\033[1m"), RESET(t));
        out_buf_printf(t->o, "%s  own %%  total %%  line%s\n", DIM(t), RESET(t));
    }
    for (long i = 0; i < n; i++) {
        const rp_line *ln = &l.lines[hot[i]];
        pf_str_id file = l.files[ln->file].name;
        double ps = pct_of(t, ln->self), pt = pct_of(t, ln->total);
        out_buf_printf(t->o, "%s%6.1f%%%s  %s%6.1f%%%s  ", pct_color(t, ps), ps, RESET(t), pct_color(t, pt), pt, RESET(t));
        out_esc_text(t->o, pf_str(t->p, file));
        out_buf_printf(t->o, ":%" PRId32 "\n", ln->line);
        char *text = NULL;
        size_t len = 0;
        char code[200];
        if (o && o->read_source && o->read_source(o->source_ctx, t->p, file, HOT_SOURCE_MAX, &text, &len) == 0) {
            source_line(text, len, ln->line, code, sizeof code);
            if (*code) {
                out_buf_printf(t->o, "%18s%s", "", DIM(t));
                out_esc_text(t->o, code);
                out_buf_printf(t->o, "%s\n", RESET(t));
            }
        }
        free(text);
    }
    rp_lines_free(&l);
    return 0;
}

/* ---- the call tree ---- */

static int visible(const tctx *t, uint32_t n) { return t->nodes[n].total && t->nodes[n].total * 100 >= t->grand; }

/* The one visible child of n, or 0 when it has none or several. */
static uint32_t only_child(const tctx *t, uint32_t n) {
    uint32_t found = 0;
    for (uint32_t c = t->nodes[n].first_child; c; c = t->nodes[c].next_sibling) {
        if (!visible(t, c))
            continue;
        if (found)
            return 0;
        found = c;
    }
    return found;
}

/* n only passes (nearly) all its time on to a single visible child. */
static int pass_through(const tctx *t, uint32_t n) {
    uint32_t c = only_child(t, n);
    return c && (t->nodes[n].total - t->nodes[c].total) * 100 < t->grand;
}

static int prefix_push(tctx *t, const char *s) {
    size_t len = strlen(s);
    char *bigger = realloc(t->prefix, t->prefix_len + len + 1);
    if (!bigger)
        return -1;
    t->prefix = bigger;
    memcpy(t->prefix + t->prefix_len, s, len + 1);
    t->prefix_len += len;
    return 0;
}

static void w_branch(const tctx *t, int top, int last) {
    out_buf_puts(t->o, DIM(t));
    out_buf_puts(t->o, t->prefix ? t->prefix : "");
    out_buf_puts(t->o, top ? "" : last ? "└─ " : "├─ ");
    out_buf_puts(t->o, RESET(t));
}

static void w_node_line(const tctx *t, uint32_t n, int top, int last) {
    w_branch(t, top, last);
    uint64_t total = t->nodes[n].total;
    double pct = pct_of(t, total);
    out_buf_printf(t->o, "%s%.1f%%%s ", pct_color(t, pct), pct, RESET(t));
    if (t->unit_ns > 0) {
        w_weight(t, total, 0);
        out_buf_printf(t->o, " %s  ", t->unit);
    } else {
        out_buf_printf(t->o, "%" PRIu64 "  ", total);
    }
    w_label(t, t->nodes[n].frame);
    out_buf_putc(t->o, '\n');
}

static int w_tree(tctx *t, uint32_t n, int top, int last, int depth);

/* n's visible children, heaviest first, equal weights in sibling order (roots
 * and inner nodes alike); *count 0 = none. A visible child holds 1% of the
 * total, so there are at most 100: a stable insertion sort is enough. */
static uint32_t *sorted_children(const tctx *t, uint32_t n, size_t *count, int *oom) {
    *count = 0;
    *oom = 0;
    for (uint32_t c = t->nodes[n].first_child; c; c = t->nodes[c].next_sibling)
        *count += visible(t, c);
    if (!*count)
        return NULL;
    uint32_t *kids = malloc(*count * sizeof *kids);
    if (!kids) {
        *oom = 1;
        return NULL;
    }
    size_t k = 0;
    for (uint32_t c = t->nodes[n].first_child; c; c = t->nodes[c].next_sibling) {
        if (!visible(t, c))
            continue;
        size_t at = k++;
        for (; at > 0 && t->nodes[kids[at - 1]].total < t->nodes[c].total; at--)
            kids[at] = kids[at - 1];
        kids[at] = c;
    }
    return kids;
}

/* The children of n (already printed), indented one level further. */
static int w_children(tctx *t, uint32_t n, int depth) {
    size_t count;
    int oom;
    if (depth >= MAX_DEPTH) {
        for (uint32_t c = t->nodes[n].first_child; c; c = t->nodes[c].next_sibling)
            if (visible(t, c)) {
                w_branch(t, 0, 1);
                out_buf_printf(t->o, "%s[deeper frames not shown]%s\n", DIM(t), RESET(t));
                break;
            }
        return 0;
    }
    uint32_t *kids = sorted_children(t, n, &count, &oom);
    if (!kids)
        return oom ? -1 : 0;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++)
        rc = w_tree(t, kids[i], 0, i + 1 == count, depth + 1);
    free(kids);
    return rc;
}

static int w_tree(tctx *t, uint32_t n, int top, int last, int depth) {
    w_node_line(t, n, top, last);
    size_t saved = t->prefix_len;
    if (!top && prefix_push(t, last ? "   " : "│  ") != 0)
        return -1;
    int rc = 0;
    /* A long pass-through chain below n: show its first frame, a marker, and its last. */
    size_t run = 0;
    uint32_t first = pass_through(t, n) ? only_child(t, n) : 0, lastp = first;
    for (uint32_t c = first; c && pass_through(t, c); c = only_child(t, c)) {
        run++;
        lastp = c;
    }
    if (first && run >= MIN_RUN) {
        w_node_line(t, first, 0, 1);
        size_t inner = t->prefix_len;
        rc = prefix_push(t, "   ");
        if (rc == 0) {
            w_branch(t, 0, 1);
            out_buf_printf(t->o, "%s[%zu frames hidden]%s\n", DIM(t), run - 2, RESET(t));
            rc = prefix_push(t, "   ");
        }
        if (rc == 0)
            rc = w_tree(t, lastp, 0, 1, depth + 3);
        t->prefix_len = inner;
        if (t->prefix)
            t->prefix[inner] = 0;
    } else {
        rc = w_children(t, n, depth);
    }
    t->prefix_len = saved;
    if (t->prefix)
        t->prefix[saved] = 0;
    return rc;
}

static int text_body(const pf_profile *p, out_buf *s, const out_options *o, pf_error *err) {
    const pf_meta *m = pf_profile_meta_const(p);
    tctx t = {.o = s, .p = p, .color = o && o->color, .traced = m->mode == PF_MODE_TRACED};
    rp_tree tree;
    if (rp_tree_build(p, 0, 0, 1, NULL, &tree) != 0)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    t.nodes = tree.n;
    t.grand = tree.n[0].total;
    if (t.traced)
        t.unit_ns = 1;
    else if (m->period_ns)
        t.unit_ns = (double)m->period_ns;
    else if (m->rate_hz > 0)
        t.unit_ns = 1e9 / m->rate_hz;
    /* One unit for the whole report, chosen by the total, so columns compare at a glance. */
    double grand_ns = (double)t.grand * t.unit_ns;
    t.scale = grand_ns >= 1e9 ? 1e9 : grand_ns >= 1e6 ? 1e6 : 1e3;
    t.unit = grand_ns >= 1e9 ? "s" : grand_ns >= 1e6 ? "ms" : "us";

    w_header(&t);
    int rc = 0;
    if (!t.grand) {
        out_buf_puts(s, "\nNo samples.\n");
    } else {
        rc = w_top(&t, o && o->top > 0 ? o->top : 20);
        if (rc == 0)
            rc = w_hot_lines(&t, o);
        if (rc == 0) {
            out_buf_printf(s, "\n%sCall tree%s %s(frames under 1%% hidden)%s\n", c_(&t, "\033[1m"), RESET(&t),
                           DIM(&t), RESET(&t));
            size_t nroots;
            int oom;
            uint32_t *roots = sorted_children(&t, 0, &nroots, &oom);
            rc = oom ? -1 : 0;
            for (size_t i = 0; i < nroots && rc == 0; i++)
                rc = w_tree(&t, roots[i], 1, 1, 0);
            free(roots);
        }
    }
    free(t.prefix);
    rp_tree_free(&tree);
    if (rc != 0)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    return 0;
}

int out_write_text(const pf_profile *p, FILE *f, const out_options *o, pf_error *err) {
    return out_buf_write(p, f, o, "text", text_body, err);
}
