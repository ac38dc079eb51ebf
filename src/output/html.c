/* html.c — the html writer: one self-contained page (no network) with a flame
 * graph and icicle, a sortable function table with callers and callees, an
 * expandable call tree and a per-thread timeline, all searchable.
 *
 * The profile travels as JSON in a <script type="application/json"> block
 * and is drawn by vanilla script (canvas for the big views), because a
 * million samples as DOM nodes would never open. The JSON is column-shaped,
 * not object-per-item: the tree as parallel arrays (parent, frame, self) in
 * preorder, so a subtree is an index range and totals are one backward pass;
 * functions, frames and strings as JSON tables; samples as three integer
 * arrays (time delta in microseconds, node, thread). The big arrays (tree and
 * samples) travel as one little-endian binary block, deflated and base64'd
 * inside the JSON: a million samples shrink from ~14 MB of decimal text to a
 * few hundred KB, and the page gets typed arrays without parsing numbers
 * (the browser inflates it natively with DecompressionStream).
 *
 * Names from the profiled program reach the page only inside that JSON, with
 * '<', '>', '&', U+2028/2029 and control characters escaped (so nothing can
 * close the script block), and the script shows them only with textContent
 * or canvas text. The title and subtitle are HTML-escaped.
 *
 * The Source tab: every file with samples, its lines' own and total weight
 * (report/lines.h) and, when out_options.read_source can read it, its text.
 * The texts travel as a second deflated, base64'd block (so nothing in them
 * can end the script block, whatever they hold), each file at most
 * SOURCE_FILE_MAX bytes and all of them SOURCE_ALL_MAX: a file left out gets
 * a note saying why, and shows its lines' numbers and figures without text.
 * Of a standard-library or third-party file only the excerpt of
 * report/excerpt.h is kept, and the page shows where lines were left out. */
#include "base/grow.h"
#include "output/assets.h"
#include "output/escape.h"
#include "output/outbuf.h"
#include "output/writer.h"
#include "report/excerpt.h"
#include "report/legend.h"
#include "report/lines.h"
#include "report/tree.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Names are escaped by escape.h's JSON and HTML escapers; the JSON one keeps
 * a literal safe inside the script block. */

/* ---- tree order ---------------------------------------------------------- */

/* The display tree (report/tree.h: every node with weight, siblings in the
 * one order) in preorder: order[k] = profile node, and newid[profile node] =
 * k (UINT32_MAX for nodes left out). Returns the count, 0 on OOM. */
static size_t preorder(const pf_profile *p, uint32_t **order_out, uint32_t **newid_out) {
    size_t n;
    pf_nodes(p, &n);
    rp_tree t;
    if (rp_tree_build(p, 0, 0, 1, NULL, &t) != 0)
        return 0;
    uint32_t *order = malloc(t.len * sizeof *order), *newid = malloc((n ? n : 1) * sizeof *newid);
    size_t count = order && newid ? rp_tree_preorder(&t, order) : 0;
    for (size_t i = 0; count && i < n; i++)
        newid[i] = UINT32_MAX;
    for (size_t k = 0; k < count; k++) {
        order[k] = t.src[order[k]];
        newid[order[k]] = (uint32_t)k;
    }
    rp_tree_free(&t);
    if (!count) {
        free(order);
        free(newid);
        return 0;
    }
    *order_out = order;
    *newid_out = newid;
    return count;
}

/* ---- the binary block ------------------------------------------------- */

/* Streams bytes through deflate (zlib format, as DecompressionStream('deflate')
 * expects) and base64 into the page. */
typedef struct blob {
    out_buf *o;
    z_stream z;
    unsigned char in[1 << 16];
    size_t in_len;
    unsigned char carry[3]; /* base64 works on 3-byte groups */
    size_t ncarry;
    int failed;
} blob;

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_put(blob *b, const unsigned char *p, size_t n) {
    char out[4096];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        b->carry[b->ncarry++] = p[i];
        if (b->ncarry < 3)
            continue;
        uint32_t v = (uint32_t)b->carry[0] << 16 | (uint32_t)b->carry[1] << 8 | b->carry[2];
        out[k++] = b64chars[v >> 18], out[k++] = b64chars[v >> 12 & 63];
        out[k++] = b64chars[v >> 6 & 63], out[k++] = b64chars[v & 63];
        b->ncarry = 0;
        if (k + 4 > sizeof out) {
            out_buf_put(b->o, out, k);
            k = 0;
        }
    }
    out_buf_put(b->o, out, k);
}

static void b64_end(blob *b) {
    if (!b->ncarry)
        return;
    uint32_t v = (uint32_t)b->carry[0] << 16 | (b->ncarry > 1 ? (uint32_t)b->carry[1] << 8 : 0);
    char out[4] = {b64chars[v >> 18], b64chars[v >> 12 & 63], b->ncarry > 1 ? b64chars[v >> 6 & 63] : '=', '='};
    out_buf_put(b->o, out, 4);
    b->ncarry = 0;
}

static void blob_deflate(blob *b, int flush) {
    unsigned char out[1 << 16];
    b->z.next_in = b->in;
    b->z.avail_in = (uInt)b->in_len;
    do {
        b->z.next_out = out;
        b->z.avail_out = sizeof out;
        int zrc = deflate(&b->z, flush);
        if (zrc == Z_STREAM_ERROR) {
            b->failed = 1;
            return;
        }
        b64_put(b, out, sizeof out - b->z.avail_out);
    } while (b->z.avail_out == 0);
    b->in_len = 0;
}

static void blob_bytes(blob *b, const void *p, size_t n) {
    const unsigned char *c = p;
    while (n) {
        size_t k = sizeof b->in - b->in_len < n ? sizeof b->in - b->in_len : n;
        memcpy(b->in + b->in_len, c, k);
        b->in_len += k, c += k, n -= k;
        if (b->in_len == sizeof b->in)
            blob_deflate(b, Z_NO_FLUSH);
    }
}

/* An unsigned LEB128 varint: most values in the block are small (distances to
 * a parent, repeated nodes, steady time steps) and take one or two bytes. */
static void blob_varint(blob *b, uint64_t v) {
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (unsigned char)(v & 127);
        v >>= 7;
        if (v)
            tmp[n] |= 128;
        n++;
    } while (v);
    blob_bytes(b, tmp, n);
}

/* Signed values as varints: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ... */
static void blob_zigzag(blob *b, int64_t v) {
    blob_varint(b, v < 0 ? ((uint64_t)(-(v + 1)) << 1) | 1 : (uint64_t)v << 1);
}

/* ---- source text ---------------------------------------------------------- */

#define SOURCE_FILE_MAX (2u << 20)  /* one file's text, bytes */
#define SOURCE_ALL_MAX (16u << 20)  /* all files' text together */

static int blob_begin(blob *b, out_buf *o) {
    memset(b, 0, sizeof *b);
    b->o = o;
    return deflateInit(&b->z, 6) == Z_OK ? 0 : -1;
}

/* Finishes the block; -1 when deflate failed. */
static int blob_end(blob *b) {
    blob_deflate(b, Z_FINISH);
    b64_end(b);
    deflateEnd(&b->z);
    return b->failed ? -1 : 0;
}

/* "src": {"files": [[name, own, total, text offset, text length, note, spans], ...],
 * "lines": [file, line, own, total, ...]} then "srcbin", the texts' block.
 * Offset -1: no text, and the note says why. spans: the lines a library
 * file's excerpt keeps (report/excerpt.h), first, last, ...; [] when whole.
 * Returns 0, -1 when out of memory. */
static int write_sources(const pf_profile *p, out_buf *o, const out_options *opt, uint32_t (*ref)(void *, pf_str_id),
                         void *st) {
    rp_lines l;
    if (rp_lines_build(p, &l) != 0)
        return -1;
    blob *b = malloc(sizeof *b);
    if (!b) {
        rp_lines_free(&l);
        return -1;
    }
    char **texts = calloc(l.nfiles + 1, sizeof *texts);
    size_t *lens = calloc(l.nfiles + 1, sizeof *lens);
    int *why = calloc(l.nfiles + 1, sizeof *why);
    rp_span **spans = calloc(l.nfiles + 1, sizeof *spans);
    size_t *nspans = calloc(l.nfiles + 1, sizeof *nspans);
    rp_excerpt *ex = rp_excerpt_new(p);
    if (!texts || !lens || !why || !spans || !nspans || !ex) {
        free(texts), free(lens), free(why), free(spans), free(nspans), free(b);
        rp_excerpt_free(ex);
        rp_lines_free(&l);
        return -1;
    }
    int rc = 0;
    size_t all = 0;
    for (size_t i = 0; i < l.nfiles; i++) {
        why[i] = -2; /* no reader: a converted profile names files nobody read */
        if (!opt || !opt->read_source)
            continue;
        if (all >= SOURCE_ALL_MAX) {
            why[i] = 2;
            continue;
        }
        size_t max = SOURCE_ALL_MAX - all < SOURCE_FILE_MAX ? SOURCE_ALL_MAX - all : SOURCE_FILE_MAX;
        why[i] = opt->read_source(opt->source_ctx, p, l.files[i].name, max, &texts[i], &lens[i]);
        if (why[i] == 1 && max < SOURCE_FILE_MAX)
            why[i] = 2; /* it would fit alone, not with the files before it */
        if (why[i] == 0 && rp_excerpt_apply(ex, l.files[i].name, texts[i], &lens[i], &spans[i], &nspans[i]) != 0)
            rc = -1;
        if (why[i] == 0)
            all += lens[i];
    }
    out_buf_puts(o, ",\n\"src\":{\"files\":[");
    size_t off = 0;
    for (size_t i = 0; i < l.nfiles; i++) {
        out_buf_printf(o, "%s[%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",", i ? "," : "", ref(st, l.files[i].name),
                       l.files[i].self, l.files[i].total);
        if (why[i] == 0) {
            out_buf_printf(o, "%zu,%zu,\"\",[", off, lens[i]);
            for (size_t k = 0; k < nspans[i]; k++)
                out_buf_printf(o, "%s%" PRId32 ",%" PRId32, k ? "," : "", spans[i][k].first, spans[i][k].last);
            out_buf_puts(o, "]]");
            off += lens[i];
            continue;
        }
        out_buf_puts(o, "-1,0,");
        char note[160];
        if (why[i] == 1)
            snprintf(note, sizeof note, "source not included: the file is larger than %u MB", SOURCE_FILE_MAX >> 20);
        else if (why[i] == 2)
            snprintf(note, sizeof note, "source not included: the report already holds %u MB of source",
                     SOURCE_ALL_MAX >> 20);
        else if (why[i] == -2)
            snprintf(note, sizeof note, "source not included: only a profile written by record or trace carries it");
        else
            snprintf(note, sizeof note, "source not available: the file could not be read when the profile was written");
        out_esc_json(o, note);
        out_buf_putc(o, ']');
    }
    out_buf_puts(o, "],\"lines\":[");
    for (size_t i = 0; i < l.nlines; i++)
        out_buf_printf(o, "%s%" PRIu32 ",%" PRId32 ",%" PRIu64 ",%" PRIu64, i ? "," : "", l.lines[i].file,
                       l.lines[i].line, l.lines[i].self, l.lines[i].total);
    out_buf_puts(o, "]},\n\"srcbin\":\"");
    if (rc == 0)
        rc = blob_begin(b, o);
    for (size_t i = 0; rc == 0 && i < l.nfiles; i++)
        if (why[i] == 0)
            blob_bytes(b, texts[i], lens[i]);
    if (rc == 0)
        rc = blob_end(b);
    out_buf_putc(o, '"');
    for (size_t i = 0; i < l.nfiles; i++)
        free(texts[i]), free(spans[i]);
    free(texts), free(lens), free(why), free(spans), free(nspans), free(b);
    rp_excerpt_free(ex);
    rp_lines_free(&l);
    return rc;
}

/* ---- the page ------------------------------------------------------------ */

/* The page's style, markup and script are files of their own
 * (src/output/assets/report.{css,html,js}, see assets.h); nothing from the
 * profile is ever put into them. */

static void json_u32_array(out_buf *o, const char *key, const uint32_t *v, size_t n) {
    out_buf_printf(o, "\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        out_buf_u64(o, v[i]);
    }
    out_buf_put(o, "]", 1);
}

/* Strings are emitted once, in a table, and referred to by index. */
typedef struct strtab {
    uint32_t *map; /* profile string id -> table index + 1 (0 = not yet) */
    size_t cap;
    uint32_t *ids; /* table index -> profile string id */
    size_t n, ids_cap;
    int failed;
} strtab;

static uint32_t str_ref(strtab *t, pf_str_id id) {
    if (id >= t->cap) {
        size_t was = t->cap;
        if (PF_GROW(t->map, t->cap, (size_t)id + 1, 1024) != 0) {
            t->failed = 1;
            return 0;
        }
        memset(t->map + was, 0, (t->cap - was) * sizeof *t->map);
    }
    if (!t->map[id]) {
        if (PF_GROW(t->ids, t->ids_cap, t->n + 1, 1024) != 0) {
            t->failed = 1;
            return 0;
        }
        t->ids[t->n] = id;
        t->map[id] = (uint32_t)++t->n;
    }
    return t->map[id] - 1;
}

static uint32_t str_ref_cb(void *t, pf_str_id id) { return str_ref(t, id); }

static int write_html(const pf_profile *p, out_buf *o, const out_options *opt, pf_error *err) {
    size_t nnodes, nframes, nfuncs, nthreads, nprocs, nsamples;
    const pf_node *nodes = pf_nodes(p, &nnodes);
    const pf_frame *frames = pf_frames(p, &nframes);
    const pf_func *funcs = pf_funcs(p, &nfuncs);
    const pf_thread *threads = pf_threads(p, &nthreads);
    const pf_process *procs = pf_processes(p, &nprocs);
    const pf_sample *samples = pf_samples(p, &nsamples);
    const pf_meta *meta = pf_profile_meta_const(p);
    const char *title = opt && opt->title ? opt->title : "pyflare";
    const char *subtitle = opt && opt->subtitle ? opt->subtitle : "";

    uint32_t *order = NULL, *newid = NULL, *tmp = NULL;
    strtab st = {0};
    int rc = -1;
    size_t n = preorder(p, &order, &newid);
    tmp = malloc((nnodes > nfuncs ? (nnodes > nframes ? nnodes : nframes) : (nfuncs > nframes ? nfuncs : nframes)) *
                     sizeof *tmp +
                 sizeof *tmp);
    if (!n || !tmp)
        goto oom;

    out_buf_puts(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width\"><title>");
    out_esc_html(o, title);
    out_buf_puts(o, "</title>\n<style>");
    out_buf_puts(o, out_asset_report_css);
    out_buf_puts(o, "</style></head><body>\n<header><h1>");
    out_esc_html(o, title);
    out_buf_puts(o, "</h1><div class=\"sub\">");
    out_esc_html(o, subtitle);
    out_buf_puts(o, "</div><div class=\"sub\" id=\"total\"></div>\n");
    out_buf_puts(o, out_asset_report_html);

    /* The data. */
    out_buf_puts(o, "<script type=\"application/json\" id=\"pf-data\">{\"v\":1,\"unit\":");
    out_esc_json(o, meta->mode == PF_MODE_TRACED ? "nanoseconds" : "samples");
    out_buf_puts(o, ",\"mode\":");
    out_esc_json(o, meta->mode == PF_MODE_TRACED ? "traced" : "sampled");
    out_buf_printf(o, ",\"rate_hz\":%.6g,\"duration_ns\":%" PRIu64 ",\"start_unix_ns\":%" PRIu64 ",\"command\":",
              meta->rate_hz, meta->duration_ns, meta->start_unix_ns);
    out_esc_json(o, pf_str(p, meta->command));
    out_buf_puts(o, ",\"python\":");
    out_esc_json(o, pf_str(p, meta->python));
    /* The view the page opens on: the icicle when asked for an inverted graph. */
    out_buf_puts(o, opt && opt->inverted ? ",\"view\":\"icicle\"" : ",\"view\":\"flame\"");
    /* The model's enums by name, so the script holds no copy of their values. */
    out_buf_printf(o, ",\n\"enums\":{\"kind\":{\"python\":%d,\"native\":%d,\"thread\":%d,\"process\":%d,\"other\":%d},"
                      "\"origin\":{\"unknown\":%d,\"own\":%d,\"stdlib\":%d,\"third_party\":%d},"
                      "\"legend\":{\"own\":%d,\"stdlib\":%d,\"third_party\":%d,\"native\":%d,\"root\":%d,\"other\":%d}}",
                   PF_FUNC_PYTHON, PF_FUNC_NATIVE, PF_FUNC_THREAD, PF_FUNC_PROCESS, PF_FUNC_OTHER, PF_ORIGIN_UNKNOWN,
                   PF_ORIGIN_OWN, PF_ORIGIN_STDLIB, PF_ORIGIN_THIRD_PARTY, RP_OWN, RP_STDLIB, RP_THIRD_PARTY, RP_NATIVE,
                   RP_ROOT, RP_OTHER);
    /* The legend's entries (report/legend.h), in the order funcs.origin counts them. */
    out_buf_puts(o, ",\n\"legend\":[");
    for (int k = 0; k < RP_NLEGEND; k++) {
        if (k)
            out_buf_putc(o, ',');
        out_esc_json(o, rp_legend_names[k]);
    }
    out_buf_putc(o, ']');

    /* Functions first, so their strings get small indexes. */
    for (size_t i = 0; i < nfuncs; i++)
        tmp[i] = str_ref(&st, funcs[i].name);
    out_buf_puts(o, ",\n\"funcs\":{");
    json_u32_array(o, "name", tmp, nfuncs);
    for (size_t i = 0; i < nfuncs; i++)
        tmp[i] = str_ref(&st, funcs[i].file);
    out_buf_put(o, ",", 1);
    json_u32_array(o, "file", tmp, nfuncs);
    for (size_t i = 0; i < nfuncs; i++)
        tmp[i] = funcs[i].kind;
    out_buf_put(o, ",", 1);
    json_u32_array(o, "kind", tmp, nfuncs);
    for (size_t i = 0; i < nfuncs; i++)
        tmp[i] = rp_legend_of(&funcs[i]); /* the legend entry, as the SVG's: the script reads it, never a path */
    out_buf_puts(o, ",");
    json_u32_array(o, "origin", tmp, nfuncs);
    out_buf_puts(o, "},\n\"frames\":{");
    for (size_t i = 0; i < nframes; i++)
        tmp[i] = frames[i].func;
    json_u32_array(o, "func", tmp, nframes);
    out_buf_puts(o, ",\"line\":[");
    for (size_t i = 0; i < nframes; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        out_buf_i64(o, frames[i].line);
    }
    out_buf_puts(o, "]},\n\"threads\":{\"name\":[");
    for (size_t i = 0; i < nthreads; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        out_buf_u64(o, str_ref(&st, threads[i].name));
    }
    /* Thread ids are addresses: too big for a JavaScript number, so strings. */
    out_buf_puts(o, "],\"tid\":[");
    for (size_t i = 0; i < nthreads; i++)
        out_buf_printf(o, "%s\"0x%" PRIx64 "\"", i ? "," : "", threads[i].thread_id);
    out_buf_puts(o, "],\"native\":[");
    for (size_t i = 0; i < nthreads; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        out_buf_i64(o, threads[i].native_id);
    }
    out_buf_puts(o, "],\"process\":[");
    for (size_t i = 0; i < nthreads; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        out_buf_u64(o, threads[i].process);
    }
    out_buf_puts(o, "]},\n\"processes\":{\"pid\":[");
    for (size_t i = 0; i < nprocs; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        out_buf_i64(o, procs[i].pid);
    }
    out_buf_puts(o, "],\"command\":[");
    for (size_t i = 0; i < nprocs; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        out_buf_u64(o, str_ref(&st, procs[i].command));
    }
    out_buf_puts(o, "]}");
    if (write_sources(p, o, opt, str_ref_cb, &st) != 0)
        goto oom;
    out_buf_puts(o, ",\n\"strings\":[");
    if (st.failed)
        goto oom;
    for (size_t i = 0; i < st.n; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        out_esc_json(o, pf_str(p, st.ids[i]));
    }
    /* The binary block: varints, in this order: every node's self weight;
     * for nodes 1.. their distance to their parent (k - parent, small in
     * preorder) and their frame; then per sample the time step in
     * microseconds (zigzag), the thread, and the node as a change from that
     * thread's previous sample (zigzag: a thread that stays put costs 0). */
    out_buf_printf(o, "],\n\"n\":%zu,\"ns\":%zu,\"bin\":\"", n, nsamples);
    blob *b = calloc(1, sizeof *b);
    if (!b || deflateInit(&b->z, 6) != Z_OK) {
        free(b);
        goto oom;
    }
    b->o = o;
    for (size_t k = 0; k < n; k++)
        blob_varint(b, nodes[order[k]].self);
    for (size_t k = 1; k < n; k++) {
        blob_varint(b, (uint32_t)k - newid[nodes[order[k]].parent]);
        blob_varint(b, nodes[order[k]].frame);
    }
    int64_t prev_us = 0;
    int64_t *last = calloc(nthreads + 1, sizeof *last);
    if (!last) {
        deflateEnd(&b->z);
        free(b);
        goto oom;
    }
    for (size_t i = 0; i < nsamples; i++) {
        int64_t us = (int64_t)(samples[i].time_ns / 1000);
        uint32_t id = samples[i].node < nnodes ? newid[samples[i].node] : 0;
        uint32_t t = samples[i].thread < nthreads ? samples[i].thread : (uint32_t)nthreads;
        if (id == UINT32_MAX)
            id = 0;
        blob_zigzag(b, us - prev_us);
        blob_varint(b, t);
        blob_zigzag(b, (int64_t)id - last[t]);
        last[t] = id;
        prev_us = us;
    }
    free(last);
    blob_deflate(b, Z_FINISH);
    b64_end(b);
    deflateEnd(&b->z);
    int bad = b->failed;
    free(b);
    if (bad)
        goto oom;
    out_buf_puts(o, "\"}</script>\n<script>");
    out_buf_puts(o, out_asset_report_js);
    out_buf_puts(o, "</script>\n</body></html>\n");
    rc = 0;
    goto done;
oom:
    rc = pf_fail(err, PF_ERR_NOMEM, "out of memory writing the html page");
done:
    free(order);
    free(newid);
    free(tmp);
    free(st.map);
    free(st.ids);
    return rc;
}

int out_write_html(const pf_profile *p, FILE *f, const out_options *o, pf_error *err) {
    if (pf_profile_failed(p))
        return pf_fail(err, PF_ERR_NOMEM, "the profile is incomplete (out of memory while recording)");
    return out_buf_write(p, f, o, "html", write_html, err);
}
