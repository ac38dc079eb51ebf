/* capture_read.c — reads a .pyflare capture (layout in capture_read.h) back
 * into a pf_profile with every id where it was.
 *
 * The file is untrusted: every length, count and id is checked before it is
 * used, the body may not be larger than its compressed size could make, and
 * any failure is one line naming the offset where the reading stopped. Ids
 * are rebuilt by interning in order and checking that each gets the id it
 * had (a duplicate is corruption), except a function renamed after it was
 * interned (pf_func_set_name), which may equal an earlier one: it is interned
 * under a name no function of its place has, then renamed. */
#include "input/capture_read.h"
#include "base/grow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* How many times a body may be larger than the bytes it was inflated from
 * (deflate's limit is about 1032). */
#define MAX_RATIO 1100u

typedef struct rd rd;
struct rd {
    const unsigned char *p, *end, *base;
    size_t shown_base;    /* what offset 0 of the body is called in messages */
    int body_is_file;     /* offsets are the file's (stored body) or the body's */
    const char *name;
    pf_error *err;
    const unsigned char *coded_at; /* a decoded column (version 3): where its coded bytes are, else NULL */
    const rd *coded_in;            /* and the reader of the data they are in */
    size_t file_len;               /* the whole file's bytes, for the bound on samples */
};

static int corrupt_at(rd *r, const unsigned char *at, const char *what) {
    if (r->coded_at) { /* a column decoded into its own buffer: name where it is coded, and the byte in it */
        char msg[256];
        snprintf(msg, sizeof msg, "byte %zu of the column coded here: %s", (size_t)(at - r->base), what);
        return corrupt_at((rd *)r->coded_in, r->coded_at, msg);
    }
    size_t off = (size_t)(at - r->base);
    if (r->body_is_file)
        return pf_fail(r->err, PF_ERR_CORRUPT, "%s: corrupt capture at offset %zu: %s", r->name, off + r->shown_base,
                       what);
    return pf_fail(r->err, PF_ERR_CORRUPT, "%s: corrupt capture at offset %zu of its decompressed data: %s", r->name,
                   off, what);
}

static int get_u(rd *r, uint64_t *v) {
    uint64_t x = 0;
    const unsigned char *start = r->p;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return corrupt_at(r, start, "a number runs past the end of its section");
        unsigned char b = *r->p++;
        if (shift == 63 && b > 1)
            return corrupt_at(r, start, "a number is too large");
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return corrupt_at(r, start, "a number is too long");
}

static int get_z(rd *r, int64_t *v) {
    uint64_t u;
    if (get_u(r, &u) != 0)
        return -1;
    *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

/* A number below limit (a count, an id): what says what it is. */
static int get_below(rd *r, uint64_t limit, uint64_t *v, const char *what) {
    const unsigned char *at = r->p;
    if (get_u(r, v) != 0)
        return -1;
    if (*v >= limit) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s %llu is out of range (%llu known)", what, (unsigned long long)*v,
                 (unsigned long long)limit);
        return corrupt_at(r, at, msg);
    }
    return 0;
}

/* A count of items of at least min_bytes each, which the section must hold. */
static int get_count(rd *r, size_t min_bytes, uint64_t *n, const char *what) {
    const unsigned char *at = r->p;
    if (get_u(r, n) != 0)
        return -1;
    if (*n > (uint64_t)(r->end - r->p) / (min_bytes ? min_bytes : 1) + 1 || *n > UINT32_MAX) {
        char msg[128];
        snprintf(msg, sizeof msg, "%llu %s cannot fit in the section", (unsigned long long)*n, what);
        return corrupt_at(r, at, msg);
    }
    return 0;
}

static int get_text(rd *r, const unsigned char **s, size_t *len) {
    uint64_t n;
    const unsigned char *at = r->p;
    if (get_u(r, &n) != 0)
        return -1;
    if (n > (uint64_t)(r->end - r->p))
        return corrupt_at(r, at, "a string runs past the end of its section");
    if (memchr(r->p, 0, (size_t)n))
        return corrupt_at(r, at, "a string holds a NUL byte");
    *s = r->p;
    *len = (size_t)n;
    r->p += n;
    return 0;
}

static int get_label(rd *r, char **out) {
    uint64_t has;
    const unsigned char *at = r->p;
    if (get_u(r, &has) != 0)
        return -1;
    if (has > 1)
        return corrupt_at(r, at, "a label's flag is neither 0 nor 1");
    if (!has)
        return 0;
    const unsigned char *s;
    size_t len;
    if (get_text(r, &s, &len) != 0)
        return -1;
    *out = malloc(len + 1);
    if (!*out)
        return pf_fail(r->err, PF_ERR_NOMEM, "out of memory reading %s", r->name);
    memcpy(*out, s, len);
    (*out)[len] = 0;
    return 0;
}

static int nomem(rd *r) { return pf_fail(r->err, PF_ERR_NOMEM, "out of memory reading %s", r->name); }

/* What has been read, for the checks between sections. */
typedef struct state {
    uint64_t nstr, nfunc, nframe, nnode, nproc, nthread;
    uint32_t version;
    pf_meta meta;
    int seen[CAP_NSECTIONS];
} state;

static int read_strings(rd *r, pf_profile *p, state *st) {
    if (get_count(r, 1, &st->nstr, "strings") != 0)
        return -1;
    if (st->nstr == 0)
        return corrupt_at(r, r->p, "no strings (the empty string, id 0, is always there)");
    for (uint64_t i = 1; i < st->nstr; i++) {
        const unsigned char *at = r->p, *s;
        size_t len;
        if (get_text(r, &s, &len) != 0)
            return -1;
        pf_str_id id = pf_intern_len(p, (const char *)s, len);
        if (pf_profile_failed(p))
            return nomem(r);
        if (id != i)
            return corrupt_at(r, at, "a string appears twice");
    }
    return 0;
}

static int read_meta(rd *r, pf_profile *p, state *st, in_capture_info *info) {
    pf_meta m = *pf_profile_meta_const(p);
    uint64_t mode, command, python, unit, cpu_weighted;
    unsigned char rate[8];
    if (get_below(r, 2, &mode, "the mode") || get_below(r, st->nstr, &command, "the command's string") ||
        get_below(r, st->nstr, &python, "the Python version's string") || get_u(r, &m.start_unix_ns) ||
        get_u(r, &m.duration_ns))
        return -1;
    if (r->end - r->p < 8)
        return corrupt_at(r, r->p, "the rate runs past the end of its section");
    memcpy(rate, r->p, 8);
    r->p += 8;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits |= (uint64_t)rate[i] << (8 * i);
    memcpy(&m.rate_hz, &bits, 8);
    if (get_u(r, &m.period_ns) || get_below(r, 2, &unit, "the weight unit") ||
        get_below(r, 2, &cpu_weighted, "the CPU weighting flag") || get_u(r, &m.cpu_ns) ||
        get_label(r, &info->title) || get_label(r, &info->subtitle))
        return -1;
    m.mode = (pf_mode)mode;
    m.command = (pf_str_id)command;
    m.python = (pf_str_id)python;
    m.weight_unit = unit ? "nanoseconds" : "samples";
    m.cpu_weighted = (int)cpu_weighted;
    st->meta = m;
    return 0;
}

static int read_funcs(rd *r, pf_profile *p, state *st) {
    if (get_count(r, 5, &st->nfunc, "functions") != 0)
        return -1;
    if (st->nfunc == 0)
        return corrupt_at(r, r->p, "no functions (id 0, none, is always there)");
    for (uint64_t i = 1; i < st->nfunc; i++) {
        const unsigned char *at = r->p;
        uint64_t name, file, kind, origin;
        int64_t firstline;
        if (get_below(r, st->nstr, &name, "a function's name") || get_below(r, st->nstr, &file, "a function's file") ||
            get_z(r, &firstline) || get_below(r, PF_FUNC_OTHER + 1, &kind, "a function's kind") ||
            get_below(r, PF_ORIGIN_THIRD_PARTY + 1, &origin, "a function's origin"))
            return -1;
        if (firstline < INT32_MIN || firstline > INT32_MAX)
            return corrupt_at(r, at, "a function's first line is out of range");
        pf_func_id id = pf_func_intern(p, (pf_str_id)name, (pf_str_id)file, (int)firstline, (pf_func_kind)kind);
        /* Renamed onto an earlier function's name: make it under another
         * name first, then give it its own. */
        for (uint64_t other = 0; id != i && other < 64 && other < st->nstr && !pf_profile_failed(p); other++)
            if (id < i)
                id = pf_func_intern(p, (pf_str_id)other, (pf_str_id)file, (int)firstline, (pf_func_kind)kind);
        if (pf_profile_failed(p))
            return nomem(r);
        if (id != i)
            return corrupt_at(r, at, "a function cannot be placed (too many equal ones)");
        pf_func_set_name(p, id, (pf_str_id)name);
        pf_func_set_origin(p, id, (pf_origin)origin);
    }
    return 0;
}

static int read_frames(rd *r, pf_profile *p, state *st) {
    if (get_count(r, 2, &st->nframe, "frames") != 0)
        return -1;
    if (st->nframe == 0)
        return corrupt_at(r, r->p, "no frames (id 0, none, is always there)");
    int64_t func = 0;
    for (uint64_t i = 1; i < st->nframe; i++) {
        const unsigned char *at = r->p;
        int64_t delta, line;
        if (get_z(r, &delta) || get_z(r, &line))
            return -1;
        if (__builtin_add_overflow(func, delta, &func) || func < 0 || (uint64_t)func >= st->nfunc)
            return corrupt_at(r, at, "a frame's function is out of range");
        if (line < INT32_MIN || line > INT32_MAX)
            return corrupt_at(r, at, "a frame's line is out of range");
        pf_frame_id id = pf_frame_intern(p, (pf_func_id)func, (int)line);
        if (pf_profile_failed(p))
            return nomem(r);
        if (id != i)
            return corrupt_at(r, at, "a frame appears twice");
    }
    return 0;
}

static int read_nodes(rd *r, pf_profile *p, state *st) {
    if (get_count(r, 5, &st->nnode, "nodes") != 0)
        return -1;
    if (st->nnode == 0)
        return corrupt_at(r, r->p, "no nodes (the root, id 0, is always there)");
    for (uint64_t i = 1; i < st->nnode; i++) {
        const unsigned char *at = r->p;
        uint64_t up, frame;
        if (get_u(r, &up) || get_below(r, st->nframe, &frame, "a node's frame"))
            return -1;
        if (up == 0 || up > i)
            return corrupt_at(r, at, "a node's parent is not an earlier node");
        pf_node_id id = pf_node_child(p, (pf_node_id)(i - up), (pf_frame_id)frame);
        if (pf_profile_failed(p))
            return nomem(r);
        if (id != i)
            return corrupt_at(r, at, "a node appears twice");
    }
    return 0;
}

/* The nodes' weights come after the samples (which add to self as they are
 * replayed): this reads and sets them. */
static int read_node_weights(rd *r, pf_profile *p, state *st) {
    for (uint64_t i = 0; i < st->nnode; i++) {
        uint64_t self, total, calls;
        if (get_u(r, &self) || get_u(r, &total) || get_u(r, &calls))
            return -1;
        pf_node_set_weights(p, (pf_node_id)i, self, total, calls);
    }
    return 0;
}

static int read_processes(rd *r, pf_profile *p, state *st) {
    if (get_count(r, 2, &st->nproc, "processes") != 0)
        return -1;
    for (uint64_t i = 0; i < st->nproc; i++) {
        const unsigned char *at = r->p;
        int64_t pid;
        uint64_t command;
        if (get_z(r, &pid) || get_below(r, st->nstr, &command, "a process's command"))
            return -1;
        if (pid < INT32_MIN || pid > INT32_MAX)
            return corrupt_at(r, at, "a process id is out of range");
        pf_process_add(p, (int)pid, pf_str(p, (pf_str_id)command));
        if (pf_profile_failed(p))
            return nomem(r);
    }
    return 0;
}

static int read_threads(rd *r, pf_profile *p, state *st) {
    if (get_count(r, 4, &st->nthread, "threads") != 0)
        return -1;
    for (uint64_t i = 0; i < st->nthread; i++) {
        uint64_t process, tid, name;
        int64_t native;
        /* A thread's process indexes processes; writers check it, so any is kept as it was. */
        if (get_below(r, (uint64_t)UINT32_MAX + 1, &process, "a thread's process") || get_u(r, &tid) ||
            get_z(r, &native) || get_below(r, st->nstr, &name, "a thread's name"))
            return -1;
        pf_thread_add(p, (uint32_t)process, tid, native, name ? pf_str(p, (pf_str_id)name) : NULL);
        if (pf_profile_failed(p))
            return nomem(r);
    }
    return 0;
}

static int read_samples_v1(rd *r, pf_profile *p, state *st) {
    uint64_t n;
    if (get_count(r, 4, &n, "samples") != 0)
        return -1;
    rd col[4];
    for (int c = 0; c < 4; c++) {
        uint64_t len;
        const unsigned char *at = r->p;
        if (get_u(r, &len) != 0)
            return -1;
        if (len > (uint64_t)(r->end - r->p))
            return corrupt_at(r, at, "a column of samples runs past the end of its section");
        col[c] = *r;
        col[c].end = r->p + len;
        r->p += len;
    }
    pf_node_id *prev = calloc(st->nthread + 1, sizeof *prev);
    if (!prev)
        return nomem(r);
    pf_profile_log_samples(p, 1);
    int64_t us = 0;
    int rc = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        int64_t dt, dnode;
        uint64_t thread, weight;
        const unsigned char *at_time = col[0].p, *at_node = col[2].p, *at_weight = col[3].p;
        /* A sample's thread indexes threads; writers check it, so any is kept as
         * it was, those past the table sharing one delta slot as the writer's do. */
        if (get_z(&col[0], &dt) || get_below(&col[1], (uint64_t)UINT32_MAX + 1, &thread, "a sample's thread") ||
            get_z(&col[2], &dnode) || get_u(&col[3], &weight)) {
            rc = -1;
            break;
        }
        size_t slot = thread < st->nthread ? (size_t)thread : (size_t)st->nthread;
        int64_t node;
        if (__builtin_add_overflow(us, dt, &us) || us < 0 || (uint64_t)us > UINT64_MAX / 1000)
            rc = corrupt_at(r, at_time, "a sample's time is out of range");
        else if (__builtin_add_overflow((int64_t)prev[slot], dnode, &node) || node < 0 ||
                 (uint64_t)node >= st->nnode)
            rc = corrupt_at(r, at_node, "a sample's node is out of range");
        else if (weight > UINT32_MAX)
            rc = corrupt_at(r, at_weight, "a sample's weight is out of range");
        else {
            prev[slot] = (pf_node_id)node;
            pf_sample_add(p, (pf_node_id)node, (uint32_t)thread, (uint64_t)us * 1000, weight);
        }
    }
    free(prev);
    pf_profile_log_samples(p, 0);
    if (rc == 0 && pf_profile_failed(p))
        return nomem(r);
    for (int c = 0; rc == 0 && c < 4; c++)
        if (col[c].p != col[c].end)
            rc = corrupt_at(r, col[c].p, "a column of samples is longer than its samples");
    return rc;
}

void cap_coder_model_init(cap_coder_model *m) {
    for (int i = 0; i < 256; i++)
        m->p[i] = 1u << (CAP_CODER_BITS - 1);
}

void cap_sample_slots_init(cap_sample_slot *slot, size_t nt) {
    for (size_t i = 0; i < nt + 2; i++) {
        slot[i].follow = (uint32_t)(i + 1);
        slot[i].weight = 1;
    }
    slot[nt + 1].follow = 0;
}

int cap_sample_slot_open(cap_sample_slot *t) {
    t->recent = malloc(CAP_RECENT * sizeof *t->recent);
    if (!t->recent)
        return -1;
    t->recent[0] = PF_ROOT;
    t->len = 1;
    return 0;
}

void cap_sample_slot_front(cap_sample_slot *t, uint32_t at, pf_node_id node) {
    if (at >= t->len) /* new: the last falls off a full list */
        at = t->len < CAP_RECENT ? t->len++ : CAP_RECENT - 1;
    memmove(t->recent + 1, t->recent, at * sizeof *t->recent);
    t->recent[0] = node;
}

void cap_sample_slots_free(cap_sample_slot *slot, size_t nt) {
    for (size_t i = 0; slot && i < nt + 2; i++)
        free(slot[i].recent);
    free(slot);
}

int64_t cap_sample_tick(uint64_t period_ns) {
    return period_ns && period_ns % 1000 == 0 && period_ns / 1000 <= INT32_MAX ? (int64_t)(period_ns / 1000) : 0;
}

/* A version 3 column: its bytes decoded (capture_read.h; the coder is
 * output/capture.c's put_coded run backwards) into *out, which the caller
 * frees. The decoder reads as many bytes as the encoder wrote, so any other
 * count is corruption. */
static int decode_column(rd *r, unsigned char **out, rd *col) {
    uint64_t len, coded;
    const unsigned char *at = r->p;
    if (get_u(r, &len) != 0 || get_u(r, &coded) != 0)
        return -1;
    if (coded > (uint64_t)(r->end - r->p))
        return corrupt_at(r, at, "a column of samples runs past the end of its section");
    if (len > (coded + 1) * CAP_CODER_RATIO || len / CAP_COLUMN_PER_BYTE > r->file_len || (len == 0) != (coded == 0))
        return corrupt_at(r, at, "a column of samples claims more bytes than its coded ones (or a file this small) "
                          "can hold");
    const unsigned char *in = r->p, *in_end = r->p + coded;
    r->p = in_end;
    *out = malloc(len ? (size_t)len : 1);
    if (!*out)
        return nomem(r);
    cap_coder_model m;
    cap_coder_model_init(&m);
    uint32_t lo = 0, hi = UINT32_MAX, x = 0;
    const unsigned char *next = in;
    uint64_t read = 0; /* bytes the decoder took in, past the end counted as zeros */
    for (; read < 4 && len; read++)
        x = x << 8 | (next < in_end ? *next++ : 0);
    for (uint64_t i = 0; i < len; i++) {
        unsigned node = 1;
        for (int k = 0; k < 8; k++) {
            uint16_t *pr = &m.p[node];
            uint32_t mid = lo + (uint32_t)(((uint64_t)(hi - lo) * *pr) >> CAP_CODER_BITS);
            unsigned bit = x <= mid;
            if (bit) {
                hi = mid;
                *pr = (uint16_t)(*pr + (((1u << CAP_CODER_BITS) - *pr) >> CAP_CODER_SHIFT));
            } else {
                lo = mid + 1;
                *pr = (uint16_t)(*pr - (*pr >> CAP_CODER_SHIFT));
            }
            node = node << 1 | bit;
            while (((lo ^ hi) & 0xff000000u) == 0) {
                lo <<= 8;
                hi = hi << 8 | 0xff;
                x = x << 8 | (next < in_end ? *next++ : 0);
                read++;
            }
        }
        (*out)[i] = (unsigned char)node;
    }
    if (read != coded)
        return corrupt_at(r, in, "a column's coded bytes do not decode to its length");
    *col = *r;
    col->base = col->p = *out;
    col->end = *out + len;
    col->coded_at = in;
    col->coded_in = r;
    return 0;
}

static int replay_samples(rd *r, pf_profile *p, state *st, uint64_t n, const unsigned char *at_n, rd *col);

/* The sample log of versions 2 and 3 (capture_read.h): the schedule where it
 * deviates from the prediction, and each thread's node and weight once a run,
 * with the writer's own prediction (cap_sample_slot). */
static int read_samples(rd *r, pf_profile *p, state *st) {
    if (st->version < 2)
        return read_samples_v1(r, p, st);
    uint64_t n;
    const unsigned char *at_n = r->p;
    if (get_u(r, &n) != 0)
        return -1;
    rd col[CAP_SAMPLE_COLUMNS];
    unsigned char *decoded[CAP_SAMPLE_COLUMNS] = {0};
    int rc = 0;
    for (int c = 0; c < CAP_SAMPLE_COLUMNS && rc == 0; c++) {
        if (st->version >= 3) {
            rc = decode_column(r, &decoded[c], &col[c]);
            continue;
        }
        uint64_t len;
        const unsigned char *at = r->p;
        if (get_u(r, &len) != 0)
            rc = -1;
        else if (len > (uint64_t)(r->end - r->p))
            rc = corrupt_at(r, at, "a column of samples runs past the end of its section");
        else {
            col[c] = *r;
            col[c].end = r->p + len;
            r->p += len;
        }
    }
    if (rc == 0)
        rc = replay_samples(r, p, st, n, at_n, col);
    for (int c = 0; c < CAP_SAMPLE_COLUMNS; c++)
        free(decoded[c]);
    return rc;
}

static int replay_samples(rd *r, pf_profile *p, state *st, uint64_t n, const unsigned char *at_n, rd *col) {
    /* Each sample is one of a skip byte's (255 at most) or has a sched
     * byte: what bounds the memory a small file can ask for. */
    uint64_t most = (uint64_t)(col[CAP_COL_SKIP].end - col[CAP_COL_SKIP].p) * CAP_SKIP_CHUNK +
                    (uint64_t)(col[CAP_COL_SCHED].end - col[CAP_COL_SCHED].p);
    if (n > most || n > UINT32_MAX)
        return corrupt_at(r, at_n, "more samples than the section can hold");
    /* Deflate and the range coder each let a byte stand for a thousand or
     * more, and a run of one stack costs nearly nothing per sample: so a tiny
     * file could still ask for billions. A real one holds far fewer samples
     * a byte than this (a 10-minute 5-thread recording: about 11). */
    if (n / CAP_SAMPLES_PER_BYTE > r->file_len)
        return corrupt_at(r, at_n, "more samples than a file this small can hold");
    size_t nt = (size_t)st->nthread;
    cap_sample_slot *slot = calloc(nt + 2, sizeof *slot);
    if (!slot)
        return nomem(r);
    cap_sample_slots_init(slot, nt);
    pf_profile_log_samples(p, 1);
    int64_t us = 0, fixed_tick = cap_sample_tick(st->meta.period_ns), given = 0;
    uint64_t skip = 0;
    int sched_next = 0; /* the skip entry read last ends in a sample with a sched byte */
    size_t prev = nt + 1;
    int rc = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        unsigned sched = 0;
        while (skip == 0 && !sched_next) {
            const unsigned char *at = col[CAP_COL_SKIP].p;
            if (at >= col[CAP_COL_SKIP].end) {
                rc = corrupt_at(&col[CAP_COL_SKIP], at, "the samples' skip column ends early");
                break;
            }
            col[CAP_COL_SKIP].p++;
            skip = *at == CAP_SKIP_CHUNK ? CAP_SKIP_CHUNK : *at;
            sched_next = *at != CAP_SKIP_CHUNK;
        }
        if (rc != 0)
            break;
        if (skip)
            skip--;
        else {
            const unsigned char *at = col[CAP_COL_SCHED].p;
            sched_next = 0;
            if (at >= col[CAP_COL_SCHED].end) {
                rc = corrupt_at(&col[CAP_COL_SCHED], at, "the samples' sched column ends early");
                break;
            }
            sched = *col[CAP_COL_SCHED].p++;
            if (!sched || (sched & ~(unsigned)CAP_SCHED_ALL) ||
                (sched & CAP_SCHED_TIME_MASK) == CAP_SCHED_TIME_MASK) {
                rc = corrupt_at(&col[CAP_COL_SCHED], at, "a sample's sched byte is not one the format has");
                break;
            }
        }
        /* A sample's thread indexes threads; writers check it, so any is kept as it was. */
        uint64_t thread = slot[prev].follow;
        if ((sched & CAP_SCHED_THREAD_NEW) &&
            get_below(&col[CAP_COL_THREAD], (uint64_t)UINT32_MAX + 1, &thread, "a sample's thread") != 0) {
            rc = -1;
            break;
        }
        slot[prev].follow = (uint32_t)thread;
        prev = thread < nt ? (size_t)thread : nt;
        cap_sample_slot *t = &slot[prev];
        const unsigned char *at_time = col[CAP_COL_TIME].p;
        int64_t dt, tick = fixed_tick ? fixed_tick : given;
        if (sched & CAP_SCHED_TIME_NEW) {
            uint64_t u;
            if (get_u(&col[CAP_COL_TIME], &u) != 0) {
                rc = -1;
                break;
            }
            dt = (int64_t)(u >> 2) ^ -(int64_t)((u >> 1) & 1);
            if (!(u & 1) && (!fixed_tick || __builtin_mul_overflow(dt, fixed_tick, &dt))) {
                rc = corrupt_at(&col[CAP_COL_TIME], at_time, "a sample's time is out of range");
                break;
            }
            if (!fixed_tick)
                given = dt;
        } else {
            int same = t->same_time ^ ((sched & CAP_SCHED_TIME_OTHER) != 0);
            dt = same ? 0 : tick;
        }
        t->same_time = dt == 0;
        if (__builtin_add_overflow(us, dt, &us) || us < 0 || (uint64_t)us > UINT64_MAX / 1000) {
            rc = corrupt_at(&col[CAP_COL_TIME], at_time, "a sample's time is out of range");
            break;
        }
        if (!t->recent && cap_sample_slot_open(t) != 0) {
            rc = nomem(r);
            break;
        }
        if (t->left == 0) { /* a run starts */
            const unsigned char *at = col[CAP_COL_CHANGE].p;
            if (at >= col[CAP_COL_CHANGE].end) {
                rc = corrupt_at(&col[CAP_COL_CHANGE], at, "the samples' change column ends early");
                break;
            }
            unsigned change = *col[CAP_COL_CHANGE].p++, code = change & ~(unsigned)CAP_CHANGE_WEIGHT;
            uint64_t len;
            if (code > CAP_RECENT || (code && code < CAP_RECENT && code >= t->len)) {
                rc = corrupt_at(&col[CAP_COL_CHANGE], at, "a run's change byte names no recent stack of its thread");
                break;
            }
            if (code == CAP_RECENT) {
                const unsigned char *at_node = col[CAP_COL_NODE].p;
                int64_t dnode, v;
                if (get_z(&col[CAP_COL_NODE], &dnode) != 0) {
                    rc = -1;
                    break;
                }
                if (__builtin_add_overflow((int64_t)t->recent[0], dnode, &v) || v < 0 || (uint64_t)v >= st->nnode) {
                    rc = corrupt_at(&col[CAP_COL_NODE], at_node, "a sample's node is out of range");
                    break;
                }
                cap_sample_slot_front(t, t->len, (pf_node_id)v);
            } else if (code)
                cap_sample_slot_front(t, code, t->recent[code]);
            if ((change & CAP_CHANGE_WEIGHT) &&
                get_below(&col[CAP_COL_WEIGHT], (uint64_t)UINT32_MAX + 1, &t->weight, "a sample's weight") != 0) {
                rc = -1;
                break;
            }
            if (get_below(&col[CAP_COL_RUNS], n - i, &len, "a run's length - 1") != 0) {
                rc = -1;
                break;
            }
            t->left = len + 1;
        }
        t->left--;
        pf_sample_add(p, t->recent[0], (uint32_t)thread, (uint64_t)us * 1000, t->weight);
        if (pf_profile_failed(p))
            break;
    }
    if (rc == 0 && !pf_profile_failed(p)) {
        if (skip || (!sched_next && (col[CAP_COL_SKIP].p >= col[CAP_COL_SKIP].end || *col[CAP_COL_SKIP].p++ != 0)))
            rc = corrupt_at(&col[CAP_COL_SKIP], col[CAP_COL_SKIP].p, "the samples' skip column does not end where the samples do");
        for (size_t k = 0; rc == 0 && k < nt + 2; k++)
            if (slot[k].left)
                rc = corrupt_at(&col[CAP_COL_RUNS], col[CAP_COL_RUNS].p, "a thread's run goes on past the last sample");
    }
    cap_sample_slots_free(slot, nt);
    pf_profile_log_samples(p, 0);
    if (rc == 0 && pf_profile_failed(p))
        return nomem(r);
    for (int c = 0; rc == 0 && c < CAP_SAMPLE_COLUMNS; c++)
        if (col[c].p != col[c].end)
            rc = corrupt_at(&col[c], col[c].p, "a column of samples is longer than its samples");
    return rc;
}

static int read_sources(rd *r, state *st, in_capture_info *info) {
    uint64_t n;
    if (get_count(r, 2, &n, "source files") != 0)
        return -1;
    info->has_sources = 1;
    info->sources = calloc(n ? n : 1, sizeof *info->sources);
    if (!info->sources)
        return nomem(r);
    uint64_t last = 0;
    for (uint64_t i = 0; i < n; i++) {
        const unsigned char *at = r->p;
        uint64_t file, status;
        if (get_below(r, st->nstr, &file, "a source's file") || get_below(r, 3, &status, "a source's status"))
            return -1;
        if (file <= last)
            return corrupt_at(r, at, "source files are out of order or repeated");
        last = file;
        in_capture_source *src = &info->sources[info->nsources++];
        src->file = (pf_str_id)file;
        src->status = (int)status;
        if (status != 0)
            continue;
        uint64_t len;
        const unsigned char *at_len = r->p;
        if (get_u(r, &len) != 0)
            return -1;
        if (len > (uint64_t)(r->end - r->p) || len > CAPTURE_SOURCE_FILE_MAX)
            return corrupt_at(r, at_len, "a source text runs past the end of its section");
        src->text = malloc(len ? len : 1);
        if (!src->text)
            return nomem(r);
        memcpy(src->text, r->p, len);
        src->len = len;
        r->p += len;
    }
    return 0;
}

/* Reads the sections of the body. */
static int read_body(rd *r, pf_profile *p, in_capture_info *info, uint32_t version) {
    state st;
    memset(&st, 0, sizeof st);
    st.version = version;
    const unsigned char *nodes_at = NULL, *nodes_end = NULL;
    int last = 0;
    for (;;) {
        const unsigned char *at = r->p;
        uint64_t tag, len;
        if (r->p >= r->end)
            return corrupt_at(r, at, "the data ends before its end mark");
        if (get_u(r, &tag) != 0)
            return -1;
        if (tag == CAP_END)
            break;
        if (get_u(r, &len) != 0)
            return -1;
        if (len > (uint64_t)(r->end - r->p))
            return corrupt_at(r, at, "a section runs past the end of the data");
        rd s = *r;
        s.end = r->p + len;
        r->p += len;
        if (tag >= CAP_NSECTIONS)
            continue; /* a later addition this reader does not know */
        if ((int)tag <= last)
            return corrupt_at(r, at, "a section is out of order or repeated");
        /* Each section needs the ones before it. */
        for (int t = CAP_STRINGS; t < (int)tag; t++)
            if (!st.seen[t] && t != CAP_SOURCES)
                return corrupt_at(r, at, "a section comes without one it needs before it");
        last = (int)tag;
        st.seen[tag] = 1;
        int rc = 0;
        switch (tag) {
        case CAP_STRINGS: rc = read_strings(&s, p, &st); break;
        case CAP_META: rc = read_meta(&s, p, &st, info); break;
        case CAP_FUNCS: rc = read_funcs(&s, p, &st); break;
        case CAP_FRAMES: rc = read_frames(&s, p, &st); break;
        case CAP_NODES:
            rc = read_nodes(&s, p, &st);
            nodes_at = s.p;
            nodes_end = s.end;
            break;
        case CAP_PROCESSES: rc = read_processes(&s, p, &st); break;
        case CAP_THREADS: rc = read_threads(&s, p, &st); break;
        case CAP_SAMPLES: rc = read_samples(&s, p, &st); break;
        case CAP_SOURCES: rc = read_sources(&s, &st, info); break;
        }
        if (rc != 0)
            return -1;
        if (tag != CAP_NODES /* its weights are read after the samples, which add to self */ && s.p != s.end)
            return corrupt_at(r, s.p, "a section holds more than it says");
    }
    if (r->p != r->end)
        return corrupt_at(r, r->p, "data follows the end mark");
    for (int t = CAP_STRINGS; t < CAP_NSECTIONS; t++)
        if (!st.seen[t] && t != CAP_SOURCES /* optional */)
            return corrupt_at(r, r->p, "a section is missing");
    rd w = *r;
    w.p = nodes_at;
    w.end = nodes_end;
    if (read_node_weights(&w, p, &st) != 0)
        return -1;
    if (w.p != w.end)
        return corrupt_at(r, w.p, "a section holds more than it says");
    pf_profile_set_meta(p, &st.meta);
    pf_profile_finish(p);
    if (pf_profile_failed(p))
        return nomem(r);
    return 0;
}

static uint32_t le32(const unsigned char *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t le64(const unsigned char *b) { return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32; }

int in_capture_detect(const unsigned char *head, size_t n) {
    return n >= 1 && head[0] == (unsigned char)CAPTURE_MAGIC[0];
}

static uint32_t crc_of(const unsigned char *data, size_t len) {
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t at = 0; at < len;) {
        size_t step = len - at > (1u << 30) ? (1u << 30) : len - at;
        crc = crc32(crc, data + at, (uInt)step);
        at += step;
    }
    return (uint32_t)crc;
}

int in_read_capture_mem(const unsigned char *data, size_t len, const char *name, pf_profile *p,
                        in_capture_info *info, pf_error *err) {
    memset(info, 0, sizeof *info);
    if (len < CAPTURE_MAGIC_LEN && len && !memcmp(data, CAPTURE_MAGIC, len))
        return pf_fail(err, PF_ERR_CORRUPT, "%s: truncated at offset %zu: the file ends inside the capture's magic",
                       name, len);
    if (len < CAPTURE_MAGIC_LEN || memcmp(data, CAPTURE_MAGIC, CAPTURE_MAGIC_LEN))
        return pf_fail(err, PF_ERR_CORRUPT, "%s: not a pyflare capture (no \\x89PYFLARE at offset 0)", name);
    if (len < CAPTURE_HEADER_LEN)
        return pf_fail(err, PF_ERR_CORRUPT, "%s: truncated at offset %zu: the capture's header is %d bytes", name, len,
                       CAPTURE_HEADER_LEN);
    uint32_t version = le32(data + 8), encoding = le32(data + 12), crc = le32(data + 24);
    uint64_t body_len = le64(data + 16);
    if (version < CAPTURE_VERSION_MIN || version > CAPTURE_VERSION)
        return pf_fail(err, PF_ERR_CORRUPT, "%s: capture format version %u at offset 8 is not one this pyflare reads "
                       "(it reads versions %u to %u): use the pyflare that wrote it, or a newer one", name, version,
                       CAPTURE_VERSION_MIN, CAPTURE_VERSION);
    if (encoding != CAPTURE_STORED && encoding != CAPTURE_ZLIB)
        return pf_fail(err, PF_ERR_CORRUPT, "%s: corrupt capture at offset 12: unknown encoding %u", name, encoding);
    if (le32(data + 28) != 0)
        return pf_fail(err, PF_ERR_CORRUPT, "%s: corrupt capture at offset 28: reserved field is not 0", name);
    const unsigned char *in = data + CAPTURE_HEADER_LEN;
    size_t in_len = len - CAPTURE_HEADER_LEN;
    unsigned char *body = NULL;
    if (encoding == CAPTURE_STORED) {
        if (body_len != in_len)
            return pf_fail(err, PF_ERR_CORRUPT, "%s: %s at offset %zu: the header says %llu bytes of data follow, "
                           "%zu do", name, body_len > in_len ? "truncated" : "corrupt capture", len,
                           (unsigned long long)body_len, in_len);
    } else {
        if (body_len / MAX_RATIO > in_len)
            return pf_fail(err, PF_ERR_CORRUPT, "%s: corrupt capture at offset 16: %llu bytes of data cannot come "
                           "from %zu compressed ones (or the file is truncated)", name,
                           (unsigned long long)body_len, in_len);
        body = malloc(body_len ? (size_t)body_len : 1);
        if (!body)
            return pf_fail(err, PF_ERR_NOMEM, "out of memory reading %s (%llu bytes of data)", name,
                           (unsigned long long)body_len);
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit(&z) != Z_OK) {
            free(body);
            return pf_fail(err, PF_ERR_NOMEM, "out of memory reading %s", name);
        }
        size_t got_in = 0, got_out = 0;
        int zr = Z_OK;
        while (zr == Z_OK) {
            if (z.avail_in == 0 && got_in < in_len) {
                size_t step = in_len - got_in > (1u << 30) ? (1u << 30) : in_len - got_in;
                z.next_in = (unsigned char *)(uintptr_t)(in + got_in);
                z.avail_in = (uInt)step;
                got_in += step;
            }
            unsigned char spare;
            size_t room = (size_t)body_len - got_out;
            /* Past the declared length, inflate into one spare byte: any output there is corruption. */
            z.next_out = room ? body + got_out : &spare;
            z.avail_out = room ? (uInt)(room > (1u << 30) ? (1u << 30) : room) : 1;
            uInt before = z.avail_out;
            zr = inflate(&z, Z_NO_FLUSH);
            if (!room && z.avail_out != before) {
                zr = Z_DATA_ERROR;
                break;
            }
            got_out += before - z.avail_out;
            if (zr == Z_BUF_ERROR && z.avail_in == 0 && got_in == in_len)
                break;
            if (zr == Z_BUF_ERROR)
                zr = Z_OK;
        }
        size_t stop = CAPTURE_HEADER_LEN + (size_t)z.total_in;
        inflateEnd(&z);
        if (zr != Z_STREAM_END) {
            free(body);
            if (zr == Z_BUF_ERROR)
                return pf_fail(err, PF_ERR_CORRUPT, "%s: truncated at offset %zu: the compressed data ends early "
                               "(was the file copied whole?)", name, len);
            return pf_fail(err, PF_ERR_CORRUPT, "%s: corrupt capture at offset %zu: its compressed data does not "
                           "inflate%s", name, stop, got_out > body_len ? " to its declared length" : "");
        }
        if (stop != len) {
            free(body);
            return pf_fail(err, PF_ERR_CORRUPT, "%s: corrupt capture at offset %zu: data follows the compressed data",
                           name, stop);
        }
        if (got_out != body_len) {
            free(body);
            return pf_fail(err, PF_ERR_CORRUPT, "%s: corrupt capture at offset 16: the data is %zu bytes, the header "
                           "says %llu", name, got_out, (unsigned long long)body_len);
        }
        in = body;
        in_len = (size_t)body_len;
    }
    if (crc_of(in, in_len) != crc) {
        free(body);
        return pf_fail(err, PF_ERR_CORRUPT, "%s: corrupt capture: its data's checksum (offset 24) does not match "
                       "(the file was damaged)", name);
    }
    info->version = version;
    rd r = {in, in + in_len, in, CAPTURE_HEADER_LEN, encoding == CAPTURE_STORED, name, err, NULL, NULL, len};
    int rc = read_body(&r, p, info, version);
    free(body);
    if (rc != 0)
        in_capture_info_free(info);
    return rc;
}

int in_read_capture(FILE *in, const char *name, pf_profile *p, in_capture_info *info, pf_error *err) {
    memset(info, 0, sizeof *info);
    size_t len = 0, cap = 0;
    unsigned char *data = NULL;
    for (;;) {
        if (len == cap && PF_GROW(data, cap, len + 1, 1 << 16) != 0) {
            free(data);
            return pf_fail(err, PF_ERR_NOMEM, "out of memory reading %s", name);
        }
        size_t got = fread(data + len, 1, cap - len, in);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(in)) {
        int e = errno;
        free(data);
        return pf_fail(err, PF_ERR_IO, "cannot read %s: %s", name, strerror(e));
    }
    int rc = in_read_capture_mem(data, len, name, p, info, err);
    free(data);
    return rc;
}

int in_capture_read_source(void *ctx, const pf_profile *p, pf_str_id file, size_t max, char **text, size_t *len) {
    (void)p;
    const in_capture_info *info = ctx;
    size_t lo = 0, hi = info->nsources;
    while (lo < hi) { /* sources are in increasing file order */
        size_t mid = lo + (hi - lo) / 2;
        if (info->sources[mid].file < file)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == info->nsources || info->sources[lo].file != file || info->sources[lo].status == 2)
        return -1;
    const in_capture_source *src = &info->sources[lo];
    if (src->status == 1 || src->len > max)
        return 1;
    *text = malloc(src->len ? src->len : 1);
    if (!*text)
        return -1;
    memcpy(*text, src->text, src->len);
    *len = src->len;
    return 0;
}

void in_capture_info_free(in_capture_info *info) {
    free(info->title);
    free(info->subtitle);
    info->title = info->subtitle = NULL;
    for (size_t i = 0; i < info->nsources; i++)
        free(info->sources[i].text);
    free(info->sources);
    info->sources = NULL;
    info->nsources = 0;
    info->has_sources = 0;
}
