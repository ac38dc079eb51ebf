/* snapshot.c — `pyflare dump` output, text and JSON (see snapshot.h); the
 * JSON string escaper it shares with the profile writers is in escape.c. */
#include "output/snapshot.h"

#include "output/escape.h"

#include <inttypes.h>
#include <string.h>

void out_snapshot_json(FILE *f, const out_snapshot *s) {
    fprintf(f, "{\"pid\": %d, \"python\": ", s->pid);
    out_json_string(f, s->python);
    fputs(", \"command\": ", f);
    out_json_string(f, s->command);
    fputs(", \"threads\": [", f);
    for (size_t i = 0; i < s->nthreads; i++) {
        const out_thread *t = &s->threads[i];
        fprintf(f, "%s\n  {\"thread_id\": %" PRIu64 ", \"native_id\": ", i ? "," : "", t->thread_id);
        if (t->native_id >= 0)
            fprintf(f, "%" PRId64, t->native_id);
        else
            fputs("null", f);
        fputs(", \"name\": ", f);
        if (t->name)
            out_json_string(f, t->name);
        else
            fputs("null", f);
        fprintf(f, ", \"active\": %s, \"gil\": %s, \"truncated\": %s, \"error\": ", t->active ? "true" : "false",
                t->gil < 0 ? "null" : t->gil ? "true" : "false", t->truncated ? "true" : "false");
        if (t->error)
            out_json_string(f, t->error);
        else
            fputs("null", f);
        fputs(", \"frames\": [", f);
        for (size_t k = 0; k < t->nframes; k++) {
            fputs(k ? ",\n    {\"function\": " : "\n    {\"function\": ", f);
            out_json_string(f, t->frames[k].function);
            fputs(", \"file\": ", f);
            out_json_string(f, t->frames[k].file);
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
    out_text_write(f, s->command);
    fputs("   (CPython ", f);
    out_text_write(f, s->python);
    fputs(")\n", f);
    for (size_t i = 0; i < s->nthreads; i++) {
        const out_thread *t = &s->threads[i];
        fprintf(f, "Thread %" PRIu64, t->thread_id);
        if (t->name) {
            fputs(" \"", f);
            out_text_write(f, t->name);
            fputc('"', f);
        }
        fprintf(f, " (%s%s", t->active ? "active" : "idle", t->gil == 1 ? ", holds GIL" : "");
        if (t->native_id >= 0)
            fprintf(f, ", native id %" PRId64, t->native_id);
        fputs(")\n", f);
        for (size_t k = 0; k < t->nframes; k++) {
            fputs("    ", f);
            out_text_write(f, t->frames[k].function);
            fputs(" (", f);
            out_text_write(f, t->frames[k].file);
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
