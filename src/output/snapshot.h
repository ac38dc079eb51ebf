/* snapshot.h — every thread's stack at one moment, as `pyflare dump` prints it.
 *
 * Plain data, filled by sampler/snapshot.c from the walker: writers here know
 * nothing of processes. Text is for people (like a traceback, innermost first), with every
 * name from the target escaped for the terminal; JSON is the interface scripts
 * and tests rely on. */
#ifndef PYFLARE_OUTPUT_SNAPSHOT_H
#define PYFLARE_OUTPUT_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"

/* What a process stopped by a signal is said to be, in `dump` and in
 * record's and top's messages alike. */
#define OUT_STOPPED_BY "stopped by a signal (SIGSTOP, or Ctrl-Z in its terminal)"

typedef struct out_frame {
    const char *function;
    const char *file;         /* a native frame: the object it lies in ("" when none) */
    int line;                 /* -1 when the line table has none, and for native frames */
    int native;               /* a C/C++ frame (`dump --native`) */
} out_frame;

typedef struct out_thread {
    uint64_t thread_id;
    int64_t native_id;        /* -1: unknown */
    const char *name;         /* NULL: the threading module does not know it */
    int active;               /* on a CPU rather than waiting */
    int gil;                  /* 1, 0, -1 unknown */
    const out_frame *frames;  /* innermost first */
    size_t nframes;
    int truncated;            /* deeper frames were left out */
    const char *error;        /* NULL, or why the stack is incomplete */
} out_thread;

/* An asyncio task (`dump --async`). */
typedef struct out_task {
    uint64_t id;              /* the Task object's address */
    const char *name;
    uint64_t thread_id;       /* whose list holds it; 0: its thread has ended */
    const char *state;        /* "running", "waiting", "pending", "done" */
    const out_frame *frames;  /* its coroutine stack, innermost first */
    size_t nframes;
    const uint64_t *awaited_by; /* ids of the tasks awaiting it */
    size_t nawaited_by;
} out_task;

typedef struct out_snapshot {
    int pid;
    const char *python;       /* "3.12.1" */
    const char *command;      /* the target's command line */
    int stopped;              /* stopped by a signal (SIGSTOP, Ctrl-Z): it runs no code until SIGCONT */
    const out_thread *threads;
    size_t nthreads;
    int has_tasks;            /* asyncio tasks were read (then tasks/ntasks, maybe none) */
    const out_task *tasks;
    size_t ntasks;
} out_snapshot;

/* Write s to f; a write failure is "cannot write WHAT: REASON" (what names
 * f for the message: "to standard output"). 0 or -1. */
int out_snapshot_text(FILE *f, const char *what, const out_snapshot *s, pf_error *err);
int out_snapshot_json(FILE *f, const char *what, const out_snapshot *s, pf_error *err);

#endif
