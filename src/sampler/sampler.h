/* sampler.h — sampling one or more Python processes into a profile.
 *
 * The loop: wait for the next clock slot, walk every thread of every process,
 * keep the threads the options select (running on a CPU by default; all with
 * idle; the GIL holder with gil_only), and add each kept stack to the profile.
 * By default a stack is weighed by the CPU time its thread really used since
 * it was last read (whole sampling periods, the rest carried to the thread's
 * next stack), so a thread waiting for a CPU, or stopped, counts nothing and
 * the profile's total is the CPU time the threads used; a thread that stopped
 * running since the previous sample has what it used there added to the
 * stack it was seen running. With idle or gil_only each kept stack counts 1.
 * A stack costs little when it is like the thread's previous one: the common
 * root part is reused node by node, and only the frames below it are interned.
 * Failed or torn reads are counted by kind, never printed, never recorded. */
#ifndef PYFLARE_SAMPLER_SAMPLER_H
#define PYFLARE_SAMPLER_SAMPLER_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "profile/profile.h"

typedef struct sampler_options {
    double rate_hz;         /* samples per second */
    double duration_s;      /* 0: until stopped or every process exited */
    int idle;               /* also sample threads that are waiting */
    int gil_only;           /* only the thread holding the GIL */
    int thread_roots;       /* a root frame per thread */
    int by_function;        /* no line numbers */
    int full_paths;         /* do not shorten file names */
    int blocking;           /* pause each process for each sample */
    int subprocesses;       /* follow child processes, each under a process root */
    int spin;               /* busy-wait before each slot: exact spacing for a CPU */
    int async_tasks;        /* --async: stacks under their asyncio tasks (3.14+; see tasks.h) */
    int native;             /* merge each stack with its native frames (needs blocking) */
} sampler_options;

typedef struct sampler_stats {
    uint64_t ticks;         /* clock slots sampled */
    uint64_t late;          /* slots that overran */
    uint64_t stacks;        /* weight recorded: stacks, or (CPU-weighted) periods of CPU time */
    uint64_t cpu_ns;        /* CPU-weighted: the CPU time the sampled threads used */
    uint64_t errors[PF_ERR_USAGE + 1]; /* failed samples by pf_error_kind (USAGE is the last) */
    uint64_t errors_total;
    uint64_t threads_seen;  /* threads with a stack recorded, over the whole run */
    uint64_t threads_now;   /* Python threads at the last sample of each process still sampled,
                             * waiting ones too (with or without --idle) */
    uint64_t gil_known;       /* thread samples kept where the version tells who holds the GIL */
    uint64_t gil_held;        /* ... and the thread held it (top shows the share) */
    uint64_t processes_seen;
    uint64_t elapsed_ns;
    double achieved_hz;
    /* exec(): a sampled process that runs another program is opened anew. */
    uint64_t execs_followed;  /* new programs sampled after an exec() */
    pid_t exec_pid;           /* the last process seen to exec(), 0 none */
    char exec_program[256];   /* what it runs now */
    int exec_not_python;      /* ... and that is not Python */
    uint64_t native_unavailable; /* --native: stacks recorded without their native part */
    /* Processes found stopped by a signal (SIGSTOP, Ctrl-Z: see target_stopped),
     * which run no code until they get SIGCONT: how many, and the one stopped
     * longest — for how long (each sample that found it stopped counts the
     * time since its previous sample), at how many of its samples of how many,
     * and whether it still was at its last sample. */
    uint64_t stopped_processes;
    pid_t stopped_pid;
    uint64_t stopped_ns;
    uint64_t stopped_samples, stopped_of;
    int stopped_now;
} sampler_stats;

typedef struct sampler sampler;

int sampler_new(const sampler_options *o, pf_profile *profile, sampler **out, pf_error *err);
void sampler_free(sampler *s);

/* Starts sampling pid (an interpreter must be found in it). */
int sampler_add_process(sampler *s, pid_t pid, pf_error *err);

typedef void (*sampler_progress_fn)(const sampler_stats *stats, void *arg);

/* Samples until *stop is set, the duration ends or every process has exited.
 * progress (may be NULL) is called about four times a second. A process that
 * exec()s is followed: the new program is sampled if it is Python, and
 * watched until it exits if not (stats say so). */
int sampler_run(sampler *s, volatile sig_atomic_t *stop, sampler_progress_fn progress, void *arg, pf_error *err);

const sampler_stats *sampler_get_stats(const sampler *s);

/* The source of a file the profile names, read through the target's root (or,
 * once the target is gone, at its own path): an out_options.read_source for
 * the writers, with the sampler as ctx. */
int sampler_read_source(void *ctx, const pf_profile *p, pf_str_id file, size_t max, char **text, size_t *len);
/* 1 when the recording ended because every process exited. */
int sampler_all_exited(const sampler *s);

#endif
