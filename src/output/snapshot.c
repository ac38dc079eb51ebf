/* snapshot.c — `pyflare dump` output, text and JSON (see snapshot.h); the
 * JSON string escaper it shares with the profile writers is in escape.c. */
#include "output/snapshot.h"

#include "output/escape.h"

#include <inttypes.h>
#include <string.h>

typedef void (*escaper)(FILE *f, const char *s);

/* Writes literal pieces and escaped strings in turn: "text", string, "text", ...
 * (a NULL string is written as null, for JSON). One writer for the lines that
 * text and JSON shape alike. */
static void put(FILE *f, escaper esc, int n, const char *const *pieces) {
    for (int i = 0; i < n; i++) {
        if (!(i & 1))
            fputs(pieces[i], f);
        else if (pieces[i])
            esc(f, pieces[i]);
        else
            fputs("null", f);
    }
}

void out_snapshot_json(FILE *f, const out_snapshot *s) {
    fprintf(f, "{\"pid\": %d", s->pid);
    put(f, out_json_string, 5,
        (const char *const[]){", \"python\": ", s->python, ", \"command\": ", s->command, ", \"threads\": ["});
    for (size_t i = 0; i < s->nthreads; i++) {
        const out_thread *t = &s->threads[i];
        fprintf(f, "%s\n  {\"thread_id\": %" PRIu64 ", \"native_id\": ", i ? "," : "", t->thread_id);
        if (t->native_id >= 0)
            fprintf(f, "%" PRId64, t->native_id);
        else
            fputs("null", f);
        put(f, out_json_string, 2, (const char *const[]){", \"name\": ", t->name});
        fprintf(f, ", \"active\": %s, \"gil\": %s, \"truncated\": %s", t->active ? "true" : "false",
                t->gil < 0 ? "null" : t->gil ? "true" : "false", t->truncated ? "true" : "false");
        put(f, out_json_string, 3, (const char *const[]){", \"error\": ", t->error, ", \"frames\": ["});
        for (size_t k = 0; k < t->nframes; k++) {
            put(f, out_json_string, 4,
                (const char *const[]){k ? ",\n    {\"function\": " : "\n    {\"function\": ", t->frames[k].function,
                                      ", \"file\": ", t->frames[k].file});
            if (t->frames[k].line >= 0)
                fprintf(f, ", \"line\": %d}", t->frames[k].line);
            else
                fputs(", \"line\": null}", f);
        }
        fputs("]}", f);
    }
    fputs("\n]}\n", f);
}

/* Names come from the target: escaped, so none can drive the terminal. */
void out_snapshot_text(FILE *f, const out_snapshot *s) {
    fprintf(f, "Process %d: ", s->pid);
    put(f, out_text_write, 5, (const char *const[]){"", s->command, "   (CPython ", s->python, ")\n"});
    for (size_t i = 0; i < s->nthreads; i++) {
        const out_thread *t = &s->threads[i];
        fprintf(f, "Thread %" PRIu64, t->thread_id);
        if (t->name)
            put(f, out_text_write, 3, (const char *const[]){" \"", t->name, "\""});
        fprintf(f, " (%s%s", t->active ? "active" : "idle", t->gil == 1 ? ", holds GIL" : "");
        if (t->native_id >= 0)
            fprintf(f, ", native id %" PRId64, t->native_id);
        fputs(")\n", f);
        for (size_t k = 0; k < t->nframes; k++) {
            put(f, out_text_write, 4, (const char *const[]){"    ", t->frames[k].function, " (", t->frames[k].file});
            if (t->frames[k].line >= 0)
                fprintf(f, ":%d", t->frames[k].line);
            fputs(")\n", f);
        }
        if (t->truncated)
            fputs("    ... (deeper frames left out)\n", f);
        if (t->error)
            fprintf(f, "    [stack incomplete: %s]\n", t->error);
        if (t->nframes == 0 && !t->error)
            fputs("    (no Python frames)\n", f);
    }
}
