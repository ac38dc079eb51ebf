/* snapshot.c — `pyflare dump` output, text and JSON (see snapshot.h), written
 * through the writers' sink and escapers (outbuf.h, escape.h) like every
 * profile writer. */
#include "output/snapshot.h"

#include "output/escape.h"
#include "output/outbuf.h"

#include <inttypes.h>
#include <string.h>

typedef void (*escaper)(out_buf *o, const char *s);

/* Writes literal pieces and escaped strings in turn: "text", string, "text", ...
 * (a NULL string is written as null, for JSON). One writer for the lines that
 * text and JSON shape alike. */
static void put(out_buf *o, escaper esc, int n, const char *const *pieces) {
    for (int i = 0; i < n; i++) {
        if (!(i & 1))
            out_buf_puts(o, pieces[i]);
        else if (pieces[i])
            esc(o, pieces[i]);
        else
            out_buf_puts(o, "null");
    }
}

static int json_body(out_buf *o, const void *data, pf_error *err) {
    const out_snapshot *s = data;
    out_buf_printf(o, "{\"pid\": %d", s->pid);
    put(o, out_esc_json, 5,
        (const char *const[]){", \"python\": ", s->python, ", \"command\": ", s->command, ", \"threads\": ["});
    for (size_t i = 0; i < s->nthreads; i++) {
        const out_thread *t = &s->threads[i];
        out_buf_printf(o, "%s\n  {\"thread_id\": %" PRIu64 ", \"native_id\": ", i ? "," : "", t->thread_id);
        if (t->native_id >= 0)
            out_buf_i64(o, t->native_id);
        else
            out_buf_puts(o, "null");
        put(o, out_esc_json, 2, (const char *const[]){", \"name\": ", t->name});
        out_buf_printf(o, ", \"active\": %s, \"gil\": %s, \"truncated\": %s", t->active ? "true" : "false",
                       t->gil < 0 ? "null" : t->gil ? "true" : "false", t->truncated ? "true" : "false");
        put(o, out_esc_json, 3, (const char *const[]){", \"error\": ", t->error, ", \"frames\": ["});
        for (size_t k = 0; k < t->nframes; k++) {
            put(o, out_esc_json, 4,
                (const char *const[]){k ? ",\n    {\"function\": " : "\n    {\"function\": ", t->frames[k].function,
                                      ", \"file\": ", t->frames[k].file});
            if (t->frames[k].line >= 0)
                out_buf_printf(o, ", \"line\": %d", t->frames[k].line);
            else
                out_buf_puts(o, ", \"line\": null");
            out_buf_puts(o, t->frames[k].native ? ", \"native\": true}" : ", \"native\": false}");
        }
        out_buf_puts(o, "]}");
    }
    out_buf_puts(o, "\n]}\n");
    return 0;
}

/* Names come from the target: escaped, so none can drive the terminal. */
static int text_body(out_buf *o, const void *data, pf_error *err) {
    const out_snapshot *s = data;
    out_buf_printf(o, "Process %d: ", s->pid);
    put(o, out_esc_text, 5, (const char *const[]){"", s->command, "   (CPython ", s->python, ")\n"});
    for (size_t i = 0; i < s->nthreads; i++) {
        const out_thread *t = &s->threads[i];
        out_buf_printf(o, "Thread %" PRIu64, t->thread_id);
        if (t->name)
            put(o, out_esc_text, 3, (const char *const[]){" \"", t->name, "\""});
        out_buf_printf(o, " (%s%s", t->active ? "active" : "idle", t->gil == 1 ? ", holds GIL" : "");
        if (t->native_id >= 0)
            out_buf_printf(o, ", native id %" PRId64, t->native_id);
        out_buf_puts(o, ")\n");
        for (size_t k = 0; k < t->nframes; k++) {
            if (t->frames[k].native) {
                put(o, out_esc_text, 5, (const char *const[]){"    ", t->frames[k].function, " [", t->frames[k].file, "]\n"});
                continue;
            }
            put(o, out_esc_text, 4, (const char *const[]){"    ", t->frames[k].function, " (", t->frames[k].file});
            if (t->frames[k].line >= 0)
                out_buf_printf(o, ":%d", t->frames[k].line);
            out_buf_puts(o, ")\n");
        }
        if (t->truncated)
            out_buf_puts(o, "    ... (deeper frames left out)\n");
        if (t->error)
            out_buf_printf(o, "    [stack incomplete: %s]\n", t->error);
        if (t->nframes == 0 && !t->error)
            out_buf_puts(o, "    (no Python frames)\n");
    }
    return 0;
}

int out_snapshot_json(FILE *f, const char *what, const out_snapshot *s, pf_error *err) {
    return out_buf_run(f, what, json_body, s, err);
}

int out_snapshot_text(FILE *f, const char *what, const out_snapshot *s, pf_error *err) {
    return out_buf_run(f, what, text_body, s, err);
}
