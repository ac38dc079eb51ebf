/* top_view.c — rows, figures, order and drawing of `pyflare top` (see top_view.h). */
#include "cli/top_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "report/aggregate.h"

void top_view_init(top_view *v) {
    memset(v, 0, sizeof *v);
    v->sort = TOP_COL_OWN_NOW;
}

void top_view_free(top_view *v) {
    free(v->rows);
    free(v->threads);
    free(v->order);
    u64map_free(&v->index);
    memset(v, 0, sizeof *v);
}

/* Set by top_view_clear: the next update starts the rows afresh, so its
 * "last interval" is empty rather than everything so far. */
static int fresh_rows(const top_view *v) { return v->nrows == 0 && v->grand != 0; }

void top_view_clear(top_view *v) {
    v->nrows = 0;
    u64map_free(&v->index);
    memset(&v->index, 0, sizeof v->index);
}

void top_view_reset(top_view *v) {
    for (size_t i = 0; i < v->nrows; i++) {
        v->rows[i].bself = v->rows[i].self;
        v->rows[i].btotal = v->rows[i].total;
    }
    v->bgrand = v->grand;
    v->reset_done = 1;
}

static top_row *row_for(top_view *v, pf_func_id func, int32_t line, int fresh) {
    uint64_t key = (uint64_t)func << 32 | (uint32_t)line;
    uint32_t id = u64map_get(&v->index, key);
    if (id != U64MAP_NONE)
        return &v->rows[id];
    void *const arrays[] = {&v->rows, &v->order};
    const size_t elems[] = {sizeof *v->rows, sizeof *v->order};
    if (pf_grow_all(arrays, elems, 2, &v->cap, v->nrows + 1, 64) != 0)
        return NULL;
    if (u64map_put(&v->index, key, (uint32_t)v->nrows) != 0)
        return NULL;
    top_row *r = &v->rows[v->nrows++];
    memset(r, 0, sizeof *r);
    r->func = func;
    r->line = line;
    r->seen = -1; /* new: figures filled by the caller */
    (void)fresh;
    return r;
}

/* Thread roots: nodes whose function is a thread (the sampler makes one per
 * thread when thread_roots is on). New ones are appended, so a thread keeps
 * its number while top runs. */
static int find_threads(top_view *v, const pf_profile *p) {
    size_t nn;
    pf_nodes(p, &nn);
    size_t nfr;
    const pf_frame *frames = pf_frames(p, &nfr);
    const pf_node *nodes = pf_nodes(p, &nn);
    for (size_t i = 1; i < nn; i++) {
        if (out_node_kind(p, (pf_node_id)i) != PF_FUNC_THREAD)
            continue;
        size_t k = 0;
        while (k < v->nthreads && v->threads[k].root != i)
            k++;
        if (k < v->nthreads)
            continue;
        if (PF_GROW(v->threads, v->threads_cap, v->nthreads + 1, 16) != 0)
            return -1;
        v->threads[v->nthreads++] = (top_thread){.root = (pf_node_id)i, .func = frames[nodes[i].frame].func};
    }
    return 0;
}

int top_view_update(top_view *v, const pf_profile *p) {
    size_t nfn, nfr;
    const pf_func *funcs = pf_funcs(p, &nfn);
    const pf_frame *frames = pf_frames(p, &nfr);
    if (find_threads(v, p) != 0)
        return -1;
    /* A class per function, or per frame (a function's line); thread and
     * process roots are none (their children count as top level). */
    size_t n = v->lines ? nfr : nfn;
    uint32_t *cls = malloc((n ? n : 1) * sizeof *cls);
    if (!cls)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t f = v->lines ? frames[i].func : i;
        cls[i] = i && f && f < nfn && funcs[f].kind != PF_FUNC_THREAD && funcs[f].kind != PF_FUNC_PROCESS
                     ? (uint32_t)i : 0;
    }
    pf_node_id from = v->thread && v->thread <= v->nthreads ? v->threads[v->thread - 1].root : PF_ROOT;
    out_agg a;
    int rc = out_aggregate_under(p, from, cls, n, v->lines ? OUT_AGG_BY_FRAME : 0, &a);
    free(cls);
    if (rc != 0)
        return -1;
    int fresh = fresh_rows(v);
    v->active_threads = 0;
    for (size_t k = 0; k < v->nthreads; k++) {
        top_thread *t = &v->threads[k];
        t->ptotal = t->total;
        t->total = a.node_total[t->root];
        v->active_threads += t->total > t->ptotal;
    }
    v->pgrand = fresh ? a.grand_total : v->grand;
    v->grand = a.grand_total;
    if (fresh)
        v->bgrand = v->reset_done ? a.grand_total : 0;
    for (size_t i = 0; i < v->nrows; i++) {
        v->rows[i].pself = v->rows[i].self;
        v->rows[i].ptotal = v->rows[i].total;
    }
    rc = 0;
    for (size_t i = 1; i < a.nclasses; i++) {
        pf_func_id f = v->lines ? frames[i].func : (pf_func_id)i;
        int32_t line = v->lines ? frames[i].line : -1;
        uint64_t self = a.fns[i].self, total = a.fns[i].total;
        if (!self && !total)
            continue;
        top_row *r = row_for(v, f, line, fresh);
        if (!r) {
            rc = -1;
            break;
        }
        if (r->seen < 0) {
            /* New row: before this update it had nothing, unless the rows were just made afresh. */
            r->pself = fresh ? self : 0;
            r->ptotal = fresh ? total : 0;
            r->bself = fresh && v->reset_done ? self : 0;
            r->btotal = fresh && v->reset_done ? total : 0;
        }
        r->self = self;
        r->total = total;
        r->seen = 1;
    }
    out_agg_free(&a);
    return rc;
}

/* A column's figure for a row, as a fraction or in weight units. */
static double figure(const top_view *v, const top_row *r, int col) {
    uint64_t now = v->grand - v->pgrand, all = v->grand - v->bgrand;
    switch (col) {
    case TOP_COL_OWN_NOW:
        return now ? (double)(r->self - r->pself) / now : 0;
    case TOP_COL_TOTAL_NOW:
        return now ? (double)(r->total - r->ptotal) / now : 0;
    case TOP_COL_OWN:
        return all ? (double)(r->self - r->bself) / all : 0;
    case TOP_COL_TOTAL:
        return all ? (double)(r->total - r->btotal) / all : 0;
    case TOP_COL_OWN_TIME:
        return (double)(r->self - r->bself);
    default:
        return (double)(r->total - r->btotal);
    }
}

static const top_view *sorting; /* qsort has no context argument */

static int by_column(const void *x, const void *y) {
    const top_row *a = &sorting->rows[*(const size_t *)x], *b = &sorting->rows[*(const size_t *)y];
    int col = sorting->sort;
    double fa = figure(sorting, a, col), fb = figure(sorting, b, col);
    if (fa != fb)
        return fa < fb ? 1 : -1;
    /* Ties: the figure since the start, then own before total, then stable by row. */
    double ga = figure(sorting, a, TOP_COL_OWN_TIME), gb = figure(sorting, b, TOP_COL_OWN_TIME);
    if (ga != gb)
        return ga < gb ? 1 : -1;
    ga = figure(sorting, a, TOP_COL_TOTAL_TIME), gb = figure(sorting, b, TOP_COL_TOTAL_TIME);
    if (ga != gb)
        return ga < gb ? 1 : -1;
    return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

/* Appends text to line (capacity cap), control characters shown as '?': a
 * name from the target must not be able to move the cursor or recolour the screen. */
static void put_clean(char *line, size_t cap, const char *text) {
    size_t n = strlen(line);
    for (; *text && n + 1 < cap; text++)
        line[n++] = (unsigned char)*text < 0x20 || *text == 0x7f ? '?' : *text;
    line[n] = 0;
}

/* Emits line cut to cols characters (UTF-8 aware: never half a character). */
static void emit(FILE *f, const char *line, int cols, const char *before, const char *after) {
    size_t len = 0;
    int width = 0;
    while (line[len] && (cols <= 0 || width < cols)) {
        len++;
        while ((line[len] & 0xc0) == 0x80)
            len++;
        width++;
    }
    fputs(before, f);
    fwrite(line, 1, len, f);
    if (*before && cols > 0)
        for (; width < cols; width++)
            fputc(' ', f); /* a coloured bar is drawn across the whole width */
    fputs(after, f);
    fputc('\n', f);
}

static const char *const col_names[TOP_NCOLS] = {"OWN%", "TOTAL%", "OWN%", "TOTAL%", "OWN(s)", "TOTAL(s)"};

static void draw_help(FILE *f, int cols, int replay) {
    static const char *const help[] = {
        "pyflare top: keys",
        "",
        "  1 2 3 4 5 6   sort by that column (own %, total % over the last interval;",
        "                own %, total %, own time, total time since the start)",
        "  l             rows per function (file:first line) / per line (file:line)",
        "  t             next thread / all threads",
        "  a             all threads",
        "  p or space    pause (sampling goes on; the screen stays)",
        "  r             reset: 'since the start' counts from now",
        "  + / -         replay: twice / half as fast",
        "  e             replay: jump to the end of the recording",
        "  ?             this help (any key leaves it)",
        "  q or Ctrl-C   quit (with -o FILE, the profile is written)",
    };
    for (size_t i = 0; i < sizeof help / sizeof help[0]; i++) {
        if (!strncmp(help[i], "  p or space", 12) && replay)
            emit(f, "  p or space    pause (the recording's clock stops)", cols, "", "");
        else if (replay || !strstr(help[i], "replay:"))
            emit(f, help[i], cols, "", "");
    }
}

char *top_view_draw(top_view *v, const pf_profile *p, const top_frame_info *in, int rows, int cols) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    size_t nfn;
    const pf_func *funcs = pf_funcs(p, &nfn);
    char line[2048];
    int used = 0;

    /* The version first: a long command line is what the width cuts. */
    snprintf(line, sizeof line, "pyflare top - %s%s%s", *in->python ? "Python " : "", in->python,
             *in->python ? " - " : "");
    put_clean(line, sizeof line, in->target);
    emit(f, line, cols, "", "");
    size_t idle = in->threads > v->active_threads ? in->threads - v->active_threads : 0;
    int wall_time = !in->traced && !in->cpu_weighted; /* a sample per thread and tick, waiting or not */
    char threads[80];
    if (in->stopped)
        snprintf(threads, sizeof threads, "threads %zu stopped", in->threads);
    else if (wall_time) /* a waiting thread has samples as a running one does: none is told apart as active */
        snprintf(threads, sizeof threads, "threads %zu", in->threads);
    else
        snprintf(threads, sizeof threads, "threads %zu active / %zu idle", v->active_threads, idle);
    if (in->replay)
        snprintf(line, sizeof line, "position %.1f s of %.1f s   speed %gx   rate %.1f Hz   samples %llu   %s",
                 in->elapsed_s, in->length_s, in->speed, in->achieved_hz, (unsigned long long)in->samples, threads);
    else
        snprintf(line, sizeof line, "elapsed %.1f s   rate %.1f Hz   samples %llu   errors %llu   %s", in->elapsed_s,
                 in->achieved_hz, (unsigned long long)in->samples, (unsigned long long)in->errors, threads);
    if (in->gil_share >= 0)
        snprintf(line + strlen(line), sizeof line - strlen(line), "   GIL held %.0f%%", 100 * in->gil_share);
    emit(f, line, cols, "", "");
    const char *thread_name = "all threads";
    if (v->thread && v->thread <= v->nthreads && v->threads[v->thread - 1].func < nfn)
        thread_name = pf_str(p, funcs[v->threads[v->thread - 1].func].name);
    snprintf(line, sizeof line, "%s   rows: %s   showing: ",
             in->traced   ? "traced: exact time"
             : wall_time  ? "wall time (samples)"
                          : "CPU time of running threads",
             v->lines ? "lines" : "functions");
    put_clean(line, sizeof line, thread_name);
    emit(f, line, cols, "", "");
    used = 3;
    if (in->help) {
        emit(f, "", cols, "", "");
        draw_help(f, cols, in->replay);
        fclose(f);
        return text;
    }
    char head[128];
    snprintf(head, sizeof head, "-- last %.1f s --", in->interval_s);
    snprintf(line, sizeof line, "%-16s  %s", head, v->reset_done ? "-- since the reset --" : "-- since the start --");
    emit(f, line, cols, "", "");
    line[0] = 0;
    for (int c = 0; c < TOP_NCOLS; c++) {
        char cell[16];
        snprintf(cell, sizeof cell, "%s%s", c == v->sort ? ">" : "", col_names[c]);
        snprintf(line + strlen(line), sizeof line - strlen(line), "%8s ", cell);
    }
    snprintf(line + strlen(line), sizeof line - strlen(line), " %s", v->lines ? "LINE" : "FUNCTION");
    emit(f, line, cols, in->color ? "\033[7m" : "", in->color ? "\033[0m" : "");
    used += 2;

    for (size_t i = 0; i < v->nrows; i++)
        v->order[i] = i;
    sorting = v;
    if (v->nrows)
        qsort(v->order, v->nrows, sizeof *v->order, by_column);
    int room = rows > 0 ? rows - used - 1 : 20; /* a last line for the status; plain tables: 20 rows */
    int shown = 0;
    for (size_t i = 0; i < v->nrows && shown < room; i++) {
        const top_row *r = &v->rows[v->order[i]];
        if (r->self == r->bself && r->total == r->btotal && r->self == r->pself)
            continue; /* nothing since the start */
        line[0] = 0;
        for (int c = 0; c < TOP_NCOLS; c++) {
            double x = figure(v, r, c);
            if (c <= TOP_COL_TOTAL)
                snprintf(line + strlen(line), sizeof line - strlen(line), "%8.1f ", 100 * x);
            else
                snprintf(line + strlen(line), sizeof line - strlen(line), "%8.2f ", x * in->period_s);
        }
        put_clean(line, sizeof line, " ");
        const pf_func *fn = r->func < nfn ? &funcs[r->func] : NULL;
        put_clean(line, sizeof line, fn ? pf_str(p, fn->name) : "?");
        const char *file = fn ? pf_str(p, fn->file) : "";
        if (fn && *file) {
            char where[32];
            put_clean(line, sizeof line, " (");
            put_clean(line, sizeof line, file);
            int at = r->line >= 0 ? r->line : fn->firstline;
            if (at > 0 || fn->kind != PF_FUNC_NATIVE)
                snprintf(where, sizeof where, ":%d)", at);
            else
                snprintf(where, sizeof where, ")"); /* --native: an object, no line */
            put_clean(line, sizeof line, where);
        }
        emit(f, line, cols, "", "");
        shown++;
    }
    if (!shown)
        emit(f, "  (no samples yet)", cols, "", ""), shown++;
    if (rows > 0)
        for (; used + shown < rows - 1; shown++)
            emit(f, "", cols, "", "");
    if (in->status)
        emit(f, in->status, cols, "", "");
    else if (rows > 0 && in->replay)
        emit(f, "keys: 1-6 sort  l lines/functions  t thread  p pause  r reset  +/- speed  e end  ? help  q quit",
             cols, "", "");
    else if (rows > 0)
        emit(f, "keys: 1-6 sort  l lines/functions  t thread  p pause  r reset  ? help  q quit", cols, "", "");
    fclose(f);
    return text;
}
