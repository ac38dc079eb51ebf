/* callgrind.c — the callgrind format, for KCacheGrind, QCacheGrind and
 * callgrind_annotate (format: valgrind's docs/callgrind-format).
 *
 * Per function, the own cost per source line ("LINE COST"), then one call
 * record per (call-site line, callee): "cfi=/cfn=", "calls=COUNT TARGETLINE",
 * and "LINE INCLUSIVE". File and function names are compressed ("fn=(3) name"
 * the first time, "fn=(3)" after).
 *
 * Recursion: a call record's inclusive cost counts the callee's time only at
 * the callee's outermost activation on each stack. So the calls into a
 * function add up to exactly its inclusive time (which is how
 * callgrind_annotate --inclusive=yes computes a called function's
 * inclusive cost), and a recursive call costs 0 rather than counting the same
 * time twice. A function that runs at top level and is also called (e.g. a
 * top-level recursive function) would lose its top-level time that way, so
 * then a "<root>" function is added that calls every top-level function.
 *
 * Costs: "Samples" in sampled mode, "Nanoseconds" in traced mode. Call counts
 * are exact in traced mode; sampled mode has none, so there "calls=" is the
 * number of samples taken inside that call (summed over its stacks), and at
 * least 1, since callgrind readers take "calls=0" for no call at all.
 *
 * The format is line-based with no quoting: control characters and invalid
 * UTF-8 in names become visible escapes, and empty names "???". Functions that
 * show the same file and name are merged, as the readers would merge them. */
#include "output/outbuf.h"
#include "output/writer.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/aggregate.h"
#include "output/escape.h"
#include "output/fnclass.h"

typedef struct cg_class {
    uint32_t file_id;
    int named;         /* fn=(id) name written already */
} cg_class;

static int by_line(const void *a, const void *b) {
    const out_agg_line *x = a, *y = b;
    if (x->cls != y->cls)
        return x->cls < y->cls ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int by_caller(const void *a, const void *b) {
    const out_agg_edge *x = a, *y = b;
    if (x->caller != y->caller)
        return x->caller < y->caller ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->callee < y->callee ? -1 : x->callee > y->callee;
}

static char *escaped_or_unknown(const char *s) { return out_text_escape(*s ? s : "???"); }

/* What callgrind's readers show: escaped file and name, merged when alike. */
static int show(const pf_profile *p, const pf_func *fn, char **file, char **name, int32_t *line) {
    *file = escaped_or_unknown(pf_str(p, fn->file));
    *name = escaped_or_unknown(pf_str(p, fn->name));
    *line = fn->firstline > 0 ? fn->firstline : 0;
    return 0;
}

static void w_file(out_buf *f, const char *key, const out_fn_class *s, const cg_class *c, unsigned char *file_named) {
    out_buf_printf(f, "%s=(%" PRIu32 ")", key, c->file_id);
    if (!file_named[c->file_id]) {
        out_buf_printf(f, " %s", s->file);
        file_named[c->file_id] = 1;
    }
    out_buf_putc(f, '\n');
}

static void w_fn(out_buf *f, const char *key, uint32_t id, const out_fn_class *s, cg_class *c) {
    out_buf_printf(f, "%s=(%" PRIu32 ")", key, id);
    if (!c->named) {
        out_buf_printf(f, " %s", s->name);
        c->named = 1;
    }
    out_buf_putc(f, '\n');
}

static int write_callgrind(const pf_profile *p, out_buf *f, const out_options *o, pf_error *err) {
    (void)o;
    size_t nfn, nproc;
    pf_funcs(p, &nfn);
    const pf_process *procs = pf_processes(p, &nproc);
    const pf_meta *meta = pf_profile_meta_const(p);
    int traced = meta->mode == PF_MODE_TRACED;

    out_fn_classes fc; /* at most one class per function, plus <root> */
    cg_class *classes = calloc(nfn + 2, sizeof *classes);
    out_strmap filemap = {0};
    out_agg a;
    int have_agg = 0, rc = -1;
    unsigned char *file_named = NULL;
    out_agg_edge *edges = NULL;
    int built = out_fn_classes_build(p, show, 0, 1, &fc);
    out_fn_class *shown = fc.shown;
    if (built != 0 || !classes)
        goto oom;
    for (uint32_t c = 1; c <= fc.map.n; c++) /* files numbered in order of first appearance */
        if (!(classes[c].file_id = out_strmap_id(&filemap, shown[c].file, strlen(shown[c].file))))
            goto oom;
    if (out_aggregate(p, fc.of, fc.map.n + 1, OUT_AGG_EDGE_LINES | OUT_AGG_LINES, &a) != 0)
        goto oom;
    have_agg = 1;

    /* The <root> caller, only when a top-level function is also called. */
    uint32_t nclasses = (uint32_t)fc.map.n, root = 0;
    for (uint32_t c = 1; c <= nclasses && !root; c++)
        if (a.fns[c].called && (a.fns[c].top_total || a.fns[c].top_calls))
            root = nclasses + 1;
    size_t nedges = a.nedges;
    edges = malloc((a.nedges + nclasses + 1) * sizeof *edges);
    if (!edges)
        goto oom;
    if (a.nedges) /* a.edges is NULL when there are none */
        memcpy(edges, a.edges, a.nedges * sizeof *edges);
    if (root) {
        uint32_t fid = out_strmap_id(&filemap, "???", 3);
        shown[root].file = out_text_escape("???");
        shown[root].name = out_text_escape("<root>");
        if (!fid || !shown[root].file || !shown[root].name)
            goto oom;
        classes[root].file_id = fid;
        for (uint32_t c = 1; c <= nclasses; c++)
            if (a.fns[c].top_total || a.fns[c].top_calls)
                edges[nedges++] = (out_agg_edge){.caller = root, .callee = c, .calls = a.fns[c].top_calls,
                                                 .incl = a.fns[c].top_total};
    }
    if (a.nlines)
        qsort(a.lines, a.nlines, sizeof *a.lines, by_line);
    if (nedges)
        qsort(edges, nedges, sizeof *edges, by_caller);
    file_named = calloc(filemap.n + 1, 1);
    if (!file_named)
        goto oom;

    uint64_t summary = 0;
    for (size_t i = 0; i < a.nlines; i++)
        summary += a.lines[i].self;

    out_buf_puts(f, "# callgrind format\n");
    out_buf_puts(f, "# Written by pyflare from a Python profile. Call costs count a callee's time\n"
                    "# only at its outermost activation, so recursion is never counted twice.\n");
    if (!traced)
        out_buf_puts(f, "# Sampled mode: calls= is the number of samples taken inside the call, not a call count.\n");
    out_buf_puts(f, "version: 1\ncreator: pyflare\n");
    if (nproc)
        out_buf_printf(f, "pid: %d\n", (int)procs[0].pid);
    if (*pf_str(p, meta->command)) {
        out_buf_puts(f, "cmd: ");
        out_esc_text(f, pf_str(p, meta->command));
        out_buf_putc(f, '\n');
    }
    out_buf_puts(f, "part: 1\n");
    if (traced)
        out_buf_puts(f, "desc: Mode: traced (exact calls, nanoseconds)\n");
    else if (meta->rate_hz > 0)
        out_buf_printf(f, "desc: Mode: sampled at %.6g Hz (%" PRIu64 " ns per sample)\n", meta->rate_hz, meta->period_ns);
    else
        out_buf_puts(f, "desc: Mode: sampled (the sampling rate is not known)\n");
    out_buf_puts(f, "positions: line\n");
    out_buf_printf(f, "event: %s : %s\n", traced ? "Nanoseconds" : "Samples",
            traced ? "Time in nanoseconds" : "Samples taken");
    out_buf_printf(f, "events: %s\n", traced ? "Nanoseconds" : "Samples");
    out_buf_printf(f, "summary: %" PRIu64 "\n\n", summary);

    size_t li = 0, ei = 0;
    for (uint32_t c = 1; c <= (root ? root : nclasses); c++) {
        size_t l0 = li, e0 = ei;
        while (li < a.nlines && a.lines[li].cls == c)
            li++;
        while (ei < nedges && edges[ei].caller == c)
            ei++;
        if (l0 == li && e0 == ei)
            continue;
        w_file(f, "fl", &shown[c], &classes[c], file_named);
        w_fn(f, "fn", c, &shown[c], &classes[c]);
        for (size_t k = l0; k < li; k++)
            out_buf_printf(f, "%" PRId32 " %" PRIu64 "\n", a.lines[k].line > 0 ? a.lines[k].line : 0, a.lines[k].self);
        for (size_t k = e0; k < ei; k++) {
            const out_agg_edge *e = &edges[k];
            w_file(f, "cfi", &shown[e->callee], &classes[e->callee], file_named);
            w_fn(f, "cfn", e->callee, &shown[e->callee], &classes[e->callee]);
            out_buf_printf(f, "calls=%" PRIu64 " %" PRId32 "\n", e->calls ? e->calls : 1, shown[e->callee].line);
            out_buf_printf(f, "%" PRId32 " %" PRIu64 "\n", e->line > 0 ? e->line : 0, e->incl);
        }
        out_buf_putc(f, '\n');
    }
    out_buf_printf(f, "totals: %" PRIu64 "\n", summary);
    rc = 0;
    goto done;
oom:
    rc = pf_fail(err, PF_ERR_NOMEM, "out of memory");
done:
    if (have_agg)
        out_agg_free(&a);
    out_fn_classes_free(&fc);
    free(classes);
    free(edges);
    free(file_named);
    out_strmap_free(&filemap);
    return rc;
}

int out_write_callgrind(const pf_profile *p, FILE *f, const out_options *o, pf_error *err) {
    return out_buf_write(p, f, o, "callgrind", write_callgrind, err);
}
