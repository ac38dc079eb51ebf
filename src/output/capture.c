/* capture.c — writes pyflare's own capture format (.pyflare): the whole
 * profile, losslessly, for `convert`, `flamegraph` and `diff` to turn into any
 * view later. The layout is in input/capture_read.h, beside its reader.
 *
 * The body is built in memory, then deflated. The sample log dominates: it
 * is coded against what the samples before predict (build_samples), in
 * columns written one after another, because each column alone is far more
 * regular than the rows are, and each column is range-coded (put_coded):
 * its bytes are about as random as their order-0 statistics say, which an
 * adaptive model codes closer than deflate does. */
#include "input/capture_read.h"
#include "base/grow.h"
#include "output/writer.h"
#include "report/excerpt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct buf {
    unsigned char *data;
    size_t len, cap;
    int failed;
} buf;

static void put_bytes(buf *b, const void *s, size_t n) {
    if (b->failed || !n) /* an empty column's data is NULL */
        return;
    if (n > SIZE_MAX - b->len || PF_GROW(b->data, b->cap, b->len + n, 4096) != 0) {
        b->failed = 1;
        return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void put_u(buf *b, uint64_t v) {
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    put_bytes(b, tmp, n);
}

static uint64_t zig(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

static void put_z(buf *b, int64_t v) { put_u(b, zig(v)); }

static void put_text(buf *b, const char *s) {
    size_t n = strlen(s);
    put_u(b, n);
    put_bytes(b, s, n);
}

static void put_label(buf *b, const char *s) {
    put_u(b, s != NULL);
    if (s)
        put_text(b, s);
}

/* A section: its tag, its length, the payload. */
static void put_section(buf *body, int tag, buf *payload) {
    if (payload->failed)
        body->failed = 1;
    put_u(body, (uint64_t)tag);
    put_u(body, payload->len);
    put_bytes(body, payload->data, payload->len);
    payload->len = 0;
}

static void put_u32le(unsigned char *at, uint32_t v) {
    for (int i = 0; i < 4; i++)
        at[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64le(unsigned char *at, uint64_t v) {
    for (int i = 0; i < 8; i++)
        at[i] = (unsigned char)(v >> (8 * i));
}

/* The sample log (SAMPLES, version 3: the layout is in capture_read.h).
 * A recording is a tick every 1/rate with each thread sampled at it, and a
 * thread stays in one stack for a run of samples, then moves to one it was
 * in a moment ago (a loop's hot stacks): so the schedule is written only
 * where it deviates from the one the previous samples predict, and each
 * thread's node only once a run, with the run's length and an index into the
 * thread's recent stacks. What is left is mostly the runs' lengths, which
 * are what the sampling saw. */
static void put_byte(buf *b, unsigned v) {
    unsigned char c = (unsigned char)v;
    put_bytes(b, &c, 1);
}

/* A column's bytes range-coded (version 3, capture_read.h): the bounds
 * narrow to each bit's share of the interval; when their top bytes agree
 * that byte is settled and shifted out. */
typedef struct coder {
    uint32_t lo, hi;
    buf *out;
} coder;

static void code_bit(coder *c, uint16_t *p, unsigned bit) {
    uint32_t mid = c->lo + (uint32_t)(((uint64_t)(c->hi - c->lo) * *p) >> CAP_CODER_BITS);
    if (bit) {
        c->hi = mid;
        *p = (uint16_t)(*p + (((1u << CAP_CODER_BITS) - *p) >> CAP_CODER_SHIFT));
    } else {
        c->lo = mid + 1;
        *p = (uint16_t)(*p - (*p >> CAP_CODER_SHIFT));
    }
    while (((c->lo ^ c->hi) & 0xff000000u) == 0) {
        put_byte(c->out, c->hi >> 24);
        c->lo <<= 8;
        c->hi = c->hi << 8 | 0xff;
    }
}

static void put_coded(buf *out, const buf *col) {
    cap_coder_model m;
    cap_coder_model_init(&m);
    coder c = {0, UINT32_MAX, out};
    for (size_t i = 0; i < col->len; i++)
        for (unsigned at = 1, k = 8; k-- > 0;) {
            unsigned bit = (col->data[i] >> k) & 1;
            code_bit(&c, &m.p[at], bit);
            at = at << 1 | bit;
        }
    for (int k = 3; k >= 0; k--)
        put_byte(out, c.lo >> (8 * k));
}

static void build_samples(const pf_profile *p, buf *out) {
    size_t ns, nt;
    const pf_sample *s = pf_samples(p, &ns);
    pf_threads(p, &nt);
    buf col[CAP_SAMPLE_COLUMNS] = {{0}};
    cap_sample_slot *slot = calloc(nt + 2, sizeof *slot);
    uint64_t *run = calloc(ns ? ns : 1, sizeof *run); /* at a run's first sample: its length */
    if (!slot || !run) {
        free(slot);
        free(run);
        out->failed = 1;
        return;
    }
    cap_sample_slots_init(slot, nt);
    /* Where runs start (a thread's first sample, or a new node or weight),
     * then, from the end, how long each is. */
    for (size_t i = 0; i < ns; i++) {
        cap_sample_slot *t = &slot[s[i].thread < nt ? s[i].thread : nt];
        if (!t->len || s[i].node != t->recent[0] || s[i].weight != t->weight)
            run[i] = 1;
        t->len = 1;
        t->weight = s[i].weight;
        if (!t->recent && cap_sample_slot_open(t) != 0) {
            out->failed = 1;
            break;
        }
        t->recent[0] = s[i].node;
    }
    for (size_t i = 0; i < nt + 2; i++)
        slot[i].left = 0;
    for (size_t i = ns; i-- > 0;) {
        cap_sample_slot *t = &slot[s[i].thread < nt ? s[i].thread : nt];
        t->left++;
        if (run[i]) {
            run[i] = t->left;
            t->left = 0;
        }
    }
    cap_sample_slots_free(slot, nt);
    slot = calloc(nt + 2, sizeof *slot);
    if (!slot || out->failed) {
        free(slot);
        free(run);
        out->failed = 1;
        return;
    }
    cap_sample_slots_init(slot, nt);
    int64_t fixed_tick = cap_sample_tick(pf_profile_meta_const(p)->period_ns), given = 0;
    uint64_t last_us = 0, skip = 0;
    size_t prev = nt + 1;
    for (size_t i = 0; i < ns && !out->failed; i++) {
        unsigned sched = 0;
        if (s[i].thread != slot[prev].follow) {
            sched |= CAP_SCHED_THREAD_NEW;
            put_u(&col[CAP_COL_THREAD], s[i].thread);
        }
        slot[prev].follow = s[i].thread;
        prev = s[i].thread < nt ? s[i].thread : nt;
        cap_sample_slot *t = &slot[prev];
        uint64_t us = s[i].time_ns / 1000;
        int64_t dt = (int64_t)(us - last_us), tick = fixed_tick ? fixed_tick : given;
        last_us = us;
        if (dt != 0 && (dt != tick || tick == 0)) {
            sched |= CAP_SCHED_TIME_NEW;
            /* A late tick skips whole ticks: counted in ticks (even), else
             * in microseconds (odd). */
            if (fixed_tick && dt % fixed_tick == 0)
                put_u(&col[CAP_COL_TIME], zig(dt / fixed_tick) << 1);
            else
                put_u(&col[CAP_COL_TIME], zig(dt) << 1 | 1);
            if (!fixed_tick)
                given = dt;
        } else if ((dt == 0) != t->same_time)
            sched |= CAP_SCHED_TIME_OTHER;
        t->same_time = dt == 0;
        if (!sched)
            skip++;
        else {
            for (; skip >= CAP_SKIP_CHUNK; skip -= CAP_SKIP_CHUNK)
                put_byte(&col[CAP_COL_SKIP], CAP_SKIP_CHUNK);
            put_byte(&col[CAP_COL_SKIP], (unsigned)skip);
            put_byte(&col[CAP_COL_SCHED], sched);
            skip = 0;
        }
        if (!run[i])
            continue;
        if (!t->recent && cap_sample_slot_open(t) != 0) {
            out->failed = 1;
            break;
        }
        unsigned change = 0;
        if (s[i].node != t->recent[0]) {
            uint32_t at = 1;
            while (at < t->len && t->recent[at] != s[i].node)
                at++;
            if (at < t->len)
                change = at;
            else {
                change = CAP_RECENT;
                put_z(&col[CAP_COL_NODE], (int64_t)s[i].node - (int64_t)t->recent[0]);
            }
            cap_sample_slot_front(t, at, s[i].node);
        }
        if (s[i].weight != t->weight) {
            change |= CAP_CHANGE_WEIGHT;
            put_u(&col[CAP_COL_WEIGHT], s[i].weight);
            t->weight = s[i].weight;
        }
        put_byte(&col[CAP_COL_CHANGE], change);
        put_u(&col[CAP_COL_RUNS], run[i] - 1);
    }
    for (; skip >= CAP_SKIP_CHUNK; skip -= CAP_SKIP_CHUNK)
        put_byte(&col[CAP_COL_SKIP], CAP_SKIP_CHUNK);
    put_byte(&col[CAP_COL_SKIP], (unsigned)skip);
    cap_sample_slots_free(slot, nt);
    free(run);
    put_u(out, ns);
    for (int c = 0; c < CAP_SAMPLE_COLUMNS; c++) {
        if (col[c].failed)
            out->failed = 1;
        put_u(out, col[c].len);
        buf coded = {0};
        if (col[c].len)
            put_coded(&coded, &col[c]);
        if (coded.failed)
            out->failed = 1;
        put_u(out, coded.len);
        put_bytes(out, coded.data, coded.len);
        free(coded.data);
        free(col[c].data);
    }
}

/* The source text of every file a Python function names, as o->read_source
 * reads it now (through the target's root for record): a capture looked at
 * elsewhere, later, shows the lines the recording saw. Of a library file only
 * its excerpt (report/excerpt.h), which is what the reports keep of it. */
static void build_sources(const pf_profile *p, const out_options *o, buf *out) {
    size_t n, nstr = pf_nstrings(p);
    const pf_func *fn = pf_funcs(p, &n);
    unsigned char *named = calloc(nstr ? nstr : 1, 1);
    rp_excerpt *ex = rp_excerpt_new(p);
    if (!named || !ex) {
        free(named);
        rp_excerpt_free(ex);
        out->failed = 1;
        return;
    }
    size_t count = 0, all = 0;
    for (size_t i = 1; i < n; i++)
        if (fn[i].kind == PF_FUNC_PYTHON && fn[i].file && fn[i].file < nstr && !named[fn[i].file])
            named[fn[i].file] = 1, count++;
    put_u(out, count);
    for (size_t id = 1; id < nstr; id++) {
        if (!named[id])
            continue;
        char *text = NULL;
        size_t len = 0;
        int rc = all < CAPTURE_SOURCE_ALL_MAX
                     ? o->read_source(o->source_ctx, p, (pf_str_id)id, CAPTURE_SOURCE_FILE_MAX, &text, &len)
                     : -1;
        if (rc == 0 && rp_excerpt_apply(ex, (pf_str_id)id, text, &len, NULL, NULL) != 0)
            out->failed = 1;
        put_u(out, id);
        put_u(out, rc == 0 ? 0 : rc == 1 ? 1 : 2);
        if (rc == 0) {
            put_u(out, len);
            put_bytes(out, text, len);
            all += len;
        }
        free(text);
    }
    free(named);
    rp_excerpt_free(ex);
}

/* The uncompressed body. */
static int build_body(const pf_profile *p, const out_options *o, buf *body) {
    buf s = {0};
    size_t n;

    size_t nstr = pf_nstrings(p);
    put_u(&s, nstr);
    for (size_t i = 1; i < nstr; i++)
        put_text(&s, pf_str(p, (pf_str_id)i));
    put_section(body, CAP_STRINGS, &s);

    const pf_meta *m = pf_profile_meta_const(p);
    put_u(&s, (uint64_t)m->mode);
    put_u(&s, m->command);
    put_u(&s, m->python);
    put_u(&s, m->start_unix_ns);
    put_u(&s, m->duration_ns);
    unsigned char rate[8];
    uint64_t bits;
    memcpy(&bits, &m->rate_hz, 8);
    put_u64le(rate, bits);
    put_bytes(&s, rate, 8);
    put_u(&s, m->period_ns);
    put_u(&s, m->weight_unit && !strcmp(m->weight_unit, "nanoseconds"));
    put_u(&s, (uint64_t)(m->cpu_weighted != 0));
    put_u(&s, m->cpu_ns);
    put_label(&s, o ? o->title : NULL);
    put_label(&s, o ? o->subtitle : NULL);
    put_section(body, CAP_META, &s);

    const pf_func *fn = pf_funcs(p, &n);
    put_u(&s, n);
    for (size_t i = 1; i < n; i++) {
        put_u(&s, fn[i].name);
        put_u(&s, fn[i].file);
        put_z(&s, fn[i].firstline);
        put_u(&s, fn[i].kind);
        put_u(&s, fn[i].origin);
    }
    put_section(body, CAP_FUNCS, &s);

    const pf_frame *fr = pf_frames(p, &n);
    put_u(&s, n);
    for (size_t i = 1; i < n; i++) {
        put_z(&s, (int64_t)fr[i].func - (int64_t)fr[i - 1].func);
        put_z(&s, fr[i].line);
    }
    put_section(body, CAP_FRAMES, &s);

    const pf_node *nd = pf_nodes(p, &n);
    put_u(&s, n);
    for (size_t i = 1; i < n; i++) {
        put_u(&s, i - nd[i].parent);
        put_u(&s, nd[i].frame);
    }
    for (size_t i = 0; i < n; i++) {
        put_u(&s, nd[i].self);
        put_u(&s, nd[i].total);
        put_u(&s, nd[i].calls);
    }
    put_section(body, CAP_NODES, &s);

    const pf_process *pr = pf_processes(p, &n);
    put_u(&s, n);
    for (size_t i = 0; i < n; i++) {
        put_z(&s, pr[i].pid);
        put_u(&s, pr[i].command);
    }
    put_section(body, CAP_PROCESSES, &s);

    const pf_thread *th = pf_threads(p, &n);
    put_u(&s, n);
    for (size_t i = 0; i < n; i++) {
        put_u(&s, th[i].process);
        put_u(&s, th[i].thread_id);
        put_z(&s, th[i].native_id);
        put_u(&s, th[i].name);
    }
    put_section(body, CAP_THREADS, &s);

    build_samples(p, &s);
    put_section(body, CAP_SAMPLES, &s);

    if (o && o->read_source) {
        build_sources(p, o, &s);
        put_section(body, CAP_SOURCES, &s);
    }

    put_u(body, CAP_END);
    free(s.data);
    return body->failed ? -1 : 0;
}

int out_write_capture(const pf_profile *p, FILE *f, const out_options *o, pf_error *err) {
    if (pf_profile_failed(p))
        return pf_fail(err, PF_ERR_NOMEM, "the profile is incomplete (out of memory): no capture written");
    buf body = {0};
    if (build_body(p, o, &body) != 0) {
        free(body.data);
        return pf_fail(err, PF_ERR_NOMEM, "out of memory while building the capture");
    }
    unsigned char head[CAPTURE_HEADER_LEN] = {0};
    memcpy(head, CAPTURE_MAGIC, CAPTURE_MAGIC_LEN);
    put_u32le(head + 8, CAPTURE_VERSION);
    put_u32le(head + 12, CAPTURE_ZLIB);
    put_u64le(head + 16, body.len);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t at = 0; at < body.len;) { /* crc32 takes a uInt length */
        size_t step = body.len - at > (1u << 30) ? (1u << 30) : body.len - at;
        crc = crc32(crc, body.data + at, (uInt)step);
        at += step;
    }
    put_u32le(head + 24, (uint32_t)crc);
    int rc = 0;
    if (fwrite(head, 1, sizeof head, f) != sizeof head)
        rc = -1;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (rc == 0 && deflateInit(&z, Z_DEFAULT_COMPRESSION) != Z_OK) {
        free(body.data);
        return pf_fail(err, PF_ERR_NOMEM, "out of memory while compressing the capture");
    }
    unsigned char chunk[1 << 16];
    size_t at = 0;
    int zr = Z_OK;
    while (rc == 0 && zr != Z_STREAM_END) {
        if (z.avail_in == 0 && at < body.len) {
            size_t step = body.len - at > (1u << 30) ? (1u << 30) : body.len - at;
            z.next_in = body.data + at;
            z.avail_in = (uInt)step;
            at += step;
        }
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        zr = deflate(&z, at == body.len ? Z_FINISH : Z_NO_FLUSH);
        if (zr == Z_STREAM_ERROR)
            rc = -1;
        size_t out = sizeof chunk - z.avail_out;
        if (out && fwrite(chunk, 1, out, f) != out)
            rc = -1;
    }
    deflateEnd(&z);
    free(body.data);
    if (rc != 0 || ferror(f))
        return pf_fail(err, PF_ERR_IO, "cannot write the capture");
    return 0;
}
