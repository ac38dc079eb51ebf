/* snapshot.c — every thread of a Python process read once (see snapshot.h). */
#include "sampler/snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "cpython/asyncio.h"
#include "cpython/proc.h"
#include "cpython/threadnames.h"
#include "cpython/walker.h"
#include "profile/profile.h"
#include "sampler/native_merge.h"
#include "target/native.h"
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
    int stopped;            /* the process was stopped by a signal at the last read */
    py_asyncio *asyncio;    /* made at the first take that asks for tasks */
    out_task *tasks_out;
    size_t tasks_out_cap;
    out_frame *task_frames;
    size_t task_frames_cap;
    /* --native: each thread's native frames, read while paused: thread i's
     * npcs[i] frames (-1: unwind failed) from at[i] in pcs and sps */
    target_native *native;
    uint64_t *pcs, *sps;
    size_t pcs_cap;
    int *npcs;
    size_t *at;
    size_t npcs_cap;
    target_native_sym *syms;
    size_t syms_cap;
    merged_frame *merged;
    size_t merged_cap;
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
    free(s->pcs);
    free(s->sps);
    free(s->npcs);
    free(s->at);
    free(s->syms);
    free(s->merged);
    target_native_close(s->native);
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

/* Every thread's native frames, read while the process is paused: the TID
 * comes from the thread state (a version without one: the process's only thread). */
static int unwind_threads(snapshot_source *s, const py_thread *threads, size_t n, pf_error *err) {
    if (!s->native && target_native_open(s->target, &s->native, err) != 0)
        return -1;
    void *const per_thread[] = {&s->npcs, &s->at};
    const size_t per_thread_size[] = {sizeof *s->npcs, sizeof *s->at};
    if (pf_grow_all(per_thread, per_thread_size, 2, &s->npcs_cap, n, 16) != 0)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        void *const frames[] = {&s->pcs, &s->sps};
        const size_t frame_size[] = {sizeof *s->pcs, sizeof *s->sps};
        if (pf_grow_all(frames, frame_size, 2, &s->pcs_cap, used + TARGET_NATIVE_MAX_FRAMES, 1024) != 0)
            return pf_fail(err, PF_ERR_NOMEM, "out of memory");
        pid_t tid = threads[i].native_id >= 0 ? target_host_tid(s->target, (pid_t)threads[i].native_id)
                    : n == 1                  ? target_pid(s->target)
                                              : -1;
        pf_error ignored = {0};
        s->at[i] = used;
        s->npcs[i] = tid <= 0 ? -1
                              : target_native_unwind(s->native, tid, s->pcs + used, s->sps + used,
                                                     TARGET_NATIVE_MAX_FRAMES, &ignored);
        used += s->npcs[i] > 0 ? (size_t)s->npcs[i] : 0;
    }
    return 0;
}

/* Every stack, read again while one was torn by the running target. */
static int read_stacks(snapshot_source *s, const snapshot_options *o, const py_thread **threads, size_t *n,
                       pf_error *err) {
    int pause = o->pause || o->native;
    for (int attempt = 0;; attempt++) {
        if (list_states(s, err) != 0)
            return -1;
        if (pause && target_pause(s->target, err) != 0)
            return -1;
        int rc = py_walker_sample(s->walker, threads, n, err);
        if (rc == 0 && o->native)
            rc = unwind_threads(s, *threads, *n, err);
        s->stopped = target_stopped(s->target); /* (paused, by what the pause saw: see target_stopped) */
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
            of[used] = (out_frame){t->frames[k].code->function, t->frames[k].code->file, t->frames[k].line, 0};
    }
    out->has_tasks = 1;
    out->tasks = s->tasks_out;
    out->ntasks = n;
    return 0;
}

/* One thread's stack merged with its native frames into out; its length. */
static size_t native_frames(snapshot_source *s, const py_thread *pt, int npcs, const uint64_t *pcs,
                            const uint64_t *sps, out_frame *out) {
    size_t n = 0, nsyms = npcs > 0 ? (size_t)npcs : 0;
    for (size_t k = 0; k < nsyms; k++)
        target_native_symbol(s->native, pcs[k], &s->syms[k]);
    if (npcs < 0)
        out[n++] = (out_frame){NATIVE_UNAVAILABLE, "", -1, 1};
    size_t m = native_merge(s->syms, sps, nsyms, pt->frames, pt->nframes, s->proc->version[0] - '0', s->merged,
                            nsyms + pt->nframes);
    for (size_t k = 0; k < m; k++, n++) {
        const merged_frame *f = &s->merged[k];
        out[n] = f->py ? (out_frame){f->py->code->function, f->py->code->file, f->py->line, 0}
                       : (out_frame){f->native->function, f->native->object, -1, 1};
    }
    return n;
}

int snapshot_take(snapshot_source *s, const snapshot_options *o, out_snapshot *out, pf_error *err) {
    const py_thread *threads;
    size_t n, nframes = 0;
    memset(out, 0, sizeof *out);
    if (o->tasks && !s->asyncio && py_asyncio_new(s->proc, &s->asyncio, err) != 0)
        return -1;
    if (read_stacks(s, o, &threads, &n, err) != 0)
        return -1;
    if (s->names)
        py_name_book_new_sample(s->names);
    size_t deepest = 0; /* --native: the most frames one thread's merge may take */
    for (size_t i = 0; i < n; i++) {
        size_t native = o->native && s->npcs[i] > 0 ? (size_t)s->npcs[i] : 0;
        nframes += threads[i].nframes + native + (o->native ? 1 : 0) + (threads[i].in_gc ? 1 : 0);
        if (threads[i].nframes + native > deepest)
            deepest = threads[i].nframes + native;
    }
    if (o->native) {
        target_native_sym *syms = grown(s->syms, &s->syms_cap, TARGET_NATIVE_MAX_FRAMES, sizeof *syms);
        if (syms)
            s->syms = syms;
        merged_frame *merged = syms ? grown(s->merged, &s->merged_cap, deepest, sizeof *merged) : NULL;
        if (!merged)
            return pf_fail(err, PF_ERR_NOMEM, "out of memory");
        s->merged = merged;
    }
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
            s->frames[used++] = (out_frame){PF_GC_FRAME, "", -1, 0};
            x->nframes++;
        }
        x->truncated = pt->truncated;
        x->error = pt->error ? pf_error_kind_name(pt->error) : NULL;
        if (o->native) {
            size_t m = native_frames(s, pt, s->npcs[i], s->pcs + s->at[i], s->sps + s->at[i], s->frames + used);
            x->nframes = m + (pt->in_gc ? 1 : 0); /* the <GC> frame, if any, is already on top */
            used += m;
            continue;
        }
        for (size_t k = 0; k < pt->nframes; k++, used++) {
            s->frames[used] = (out_frame){pt->frames[k].code->function, pt->frames[k].code->file, pt->frames[k].line, 0};
        }
    }
    target_cmdline(s->target, s->command, sizeof s->command);
    out->pid = (int)target_pid(s->target);
    out->stopped = s->stopped;
    out->python = s->proc->version;
    out->command = s->command;
    out->threads = s->threads;
    out->nthreads = n;
    return o->tasks ? read_tasks(s, o->pause, out, err) : 0;
}
