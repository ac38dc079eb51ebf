/* sampler.c — the sampling loop (see sampler.h). */
#include "sampler/sampler.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/grow.h"
#include "base/u64map.h"
#include "cpython/proc.h"
#include "cpython/threadnames.h"
#include "cpython/walker.h"
#include "sampler/clock.h"
#include "base/readfile.h"
#include "sampler/native_merge.h"
#include "target/native.h"
#include "sampler/paths.h"
#include "sampler/snapshot.h"
#include "sampler/tasks.h"
#include "target/target.h"

#define CHILD_SCAN_NS 200000000ull     /* look for new child processes 5 times a second */
#define THREAD_SWEEP_NS 1000000000ull  /* forget exited threads' stat files once a second */
#define PROGRESS_NS 250000000ull
#define LOOK_NS 100000000ull            /* with a long interval, look at the duration and processes this often */
#define PENDING_CHILD_NS 10000000000ull /* a child that is not (yet) Python is retried this long */
#define MAX_SESSIONS 256
/* The kernel brings a running thread's CPU time up to date at scheduler
 * events and ticks (4 ms at 250 Hz), so it grows in steps: the stacks seen
 * running since the last step share it. More than this many: the stack of a
 * thread that long without a step (waiting for a CPU, stopped) is not moving. */
#define PENDING_MAX 32
/* A sample that shows no thread of a process running or waiting (no CPU
 * time grew, no state read says so) asks whether it is stopped by a signal
 * once this long has passed without such a sign: a busy thread's CPU time
 * grows in steps, so a few samples without one prove nothing. */
#define STOP_LOOK_NS 20000000ull
#define NEVER UINT64_MAX

/* One process being sampled. */
typedef struct session {
    pid_t pid;
    target *target;
    py_proc *proc;
    py_walker *walker;
    py_name_book *names;      /* thread names, looked up when a thread is first seen */
    py_asyncio *asyncio;      /* --async: its tasks' reader */
    uint32_t pf_process;
    pf_node_id root;          /* the process root (subprocesses), else PF_ROOT */
    char script_dir[PATH_MAX];
    char cmdline[4096]; /* its command line, read once when its image is opened (4096: as much as find_script_dir read before) */
    int exited;
    uint64_t consecutive_failures;
    int exec_pending;         /* it exec()ed: target, proc and walker are closed until the new program opens */
    uint64_t next_try_ns;
    uint64_t nsampled;        /* samples taken of this process */
    /* CPU-weighted mode: the threads seen running at the previous sample
     * (indexes into sampler.threads), whose CPU time since is theirs even if
     * they have stopped running by now. */
    uint32_t *running, *running_next;
    size_t nrunning, nrunning_next, running_cap;
    target_native *native;    /* --native: unwinds its threads (opened with the image) */
    u64map native_funcs;      /* --native: pc -> profile function */
    /* Stopped by a signal (see note_stopped): */
    uint64_t last_sample_ns;  /* the previous sample's time (0: the start) */
    uint64_t not_stopped_ns;  /* the last sample that showed it was not stopped, NEVER none */
    uint64_t stopped_ns;      /* time found stopped */
    uint64_t nstopped, nlooked; /* samples that found it stopped, of all */
    int stopped;              /* at its last sample */
    size_t threads_now;       /* Python threads at its last sample read whole */
} session;

typedef struct thread_view thread_view;

/* One thread ever seen, and the stack it had last time. */
typedef struct thread_state {
    uint32_t session;
    uint64_t thread_id;
    uint32_t pf_thread;
    pf_node_id root;          /* the thread root (thread_roots), else the session's root */
    uint32_t *last_func;      /* root first: the profile function (0 = none) ... */
    int32_t *last_line;       /* ... line ... */
    pf_node_id *last_node;    /* ... and the node it led to */
    size_t nlast, cap;
    /* CPU-weighted mode: */
    pid_t tid;                /* its TID in pyflare's /proc, -1 unknown */
    uint64_t seen;            /* the session's sample count when last seen running */
    uint64_t carry_ns;        /* CPU time not yet worth a whole period of weight */
    pf_node_id pending[PENDING_MAX]; /* its stacks seen running since its CPU time last grew */
    uint32_t npending;
    int off_cpu;              /* it was off any CPU at its last CPU reading, and not put on one since */
    pf_node_id task_base;     /* --async: the node its last stack went under (its frames' prefix is below it) */
} thread_state;

/* A process that is not Python (or not yet initialised): its children are
 * watched, and it is tried again for a while. */
typedef struct watched {
    pid_t pid;
    uint64_t since_ns;
} watched;

struct sampler {
    sampler_options o;
    pf_profile *profile;
    session sessions[MAX_SESSIONS];
    size_t nsessions;
    thread_state *threads;
    size_t nthreads, threads_cap;
    u64map thread_index;      /* thread_key() -> index in threads */
    watched *watch;
    size_t nwatch, watch_cap;
    sampler_stats stats;
    sampler_clock clock;
    struct thread_view *view; /* per walked thread, what the kernel says of it */
    size_t view_cap;
    int cpu_weighted;         /* weigh stacks by the CPU time their thread used (see sampler.h) */
    uint64_t period_ns;
    /* Where each file the profile names is read (sampler_read_source): file
     * string id -> index in source_paths (the code's own path) and
     * source_root (index in roots: an O_PATH descriptor of a target's
     * /proc/PID/root, which keeps reaching its files after it has exited). */
    u64map source_index;
    char **source_paths;
    uint32_t *source_root;
    size_t nsource, source_cap;
    struct { pid_t pid; int fd; } roots[MAX_SESSIONS];
    size_t nroots;
    /* --native: per walked thread, its native frames (read while paused) */
    uint64_t *native_pcs, *native_sps; /* (grown together; thread_view.at says where a thread's are) */
    size_t native_pcs_cap, native_used;
    target_native_sym native_syms[TARGET_NATIVE_MAX_FRAMES];
    merged_frame *merged;
    size_t merged_cap;
};

int sampler_new(const sampler_options *o, pf_profile *profile, sampler **out, pf_error *err) {
    sampler *s = calloc(1, sizeof *s);
    if (!s)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    s->o = *o;
    s->profile = profile;
    s->cpu_weighted = !o->idle && !o->gil_only;
    s->period_ns = (uint64_t)(1e9 / o->rate_hz);
    if (!s->period_ns)
        s->period_ns = 1;
    *out = s;
    return 0;
}

void sampler_free(sampler *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->nsessions; i++) {
        py_walker_free(s->sessions[i].walker);
        py_name_book_free(s->sessions[i].names);
        py_asyncio_free(s->sessions[i].asyncio);
        target_native_close(s->sessions[i].native);
        u64map_free(&s->sessions[i].native_funcs);
        py_proc_close(s->sessions[i].proc);
        target_close(s->sessions[i].target);
        free(s->sessions[i].running);
        free(s->sessions[i].running_next);
    }
    for (size_t i = 0; i < s->nthreads; i++) {
        free(s->threads[i].last_func);
        free(s->threads[i].last_line);
        free(s->threads[i].last_node);
    }
    free(s->threads);
    free(s->native_pcs);
    free(s->native_sps);
    free(s->merged);
    u64map_free(&s->thread_index);
    for (size_t i = 0; i < s->nsource; i++)
        free(s->source_paths[i]);
    free(s->source_paths);
    free(s->source_root);
    for (size_t i = 0; i < s->nroots; i++)
        if (s->roots[i].fd >= 0)
            close(s->roots[i].fd);
    u64map_free(&s->source_index);
    free(s->watch);
    free(s->view);
    free(s);
}

const sampler_stats *sampler_get_stats(const sampler *s) { return &s->stats; }

int sampler_all_exited(const sampler *s) {
    for (size_t i = 0; i < s->nsessions; i++)
        if (!s->sessions[i].exited)
            return 0;
    return s->nsessions > 0;
}

/* The directory of the script being run, for shortening file names: the first
 * argument of cmdline ending in .py, made absolute against the process's
 * working directory. */
static void find_script_dir(target *t, const char *cmdline, char *out, size_t cap) {
    char cmd[sizeof ((session *)0)->cmdline], cwd[PATH_MAX];
    out[0] = 0;
    snprintf(cmd, sizeof cmd, "%s", cmdline); /* strtok writes */
    target_cwd(t, cwd, sizeof cwd); /* the target's own view, as its file names are */
    for (char *arg = strtok(cmd, " "); arg; arg = strtok(NULL, " ")) {
        size_t len = strlen(arg);
        if (len < 4 || strcmp(arg + len - 3, ".py") != 0)
            continue;
        char *slash = strrchr(arg, '/');
        size_t dir_len = slash ? (size_t)(slash - arg) : 0;
        size_t used = 0;
        if (arg[0] != '/') { /* relative to the working directory */
            used = strlen(cwd);
            if (used + 1 >= cap)
                return;
            memcpy(out, cwd, used);
            if (dir_len)
                out[used++] = '/';
        }
        if (used + dir_len >= cap) {
            out[0] = 0;
            return;
        }
        memcpy(out + used, arg, dir_len);
        out[used + dir_len] = 0;
        return;
    }
}

/* --gil on a free-threaded build: no GIL, no holder, so it would silently record nothing. */
static int refuse_gil_only(const sampler *s, const session *x, pf_error *err) {
    if (!s->o.gil_only || x->proc->layout.build != PY_BUILD_FREE_THREADED)
        return 0;
    return pf_fail(err, PF_ERR_USAGE,
                   "--gil: process %d runs a free-threaded CPython %s, which has no GIL to hold; "
                   "leave out --gil (threads waiting in the kernel are already left out)",
                   (int)x->pid, x->proc->version);
}

/* Lets go of the program's image (what open_image made, or part of it). */
static void close_image(session *x) {
    target_native_close(x->native);
    x->native = NULL;
    u64map_free(&x->native_funcs);
    py_name_book_free(x->names);
    x->names = NULL;
    py_asyncio_free(x->asyncio);
    x->asyncio = NULL;
    py_walker_free(x->walker);
    py_proc_close(x->proc);
    target_close(x->target);
    x->walker = NULL;
    x->proc = NULL;
    x->target = NULL;
}

/* Opens the program pid runs now: target, interpreter, walker; with
 * --blocking, checks once that it can be paused (a process traced by another
 * tool cannot). */
static int open_image(sampler *s, session *x, pf_error *err) {
    x->target = NULL;
    x->proc = NULL;
    x->walker = NULL;
    if (target_open(x->pid, &x->target, err) != 0)
        return -1;
    if (py_proc_open(x->target, &x->proc, err) != 0 || refuse_gil_only(s, x, err) != 0 ||
        (s->o.async_tasks && py_asyncio_new(x->proc, &x->asyncio, err) != 0) ||
        py_walker_new(x->proc, &x->walker, err) != 0 ||
        (s->o.native && target_native_open(x->target, &x->native, err) != 0) ||
        (s->o.blocking && target_pause(x->target, err) != 0)) {
        close_image(x);
        return -1;
    }
    if (s->o.blocking)
        target_resume(x->target);
    x->names = py_name_book_new(x->proc); /* without one, threads go unnamed */
    target_cmdline(x->target, x->cmdline, sizeof x->cmdline);
    find_script_dir(x->target, x->cmdline, x->script_dir, sizeof x->script_dir);
    if (s->cpu_weighted)
        target_cpu_start(x->target); /* CPU time used before now is not ours to count */
    return 0;
}

int sampler_add_process(sampler *s, pid_t pid, pf_error *err) {
    if (s->nsessions == MAX_SESSIONS)
        return pf_fail(err, PF_ERR_USAGE, "too many processes (at most %d)", MAX_SESSIONS);
    session *x = &s->sessions[s->nsessions];
    memset(x, 0, sizeof *x);
    x->pid = pid;
    x->not_stopped_ns = NEVER;
    if (open_image(s, x, err) != 0)
        return -1;
    char cmd[1024], label[1100]; /* the command as the profile names it: its first 1023 bytes */
    snprintf(cmd, sizeof cmd, "%s", x->cmdline);
    x->pf_process = pf_process_add(s->profile, (int)pid, cmd);
    x->root = PF_ROOT;
    if (s->o.subprocesses) {
        snprintf(label, sizeof label, "process %d: %s", (int)pid, cmd);
        pf_func_id fn = pf_func_intern(s->profile, pf_intern(s->profile, label), 0, 0, PF_FUNC_PROCESS);
        x->root = pf_node_child(s->profile, PF_ROOT, pf_frame_intern(s->profile, fn, 0));
    }
    pf_meta meta = *pf_profile_meta_const(s->profile);
    if (!meta.python) {
        meta.python = pf_intern(s->profile, x->proc->version);
        pf_profile_set_meta(s->profile, &meta);
    }
    s->nsessions++;
    s->stats.processes_seen++;
    return 0;
}

/* A thread's identity across samples: its session and thread id (a pthread_t,
 * an address below 2^56). */
static uint64_t thread_key(uint32_t si, uint64_t thread_id) { return thread_id ^ ((uint64_t)si << 56); }

/* ---- a process that exec()s ---- */

#define EXEC_RETRY_NS 20000000ull          /* try the new program as Python this often */
#define EXEC_RETRY_OTHER_NS 250000000ull   /* ... and this often once it proved not Python */

/* The process runs another program now: let go of the old image, and try
 * the new one as Python from the next tick on. */
static void begin_exec(sampler *s, uint32_t si, uint64_t now) {
    session *x = &s->sessions[si];
    char exe[sizeof s->stats.exec_program];
    target_exe(x->target, exe, sizeof exe);
    close_image(x);
    x->exec_pending = 1;
    x->next_try_ns = now;
    x->nrunning = 0;
    for (size_t i = 0; i < s->nthreads; i++)
        if (s->threads[i].session == si) { /* the old image's threads are gone */
            s->threads[i].nlast = 0;
            s->threads[i].npending = 0;
            s->threads[i].tid = -1;
        }
    s->stats.exec_pid = x->pid;
    snprintf(s->stats.exec_program, sizeof s->stats.exec_program, "%s", exe);
    s->stats.exec_not_python = 0;
}

static void retry_exec(sampler *s, session *x, uint64_t now) {
    pf_error err;
    if (open_image(s, x, &err) == 0) {
        x->exec_pending = 0;
        x->consecutive_failures = 0;
        s->stats.execs_followed++;
        return;
    }
    if (err.kind == PF_ERR_NO_PROCESS || err.kind == PF_ERR_EXITED) {
        x->exec_pending = 0;
        x->exited = 1;
        return;
    }
    int other = err.kind == PF_ERR_NOT_PYTHON;
    if (other && x->pid == s->stats.exec_pid)
        s->stats.exec_not_python = 1;
    x->next_try_ns = now + (other ? EXEC_RETRY_OTHER_NS : EXEC_RETRY_NS);
}

/* After a failed read or pause: has the process exec()ed, or ended? */
static void check_image(sampler *s, uint32_t si, uint64_t now) {
    session *x = &s->sessions[si];
    if (target_execed(x->target))
        begin_exec(s, si, now);
    else if (target_gone(x->target))
        x->exited = 1;
}

static thread_state *thread_for(sampler *s, uint32_t si, const py_thread *pt) {
    uint32_t known = u64map_get(&s->thread_index, thread_key(si, pt->thread_id));
    if (known != U64MAP_NONE && s->threads[known].session == si && s->threads[known].thread_id == pt->thread_id)
        return &s->threads[known];
    /* (A key that collides, from a thread id past 2^56, gets an unindexed entry.) */
    if (known == U64MAP_NONE && u64map_put(&s->thread_index, thread_key(si, pt->thread_id), (uint32_t)s->nthreads) != 0)
        return NULL;
    if (PF_GROW(s->threads, s->threads_cap, s->nthreads + 1, 16) != 0)
        return NULL;
    session *x = &s->sessions[si];
    thread_state *ts = &s->threads[s->nthreads++];
    memset(ts, 0, sizeof *ts);
    ts->session = si;
    ts->thread_id = pt->thread_id;
    ts->tid = -1;
    /* The name is read once, when the thread is first seen: it is a dict walk. */
    char name[256], label[300];
    int named = x->names && py_name_book_lookup(x->names, pt->interp, pt->thread_id, name, sizeof name, NULL) == 1;
    /* Before `threading` is imported (a launched program's first samples) the main thread
     * is in no dict, yet it is the one threading will call MainThread: the process's own TID. */
    if (!named && pt->native_id > 0 && target_host_tid(x->target, (pid_t)pt->native_id) == x->pid)
        named = snprintf(name, sizeof name, "MainThread") > 0;
    ts->pf_thread = pf_thread_add(s->profile, x->pf_process, pt->thread_id, pt->native_id, named ? name : NULL);
    ts->root = x->root;
    if (s->o.thread_roots) {
        if (named)
            snprintf(label, sizeof label, "thread %s", name);
        else
            snprintf(label, sizeof label, "thread %llu", (unsigned long long)pt->thread_id);
        pf_func_id fn = pf_func_intern(s->profile, pf_intern(s->profile, label), 0, 0, PF_FUNC_THREAD);
        ts->root = pf_node_child(s->profile, x->root, pf_frame_intern(s->profile, fn, 0));
    }
    s->stats.threads_seen++;
    return ts;
}

static int reserve_stack(thread_state *ts, size_t n) {
    void *const arrays[] = {&ts->last_func, &ts->last_line, &ts->last_node};
    const size_t elems[] = {sizeof *ts->last_func, sizeof *ts->last_line, sizeof *ts->last_node};
    return pf_grow_all(arrays, elems, 3, &ts->cap, n, 64);
}

/* The index in s->roots of x's root directory, opened on first use (its fd
 * is -1 when it cannot be opened; reading then falls back to the path). */
static uint32_t root_of(sampler *s, const session *x) {
    for (size_t i = 0; i < s->nroots; i++)
        if (s->roots[i].pid == x->pid)
            return (uint32_t)i;
    if (s->nroots == MAX_SESSIONS)
        return U64MAP_NONE;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/root", (int)x->pid);
    s->roots[s->nroots].pid = x->pid;
    s->roots[s->nroots].fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return (uint32_t)s->nroots++;
}

/* Remembers where the file a function names is read, seen from pyflare:
 * through the target's root, so a target in a container shows its own
 * files. Best effort: out of memory only loses source text. */
static void note_source(sampler *s, const session *x, pf_str_id file, const char *path) {
    if (!file || path[0] != '/' || u64map_get(&s->source_index, file) != U64MAP_NONE)
        return;
    void *const arrays[] = {&s->source_paths, &s->source_root};
    const size_t elems[] = {sizeof *s->source_paths, sizeof *s->source_root};
    if (pf_grow_all(arrays, elems, 2, &s->source_cap, s->nsource + 1, 64) != 0)
        return;
    char *copy = strdup(path);
    if (!copy)
        return;
    if (u64map_put(&s->source_index, file, (uint32_t)s->nsource) != 0) {
        free(copy);
        return;
    }
    s->source_root[s->nsource] = root_of(s, x);
    s->source_paths[s->nsource++] = copy;
}

int sampler_read_source(void *ctx, const pf_profile *p, pf_str_id file, size_t max, char **text, size_t *len) {
    const sampler *s = ctx;
    (void)p;
    uint32_t i = u64map_get(&s->source_index, file);
    if (i == U64MAP_NONE)
        return -1;
    const char *path = s->source_paths[i];
    uint32_t r = s->source_root[i];
    if (r != U64MAP_NONE && s->roots[r].fd >= 0)
        return pf_read_file_at(s->roots[r].fd, path + 1, max, text, len);
    return pf_read_file(path, max, text, len); /* the root could not be opened: try the same path in ours */
}

/* The profile's frame for a code object at a line; the function is made once per code object. */
static pf_frame_id frame_for(sampler *s, session *x, py_code *code, int line) {
    if (!code->cookie) {
        char shown[PATH_MAX];
        pf_origin origin = sampler_shorten_path(code->file, x->script_dir, shown, sizeof shown);
        const char *file = s->o.full_paths ? code->file : shown;
        pf_str_id file_id = pf_intern(s->profile, file);
        code->cookie = pf_func_intern(s->profile, pf_intern(s->profile, code->function), file_id, code->firstlineno,
                                      PF_FUNC_PYTHON);
        pf_func_set_origin(s->profile, code->cookie, origin);
        note_source(s, x, file_id, code->file);
    }
    return pf_frame_intern(s->profile, code->cookie, s->o.by_function ? 0 : (line > 0 ? line : 0));
}

/* The synthetic frame a stack gets on top while its thread runs the garbage collector. */
static pf_frame_id gc_frame(pf_profile *p) {
    return pf_frame_intern(p, pf_func_intern(p, pf_intern(p, PF_GC_FRAME), 0, 0, PF_FUNC_OTHER), 0);
}

/* What the kernel says of a thread, read while the process is paused (a
 * paused thread shows as stopped, so the state comes from the listing
 * target_pause made before stopping anything). */
struct thread_view {
    char state;               /* 'R' on a CPU or waiting for one, '?' unknown, ... */
    pid_t tid;                /* in pyflare's /proc, -1 unknown */
    int has_cpu;              /* cpu_ns was read */
    uint64_t cpu_ns;          /* CPU time used since it was last read */
    int switched_in;          /* put on a CPU since it was last read */
    int npcs;                 /* --native: how many native frames it has, -1 when they could not be read ... */
    size_t at;                /* ... from here in the sampler's native_pcs (stack pointers in native_sps) */
};

/* The profile function of a native frame, made once per address. */
static pf_func_id native_func(sampler *s, session *x, uint64_t pc, const target_native_sym *sym) {
    uint32_t id = u64map_get(&x->native_funcs, pc);
    if (id != U64MAP_NONE)
        return id;
    pf_func_id fn = pf_func_intern(s->profile, pf_intern(s->profile, sym->function),
                                   pf_intern(s->profile, sym->object), 0, PF_FUNC_NATIVE);
    if (sym->object[0]) /* (an address outside every object may be in one loaded since: ask again) */
        u64map_put(&x->native_funcs, pc, fn); /* (out of memory: made again next time) */
    return fn;
}

/* The merged frames (innermost first) that lie inside Python frame `outer`:
 * up to and including it, none of its callers, Python or native. n when it is
 * not there (an unwind cut short leaves every Python frame in the merge). */
static size_t merged_inside(const merged_frame *merged, size_t n, const py_frame *outer) {
    for (size_t k = 0; k < n; k++)
        if (merged[k].py == outer)
            return k + 1;
    return n;
}

/* --native: the node of a thread's Python stack merged with its native frames
 * (sampler/native_merge.c), or under a NATIVE_UNAVAILABLE frame when those
 * could not be read. Built from the root each time (no prefix reuse). Only
 * what runs inside the innermost `keep` Python frames is kept (--async: a
 * task's own part; the merge itself needs every frame to place the
 * evaluation loop's native frames). */
static pf_node_id native_stack_node(sampler *s, session *x, thread_state *ts, const py_thread *pt, size_t keep,
                                    const thread_view *v) {
    size_t nnative = v->npcs > 0 ? (size_t)v->npcs : 0, cap = nnative + pt->nframes;
    if (PF_GROW(s->merged, s->merged_cap, cap + 1, 64) != 0)
        return PF_ROOT;
    for (size_t k = 0; k < nnative; k++)
        target_native_symbol(x->native, s->native_pcs[v->at + k], &s->native_syms[k]);
    const uint64_t *sps = nnative ? s->native_sps + v->at : NULL; /* (none unwound yet: no array either) */
    size_t n = native_merge(s->native_syms, sps, nnative, pt->frames, pt->nframes,
                            x->proc->version[0] - '0', s->merged, cap);
    if (keep && keep < pt->nframes)
        n = merged_inside(s->merged, n, &pt->frames[keep - 1]);
    ts->nlast = 0; /* the plain path's memo does not describe this stack */
    pf_node_id node = ts->root;
    for (size_t k = n; k-- > 0;) {
        const merged_frame *f = &s->merged[k];
        if (f->py) {
            node = pf_node_child(s->profile, node, frame_for(s, x, f->py->code, s->o.by_function ? 0 : f->py->line));
        } else {
            uint64_t pc = s->native_pcs[v->at + (size_t)(f->native - s->native_syms)];
            node = pf_node_child(s->profile, node, pf_frame_intern(s->profile, native_func(s, x, pc, f->native), 0));
        }
    }
    if (v->npcs < 0) {
        s->stats.native_unavailable++;
        pf_func_id fn = pf_func_intern(s->profile, pf_intern(s->profile, NATIVE_UNAVAILABLE), 0, 0, PF_FUNC_NATIVE);
        node = pf_node_child(s->profile, node, pf_frame_intern(s->profile, fn, 0));
    }
    return node;
}

/* The node of one stack (innermost first) under the thread's root, reusing
 * the part it shares with the thread's previous stack. Frames are compared by
 * profile function and line: a code object decoded anew (its address was
 * reused) has cookie 0 until frame_for, so it never matches a stale entry.
 * PF_ROOT if out of memory. */
static pf_node_id python_stack_node(sampler *s, session *x, thread_state *ts, const py_thread *pt, size_t keep) {
    size_t n = keep;
    if (reserve_stack(ts, n) != 0)
        return PF_ROOT;
    pf_node_id node = ts->root;
    size_t k = 0;
    for (; k < n && k < ts->nlast; k++) {
        const py_frame *f = &pt->frames[n - 1 - k];
        int line = s->o.by_function ? 0 : f->line;
        if (!f->code->cookie || ts->last_func[k] != f->code->cookie || ts->last_line[k] != line)
            break;
        node = ts->last_node[k];
    }
    for (; k < n; k++) {
        const py_frame *f = &pt->frames[n - 1 - k];
        int line = s->o.by_function ? 0 : f->line;
        node = pf_node_child(s->profile, node, frame_for(s, x, f->code, line));
        ts->last_func[k] = f->code->cookie;
        ts->last_line[k] = line;
        ts->last_node[k] = node;
    }
    ts->nlast = n;
    return node;
}

/* The node of a thread's sample: its innermost `keep` Python frames (all but
 * a task's event loop with --async), merged with its native frames with
 * --native, and under the <GC> frame while it collects. */
static pf_node_id stack_node(sampler *s, session *x, thread_state *ts, const py_thread *pt, size_t keep,
                             const thread_view *v) {
    pf_node_id node =
        s->o.native ? native_stack_node(s, x, ts, pt, keep, v) : python_stack_node(s, x, ts, pt, keep);
    if (pt->in_gc && node != PF_ROOT) /* the collector is running on this thread: time spent in it, not in the code above */
        node = pf_node_child(s->profile, node, gc_frame(s->profile));
    return node;
}

/* stack_node, under the thread's asyncio tasks with --async (sampler/tasks.h's rule). */
static pf_node_id thread_stack_node(sampler *s, session *x, thread_state *ts, const py_thread *pt,
                                    const thread_view *v) {
    if (!x->asyncio)
        return stack_node(s, x, ts, pt, pt->nframes, v);
    size_t keep;
    pf_node_id base, root = ts->root;
    sampler_task_base(s->profile, x->asyncio, root, pt, &base, &keep);
    if (base != ts->task_base) /* the frames remembered were under another task */
        ts->nlast = 0;
    ts->task_base = base;
    ts->root = base;
    pf_node_id node = stack_node(s, x, ts, pt, keep, v);
    ts->root = root;
    return node;
}

static void record(sampler *s, thread_state *ts, pf_node_id node, uint64_t time_ns, uint64_t weight) {
    if (node == PF_ROOT || !weight)
        return;
    pf_sample_add(s->profile, node, ts->pf_thread, time_ns, weight);
    s->stats.stacks += weight;
}

/* CPU time a thread used, shared by the stacks it was seen running since its
 * CPU time last grew, as weight: whole periods, the rest carried to its next
 * stacks, so the profile's total is the CPU time used. */
static void spread_cpu(sampler *s, thread_state *ts, uint64_t cpu_ns, uint64_t time_ns) {
    s->stats.cpu_ns += cpu_ns;
    uint32_t n = ts->npending;
    if (!n) { /* nowhere to put it yet: the thread's next stack has it */
        ts->carry_ns += cpu_ns;
        return;
    }
    for (uint32_t k = 0; k < n; k++) {
        ts->carry_ns += cpu_ns / n + (k == n - 1 ? cpu_ns % n : 0);
        uint64_t w = ts->carry_ns / s->period_ns;
        ts->carry_ns -= w * s->period_ns;
        record(s, ts, ts->pending[k], time_ns, w);
    }
    ts->npending = 0;
}

static void running_push(session *x, uint32_t index) {
    if (x->nrunning_next == x->running_cap) { /* the two lists swap each sample: one capacity */
        void *const arrays[] = {&x->running, &x->running_next};
        const size_t elems[] = {sizeof *x->running, sizeof *x->running_next};
        if (pf_grow_all(arrays, elems, 2, &x->running_cap, x->nrunning_next + 1, 16) != 0)
            return; /* out of memory: this thread's CPU time waits for its next running sample */
    }
    x->running_next[x->nrunning_next++] = index;
}

/* Threads that ran at the previous sample but not now (they went to wait):
 * the CPU time they used since was spent where they were seen running. */
static void settle_stopped_running(sampler *s, session *x, uint64_t time_ns) {
    for (size_t k = 0; k < x->nrunning; k++) {
        thread_state *ts = &s->threads[x->running[k]];
        uint64_t cpu_ns = 0;
        if (ts->seen == x->nsampled)
            continue;
        if (ts->tid > 0 && target_thread_cpu(x->target, ts->tid, &cpu_ns, NULL) == 0 && cpu_ns)
            spread_cpu(s, ts, cpu_ns, time_ns);
        ts->npending = 0; /* going to wait brings its CPU time up to date: nothing more is due */
        ts->off_cpu = 1;
    }
    uint32_t *swap = x->running;
    x->running = x->running_next;
    x->running_next = swap;
    x->nrunning = x->nrunning_next;
    x->nrunning_next = 0;
}

static void count_error(sampler *s, pf_error_kind kind) {
    if (kind > PF_ERR_USAGE)
        kind = PF_ERR_READ;
    s->stats.errors[kind]++;
    s->stats.errors_total++;
}

/* --native: a thread's native frames, read while the process is paused; only
 * for a thread whose stack may be kept (a version without TIDs: the process's
 * only thread). They go after the sample's earlier threads' in native_pcs. */
static void unwind_thread(sampler *s, session *x, thread_view *v, const py_thread *pt, size_t n) {
    v->npcs = -1;
    v->at = s->native_used;
    pid_t tid = v->tid > 0 ? v->tid : n == 1 ? x->pid : -1;
    void *const arrays[] = {&s->native_pcs, &s->native_sps};
    const size_t elems[] = {sizeof *s->native_pcs, sizeof *s->native_sps};
    if (tid <= 0 || pf_grow_all(arrays, elems, 2, &s->native_pcs_cap, v->at + TARGET_NATIVE_MAX_FRAMES, 1024) != 0)
        return;
    int kept = s->o.gil_only ? pt->holds_gil == 1 : s->o.idle || snapshot_thread_active(v->state, pt->holds_gil);
    if (!kept)
        return; /* its stack is not recorded (the same rules as sample_session's) */
    pf_error ignored;
    v->npcs = target_native_unwind(x->native, tid, s->native_pcs + v->at, s->native_sps + v->at,
                                   TARGET_NATIVE_MAX_FRAMES, &ignored);
    s->native_used += v->npcs > 0 ? (size_t)v->npcs : 0;
}

/* --async --idle: each task waiting at an await, one sample each, under the
 * tasks awaiting it, in the thread whose list holds it (once that thread has
 * been seen). Running tasks were counted with their thread's stack. */
static void sample_waiting_tasks(sampler *s, uint32_t si, session *x, uint64_t time_ns) {
    const py_task *tasks;
    size_t n;
    if (py_asyncio_tasks(x->asyncio, &tasks, &n, NULL) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        const py_task *t = &tasks[i];
        if (t->state != PY_TASK_WAITING && t->state != PY_TASK_PENDING)
            continue;
        uint32_t at = u64map_get(&s->thread_index, thread_key(si, t->thread_id));
        if (at == U64MAP_NONE || s->threads[at].session != si || s->threads[at].thread_id != t->thread_id)
            continue;
        thread_state *ts = &s->threads[at];
        pf_node_id node = sampler_waiting_task_base(s->profile, tasks, n, i, ts->root);
        for (size_t k = t->nframes; k-- > 0;)
            node = pf_node_child(s->profile, node, frame_for(s, x, t->frames[k].code, s->o.by_function ? 0 : t->frames[k].line));
        record(s, ts, node, time_ns, 1);
    }
}

/* Whether the process is stopped by a signal at this sample, and for how
 * long: target/ is asked only when no thread showed it was not (not_stopped)
 * for STOP_LOOK_NS, so a process that runs costs nothing more; with
 * --blocking, while it is paused (called before target_resume). */
static void note_stopped(sampler *s, session *x, int not_stopped, uint64_t time_ns) {
    uint64_t since = time_ns - x->last_sample_ns;
    x->last_sample_ns = time_ns;
    x->nlooked++;
    /* (Paused, target/ knows at no cost; and there a thread's state or CPU
     * time proves nothing: resuming wakes a stopped thread for a moment.) */
    int look = s->o.blocking ||
               (!not_stopped && (x->not_stopped_ns == NEVER || time_ns - x->not_stopped_ns >= STOP_LOOK_NS));
    x->stopped = look && target_stopped(x->target);
    if (not_stopped || (look && !x->stopped))
        x->not_stopped_ns = time_ns;
    if (!x->stopped)
        return;
    if (!x->nstopped)
        s->stats.stopped_processes++;
    x->nstopped++;
    x->stopped_ns += since;
}

static void sample_session(sampler *s, uint32_t si, uint64_t time_ns) {
    session *x = &s->sessions[si];
    const py_thread *threads;
    size_t n;
    pf_error err;
    if (s->o.blocking && target_pause(x->target, &err) != 0) {
        check_image(s, si, time_ns + s->clock.start_ns);
        if (!x->exec_pending)
            count_error(s, err.kind); /* (an exec() is no failure) */
        return;
    }
    int rc = py_walker_sample(x->walker, &threads, &n, &err);
    if (x->names)
        py_name_book_new_sample(x->names);
    if (rc == 0 && n > s->view_cap) {
        thread_view *bigger = realloc(s->view, n * sizeof *bigger);
        if (!bigger) {
            rc = -1;
            pf_fail(&err, PF_ERR_NOMEM, "out of memory");
        } else {
            s->view = bigger;
            s->view_cap = n;
        }
    }
    thread_view *view = s->view;
    s->native_used = 0;
    int not_stopped = 0; /* a thread's state or CPU time shows the process is not stopped by a signal */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        thread_view *v = &view[i];
        v->tid = threads[i].native_id > 0 ? target_host_tid(x->target, (pid_t)threads[i].native_id) : -1;
        v->has_cpu = 0;
        /* The GIL holder is running Python code: no need to ask the kernel
         * whether it waits. Others may be running C code without the GIL, or waiting. */
        char read = 0; /* the state as the kernel gave it, 0 when not asked */
        if (s->o.idle || s->o.gil_only || v->tid <= 0)
            v->state = threads[i].holds_gil == 1 ? 'R' : '?';
        else if (s->o.blocking)
            v->state = target_listed_state(x->target, v->tid); /* (no sign of a stop: see note_stopped) */
        else
            v->state = threads[i].holds_gil == 1 ? 'R' : (read = target_thread_state(x->target, v->tid));
        /* Running or runnable: how much did it really run? (A thread waiting
         * for a CPU, or stopped while holding the GIL, ran not at all.) */
        if (s->cpu_weighted && v->tid > 0 && v->state == 'R')
            v->has_cpu = target_thread_cpu(x->target, v->tid, &v->cpu_ns, &v->switched_in) == 0;
        not_stopped |= (read && read != 'T' && read != 'Z' && read != 'X' && read != '?') || (v->has_cpu && v->cpu_ns);
        if (s->o.native)
            unwind_thread(s, x, v, &threads[i], n);
    }
    note_stopped(s, x, not_stopped, time_ns);
    /* --async reads each running task's chain while the stacks are built
     * (thread_stack_node), and the waiting tasks after: with the pause, the
     * process stays paused until then, so a stack and its task are read at
     * one moment (resumed earlier, a task step could end in between and its
     * frames be shown without their task). */
    int resume_late = s->o.blocking && x->asyncio != NULL;
    if (s->o.blocking && !resume_late)
        target_resume(x->target);
    if (rc != 0) {
        if (resume_late)
            target_resume(x->target);
        check_image(s, si, time_ns + s->clock.start_ns);
        if (!x->exec_pending)
            count_error(s, err.kind); /* (an exec() is no failure) */
        /* A process that stops answering is gone (or a zombie we will reap). */
        if (!x->exec_pending && (err.kind == PF_ERR_EXITED || ++x->consecutive_failures > 100))
            x->exited = 1;
        return;
    }
    /* Torn stacks are also what the first walks of an exec()ed process look
     * like (the old addresses now hold the new program): check, rather than
     * walk another program's memory until the next sweep. */
    for (size_t i = 0; i < n; i++)
        if (threads[i].error != PF_OK) {
            if (target_execed(x->target)) { /* one pread */
                if (resume_late)
                    target_resume(x->target);
                begin_exec(s, si, time_ns + s->clock.start_ns);
                return;
            }
            break;
        }
    x->consecutive_failures = 0;
    x->nsampled++;
    x->threads_now = n;
    for (size_t i = 0; i < n; i++) {
        const py_thread *pt = &threads[i];
        const thread_view *v = &view[i];
        if (s->o.gil_only) {
            if (pt->holds_gil != 1)
                continue;
        } else if (!s->o.idle) {
            if (!snapshot_thread_active(v->state, pt->holds_gil)) /* the rule dump uses too */
                continue;
        }
        if (pt->error == PF_OK && pt->nframes == 0)
            continue; /* no Python code running (its CPU time is not the profile's) */
        if (pt->holds_gil >= 0) {
            s->stats.gil_known++;
            s->stats.gil_held += pt->holds_gil == 1;
        }
        if (pt->error != PF_OK) {
            count_error(s, pt->error); /* a torn stack is dropped, never recorded wrong */
            if (!v->has_cpu)
                continue; /* (with a CPU figure: its CPU time goes to its other stacks) */
        }
        thread_state *ts = thread_for(s, si, pt);
        if (!ts)
            continue;
        if (!v->has_cpu) { /* a plain sample: --idle, --gil, or no CPU figure for this thread */
            record(s, ts, thread_stack_node(s, x, ts, pt, v), time_ns, 1);
            continue;
        }
        ts->tid = v->tid;
        ts->seen = x->nsampled;
        running_push(x, (uint32_t)(ts - s->threads));
        /* Woken from a wait but not yet given a CPU: its stack is still the
         * waiting one, and none of the CPU time to come is spent there. */
        if (ts->off_cpu && !v->switched_in && !v->cpu_ns)
            continue;
        ts->off_cpu = 0;
        /* Put on a CPU since the last reading: the stacks seen before were
         * seen waiting (a thread taken off a CPU has its CPU time brought up
         * to date then). With no CPU time yet, none of them ran; with some,
         * the run began where the last of them was. */
        if (v->switched_in && ts->npending > 0) {
            ts->pending[0] = ts->pending[ts->npending - 1];
            ts->npending = v->cpu_ns ? 1 : 0;
        }
        if (pt->error == PF_OK && pt->nframes > 0 && ts->npending < PENDING_MAX) {
            pf_node_id node = thread_stack_node(s, x, ts, pt, v);
            if (node != PF_ROOT)
                ts->pending[ts->npending++] = node;
        }
        if (v->cpu_ns)
            spread_cpu(s, ts, v->cpu_ns, time_ns);
    }
    if (s->cpu_weighted)
        settle_stopped_running(s, x, time_ns);
    if (x->asyncio && s->o.idle)
        sample_waiting_tasks(s, si, x, time_ns);
    if (resume_late)
        target_resume(x->target);
}

/* ---- following child processes ---- */

static int is_ours(const sampler *s, pid_t pid) {
    for (size_t i = 0; i < s->nsessions; i++)
        if (s->sessions[i].pid == pid)
            return 1;
    for (size_t i = 0; i < s->nwatch; i++)
        if (s->watch[i].pid == pid)
            return 1;
    return 0;
}

static pid_t parent_of(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0)
        return -1;
    buf[got] = 0;
    const char *close_paren = strrchr(buf, ')');
    int ppid;
    if (!close_paren || sscanf(close_paren + 2, "%*c %d", &ppid) != 1)
        return -1;
    return ppid;
}

static void watch_add(sampler *s, pid_t pid, uint64_t now) {
    if (PF_GROW(s->watch, s->watch_cap, s->nwatch + 1, 16) != 0)
        return;
    s->watch[s->nwatch++] = (watched){pid, now};
}

/* Tries the watched processes that might have become Python (an exec'd
 * interpreter takes a moment to initialise). */
static void retry_watched(sampler *s, uint64_t now) {
    size_t keep = 0;
    for (size_t i = 0; i < s->nwatch; i++) {
        watched w = s->watch[i];
        int still_waiting = now - w.since_ns < PENDING_CHILD_NS;
        pf_error err;
        if (still_waiting && sampler_add_process(s, w.pid, &err) == 0)
            continue; /* now a session */
        if (kill(w.pid, 0) == 0)
            s->watch[keep++] = w; /* keep watching its children even when it is not Python */
    }
    s->nwatch = keep;
}

static void scan_children(sampler *s, uint64_t now) {
    retry_watched(s, now);
    DIR *proc = opendir("/proc");
    if (!proc)
        return;
    struct dirent *de;
    while ((de = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || is_ours(s, (pid_t)pid))
            continue;
        pid_t ppid = parent_of((pid_t)pid);
        if (ppid <= 0 || !is_ours(s, ppid))
            continue;
        pf_error err;
        if (sampler_add_process(s, (pid_t)pid, &err) != 0)
            watch_add(s, (pid_t)pid, now);
    }
    closedir(proc);
}

/* The stats that walk the sessions: the threads they have now, and the
 * stopped process (the one found stopped longest). */
static void session_stats(sampler *s) {
    const session *longest = NULL;
    s->stats.threads_now = 0;
    for (size_t i = 0; i < s->nsessions; i++) {
        if (!s->sessions[i].exited)
            s->stats.threads_now += s->sessions[i].threads_now;
        if (s->sessions[i].nstopped && (!longest || s->sessions[i].stopped_ns > longest->stopped_ns))
            longest = &s->sessions[i];
    }
    if (!longest)
        return;
    s->stats.stopped_pid = longest->pid;
    s->stats.stopped_ns = longest->stopped_ns;
    s->stats.stopped_samples = longest->nstopped;
    s->stats.stopped_of = longest->nlooked;
    s->stats.stopped_now = longest->stopped && !longest->exited;
}

int sampler_run(sampler *s, volatile sig_atomic_t *stop, sampler_progress_fn progress, void *arg, pf_error *err) {
    pf_meta meta = *pf_profile_meta_const(s->profile);
    meta.mode = PF_MODE_SAMPLED;
    meta.rate_hz = s->o.rate_hz;
    meta.period_ns = (uint64_t)(1e9 / s->o.rate_hz);
    meta.weight_unit = "samples";
    meta.cpu_weighted = s->cpu_weighted;
    pf_profile_set_meta(s->profile, &meta);
    pf_profile_log_samples(s->profile, 1);
    sampler_clock_start(&s->clock, s->o.rate_hz, s->o.spin);
    uint64_t start = s->clock.start_ns;
    uint64_t end = s->o.duration_s > 0 ? start + (uint64_t)(s->o.duration_s * 1e9) : UINT64_MAX;
    uint64_t next_scan = start, next_sweep = start + THREAD_SWEEP_NS, next_progress = start + PROGRESS_NS;
    (void)err;
    while (!*stop) {
        /* A sampling interval longer than LOOK_NS still looks at the duration
         * and the processes this often. */
        uint64_t look = sampler_now_ns() + LOOK_NS;
        int waited = sampler_clock_wait(&s->clock, look < end ? look : end);
        if (waited < 0)
            continue; /* a signal: look at the stop flag */
        uint64_t now = sampler_now_ns();
        if (now >= end)
            break;
        for (size_t i = 0; i < s->nsessions; i++) {
            session *x = &s->sessions[i];
            if (x->exited)
                continue;
            if (x->exec_pending) {
                if (now >= x->next_try_ns)
                    retry_exec(s, x, now);
            } else if (waited == 0) {
                /* Stamped with its slot's time, not the moment it was read (tens of
                 * microseconds later, as the kernel wakes us): the timeline keeps its
                 * even spacing, and a capture stores a tick in almost nothing. */
                sample_session(s, (uint32_t)i, s->clock.slot_ns - start);
            } else if (target_gone(x->target)) {
                x->exited = 1;
            }
        }
        if (s->o.subprocesses && now >= next_scan) {
            scan_children(s, now);
            next_scan = now + CHILD_SCAN_NS;
        }
        if (now >= next_sweep) {
            for (size_t i = 0; i < s->nsessions; i++) {
                const target_thread *tasks;
                size_t ntasks;
                if (s->sessions[i].exited || s->sessions[i].exec_pending)
                    continue;
                if (target_execed(s->sessions[i].target))
                    begin_exec(s, (uint32_t)i, now);
                else
                    target_threads(s->sessions[i].target, &tasks, &ntasks, NULL);
            }
            next_sweep = now + THREAD_SWEEP_NS;
        }
        s->stats.ticks = s->clock.ticks;
        s->stats.late = s->clock.late;
        s->stats.elapsed_ns = now - start;
        s->stats.achieved_hz = s->stats.elapsed_ns ? s->stats.ticks * 1e9 / s->stats.elapsed_ns : 0;
        if (progress && now >= next_progress) {
            session_stats(s); /* a walk over the sessions: only when someone looks */
            progress(&s->stats, arg);
            next_progress = now + PROGRESS_NS;
        }
        if (sampler_all_exited(s) && (!s->o.subprocesses || s->nwatch == 0))
            break;
    }
    uint64_t now = sampler_now_ns();
    s->stats.ticks = s->clock.ticks;
    s->stats.late = s->clock.late;
    s->stats.elapsed_ns = now - start;
    s->stats.achieved_hz = s->stats.elapsed_ns ? s->stats.ticks * 1e9 / s->stats.elapsed_ns : 0;
    session_stats(s);
    meta = *pf_profile_meta_const(s->profile); /* a process added meanwhile set python */
    meta.duration_ns = s->stats.elapsed_ns;
    meta.cpu_ns = s->stats.cpu_ns;
    pf_profile_set_meta(s->profile, &meta);
    return 0;
}
