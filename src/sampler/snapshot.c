/* snapshot.c — every thread of a Python process read once (see snapshot.h). */
#include "sampler/snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "cpython/asyncio.h"
#include "cpython/proc.h"
#include "cpython/threadnames.h"
#include "cpython/walker.h"
#include "profile/profile.h"
#include "target/target.h"

#define NAME_CAP 256

struct snapshot_source {
    target *target;
    py_proc *proc;
    py_walker *walker;
    py_name_book *names;    /* NULL: threads go unnamed */
    target_thread *tasks;   /* the run states listed before the last read */
    size_t ntasks, tasks_cap;
    out_thread *threads;
    size_t threads_cap;
    out_frame *frames;
    size_t frames_cap;
    char (*thread_names)[NAME_CAP];
    size_t names_cap;
    char command[1024];
    py_asyncio *asyncio;    /* made at the first take that asks for tasks */
    out_task *tasks_out;
    size_t tasks_out_cap;
    out_frame *task_frames;
    size_t task_frames_cap;
};

int snapshot_open(pid_t pid, snapshot_source **out, pf_error *err) {
    snapshot_source *s = calloc(1, sizeof *s);
    if (!s)
        return pf_fail(err, PF_ERR_IO, "out of memory");
    if (target_open(pid, &s->target, err) != 0 || py_proc_open(s->target, &s->proc, err) != 0 ||
        py_walker_new(s->proc, &s->walker, err) != 0) {
        snapshot_close(s);
        return -1;
    }
    s->names = py_name_book_new(s->proc);
    *out = s;
    return 0;
}

void snapshot_close(snapshot_source *s) {
    if (!s)
        return;
    free(s->tasks);
    free(s->threads);
    free(s->frames);
    free(s->thread_names);
    free(s->tasks_out);
    free(s->task_frames);
    py_asyncio_free(s->asyncio);
    py_name_book_free(s->names);
    py_walker_free(s->walker);
    py_proc_close(s->proc);
    target_close(s->target);
    free(s);
}

/* buf grown to hold n items of size each (buf itself when it does), or NULL
 * when out of memory (buf is then left as it was). */
static void *grown(void *buf, size_t *cap, size_t n, size_t size) {
    if (n < 1)
        n = 1; /* never NULL for an empty result */
    if (n <= *cap)
        return buf;
    void *bigger = realloc(buf, n * size);
    if (bigger)
        *cap = n;
    return bigger;
}

/* Lists the threads' run states. They are read before the stacks: while paused
 * every thread shows as stopped, and just after resuming they briefly all show
 * as running. The listing is copied: the next one (pausing lists too) overwrites it. */
static int list_states(snapshot_source *s, pf_error *err) {
    const target_thread *tasks;
    size_t n;
    if (target_threads(s->target, &tasks, &n, err) != 0)
        return -1;
    target_thread *copy = grown(s->tasks, &s->tasks_cap, n, sizeof *copy);
    if (!copy)
        return pf_fail(err, PF_ERR_IO, "out of memory");
    s->tasks = copy;
    if (n)
        memcpy(s->tasks, tasks, n * sizeof *tasks);
    s->ntasks = n;
    return 0;
}

/* The state of the thread the process knows as ns_tid (its own view of TIDs). */
static char state_of(const snapshot_source *s, int64_t ns_tid) {
    for (size_t i = 0; ns_tid >= 0 && i < s->ntasks; i++)
        if (s->tasks[i].ns_tid == ns_tid)
            return s->tasks[i].state;
    return '?';
}

/* Every stack, read again while one was torn by the running target. */
static int read_stacks(snapshot_source *s, int pause, const py_thread **threads, size_t *n, pf_error *err) {
    for (int attempt = 0;; attempt++) {
        if (list_states(s, err) != 0)
            return -1;
        if (pause && target_pause(s->target, err) != 0)
            return -1;
        int rc = py_walker_sample(s->walker, threads, n, err);
        if (pause)
            target_resume(s->target);
        if (rc != 0 && (err->kind == PF_ERR_EXITED || attempt >= SNAPSHOT_RETRIES))
            return -1;
        int torn = rc != 0;
        for (size_t i = 0; rc == 0 && i < *n; i++)
            torn |= (*threads)[i].error != PF_OK;
        if (!torn || attempt >= SNAPSHOT_RETRIES)
            return rc;
    }
}

/* The asyncio tasks, into out (read while paused when asked, like the stacks). */
static int read_tasks(snapshot_source *s, int pause, out_snapshot *out, pf_error *err) {
    const py_task *tasks;
    size_t n, nframes = 0;
    if (pause && target_pause(s->target, err) != 0)
        return -1;
    int rc = py_asyncio_tasks(s->asyncio, &tasks, &n, err);
    if (pause)
        target_resume(s->target);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        nframes += tasks[i].nframes;
    out_task *ot = grown(s->tasks_out, &s->tasks_out_cap, n, sizeof *ot);
    if (ot)
        s->tasks_out = ot;
    out_frame *of = ot ? grown(s->task_frames, &s->task_frames_cap, nframes, sizeof *of) : NULL;
    if (!of)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    s->task_frames = of;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const py_task *t = &tasks[i];
        s->tasks_out[i] = (out_task){
            .id = t->addr, .name = t->name, .thread_id = t->thread_id, .state = py_task_state_name(t->state),
            .frames = of + used, .nframes = t->nframes, .awaited_by = t->awaited_by, .nawaited_by = t->nawaited_by};
        for (size_t k = 0; k < t->nframes; k++, used++)
            of[used] = (out_frame){t->frames[k].code->function, t->frames[k].code->file, t->frames[k].line};
    }
    out->has_tasks = 1;
    out->tasks = s->tasks_out;
    out->ntasks = n;
    return 0;
}

int snapshot_take(snapshot_source *s, const snapshot_options *o, out_snapshot *out, pf_error *err) {
    const py_thread *threads;
    size_t n, nframes = 0;
    memset(out, 0, sizeof *out);
    if (o->tasks && !s->asyncio && py_asyncio_new(s->proc, &s->asyncio, err) != 0)
        return -1;
    if (read_stacks(s, o->pause, &threads, &n, err) != 0)
        return -1;
    if (s->names)
        py_name_book_new_sample(s->names);
    for (size_t i = 0; i < n; i++)
        nframes += threads[i].nframes + (threads[i].in_gc ? 1 : 0);
    out_thread *ot = grown(s->threads, &s->threads_cap, n, sizeof *ot);
    if (ot)
        s->threads = ot;
    char(*names)[NAME_CAP] = ot ? grown(s->thread_names, &s->names_cap, n, sizeof *names) : NULL;
    if (names)
        s->thread_names = names;
    out_frame *of = names ? grown(s->frames, &s->frames_cap, nframes, sizeof *of) : NULL;
    if (!of)
        return pf_fail(err, PF_ERR_IO, "out of memory");
    s->frames = of;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const py_thread *pt = &threads[i];
        out_thread *x = &s->threads[i];
        memset(x, 0, sizeof *x);
        x->thread_id = pt->thread_id;
        x->native_id = pt->native_id;
        x->gil = pt->holds_gil;
        x->active = snapshot_thread_active(state_of(s, pt->native_id), pt->holds_gil);
        if (s->names && py_name_book_lookup(s->names, pt->interp, pt->thread_id, s->thread_names[i],
                                            NAME_CAP, NULL) == 1)
            x->name = s->thread_names[i];
        x->frames = s->frames + used;
        x->nframes = pt->nframes;
        if (pt->in_gc) { /* running the garbage collector: the synthetic frame on top, as record shows it */
            s->frames[used++] = (out_frame){PF_GC_FRAME, "", -1};
            x->nframes++;
        }
        x->truncated = pt->truncated;
        x->error = pt->error ? pf_error_kind_name(pt->error) : NULL;
        for (size_t k = 0; k < pt->nframes; k++, used++) {
            s->frames[used].function = pt->frames[k].code->function;
            s->frames[used].file = pt->frames[k].code->file;
            s->frames[used].line = pt->frames[k].line;
        }
    }
    target_cmdline(s->target, s->command, sizeof s->command);
    out->pid = (int)target_pid(s->target);
    out->python = s->proc->version;
    out->command = s->command;
    out->threads = s->threads;
    out->nthreads = n;
    return o->tasks ? read_tasks(s, o->pause, out, err) : 0;
}
