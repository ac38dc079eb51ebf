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
 * or canvas text. The title and subtitle are HTML-escaped. */
#include "output/escape.h"
#include "output/outbuf.h"
#include "output/writer.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- buffered output --------------------------------------------------- */


/* Integers are most of a big page: format them without printf. */
static void hb_u64(out_buf *s, uint64_t v) {
    char tmp[24];
    int n = 24;
    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_buf_put(s, tmp + n, (size_t)(24 - n));
}

static void hb_i64(out_buf *s, int64_t v) {
    if (v < 0) {
        out_buf_put(s, "-", 1);
        hb_u64(s, (uint64_t)0 - (uint64_t)v);
    } else
        hb_u64(s, (uint64_t)v);
}

/* ---- untrusted text ---------------------------------------------------- */


/* A JSON string literal that is also safe inside an HTML script block: no
 * '<' (so no "</script" or "<!--"), no raw line separators, valid UTF-8. */
static void json_str(out_buf *o, const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    size_t len = strlen(str), run = 0, i = 0, adv;
    out_buf_put(o, "\"", 1);
    while (i < len) {
        uint32_t cp = out_utf8_next(s + i, len - i, &adv);
        char esc[8];
        const char *rep = NULL;
        if (cp == '"')
            rep = "\\\"";
        else if (cp == '\\')
            rep = "\\\\";
        else if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&' || cp == 0x7F || cp == 0x2028 || cp == 0x2029) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
            rep = esc;
        } else if (cp == 0xFFFD && adv == 1)
            rep = "\\ufffd";
        if (rep) {
            out_buf_put(o, str + run, i - run);
            out_buf_puts(o, rep);
            run = i + adv;
        }
        i += adv;
    }
    out_buf_put(o, str + run, i - run);
    out_buf_put(o, "\"", 1);
}

/* HTML text (title, subtitle): markup characters as entities, control
 * characters and invalid bytes as U+FFFD. */
static void html_text(out_buf *o, const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    size_t len = strlen(str), run = 0, i = 0, adv;
    while (i < len) {
        uint32_t cp = out_utf8_next(s + i, len - i, &adv);
        const char *rep = NULL;
        if (cp == '&')
            rep = "&amp;";
        else if (cp == '<')
            rep = "&lt;";
        else if (cp == '>')
            rep = "&gt;";
        else if (cp == '"')
            rep = "&quot;";
        else if (cp == '\'')
            rep = "&#39;";
        else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp == 0xFFFD && adv == 1))
            rep = "\xEF\xBF\xBD";
        if (rep) {
            out_buf_put(o, str + run, i - run);
            out_buf_puts(o, rep);
            run = i + adv;
        }
        i += adv;
    }
    out_buf_put(o, str + run, i - run);
}

/* ---- tree order ---------------------------------------------------------- */

/* Frames ranked by (function name, file, line), so siblings can be ordered
 * the same way in every output regardless of the order stacks were seen. */
static int cmp_frames(const void *a, const void *b, void *ctx) {
    const pf_profile *p = ctx;
    size_t n;
    const pf_frame *fr = pf_frames(p, &n);
    const pf_func *fn = pf_funcs(p, &n);
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    const pf_func *fx = &fn[fr[x].func], *fy = &fn[fr[y].func];
    int c = strcmp(pf_str(p, fx->name), pf_str(p, fy->name));
    if (!c)
        c = strcmp(pf_str(p, fx->file), pf_str(p, fy->file));
    if (!c)
        c = (fr[x].line > fr[y].line) - (fr[x].line < fr[y].line);
    return c ? c : (x > y) - (x < y);
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

/* The nodes with weight in preorder, siblings sorted: order[k] = old id, and
 * newid[old] = k (UINT32_MAX for nodes left out). Returns the count, 0 on OOM. */
static size_t preorder(const pf_profile *p, uint32_t **order_out, uint32_t **newid_out) {
    size_t n, nframes;
    const pf_node *nodes = pf_nodes(p, &n);
    pf_frames(p, &nframes);
    uint32_t *rank = malloc((nframes ? nframes : 1) * sizeof *rank);
    uint32_t *byrank = malloc((nframes ? nframes : 1) * sizeof *byrank);
    kid *k = malloc((n ? n : 1) * sizeof *k);
    uint32_t *first = calloc(n ? n : 1, sizeof *first), *next = calloc(n ? n : 1, sizeof *next);
    uint32_t *order = malloc((n ? n : 1) * sizeof *order), *newid = malloc((n ? n : 1) * sizeof *newid);
    uint32_t *stack = malloc((n ? n : 1) * sizeof *stack);
    size_t count = 0;
    if (!rank || !byrank || !k || !first || !next || !order || !newid || !stack)
        goto out;
    for (size_t i = 0; i < nframes; i++)
        byrank[i] = (uint32_t)i;
    qsort_r(byrank, nframes, sizeof *byrank, cmp_frames, (void *)p);
    for (size_t i = 0; i < nframes; i++)
        rank[byrank[i]] = (uint32_t)i;
    size_t nk = 0;
    for (size_t i = 1; i < n; i++)
        if (nodes[i].total)
            k[nk++] = (kid){nodes[i].parent, rank[nodes[i].frame], (uint32_t)i};
    qsort(k, nk, sizeof *k, cmp_kids);
    for (size_t i = 0; i < nk; i++) {
        if (!i || k[i - 1].parent != k[i].parent)
            first[k[i].parent] = k[i].id;
        else
            next[k[i - 1].id] = k[i].id;
    }
    for (size_t i = 0; i < n; i++)
        newid[i] = UINT32_MAX;
    /* Iterative preorder: the stack holds the next sibling to visit. */
    size_t sp = 0;
    order[count] = 0, newid[0] = (uint32_t)count++;
    if (first[0])
        stack[sp++] = first[0];
    while (sp) {
        uint32_t at = stack[--sp];
        order[count] = at, newid[at] = (uint32_t)count++;
        if (next[at])
            stack[sp++] = next[at];
        if (first[at])
            stack[sp++] = first[at];
    }
out:
    free(rank);
    free(byrank);
    free(k);
    free(first);
    free(next);
    free(stack);
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

/* ---- the page ------------------------------------------------------------ */

/* BEGIN PAGE TEXT: the page's style, markup and script (kept as plain text,
 * edited as such; nothing from the profile is ever put into it). */
static const char css_style[] =
    "body{margin:0;font:13px/1.4 system-ui,-apple-system,Segoe UI,Verdana,sans-serif;color:#222;background:#fafaf7}\n"
    "header{padding:10px 16px 6px;border-bottom:1px solid #ddd;background:#fff;position:sticky;top:0;z-index:2}\n"
    "h1{font-size:18px;margin:0 0 2px}.sub{color:#666;font-size:12px}\n"
    "nav{margin-top:8px;display:inline-block}nav button{font:inherit;border:1px solid #ccc;background:#f4f4f4;padding:3px 10px;margin-right:4px;border-radius:4px;cursor:pointer}\n"
    "nav button.on{background:#1a5fb4;color:#fff;border-color:#1a5fb4}\n"
    ".search{display:inline-block;margin-left:16px}#search{font:inherit;width:320px;padding:3px 6px}#matched{margin-left:10px;font-weight:bold}\n"
    "main{padding:8px 16px}.bar{margin:4px 0 8px;color:#555}.bar button{margin-right:10px}\n"
    "#fwrap{overflow:auto;max-height:calc(100vh - 170px)}canvas{display:block}\n"
    "#tip{position:fixed;z-index:5;pointer-events:none;background:#fffff0;border:1px solid #888;border-radius:3px;padding:4px 8px;font-size:12px;max-width:700px;word-break:break-all;box-shadow:0 2px 6px rgba(0,0,0,.2)}\n"
    "#tip .tn{font-weight:bold}\n"
    ".cols{display:flex;gap:16px;align-items:flex-start}.tw{flex:3;max-height:calc(100vh - 190px);overflow:auto}#cc{flex:2;max-height:calc(100vh - 190px);overflow:auto}\n"
    "table{border-collapse:collapse;width:100%}th,td{padding:2px 6px;border-bottom:1px solid #eee;text-align:left;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:480px}td.file{max-width:260px}\n"
    "th{background:#f0f0ec;cursor:pointer;position:sticky;top:0;user-select:none}th.asc:after{content:\" \\25b4\"}th.desc:after{content:\" \\25be\"}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}tbody tr{cursor:pointer}tbody tr:hover{background:#eef4ff}tr.sel{background:#dde8ff}\n"
    ".sw{display:inline-block;width:9px;height:9px;margin-right:6px;border-radius:2px}\n"
    "#ccname{margin:4px 0;font-size:14px;word-break:break-all}h4{margin:10px 0 4px}\n"
    ".tline{white-space:nowrap;cursor:pointer;padding:1px 0}.tline:hover{background:#eef4ff}.tog{display:inline-block;width:14px;color:#555}\n"
    ".tp{display:inline-block;width:64px;text-align:right;margin-right:8px;font-variant-numeric:tabular-nums;color:#444}.tl.hit{background:#f4c0f4}\n"
    ".more,.empty{color:#777;font-style:italic;padding:4px}\n"
    ".tlwrap{display:flex}.tlabels{width:190px;flex:none}.tlrow{height:22px;line-height:22px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;padding-right:6px}\n"
    ".tlaxis{color:#555;margin-top:6px}\n";
static const char page_body[] =
    "<nav id=\"tabs\"><button data-v=\"flame\">Flame graph</button><button data-v=\"icicle\">Icicle</button><button data-v=\"table\">Functions</button><button data-v=\"tree\">Call tree</button><button data-v=\"timeline\">Timeline</button></nav>\n"
    "<div class=\"search\"><input id=\"search\" type=\"search\" placeholder=\"Search all views (regular expression)\" autocomplete=\"off\" spellcheck=\"false\"><span id=\"matched\"></span></div>\n"
    "</header>\n"
    "<main>\n"
    "<section id=\"v-flame\"><div class=\"bar\"><button id=\"reset\" disabled>Reset zoom</button><span id=\"crumb\"></span> <span class=\"hint\">click a frame to zoom, click it again to zoom out</span></div><div id=\"fwrap\"><canvas id=\"flame\"></canvas></div></section>\n"
    "<section id=\"v-table\" hidden><div class=\"bar\" id=\"tcount\"></div><div class=\"cols\"><div class=\"tw\"><table id=\"ftable\"><thead><tr><th data-k=\"name\">Function</th><th data-k=\"file\">File</th><th data-k=\"self\">Self</th><th data-k=\"self\">Self %</th><th data-k=\"total\">Total</th><th data-k=\"total\">Total %</th></tr></thead><tbody></tbody></table></div>\n"
    "<div id=\"cc\" hidden><h3 id=\"ccname\"></h3><div id=\"ccstat\" class=\"sub\"></div><h4>Callers</h4><table id=\"callers\"><thead><tr><th>Function</th><th>Weight</th><th>%</th></tr></thead><tbody></tbody></table><h4>Callees</h4><table id=\"callees\"><thead><tr><th>Function</th><th>Weight</th><th>%</th></tr></thead><tbody></tbody></table></div></div></section>\n"
    "<section id=\"v-tree\" hidden><div class=\"bar\">total, self, frame &mdash; click a row to expand it</div><div id=\"tree\"></div></section>\n"
    "<section id=\"v-timeline\" hidden><div id=\"tl\"></div></section>\n"
    "</main>\n"
    "<div id=\"tip\" hidden></div>\n";
static const char script[] =
    "(function () {\n"
    "'use strict';\n"
    "var $ = function (id) { return document.getElementById(id); };\n"
    "function el(tag, cls, text) {\n"
    "  var e = document.createElement(tag);\n"
    "  if (cls) e.className = cls;\n"
    "  if (text != null) e.textContent = text;\n"
    "  return e;\n"
    "}\n"
    "var D = JSON.parse($('pf-data').textContent);\n"
    "/* Control characters in names would draw as boxes or break lines. */\n"
    "var S = D.strings.map(function (s) { return s.replace(/[\\u0000-\\u001f\\u007f-\\u009f]/g, '\\ufffd'); });\n"
    "function fail(msg) {\n"
    "  var m = el('p', 'empty', msg);\n"
    "  document.querySelector('main').textContent = '';\n"
    "  document.querySelector('main').appendChild(m);\n"
    "}\n"
    "/* The tree and the samples come as one deflated block of varints. */\n"
    "var bin = atob(D.bin), raw = new Uint8Array(bin.length);\n"
    "for (var b = 0; b < bin.length; b++) raw[b] = bin.charCodeAt(b);\n"
    "bin = null;\n"
    "if (typeof DecompressionStream === 'undefined') fail('This browser cannot open the page: it lacks DecompressionStream (use a current Chromium, Firefox or Safari).');\n"
    "else {\n"
    "  var ds = new DecompressionStream('deflate'), wr = ds.writable.getWriter(), rd = ds.readable.getReader(), parts = [], got = 0;\n"
    "  wr.write(raw).catch(function () {}); wr.close().catch(function () {});\n"
    "  var pump = function (r) {\n"
    "    if (r.done) {\n"
    "      var all = new Uint8Array(got), at = 0;\n"
    "      for (var k = 0; k < parts.length; k++) { all.set(parts[k], at); at += parts[k].length; }\n"
    "      parts = null;\n"
    "      main(all);\n"
    "      return;\n"
    "    }\n"
    "    parts.push(r.value); got += r.value.length;\n"
    "    return rd.read().then(pump);\n"
    "  };\n"
    "  rd.read().then(pump).catch(function (e) { fail('The profile data is damaged: ' + e); });\n"
    "}\n"
    "\n"
    "function main(B) {\n"
    "var N = D.n, NS = D.ns, pos = 0;\n"
    "function vi() { var x = B[pos++], v = x & 127, m = 128; while (x & 128) { x = B[pos++]; v += (x & 127) * m; m *= 128; } return v; }\n"
    "function zz(v) { return v % 2 ? -(v + 1) / 2 : v / 2; }\n"
    "var self = new Float64Array(N), par = new Int32Array(N), frm = new Int32Array(N);\n"
    "var tot = new Float64Array(N), size = new Int32Array(N), dep = new Int32Array(N);\n"
    "var SM = { dt: new Float64Array(NS), node: new Int32Array(NS), thread: new Int32Array(NS) };\n"
    "var i, j;\n"
    "for (i = 0; i < N; i++) self[i] = vi();\n"
    "var bad = 0;\n"
    "for (i = 1; i < N; i++) { par[i] = i - vi(); frm[i] = vi(); if (par[i] < 0 || frm[i] >= D.frames.func.length) bad = 1; }\n"
    "var lastNode = new Int32Array(D.threads.name.length + 1);\n"
    "for (i = 0; i < NS; i++) {\n"
    "  SM.dt[i] = zz(vi());\n"
    "  var th = SM.thread[i] = Math.min(vi(), D.threads.name.length);\n"
    "  SM.node[i] = lastNode[th] = lastNode[th] + zz(vi());\n"
    "  if (SM.node[i] < 0 || SM.node[i] >= N) bad = 1;\n"
    "}\n"
    "if (bad || pos !== B.length) { fail('The profile data is damaged (wrong size).'); return; }\n"
    "var NSU = D.unit === 'nanoseconds';\n"
    "var fnName = D.funcs.name, fnFile = D.funcs.file, fnKind = D.funcs.kind, fnKnown = D.funcs.origin, NF = fnName.length;\n"
    "var frFunc = D.frames.func, frLine = D.frames.line, NFR = frFunc.length;\n"
    "/* Nodes come in preorder: a subtree is the range [i, i + size[i]). */\n"
    "for (i = N - 1; i > 0; i--) { tot[i] += self[i]; size[i] += 1; tot[par[i]] += tot[i]; size[par[i]] += size[i]; }\n"
    "if (N) { tot[0] += self[0]; size[0] += 1; }\n"
    "var maxDep = 0;\n"
    "for (i = 1; i < N; i++) { dep[i] = dep[par[i]] + 1; if (dep[i] > maxDep) maxDep = dep[i]; }\n"
    "var T = N ? tot[0] : 0;\n"
    "var nodeFn = new Int32Array(N);\n"
    "for (i = 1; i < N; i++) nodeFn[i] = frFunc[frm[i]];\n"
    "\n"
    "/* ---- names, places, colours ---- */\n"
    "var frLab = new Array(NFR), fnLab = new Array(NF);\n"
    "function place(f) { return fnKind[f] >= 2 ? '' : S[fnFile[f]]; }\n"
    "function frameLabel(fr) {\n"
    "  if (fr === 0) return 'all';\n"
    "  var s = frLab[fr];\n"
    "  if (s === undefined) {\n"
    "    var f = frFunc[fr], file = place(f);\n"
    "    s = file ? S[fnName[f]] + ' (' + file + (frLine[fr] > 0 ? ':' + frLine[fr] : '') + ')' : S[fnName[f]];\n"
    "    frLab[fr] = s;\n"
    "  }\n"
    "  return s;\n"
    "}\n"
    "function funcLabel(f) {\n"
    "  var s = fnLab[f];\n"
    "  if (s === undefined) { var file = place(f); s = fnLab[f] = file ? S[fnName[f]] + ' (' + file + ')' : S[fnName[f]]; }\n"
    "  return s;\n"
    "}\n"
    "function nodeLabel(i) { return i === 0 ? 'all' : frameLabel(frm[i]); }\n"
    "function hash(s) { var h = 2166136261; for (var k = 0; k < s.length; k++) { h ^= s.charCodeAt(k); h = Math.imul(h, 16777619); } return h >>> 0; }\n"
    "var ORIGINS = ['own code', 'standard library', 'third-party', 'native', 'thread / process', 'other'];\n"
    "function origin(f) {\n"
    "  var k = fnKind[f];\n"
    "  if (k === 1) return 3;\n"
    "  if (k === 2 || k === 3) return 4;\n"
    "  if (k === 4) return 5;\n"
    "  if (fnKnown && fnKnown[f]) return fnKnown[f] - 1;\n"
    "  var file = S[fnFile[f]];\n"
    "  if (/\\/(site|dist)-packages\\//.test(file)) return 2;\n"
    "  if (/\\/lib\\/python\\d[\\d.]*\\//.test(file) || file.indexOf('<frozen ') === 0) return 1;\n"
    "  return 0;\n"
    "}\n"
    "var fnColour = new Array(NF), fnOrigin = new Int8Array(NF);\n"
    "function colour(f) {\n"
    "  var c = fnColour[f];\n"
    "  if (c === undefined) {\n"
    "    var h = hash(S[fnName[f]]), a = (h & 255) / 255, b = (h >>> 8 & 255) / 255, o = fnOrigin[f] = origin(f), r, g, bl;\n"
    "    if (o === 0) { r = 225 + a * 30; g = 95 + b * 100; bl = 50 + a * 30; }\n"
    "    else if (o === 1) { r = 95 + b * 45; g = 150 + a * 45; bl = 215 + b * 35; }\n"
    "    else if (o === 2) { r = 110 + a * 55; g = 190 + b * 40; bl = 95 + a * 45; }\n"
    "    else if (o === 3) { r = 190 + a * 30; g = 175 + a * 30; bl = 130 + b * 35; }\n"
    "    else if (o === 4) { r = 175 + a * 30; g = 150 + b * 30; bl = 220 + a * 30; }\n"
    "    else { r = g = bl = 195 + a * 20; }\n"
    "    c = fnColour[f] = [r | 0, g | 0, bl | 0];\n"
    "  }\n"
    "  return c;\n"
    "}\n"
    "function css(c) { return 'rgb(' + c[0] + ',' + c[1] + ',' + c[2] + ')'; }\n"
    "function num(n) { return Math.round(n).toLocaleString('en-US'); }\n"
    "function wt(n) {\n"
    "  if (!NSU) return num(n) + (n === 1 ? ' sample' : ' samples');\n"
    "  return n >= 1e9 ? (n / 1e9).toFixed(2) + ' s' : n >= 1e6 ? (n / 1e6).toFixed(2) + ' ms' : n >= 1e3 ? (n / 1e3).toFixed(2) + ' us' : n + ' ns';\n"
    "}\n"
    "function pct(n, of) { return (of ? 100 * n / of : 0).toFixed(2) + '%'; }\n"
    "\n"
    "/* ---- search, shared by every view ---- */\n"
    "var re = null, frMatch = null, nodeMatch = null, stackMatch = null, matchedW = 0;\n"
    "function applySearch(text) {\n"
    "  re = null; frMatch = nodeMatch = stackMatch = null;\n"
    "  var m = $('matched');\n"
    "  if (text) {\n"
    "    try { re = new RegExp(text); } catch (e) { m.textContent = 'invalid regular expression'; re = null; }\n"
    "  }\n"
    "  if (re) {\n"
    "    frMatch = new Int8Array(NFR);\n"
    "    for (var k = 1; k < NFR; k++) frMatch[k] = re.test(frameLabel(k)) ? 1 : 0;\n"
    "    nodeMatch = new Int8Array(N); stackMatch = new Int8Array(N); matchedW = 0;\n"
    "    for (var n = 1; n < N; n++) {\n"
    "      nodeMatch[n] = frMatch[frm[n]];\n"
    "      stackMatch[n] = nodeMatch[n] || stackMatch[par[n]];\n"
    "      if (stackMatch[n]) matchedW += self[n];\n"
    "    }\n"
    "    m.textContent = 'Matched: ' + pct(matchedW, T);\n"
    "  } else if (!text) m.textContent = '';\n"
    "  dirty = { flame: 1, table: 1, tree: 1, timeline: 1 };\n"
    "  render();\n"
    "}\n"
    "\n"
    "/* ---- flame graph and icicle (one canvas) ---- */\n"
    "var ROWH = 18, zoomRoot = 0, rowsHit = [], charW = 7;\n"
    "var cv = $('flame'), ctx = cv.getContext('2d'), tip = $('tip');\n"
    "function drawFlame(inverted) {\n"
    "  var wrap = $('fwrap'), W = Math.max(200, wrap.clientWidth - 2), dpr = window.devicePixelRatio || 1;\n"
    "  var rects = [], z = zoomRoot, zt = tot[z], zd = dep[z], maxRow = zd;\n"
    "  rowsHit = [];\n"
    "  if (!T) { cv.width = W; cv.height = 40; ctx.font = '14px sans-serif'; ctx.fillText('No samples', 10, 24); return; }\n"
    "  /* ancestors of the zoomed frame: full width, greyed */\n"
    "  if (z !== 0) for (var a = par[z]; ; a = par[a]) { rects.push(a, 0, W, dep[a], 1); if (a === 0) break; }\n"
    "  /* breadth first, so each row's frames come out left to right for hit testing */\n"
    "  var k2 = W / zt, qN = [z], qX = [0];\n"
    "  for (var h = 0; h < qN.length; h++) {\n"
    "    var n = qN[h], x = qX[h], d = dep[n];\n"
    "    rects.push(n, x, tot[n] * k2, d, 0);\n"
    "    if (d > maxRow) maxRow = d;\n"
    "    if (d - zd > 1800) continue; /* a canvas cannot be taller */\n"
    "    var end = n + size[n];\n"
    "    for (var c = n + 1; c < end; c += size[c]) {\n"
    "      var w = tot[c] * k2;\n"
    "      if (w >= 0.3) { qN.push(c); qX.push(x); }\n"
    "      x += w;\n"
    "    }\n"
    "  }\n"
    "  var H = (maxRow + 1) * ROWH;\n"
    "  cv.style.width = W + 'px'; cv.style.height = H + 'px';\n"
    "  cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr);\n"
    "  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);\n"
    "  ctx.font = '12px Verdana, sans-serif'; ctx.textBaseline = 'middle';\n"
    "  charW = ctx.measureText('abcdefghijklmnopqrstuvwxyz_.()').width / 30;\n"
    "  for (var r = 0; r <= maxRow; r++) rowsHit.push([]);\n"
    "  for (var q = 0; q < rects.length; q += 5) {\n"
    "    var node = rects[q], rx = rects[q + 1], rw = rects[q + 2], row = rects[q + 3], grey = rects[q + 4];\n"
    "    var y = inverted ? row * ROWH : (maxRow - row) * ROWH;\n"
    "    var col = node === 0 ? [200, 200, 200] : colour(nodeFn[node]);\n"
    "    if (nodeMatch && nodeMatch[node]) col = [224, 64, 224];\n"
    "    ctx.globalAlpha = grey ? 0.45 : 1;\n"
    "    ctx.fillStyle = css(col);\n"
    "    ctx.fillRect(rx, y, Math.max(rw - 0.5, 0.3), ROWH - 1);\n"
    "    rowsHit[row].push(rx, rw, node);\n"
    "    var chars = Math.floor((rw - 6) / charW);\n"
    "    if (chars >= 3) {\n"
    "      var lab = nodeLabel(node);\n"
    "      if (lab.length > chars) lab = lab.slice(0, chars - 2) + '..';\n"
    "      ctx.fillStyle = '#000';\n"
    "      ctx.fillText(lab, rx + 3, y + ROWH / 2);\n"
    "    }\n"
    "  }\n"
    "  ctx.globalAlpha = 1;\n"
    "  cv.dataset.rows = String(maxRow + 1);\n"
    "  cv.dataset.inverted = inverted ? '1' : '0';\n"
    "  $('reset').disabled = zoomRoot === 0;\n"
    "  $('crumb').textContent = zoomRoot ? 'zoomed: ' + nodeLabel(zoomRoot) + ' (' + pct(tot[zoomRoot], T) + ' of all)' : '';\n"
    "}\n"
    "function flameHit(e) {\n"
    "  var b = cv.getBoundingClientRect(), x = e.clientX - b.left, y = e.clientY - b.top;\n"
    "  var rows = rowsHit.length, r = Math.floor(y / ROWH);\n"
    "  if (cv.dataset.inverted !== '1') r = rows - 1 - r;\n"
    "  var L = rowsHit[r];\n"
    "  if (!L) return -1;\n"
    "  var lo = 0, hi = L.length / 3 - 1;\n"
    "  while (lo <= hi) {\n"
    "    var mid = (lo + hi) >> 1, x0 = L[mid * 3], w = L[mid * 3 + 1];\n"
    "    if (x < x0) hi = mid - 1; else if (x >= x0 + w) lo = mid + 1; else return L[mid * 3 + 2];\n"
    "  }\n"
    "  return -1;\n"
    "}\n"
    "function showTip(e, lines) {\n"
    "  tip.textContent = '';\n"
    "  for (var k = 0; k < lines.length; k++) tip.appendChild(el('div', k ? '' : 'tn', lines[k]));\n"
    "  tip.hidden = false;\n"
    "  var x = e.clientX + 14, y = e.clientY + 16, r = tip.getBoundingClientRect();\n"
    "  if (x + r.width > window.innerWidth) x = Math.max(0, e.clientX - r.width - 10);\n"
    "  if (y + r.height > window.innerHeight) y = Math.max(0, e.clientY - r.height - 10);\n"
    "  tip.style.left = x + 'px'; tip.style.top = y + 'px';\n"
    "}\n"
    "function nodeTip(e, n) {\n"
    "  var lines = [];\n"
    "  if (n === 0) lines.push('all');\n"
    "  else {\n"
    "    var f = nodeFn[n], file = place(f), fr = frm[n];\n"
    "    lines.push(S[fnName[f]]);\n"
    "    if (file) lines.push(file + (frLine[fr] > 0 ? ':' + frLine[fr] : ''));\n"
    "  }\n"
    "  lines.push(wt(tot[n]) + ', ' + pct(tot[n], T) + ' of all' + (zoomRoot ? ', ' + pct(tot[n], tot[zoomRoot]) + ' of zoomed' : ''));\n"
    "  lines.push('self: ' + wt(self[n]) + ' (' + pct(self[n], T) + ')');\n"
    "  showTip(e, lines);\n"
    "}\n"
    "cv.addEventListener('mousemove', function (e) { var n = flameHit(e); if (n < 0) tip.hidden = true; else nodeTip(e, n); });\n"
    "cv.addEventListener('mouseleave', function () { tip.hidden = true; });\n"
    "cv.addEventListener('click', function (e) {\n"
    "  var n = flameHit(e);\n"
    "  if (n < 0) return;\n"
    "  zoomRoot = n === zoomRoot ? (n ? par[n] : 0) : n;\n"
    "  dirty.flame = 1; render();\n"
    "});\n"
    "$('reset').addEventListener('click', function () { zoomRoot = 0; dirty.flame = 1; render(); });\n"
    "\n"
    "/* ---- functions table, callers and callees ---- */\n"
    "var fSelf = null, fTot = null, sortKey = 'self', sortDesc = true, selFn = -1;\n"
    "function funcTotals() {\n"
    "  if (fSelf) return;\n"
    "  fSelf = new Float64Array(NF); fTot = new Float64Array(NF);\n"
    "  /* total counts a function once per stack even when it recurses */\n"
    "  var open = new Int32Array(NF), st = [];\n"
    "  for (var n = 1; n < N; n++) {\n"
    "    while (st.length && st[st.length - 1] + size[st[st.length - 1]] <= n) open[nodeFn[st.pop()]]--;\n"
    "    var f = nodeFn[n];\n"
    "    fSelf[f] += self[n];\n"
    "    if (!open[f]) fTot[f] += tot[n];\n"
    "    open[f]++; st.push(n);\n"
    "  }\n"
    "}\n"
    "function drawTable() {\n"
    "  funcTotals();\n"
    "  var rows = [];\n"
    "  for (var f = 1; f < NF; f++) if (fTot[f] > 0 && (!re || re.test(funcLabel(f)))) rows.push(f);\n"
    "  var key = sortKey, sign = sortDesc ? -1 : 1;\n"
    "  rows.sort(function (a, b) {\n"
    "    var x, y;\n"
    "    if (key === 'name') { x = S[fnName[a]]; y = S[fnName[b]]; }\n"
    "    else if (key === 'file') { x = place(a); y = place(b); }\n"
    "    else if (key === 'self') { x = fSelf[a]; y = fSelf[b]; }\n"
    "    else { x = fTot[a]; y = fTot[b]; }\n"
    "    return x < y ? -sign : x > y ? sign : a - b;\n"
    "  });\n"
    "  var tb = $('ftable').tBodies[0], shown = Math.min(rows.length, 2000);\n"
    "  tb.textContent = '';\n"
    "  var frag = document.createDocumentFragment();\n"
    "  for (var k = 0; k < shown; k++) {\n"
    "    var fn = rows[k], tr = el('tr');\n"
    "    tr.dataset.f = String(fn);\n"
    "    if (fn === selFn) tr.className = 'sel';\n"
    "    var sw = el('span', 'sw'); sw.style.background = css(colour(fn));\n"
    "    var td = el('td', 'name'); td.appendChild(sw); td.appendChild(document.createTextNode(S[fnName[fn]]));\n"
    "    tr.appendChild(td);\n"
    "    tr.appendChild(el('td', 'file', place(fn)));\n"
    "    tr.appendChild(el('td', 'n', wt(fSelf[fn])));\n"
    "    tr.appendChild(el('td', 'n', pct(fSelf[fn], T)));\n"
    "    tr.appendChild(el('td', 'n', wt(fTot[fn])));\n"
    "    tr.appendChild(el('td', 'n', pct(fTot[fn], T)));\n"
    "    frag.appendChild(tr);\n"
    "  }\n"
    "  tb.appendChild(frag);\n"
    "  $('tcount').textContent = shown < rows.length ? 'showing ' + shown + ' of ' + rows.length + ' functions' : rows.length + ' functions';\n"
    "  var ths = $('ftable').tHead.rows[0].cells;\n"
    "  for (k = 0; k < ths.length; k++) ths[k].className = ths[k].dataset.k === sortKey ? (sortDesc ? 'desc' : 'asc') : '';\n"
    "  drawCallers();\n"
    "}\n"
    "$('ftable').tHead.addEventListener('click', function (e) {\n"
    "  var th = e.target.closest('th');\n"
    "  if (!th) return;\n"
    "  var k = th.dataset.k;\n"
    "  if (k === sortKey) sortDesc = !sortDesc; else { sortKey = k; sortDesc = k !== 'name' && k !== 'file'; }\n"
    "  drawTable();\n"
    "});\n"
    "function selectFn(f) { selFn = f; dirty.table = 1; render(); }\n"
    "$('ftable').tBodies[0].addEventListener('click', function (e) { var tr = e.target.closest('tr'); if (tr) selectFn(+tr.dataset.f); });\n"
    "function fillCC(id, map, total) {\n"
    "  var tb = $(id).tBodies[0], list = [];\n"
    "  tb.textContent = '';\n"
    "  map.forEach(function (w, f) { list.push([f, w]); });\n"
    "  list.sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; });\n"
    "  if (!list.length) { var tr0 = el('tr'); tr0.appendChild(el('td', 'none', '(none)')); tb.appendChild(tr0); }\n"
    "  list.slice(0, 500).forEach(function (p) {\n"
    "    var tr = el('tr');\n"
    "    tr.dataset.f = String(p[0]);\n"
    "    tr.appendChild(el('td', 'name', p[0] < 0 ? '(root)' : funcLabel(p[0])));\n"
    "    tr.appendChild(el('td', 'n', wt(p[1])));\n"
    "    tr.appendChild(el('td', 'n', pct(p[1], total)));\n"
    "    tb.appendChild(tr);\n"
    "  });\n"
    "}\n"
    "function drawCallers() {\n"
    "  var box = $('cc');\n"
    "  if (selFn < 1) { box.hidden = true; return; }\n"
    "  box.hidden = false;\n"
    "  $('ccname').textContent = funcLabel(selFn);\n"
    "  var callers = new Map(), callees = new Map(), end = -1, total = 0;\n"
    "  for (var n = 1; n < N; n++) {\n"
    "    if (n < end || nodeFn[n] !== selFn) continue;\n"
    "    end = n + size[n]; total += tot[n];\n"
    "    var p = par[n], pf = p === 0 ? -1 : nodeFn[p];\n"
    "    callers.set(pf, (callers.get(pf) || 0) + tot[n]);\n"
    "    for (var c = n + 1; c < end; c += size[c]) callees.set(nodeFn[c], (callees.get(nodeFn[c]) || 0) + tot[c]);\n"
    "  }\n"
    "  $('ccstat').textContent = wt(total) + ' (' + pct(total, T) + ' of all); percentages below are of this function\\u2019s total';\n"
    "  fillCC('callers', callers, total);\n"
    "  fillCC('callees', callees, total);\n"
    "}\n"
    "$('callers').addEventListener('click', function (e) { var tr = e.target.closest('tr'); if (tr && +tr.dataset.f > 0) selectFn(+tr.dataset.f); });\n"
    "$('callees').addEventListener('click', function (e) { var tr = e.target.closest('tr'); if (tr && +tr.dataset.f > 0) selectFn(+tr.dataset.f); });\n"
    "\n"
    "/* ---- call tree ---- */\n"
    "function kids(n) {\n"
    "  var out = [], end = n + size[n];\n"
    "  for (var c = n + 1; c < end; c += size[c]) if (tot[c] > 0) out.push(c);\n"
    "  out.sort(function (a, b) { return tot[b] - tot[a] || a - b; });\n"
    "  return out;\n"
    "}\n"
    "function treeRow(n) {\n"
    "  var row = el('div', 'trow'), line = el('div', 'tline');\n"
    "  row.dataset.n = String(n);\n"
    "  var has = size[n] > 1;\n"
    "  line.appendChild(el('span', 'tog', has ? '\\u25b8' : ' '));\n"
    "  line.appendChild(el('span', 'tp', pct(tot[n], T)));\n"
    "  line.appendChild(el('span', 'tp', pct(self[n], T)));\n"
    "  var lab = el('span', 'tl', nodeLabel(n));\n"
    "  if (n && nodeMatch && nodeMatch[n]) lab.className = 'tl hit';\n"
    "  line.appendChild(lab);\n"
    "  line.style.paddingLeft = (Math.min(dep[n], 200) * 14) + 'px';\n"
    "  row.appendChild(line);\n"
    "  return row;\n"
    "}\n"
    "function expand(row, open) {\n"
    "  var n = +row.dataset.n, tog = row.firstChild.firstChild, box = row.children[1];\n"
    "  if (size[n] <= 1) return;\n"
    "  if (open === undefined) open = !box || box.hidden;\n"
    "  if (open && !box) {\n"
    "    box = el('div', 'tkids');\n"
    "    var ks = kids(n), lim = Math.min(ks.length, 1000);\n"
    "    for (var k = 0; k < lim; k++) box.appendChild(treeRow(ks[k]));\n"
    "    if (lim < ks.length) box.appendChild(el('div', 'more', (ks.length - lim) + ' more not shown'));\n"
    "    row.appendChild(box);\n"
    "  }\n"
    "  if (box) box.hidden = !open;\n"
    "  tog.textContent = open ? '\\u25be' : '\\u25b8';\n"
    "  row.classList.toggle('open', open);\n"
    "}\n"
    "function drawTree() {\n"
    "  var t = $('tree');\n"
    "  t.textContent = '';\n"
    "  if (!T) { t.appendChild(el('p', 'empty', 'No samples.')); return; }\n"
    "  var root = treeRow(0);\n"
    "  t.appendChild(root);\n"
    "  /* open the hot path a few levels deep */\n"
    "  var r = root;\n"
    "  for (var k = 0; k < 4 && r; k++) { expand(r, true); var box = r.children[1]; r = box && box.firstChild && box.firstChild.dataset ? box.firstChild : null; }\n"
    "}\n"
    "$('tree').addEventListener('click', function (e) { var row = e.target.closest('.trow'); if (row && e.target.closest('.tline')) expand(row); });\n"
    "\n"
    "/* ---- timeline ---- */\n"
    "var sT = null, tlHit = null, tlW = 0, tlT0 = 0, tlSpan = 1, TLH = 22;\n"
    "var threadRows = [];\n"
    "function drawTimeline() {\n"
    "  var box = $('tl');\n"
    "  box.textContent = '';\n"
    "  if (!NS) {\n"
    "    box.appendChild(el('p', 'empty', 'No timeline: this profile has no time-ordered samples (folded stacks, for one, carry none). Record with pyflare to get one.'));\n"
    "    return;\n"
    "  }\n"
    "  if (!sT) {\n"
    "    sT = new Float64Array(NS);\n"
    "    var t = 0;\n"
    "    for (var k = 0; k < NS; k++) { t += SM.dt[k]; sT[k] = t; }\n"
    "  }\n"
    "  var nth = D.threads.name.length, used = new Int8Array(Math.max(nth, 1) + 1), lo = Infinity, hi = -Infinity;\n"
    "  for (k = 0; k < NS; k++) { used[Math.min(SM.thread[k], nth)] = 1; if (sT[k] < lo) lo = sT[k]; if (sT[k] > hi) hi = sT[k]; }\n"
    "  threadRows = []; var rowOf = new Int32Array(nth + 1).fill(-1);\n"
    "  for (k = 0; k <= nth; k++) if (used[k]) { rowOf[k] = threadRows.length; threadRows.push(k); }\n"
    "  var labels = el('div', 'tlabels'), W = Math.max(200, box.clientWidth - 200), H = threadRows.length * TLH;\n"
    "  threadRows.forEach(function (th) {\n"
    "    var name = th < nth ? S[D.threads.name[th]] : '';\n"
    "    var txt = (name || 'thread') + (th < nth ? ' (' + D.threads.tid[th] + ')' : '');\n"
    "    var d = el('div', 'tlrow', txt); d.title = txt; labels.appendChild(d);\n"
    "  });\n"
    "  var c = el('canvas'); c.id = 'tlc'; c.width = W; c.height = H; c.style.width = W + 'px'; c.style.height = H + 'px';\n"
    "  var wrap = el('div', 'tlwrap'); wrap.appendChild(labels); wrap.appendChild(c); box.appendChild(wrap);\n"
    "  box.appendChild(el('div', 'tlaxis', (NSU ? '' : '') + 'time: 0 .. ' + ((hi - lo) / 1e6).toFixed(3) + ' s, ' + num(NS) + ' samples, colour = leaf function' + (re ? ', grey = not matching the search' : '')));\n"
    "  var cx = c.getContext('2d'), img = cx.createImageData(W, H), px = new Uint32Array(img.data.buffer);\n"
    "  px.fill(0xfff2f2ee);\n"
    "  tlHit = new Int32Array(threadRows.length * W).fill(-1);\n"
    "  tlW = W; tlT0 = lo; tlSpan = Math.max(hi - lo, 1);\n"
    "  var colCache = new Uint32Array(NF);\n"
    "  for (k = 0; k < NS; k++) {\n"
    "    var row = rowOf[Math.min(SM.thread[k], nth)], x = Math.min(W - 1, Math.floor((sT[k] - lo) / tlSpan * (W - 1)));\n"
    "    var node = SM.node[k], f = nodeFn[node], v;\n"
    "    if (stackMatch && !stackMatch[node]) v = 0xffd0d0d0;\n"
    "    else {\n"
    "      v = colCache[f];\n"
    "      if (!v) { var cc = node ? colour(f) : [180, 180, 180]; v = colCache[f] = (0xff000000 | cc[2] << 16 | cc[1] << 8 | cc[0]) >>> 0; }\n"
    "    }\n"
    "    tlHit[row * W + x] = k;\n"
    "    for (var y = row * TLH + 2, ye = row * TLH + TLH - 2; y < ye; y++) px[y * W + x] = v;\n"
    "  }\n"
    "  cx.putImageData(img, 0, 0);\n"
    "  c.addEventListener('mousemove', function (e) {\n"
    "    var b = c.getBoundingClientRect(), x = Math.floor(e.clientX - b.left), r = Math.floor((e.clientY - b.top) / TLH);\n"
    "    var s = r >= 0 && r < threadRows.length && x >= 0 && x < tlW ? tlHit[r * tlW + x] : -1;\n"
    "    if (s < 0) { tip.hidden = true; return; }\n"
    "    var n = SM.node[s];\n"
    "    showTip(e, [nodeLabel(n), 't = ' + ((sT[s] - tlT0) / 1e6).toFixed(4) + ' s', 'thread: ' + labels.children[r].textContent]);\n"
    "  });\n"
    "  c.addEventListener('mouseleave', function () { tip.hidden = true; });\n"
    "}\n"
    "\n"
    "/* ---- views ---- */\n"
    "var view = D.view === 'icicle' ? 'icicle' : 'flame', dirty = { flame: 1, table: 1, tree: 1, timeline: 1 };\n"
    "function render() {\n"
    "  var v = view === 'icicle' ? 'flame' : view;\n"
    "  ['flame', 'table', 'tree', 'timeline'].forEach(function (k) { $('v-' + k).hidden = k !== v; });\n"
    "  if (v === 'flame') drawFlame(view === 'icicle');\n"
    "  else if (dirty[v]) { dirty[v] = 0; if (v === 'table') drawTable(); else if (v === 'tree') drawTree(); else drawTimeline(); }\n"
    "  var bs = $('tabs').children;\n"
    "  for (var k = 0; k < bs.length; k++) bs[k].className = bs[k].dataset.v === view ? 'on' : '';\n"
    "}\n"
    "$('tabs').addEventListener('click', function (e) { var b = e.target.closest('button'); if (b) { view = b.dataset.v; render(); } });\n"
    "var timer = 0;\n"
    "$('search').addEventListener('input', function () { clearTimeout(timer); var v = this.value; timer = setTimeout(function () { applySearch(v); }, 150); });\n"
    "$('search').addEventListener('keydown', function (e) { if (e.key === 'Enter') { clearTimeout(timer); applySearch(this.value); } });\n"
    "window.addEventListener('resize', function () { dirty.timeline = 1; render(); });\n"
    "document.addEventListener('keydown', function (e) {\n"
    "  if ((e.ctrlKey || e.metaKey) && e.key === 'f') { e.preventDefault(); $('search').focus(); }\n"
    "  else if (e.key === 'Escape' && document.activeElement !== $('search')) { zoomRoot = 0; render(); }\n"
    "});\n"
    "if (NS === 0) $('tabs').querySelector('[data-v=timeline]').title = 'no time-ordered samples in this profile';\n"
    "$('total').textContent = wt(T) + ' in total';\n"
    "render();\n"
    "/* For tests and the curious: what the flame graph drew, in page coordinates. */\n"
    "function layout() {\n"
    "  var b = cv.getBoundingClientRect(), out = [], rows = rowsHit.length, inv = cv.dataset.inverted === '1';\n"
    "  for (var r = 0; r < rows; r++) {\n"
    "    var L = rowsHit[r], y = (inv ? r : rows - 1 - r) * ROWH;\n"
    "    for (var k = 0; k < L.length; k += 3)\n"
    "      out.push({ node: L[k + 2], label: nodeLabel(L[k + 2]), depth: r, x: b.left + L[k], w: L[k + 1], cy: b.top + y + ROWH / 2, grey: zoomRoot !== 0 && r < dep[zoomRoot] });\n"
    "  }\n"
    "  return { width: parseFloat(cv.style.width), zoomRoot: zoomRoot, rects: out };\n"
    "}\n"
    "window.pyflare = { ready: performance.now(), search: applySearch, layout: layout, nodes: N, samples: NS, total: T };\n"
    "}\n"
    "})();\n";
/* END PAGE TEXT */

static void json_u32_array(out_buf *o, const char *key, const uint32_t *v, size_t n) {
    out_buf_printf(o, "\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        hb_u64(o, v[i]);
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
        size_t cap = t->cap ? t->cap : 1024;
        while (cap <= id)
            cap *= 2;
        uint32_t *bigger = realloc(t->map, cap * sizeof *bigger);
        if (!bigger) {
            t->failed = 1;
            return 0;
        }
        memset(bigger + t->cap, 0, (cap - t->cap) * sizeof *bigger);
        t->map = bigger;
        t->cap = cap;
    }
    if (!t->map[id]) {
        if (t->n == t->ids_cap) {
            size_t cap = t->ids_cap ? t->ids_cap * 2 : 1024;
            uint32_t *bigger = realloc(t->ids, cap * sizeof *bigger);
            if (!bigger) {
                t->failed = 1;
                return 0;
            }
            t->ids = bigger;
            t->ids_cap = cap;
        }
        t->ids[t->n] = id;
        t->map[id] = (uint32_t)++t->n;
    }
    return t->map[id] - 1;
}

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
    html_text(o, title);
    out_buf_puts(o, "</title>\n<style>");
    out_buf_puts(o, css_style);
    out_buf_puts(o, "</style></head><body>\n<header><h1>");
    html_text(o, title);
    out_buf_puts(o, "</h1><div class=\"sub\">");
    html_text(o, subtitle);
    out_buf_puts(o, "</div><div class=\"sub\" id=\"total\"></div>\n");
    out_buf_puts(o, page_body);

    /* The data. */
    out_buf_puts(o, "<script type=\"application/json\" id=\"pf-data\">{\"v\":1,\"unit\":");
    json_str(o, meta->weight_unit ? meta->weight_unit : "samples");
    out_buf_puts(o, ",\"mode\":");
    json_str(o, meta->mode == PF_MODE_TRACED ? "traced" : "sampled");
    out_buf_printf(o, ",\"rate_hz\":%.6g,\"duration_ns\":%" PRIu64 ",\"start_unix_ns\":%" PRIu64 ",\"command\":",
              meta->rate_hz, meta->duration_ns, meta->start_unix_ns);
    json_str(o, pf_str(p, meta->command));
    out_buf_puts(o, ",\"python\":");
    json_str(o, pf_str(p, meta->python));
    /* The view the page opens on: the icicle when asked for an inverted graph. */
    out_buf_puts(o, opt && opt->inverted ? ",\"view\":\"icicle\"" : ",\"view\":\"flame\"");

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
        tmp[i] = funcs[i].origin; /* pf_origin: 1 own, 2 stdlib, 3 third-party; 0 = from the path */
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
        hb_i64(o, frames[i].line);
    }
    out_buf_puts(o, "]},\n\"threads\":{\"name\":[");
    for (size_t i = 0; i < nthreads; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        hb_u64(o, str_ref(&st, threads[i].name));
    }
    /* Thread ids are addresses: too big for a JavaScript number, so strings. */
    out_buf_puts(o, "],\"tid\":[");
    for (size_t i = 0; i < nthreads; i++)
        out_buf_printf(o, "%s\"0x%" PRIx64 "\"", i ? "," : "", threads[i].thread_id);
    out_buf_puts(o, "],\"native\":[");
    for (size_t i = 0; i < nthreads; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        hb_i64(o, threads[i].native_id);
    }
    out_buf_puts(o, "],\"process\":[");
    for (size_t i = 0; i < nthreads; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        hb_u64(o, threads[i].process);
    }
    out_buf_puts(o, "]},\n\"processes\":{\"pid\":[");
    for (size_t i = 0; i < nprocs; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        hb_i64(o, procs[i].pid);
    }
    out_buf_puts(o, "],\"command\":[");
    for (size_t i = 0; i < nprocs; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        hb_u64(o, str_ref(&st, procs[i].command));
    }
    out_buf_puts(o, "]},\n\"strings\":[");
    if (st.failed)
        goto oom;
    for (size_t i = 0; i < st.n; i++) {
        if (i)
            out_buf_put(o, ",", 1);
        json_str(o, pf_str(p, st.ids[i]));
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
    out_buf_puts(o, script);
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
