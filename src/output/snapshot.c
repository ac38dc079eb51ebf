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

static void json_frames(out_buf *o, const out_frame *frames, size_t n, const char *indent) {
    for (size_t k = 0; k < n; k++) {
        out_buf_printf(o, "%s\n%s", k ? "," : "", indent);
        put(o, out_esc_json, 4,
            (const char *const[]){"{\"function\": ", frames[k].function, ", \"file\": ", frames[k].file});
        if (frames[k].line >= 0)
            out_buf_printf(o, ", \"line\": %d}", frames[k].line);
        else
            out_buf_puts(o, ", \"line\": null}");
    }
}

/* "tasks": every asyncio task, its coroutine stack and the ids awaiting it. */
static void json_tasks(out_buf *o, const out_snapshot *s) {
    out_buf_puts(o, ", \"tasks\": [");
    for (size_t i = 0; i < s->ntasks; i++) {
        const out_task *t = &s->tasks[i];
        out_buf_printf(o, "%s\n  {\"id\": %" PRIu64, i ? "," : "", t->id);
        put(o, out_esc_json, 4, (const char *const[]){", \"name\": ", t->name, ", \"state\": ", t->state});
        out_buf_printf(o, ", \"thread_id\": %" PRIu64 ", \"awaited_by\": [", t->thread_id);
        for (size_t k = 0; k < t->nawaited_by; k++)
            out_buf_printf(o, "%s%" PRIu64, k ? ", " : "", t->awaited_by[k]);
        out_buf_puts(o, "], \"frames\": [");
        json_frames(o, t->frames, t->nframes, "    ");
        out_buf_puts(o, "]}");
    }
    out_buf_puts(o, "\n]");
}

static int json_body(out_buf *o, const void *data, pf_error *err) {
    const out_snapshot *s = data;
    out_buf_printf(o, "{\"pid\": %d, \"stopped\": %s", s->pid, s->stopped ? "true" : "false");
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
    out_buf_puts(o, "\n]");
    if (s->has_tasks)
        json_tasks(o, s);
    out_buf_puts(o, "}\n");
    return 0;
}

static void text_frames(out_buf *o, const out_frame *frames, size_t n) {
    for (size_t k = 0; k < n; k++) {
        put(o, out_esc_text, 4, (const char *const[]){"    ", frames[k].function, " (", frames[k].file});
        if (frames[k].line >= 0)
            out_buf_printf(o, ":%d", frames[k].line);
        out_buf_puts(o, ")\n");
    }
}

static const out_task *task_by_id(const out_snapshot *s, uint64_t id) {
    for (size_t i = 0; i < s->ntasks; i++)
        if (s->tasks[i].id == id)
            return &s->tasks[i];
    return NULL;
}

#define TREE_MAX_DEPTH 64 /* the await graph is the target's: a cycle or a long chain is cut */
#define TREE_MAX_TASKS 2000

/* Task t and, below it, the tasks it awaits (those whose awaited_by names
 * it), as `python -m asyncio pstree` draws them. path: the tasks above. */
static void text_tree(out_buf *o, const out_snapshot *s, const out_task *t, char *prefix, size_t plen, int last,
                      int depth, const uint64_t *path, unsigned char *drawn) {
    drawn[t - s->tasks] = 1;
    out_buf_printf(o, "%.*s%s", (int)plen, prefix, depth ? (last ? "└── " : "├── ") : "");
    put(o, out_esc_text, 3, (const char *const[]){"", t->name, ""});
    out_buf_printf(o, " (%s)\n", t->state);
    uint64_t here[TREE_MAX_DEPTH + 1];
    for (int i = 0; i < depth; i++)
        here[i] = path[i];
    here[depth] = t->id;
    for (int i = 0; i < depth; i++)
        if (path[i] == t->id) {
            out_buf_printf(o, "%.*s    (an await cycle)\n", (int)plen, prefix);
            return;
        }
    if (depth >= TREE_MAX_DEPTH)
        return;
    size_t nplen = plen;
    if (depth) {
        const char *add = last ? "    " : "│   ";
        memcpy(prefix + plen, add, strlen(add));
        nplen += strlen(add);
    }
    const out_task *kids[2] = {NULL, NULL}; /* the previous child, drawn once the next is known */
    for (size_t i = 0; i < s->ntasks; i++) {
        const out_task *k = &s->tasks[i];
        for (size_t j = 0; j < k->nawaited_by; j++) {
            if (k->awaited_by[j] != t->id)
                continue;
            if (kids[0])
                text_tree(o, s, kids[0], prefix, nplen, 0, depth + 1, here, drawn);
            kids[0] = k;
            break;
        }
    }
    if (kids[0])
        text_tree(o, s, kids[0], prefix, nplen, 1, depth + 1, here, drawn);
}

/* Every task with its stack, then the await graph as a tree from the tasks no one awaits. */
static void text_tasks(out_buf *o, const out_snapshot *s) {
    out_buf_printf(o, "\nasyncio tasks: %zu\n", s->ntasks);
    for (size_t i = 0; i < s->ntasks; i++) {
        const out_task *t = &s->tasks[i];
        put(o, out_esc_text, 3, (const char *const[]){"Task \"", t->name, "\""});
        out_buf_printf(o, " (%s, id 0x%" PRIx64, t->state, t->id);
        if (t->thread_id)
            out_buf_printf(o, ", thread %" PRIu64, t->thread_id);
        for (size_t k = 0; k < t->nawaited_by; k++) {
            /* By name, looked up among all tasks: by id alone past the size the tree is drawn for. */
            const out_task *by = s->ntasks <= TREE_MAX_TASKS ? task_by_id(s, t->awaited_by[k]) : NULL;
            if (by)
                put(o, out_esc_text, 3, (const char *const[]){k ? ", \"" : ", awaited by \"", by->name, "\""});
            else
                out_buf_printf(o, "%s0x%" PRIx64, k ? ", " : ", awaited by ", t->awaited_by[k]);
        }
        out_buf_puts(o, ")\n");
        text_frames(o, t->frames, t->nframes);
        if (!t->nframes)
            out_buf_puts(o, "    (no coroutine frames)\n");
    }
    if (!s->ntasks)
        return;
    if (s->ntasks > TREE_MAX_TASKS) { /* drawing looks for each task's children among all: n squared */
        out_buf_printf(o, "\nawait graph: not drawn for more than %d tasks (--json lists every task's awaiters)\n",
                       TREE_MAX_TASKS);
        return;
    }
    unsigned char drawn[TREE_MAX_TASKS] = {0};
    out_buf_puts(o, "\nawait graph (each task above the tasks it awaits):\n");
    char prefix[TREE_MAX_DEPTH * 8 + 8];
    for (size_t i = 0; i < s->ntasks; i++)
        if (!s->tasks[i].nawaited_by)
            text_tree(o, s, &s->tasks[i], prefix, 0, 1, 0, NULL, drawn);
    /* What no task outside a cycle leads to: each cycle drawn from one of its tasks. */
    int said = 0;
    for (size_t i = 0; i < s->ntasks; i++)
        if (!drawn[i]) {
            if (!said++)
                out_buf_puts(o, "awaited only from within an await cycle:\n");
            text_tree(o, s, &s->tasks[i], prefix, 0, 1, 0, NULL, drawn);
        }
}

/* Names come from the target: escaped, so none can drive the terminal. */
static int text_body(out_buf *o, const void *data, pf_error *err) {
    const out_snapshot *s = data;
    out_buf_printf(o, "Process %d: ", s->pid);
    put(o, out_esc_text, 5, (const char *const[]){"", s->command, "   (CPython ", s->python, ")\n"});
    if (s->stopped)
        out_buf_puts(o, "It is " OUT_STOPPED_BY ": it runs no code until it gets SIGCONT\n");
    for (size_t i = 0; i < s->nthreads; i++) {
        const out_thread *t = &s->threads[i];
        out_buf_printf(o, "Thread %" PRIu64, t->thread_id);
        if (t->name)
            put(o, out_esc_text, 3, (const char *const[]){" \"", t->name, "\""});
        out_buf_printf(o, " (%s%s", t->active ? "active" : s->stopped ? "stopped" : "idle", t->gil == 1 ? ", holds GIL" : "");
        if (t->native_id >= 0)
            out_buf_printf(o, ", native id %" PRId64, t->native_id);
        out_buf_puts(o, ")\n");
        for (size_t k = 0; k < t->nframes; k++) {
            if (!*t->frames[k].file) { /* a synthetic frame (<GC>, no native stack): no place to show */
                put(o, out_esc_text, 3, (const char *const[]){"    ", t->frames[k].function, "\n"});
                continue;
            }
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
    if (s->has_tasks)
        text_tasks(o, s);
    return 0;
}

int out_snapshot_json(FILE *f, const char *what, const out_snapshot *s, pf_error *err) {
    return out_buf_run(f, what, json_body, s, err);
}

int out_snapshot_text(FILE *f, const char *what, const out_snapshot *s, pf_error *err) {
    return out_buf_run(f, what, text_body, s, err);
}
