/* dump.c — `pyflare dump`: every thread's stack, once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cpython/proc.h"
#include "cpython/threadnames.h"
#include "cpython/walker.h"
#include "output/snapshot.h"
#include "target/target.h"

#define TORN_READ_RETRIES 20

static const char dump_usage[] =
    "usage: pyflare dump --pid PID [--json] [--blocking]\n"
    "\n"
    "Prints every Python thread of a running process with its stack, innermost\n"
    "frame first. The process is not stopped unless --blocking is given.\n"
    "\n"
    "  -p, --pid PID   the process to read\n"
    "  --json          one JSON object instead of text\n"
    "  --blocking      pause the process while reading, for a consistent stack\n";

typedef struct dump_options {
    pid_t pid;
    int json, blocking;
} dump_options;

static int parse(int argc, char **argv, dump_options *o) {
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(dump_usage, stdout);
            exit(0);
        } else if (!strcmp(a, "--pid") || !strcmp(a, "-p")) {
            if (i + 1 >= argc)
                return cli_usage_error("%s needs a process id", a);
            if (cli_parse_pid(argv[++i], &o->pid) != 0)
                return 2;
        } else if (!strncmp(a, "--pid=", 6)) {
            if (cli_parse_pid(a + 6, &o->pid) != 0)
                return 2;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--blocking")) {
            o->blocking = 1;
        } else {
            return cli_usage_error("dump: unknown option '%s' (try 'pyflare dump --help')", a);
        }
    }
    if (!o->pid)
        return cli_usage_error("dump: which process? give --pid PID");
    return 0;
}

/* Reads every stack; without --blocking, retries while a stack was torn by the
 * running target (a frame freed between two reads). */
static int read_stacks(py_walker *w, target *t, int blocking, const py_thread **threads, size_t *n,
                       pf_error *err) {
    for (int attempt = 0;; attempt++) {
        if (blocking && target_pause(t, err) != 0)
            return -1;
        int rc = py_walker_sample(w, threads, n, err);
        if (blocking)
            target_resume(t);
        if (rc != 0 && (err->kind == PF_ERR_EXITED || attempt >= TORN_READ_RETRIES))
            return -1;
        int torn = rc != 0;
        for (size_t i = 0; rc == 0 && i < *n; i++)
            torn |= (*threads)[i].error != PF_OK;
        if (!torn || attempt >= TORN_READ_RETRIES)
            return rc;
    }
}

/* The state of the thread the process knows as ns_tid (its own view of TIDs). */
static int state_of(const target_thread *tasks, size_t ntasks, int64_t ns_tid) {
    for (size_t i = 0; i < ntasks; i++)
        if (tasks[i].ns_tid == ns_tid)
            return tasks[i].state;
    return '?';
}

/* target_threads' result is overwritten by the next listing (pausing lists too). */
static target_thread *copy_tasks(const target_thread *tasks, size_t n, pf_error *err) {
    target_thread *copy = malloc((n ? n : 1) * sizeof *copy);
    if (!copy)
        pf_fail(err, PF_ERR_NOMEM, "out of memory");
    else if (n)
        memcpy(copy, tasks, n * sizeof *copy);
    return copy;
}

int cmd_dump(int argc, char **argv) {
    dump_options o;
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    pf_error err = {0};
    target *t = NULL;
    py_proc *p = NULL;
    py_walker *w = NULL;
    py_name_book *book = NULL;
    const py_thread *threads;
    const target_thread *live_tasks;
    target_thread *tasks = NULL;
    size_t n, ntasks;
    /* Thread states are read before the stacks: while paused every thread shows
     * as stopped, and just after resuming they briefly all show as running. */
    if (target_open(o.pid, &t, &err) != 0 || py_proc_open(t, &p, &err) != 0 || py_walker_new(p, &w, &err) != 0 ||
        target_threads(t, &live_tasks, &ntasks, &err) != 0 || !(tasks = copy_tasks(live_tasks, ntasks, &err)) ||
        read_stacks(w, t, o.blocking, &threads, &n, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }

    out_thread *ot = calloc(n ? n : 1, sizeof *ot);
    out_frame *of = NULL;
    char (*names)[256] = calloc(n ? n : 1, sizeof *names);
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += threads[i].nframes;
    of = calloc(total ? total : 1, sizeof *of);
    if (!ot || !of || !names) {
        fprintf(stderr, "pyflare: out of memory\n");
        rc = 1;
        goto free_out;
    }
    size_t used = 0;
    book = py_name_book_new(p); /* without one, threads go unnamed */
    for (size_t i = 0; i < n; i++) {
        const py_thread *pt = &threads[i];
        out_thread *x = &ot[i];
        x->thread_id = pt->thread_id;
        x->native_id = pt->native_id;
        x->gil = pt->holds_gil;
        int state = pt->native_id >= 0 ? state_of(tasks, ntasks, pt->native_id) : '?';
        x->active = state == 'R' || (state == '?' && pt->holds_gil == 1);
        if (book && py_name_book_lookup(book, pt->interp, pt->thread_id, names[i], sizeof names[i], NULL) == 1)
            x->name = names[i];
        x->frames = of + used;
        x->nframes = pt->nframes;
        x->truncated = pt->truncated;
        x->error = pt->error ? pf_error_kind_name(pt->error) : NULL;
        for (size_t k = 0; k < pt->nframes; k++, used++) {
            of[used].function = pt->frames[k].code->function;
            of[used].file = pt->frames[k].code->file;
            of[used].line = pt->frames[k].line;
        }
    }
    char command[1024];
    target_cmdline(t, command, sizeof command);
    out_snapshot snap = {(int)o.pid, p->version, command, ot, n};
    if (o.json)
        out_snapshot_json(stdout, &snap);
    else
        out_snapshot_text(stdout, &snap);
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "pyflare: cannot write to standard output: %s\n", strerror(errno ? errno : EIO));
        rc = 1;
    }
free_out:
    free(ot);
    free(of);
    free(names);
out:
    free(tasks);
    py_walker_free(w);
    py_name_book_free(book);
    py_proc_close(p);
    target_close(t);
    return rc;
}
