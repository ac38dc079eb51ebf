/* pstats.c — the pstats format: what cProfile's dump_stats() writes and
 * `python -m pstats FILE`, pstats.Stats(FILE), snakeviz and tuna read.
 *
 * The file is one marshal'ed dict:
 *   {(file, line, funcname): (cc, nc, tt, ct, callers)}
 *   callers = {(file, line, funcname): (nc, cc, tt, ct)}   -- per caller edge
 * where nc counts all calls, cc the primitive ones (not made while the same
 * function, or for an edge the same caller→callee pair, was already running),
 * tt is own time and ct cumulative time in seconds, not double-counting
 * recursion. Note that cProfile stores an edge's counts as (nc, cc), the
 * reverse of the function's (cc, nc); pstats reads them that way.
 *
 * Traced mode gives exact figures, as cProfile would. Sampled mode has no call
 * counts: cc is the number of samples in which the function was on the stack,
 * nc the same counting each recursive level, and times are samples × the
 * sampling period.
 *
 * Functions are keyed like cProfile keys them: native ones as ("~", 0, name),
 * others as (file, first line, name); functions that share a key are merged.
 * Thread and process roots are not functions: their children count as top
 * level (no caller), and weight on such a root itself (a sample with no
 * Python frames) is left out. An empty profile gets one "<no samples>" entry,
 * since pstats refuses to load an empty dict.
 *
 * Marshal is written by hand with only the oldest codes ('{' dict, '('
 * tuple, 'i'/'l' int, 'g' binary float, 'u' UTF-8 str), none of the newer
 * short forms or references, so any Python 3 reads it (checked on 3.6-3.13;
 * 2.7 happens to load it too, with unicode names, but that is not a goal).
 * Strings must be valid UTF-8, so invalid bytes become U+FFFD. */
#include "output/outbuf.h"
#include "output/writer.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/aggregate.h"
#include "output/escape.h"
#include "output/fnclass.h"

static void w_u32(out_buf *f, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    out_buf_put(f, (const char *)b, 4);
}

static void w_int(out_buf *f, uint64_t v) {
    if (v <= INT32_MAX) {
        out_buf_putc(f, 'i');
        w_u32(f, (uint32_t)v);
        return;
    }
    /* Too big for TYPE_INT: TYPE_LONG, a digit count then 15-bit digits, least significant first. */
    unsigned char digits[8];
    uint32_t n = 0;
    for (uint64_t x = v; x; x >>= 15)
        n++;
    out_buf_putc(f, 'l');
    w_u32(f, n);
    for (uint32_t i = 0; i < n; i++) {
        uint16_t d = (uint16_t)((v >> (15 * i)) & 0x7FFF);
        digits[0] = (unsigned char)d;
        digits[1] = (unsigned char)(d >> 8);
        out_buf_put(f, (const char *)digits, 2);
    }
}

static void w_float(out_buf *f, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    out_buf_putc(f, 'g');
    for (int i = 0; i < 8; i++)
        out_buf_putc(f, (char)((bits >> (8 * i)) & 0xFF));
}

static void w_str(out_buf *f, const char *s) {
    size_t len = strlen(s);
    out_buf_putc(f, 'u');
    w_u32(f, (uint32_t)len);
    out_buf_put(f, s, len);
}

/* A function's key as shown by pstats: (file, line, name). */
typedef out_fn_class pkey;

static void w_key(out_buf *f, const pkey *k) {
    out_buf_putc(f, '(');
    w_u32(f, 3);
    w_str(f, k->file);
    w_int(f, k->line > 0 ? (uint64_t)k->line : 0);
    w_str(f, k->name);
}

/* key: followed by the tuple (a, b, self, total) of n + 2 fields: a
 * function's (cc, nc, tt, ct, callers), whose callers dict the caller then
 * writes (n = 3), or an edge's (nc, cc, tt, ct) (n = 2). */
static void w_row(out_buf *f, const pkey *key, uint32_t n, uint64_t a, uint64_t b, double self, double total) {
    w_key(f, key);
    out_buf_putc(f, '(');
    w_u32(f, n + 2);
    w_int(f, a);
    w_int(f, b);
    w_float(f, self);
    w_float(f, total);
}

static int by_callee(const void *a, const void *b) {
    const out_agg_edge *x = a, *y = b;
    return x->callee != y->callee ? (x->callee < y->callee ? -1 : 1) : x->caller < y->caller ? -1 : x->caller > y->caller;
}

/* cProfile's key: builtins as ("~", 0, name); roots are not functions. */
static int show(const pf_profile *p, const pf_func *fn, char **file, char **name, int32_t *line) {
    if (fn->kind == PF_FUNC_THREAD || fn->kind == PF_FUNC_PROCESS)
        return 1;
    int builtin = fn->kind == PF_FUNC_NATIVE || fn->kind == PF_FUNC_OTHER;
    *file = out_utf8_clean(builtin ? "~" : pf_str(p, fn->file));
    *name = out_utf8_clean(pf_str(p, fn->name));
    *line = builtin || fn->firstline < 0 ? 0 : fn->firstline;
    return 0;
}

static int write_pstats(const pf_profile *p, out_buf *f, const out_options *o, pf_error *err) {
    (void)o;
    const pf_meta *meta = pf_profile_meta_const(p);
    double unit; /* seconds per unit of weight */
    if (meta->mode == PF_MODE_TRACED)
        unit = 1e-9;
    else if (meta->period_ns)
        unit = (double)meta->period_ns * 1e-9;
    else if (meta->rate_hz > 0)
        unit = 1.0 / meta->rate_hz;
    else /* pstats holds seconds: inventing a period would make every time wrong */
        return pf_fail(err, PF_ERR_USAGE, "pstats holds times, and this profile's sampling rate is not known "
                                          "(for folded stacks, give it with convert --rate HZ)");

    out_fn_classes fc;
    out_agg a;
    int have_agg = 0, rc = -1;
    if (out_fn_classes_build(p, show, 1, 0, &fc) != 0)
        goto oom;
    const pkey *keys = fc.shown;
    if (out_aggregate(p, fc.of, fc.map.n + 1, 0, &a) != 0)
        goto oom;
    have_agg = 1;
    if (a.nedges) /* a.edges is NULL when there are none */
        qsort(a.edges, a.nedges, sizeof *a.edges, by_callee);

    out_buf_putc(f, '{');
    size_t e = 0, written = 0;
    for (uint32_t c = 1; c <= fc.map.n; c++) {
        const out_agg_fn *fn = &a.fns[c];
        while (e < a.nedges && a.edges[e].callee < c)
            e++;
        if (!fn->calls && !fn->self && !fn->total && (e >= a.nedges || a.edges[e].callee != c))
            continue; /* a function no node uses */
        written++;
        w_row(f, &keys[c], 3, fn->prim_calls, fn->calls, (double)fn->self * unit, (double)fn->total * unit);
        out_buf_putc(f, '{');
        for (; e < a.nedges && a.edges[e].callee == c; e++) {
            const out_agg_edge *ed = &a.edges[e];
            w_row(f, &keys[ed->caller], 2, ed->calls, ed->prim_calls, (double)ed->self * unit,
                  (double)ed->total * unit);
        }
        out_buf_putc(f, '0');
    }
    if (!written) {
        /* pstats.Stats refuses an empty dict ("Cannot create or construct"),
         * so an empty profile gets one placeholder entry with no calls. */
        pkey none = {"~", "<no samples>", 0};
        w_row(f, &none, 3, 0, 0, 0, 0);
        out_buf_puts(f, "{0");
    }
    out_buf_putc(f, '0');
    rc = 0;
    goto done;
oom:
    rc = pf_fail(err, PF_ERR_NOMEM, "out of memory");
done:
    if (have_agg)
        out_agg_free(&a);
    out_fn_classes_free(&fc);
    return rc;
}

int out_write_pstats(const pf_profile *p, FILE *f, const out_options *o, pf_error *err) {
    return out_buf_write(p, f, o, "pstats", write_pstats, err);
}
