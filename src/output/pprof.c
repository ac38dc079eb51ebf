/* pprof.c — the pprof format: a gzip-compressed perftools.profiles.Profile
 * protocol buffer (github.com/google/pprof, proto/profile.proto), read by
 * `go tool pprof`, pprof's web UI and many continuous-profiling services.
 *
 * Layout: one Function per profile function, one Location per frame (a
 * function and line), one Sample per call-tree node that has weight of its
 * own, listing the node's locations leaf first. Thread and process roots stay
 * in the stacks as frames, as they are in flame graphs, so totals match.
 *   sampled mode: values samples/count and cpu/nanoseconds (= samples × the
 *                 sampling period), period_type cpu/nanoseconds; when the
 *                 period is not known (folded stacks converted without
 *                 --rate) only samples/count, so the default view is never
 *                 a column of zeros;
 *   traced mode:  values calls/count (the node's exact call count) and
 *                 wall/nanoseconds (the node's own time).
 * default_sample_type names what pprof shows first: time when it is known.
 *
 * Strings in a protobuf must be valid UTF-8: names are cleaned (invalid bytes
 * become U+FFFD) before they go into the string table. */
#include "output/outbuf.h"
#include "output/writer.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "report/aggregate.h"
#include "output/escape.h"
#include "output/protobuf.h"

/* Profile message fields. */
enum {
    PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9, PROFILE_DURATION_NANOS = 10,
    PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12, PROFILE_COMMENT = 13, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
};
enum { VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2 };
enum { SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2 };
enum {
    MAPPING_ID = 1, MAPPING_FILENAME = 5, MAPPING_HAS_FUNCTIONS = 7, MAPPING_HAS_FILENAMES = 8,
    MAPPING_HAS_LINE_NUMBERS = 9,
};
enum { LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_LINE = 4 };
enum { LINE_FUNCTION_ID = 1, LINE_LINE = 2 };
enum { FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_FILENAME = 4, FUNCTION_START_LINE = 5 };

/* The string table: index = strmap id - 1, so "" (added first) is index 0. */
typedef struct strtab {
    out_strmap map;
    int failed;
} strtab;

static uint64_t str_index(strtab *t, const char *s) {
    char *clean = out_utf8_clean(s);
    uint32_t id = clean ? out_strmap_id(&t->map, clean, strlen(clean)) : 0;
    free(clean);
    if (!id) {
        t->failed = 1;
        return 0;
    }
    return id - 1;
}

/* For strings pprof prints on one line of its header (the mapping's file
 * name, comments): a command line may hold newlines, so escape it. */
static uint64_t str_index_line(strtab *t, const char *s) {
    char *line = out_text_escape(s);
    if (!line) {
        t->failed = 1;
        return 0;
    }
    uint64_t index = str_index(t, line);
    free(line);
    return index;
}

static void value_type(out_pb *b, uint32_t field, strtab *t, const char *type, const char *unit) {
    size_t m = out_pb_begin(b, field);
    out_pb_uint(b, VALUE_TYPE_TYPE, str_index(t, type));
    out_pb_uint(b, VALUE_TYPE_UNIT, str_index(t, unit));
    out_pb_end(b, m);
}

/* Gzips the encoded profile into f (a write failure stays in f for out_buf_write). */
static int gzip_to(out_buf *f, const uint8_t *data, size_t len, pf_error *err) {
    z_stream z;
    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16 asks zlib for a gzip header and trailer rather than a zlib one. */
    int zinit = deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (zinit == Z_MEM_ERROR)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    if (zinit != Z_OK)
        return pf_fail(err, PF_ERR_IO, "cannot start gzip compression");
    unsigned char out[65536];
    z.next_in = (unsigned char *)(uintptr_t)data;
    int zrc;
    do {
        /* zlib's avail_in is an unsigned int: feed a huge buffer in pieces. */
        size_t room = (size_t)(data + len - z.next_in);
        if (z.avail_in == 0 && room)
            z.avail_in = room > (1u << 30) ? (1u << 30) : (unsigned)room;
        int flush = (size_t)(data + len - z.next_in) == z.avail_in ? Z_FINISH : Z_NO_FLUSH;
        z.next_out = out;
        z.avail_out = sizeof out;
        zrc = deflate(&z, flush);
        if (zrc == Z_STREAM_ERROR) {
            deflateEnd(&z);
            return pf_fail(err, PF_ERR_IO, "gzip compression failed");
        }
        out_buf_put(f, (const char *)out, sizeof out - z.avail_out);
    } while (zrc != Z_STREAM_END);
    deflateEnd(&z);
    return 0;
}

static int write_pprof(const pf_profile *p, out_buf *f, const out_options *o, pf_error *err) {
    (void)o;
    size_t nn, nfr, nfn, nproc;
    const pf_node *nodes = pf_nodes(p, &nn);
    const pf_frame *frames = pf_frames(p, &nfr);
    const pf_func *funcs = pf_funcs(p, &nfn);
    const pf_process *procs = pf_processes(p, &nproc);
    const pf_meta *meta = pf_profile_meta_const(p);
    int traced = meta->mode == PF_MODE_TRACED;
    uint64_t period = meta->period_ns;
    if (!period && meta->rate_hz > 0)
        period = (uint64_t)(1e9 / meta->rate_hz + 0.5);
    int timed = traced || period; /* a time value per sample is known */

    out_pb b = {0};
    strtab t = {0};
    str_index(&t, ""); /* string 0 must be the empty string */

    if (traced) {
        value_type(&b, PROFILE_SAMPLE_TYPE, &t, "calls", "count");
        value_type(&b, PROFILE_SAMPLE_TYPE, &t, "wall", "nanoseconds");
    } else {
        value_type(&b, PROFILE_SAMPLE_TYPE, &t, "samples", "count");
        if (timed)
            value_type(&b, PROFILE_SAMPLE_TYPE, &t, "cpu", "nanoseconds");
    }

    /* Samples: every node with weight (or, traced, calls) of its own. */
    for (size_t i = 1; i < nn && !b.failed; i++) {
        const pf_node *node = &nodes[i];
        if (!node->self && !(traced && node->calls))
            continue;
        size_t m = out_pb_begin(&b, PROFILE_SAMPLE);
        size_t ids = out_pb_begin(&b, SAMPLE_LOCATION_ID);
        for (pf_node_id at = (pf_node_id)i; at != PF_ROOT; at = nodes[at].parent)
            if (nodes[at].frame && nodes[at].frame < nfr)
                out_pb_varint(&b, nodes[at].frame); /* location id = frame id */
        out_pb_end(&b, ids);
        size_t vals = out_pb_begin(&b, SAMPLE_VALUE);
        if (traced) {
            out_pb_varint(&b, node->calls);
            out_pb_varint(&b, node->self);
        } else {
            out_pb_varint(&b, node->self);
            if (timed)
                out_pb_varint(&b, node->self * period);
        }
        out_pb_end(&b, vals);
        out_pb_end(&b, m);
    }

    /* One mapping that says the functions, files and lines are already
     * known, so pprof does not try to symbolize addresses. */
    size_t m = out_pb_begin(&b, PROFILE_MAPPING);
    out_pb_uint(&b, MAPPING_ID, 1);
    out_pb_uint(&b, MAPPING_FILENAME, str_index_line(&t, nproc ? pf_str(p, procs[0].command) : ""));
    out_pb_uint(&b, MAPPING_HAS_FUNCTIONS, 1);
    out_pb_uint(&b, MAPPING_HAS_FILENAMES, 1);
    out_pb_uint(&b, MAPPING_HAS_LINE_NUMBERS, 1);
    out_pb_end(&b, m);

    for (size_t i = 1; i < nfr && !b.failed; i++) {
        pf_func_id fn = frames[i].func;
        if (!fn || fn >= nfn)
            fn = 0;
        m = out_pb_begin(&b, PROFILE_LOCATION);
        out_pb_uint(&b, LOCATION_ID, i);
        out_pb_uint(&b, LOCATION_MAPPING_ID, 1);
        if (fn) {
            size_t line = out_pb_begin(&b, LOCATION_LINE);
            out_pb_uint(&b, LINE_FUNCTION_ID, fn);
            if (frames[i].line > 0)
                out_pb_uint(&b, LINE_LINE, (uint64_t)frames[i].line);
            out_pb_end(&b, line);
        }
        out_pb_end(&b, m);
    }

    for (size_t i = 1; i < nfn && !b.failed; i++) {
        m = out_pb_begin(&b, PROFILE_FUNCTION);
        out_pb_uint(&b, FUNCTION_ID, i);
        /* No system_name: pprof "demangles" a function whose system_name
         * equals its name, and its C++ heuristics would strip "<module>" to ""
         * and "f[int]" to "f"; a name without a system name is left as is. */
        out_pb_uint(&b, FUNCTION_NAME, str_index(&t, pf_str(p, funcs[i].name)));
        out_pb_uint(&b, FUNCTION_FILENAME, str_index(&t, pf_str(p, funcs[i].file)));
        if (funcs[i].firstline > 0)
            out_pb_uint(&b, FUNCTION_START_LINE, (uint64_t)funcs[i].firstline);
        out_pb_end(&b, m);
    }

    out_pb_uint(&b, PROFILE_TIME_NANOS, meta->start_unix_ns);
    out_pb_uint(&b, PROFILE_DURATION_NANOS, meta->duration_ns);
    if (traced) {
        value_type(&b, PROFILE_PERIOD_TYPE, &t, "wall", "nanoseconds");
        out_pb_uint(&b, PROFILE_PERIOD, 1);
    } else if (timed) {
        value_type(&b, PROFILE_PERIOD_TYPE, &t, "cpu", "nanoseconds");
        out_pb_uint(&b, PROFILE_PERIOD, period);
    } else {
        value_type(&b, PROFILE_PERIOD_TYPE, &t, "samples", "count");
        out_pb_uint(&b, PROFILE_PERIOD, 1);
    }
    out_pb_uint(&b, PROFILE_COMMENT, str_index(&t, "pyflare"));
    if (*pf_str(p, meta->command))
        out_pb_uint(&b, PROFILE_COMMENT, str_index_line(&t, pf_str(p, meta->command)));
    out_pb_uint(&b, PROFILE_DEFAULT_SAMPLE_TYPE, str_index(&t, traced ? "wall" : timed ? "cpu" : "samples"));

    /* The string table last: only now is every string in it. */
    for (size_t i = 0; i < t.map.n; i++)
        out_pb_bytes(&b, PROFILE_STRING_TABLE, t.map.keys[i], t.map.lens[i]);

    int rc;
    if (b.failed || t.failed)
        rc = pf_fail(err, PF_ERR_NOMEM, "out of memory");
    else
        rc = gzip_to(f, b.data, b.len, err);
    out_pb_free(&b);
    out_strmap_free(&t.map);
    return rc;
}

int out_write_pprof(const pf_profile *p, FILE *f, const out_options *o, pf_error *err) {
    return out_buf_write(p, f, o, "pprof", write_pprof, err);
}
