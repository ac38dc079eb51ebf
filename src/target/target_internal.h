/* target_internal.h — the target struct, shared by the files of target/ only. */
#ifndef PYFLARE_TARGET_INTERNAL_H
#define PYFLARE_TARGET_INTERNAL_H

#include "base/u64map.h"
#include "target/target.h"

struct target {
    pid_t pid;
    int mem_fd;             /* /proc/PID/mem, opened on first fallback use */
    int use_mem_file;       /* process_vm_readv is unavailable */
    uint64_t read_calls;    /* statistics */

    target_mapping *maps;   /* last target_maps() result */
    size_t nmaps;
    char *maps_text;        /* owns the path strings */

    target_thread *threads; /* last target_threads() result */
    size_t nthreads, threads_cap;
    int task_dir_fd;        /* /proc/PID/task, kept open between calls */
    /* Per-thread /proc files, kept open: stat (state) and schedstat (CPU time,
     * opened on first use), and the CPU time and switch count seen at the last target_thread_cpu. */
    struct stat_fd { pid_t tid, ns_tid; int fd, sched_fd; uint64_t cpu_seen_ns, switches_seen; } *stat_fds;
    u64map stat_index;      /* tid -> index in stat_fds */
    u64map ns_index;        /* ns_tid -> index in stat_fds */
    u64map listed_index;    /* tid -> index in threads (the last listing) */
    int cpu_started;        /* target_cpu_start() ran: threads met later start from zero */
    int other_pid_ns;       /* -1 not checked yet, 0 same PID namespace as pyflare, 1 another */
    size_t nstat_fds, stat_fds_cap;

    pid_t *seized;          /* threads stopped by target_pause() */
    int *pending_signal;    /* a signal each one got while stopping, to deliver on resume */
    size_t nseized, seized_cap;
    size_t ngroup_stopped;  /* how many of them reported a stop by signal (job control) when stopped */
    int paused;
    pid_t *dead;            /* threads that died while paused, not yet reaped */
    size_t ndead, dead_cap;
};

void target_maps_free(target *t);

/* A small /proc file read whole into buf (NUL-terminated): its length, or 0
 * when it cannot be read (the process or thread is gone). */
size_t proc_read_text(const char *path, char *buf, size_t cap);
/* The state letter of a /proc stat line, which follows the last ')' (the
 * command name may contain any byte); '?' when there is none. */
char proc_state_letter(const char *stat);
void target_threads_free(target *t);
void target_reap_dead(target *t);

#endif
