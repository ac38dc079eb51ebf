/* threads.c — the target's threads, their state and the CPU time they use.
 *
 * The state letter of /proc/PID/task/TID/stat is the cheap signal of "running"
 * ('R': on a CPU or waiting for one) versus waiting; schedstat's first figure
 * is the exact CPU time a thread used. The per-thread files are kept open and
 * re-read with pread, because sampling at kHz rates cannot afford an open()
 * per thread. They are found through maps by TID (and by the TID the process
 * knows), never by a scan: a server may have thousands of threads, and one
 * that starts and ends threads all the time meets new ones every sample. */
#include "target/target_internal.h"

#include "base/grow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void close_entry(struct stat_fd *e) {
    close(e->fd);
    if (e->sched_fd >= 0)
        close(e->sched_fd);
}

void target_threads_free(target *t) {
    for (size_t i = 0; i < t->nstat_fds; i++)
        close_entry(&t->stat_fds[i]);
    free(t->stat_fds);
    free(t->threads);
    u64map_free(&t->stat_index);
    u64map_free(&t->ns_index);
    u64map_free(&t->listed_index);
    if (t->task_dir_fd >= 0)
        close(t->task_dir_fd);
    t->stat_fds = NULL;
    t->threads = NULL;
    t->nstat_fds = t->stat_fds_cap = t->nthreads = t->threads_cap = 0;
    t->task_dir_fd = -1;
}

/* Whether the target lives in another PID namespace than pyflare. */
static int in_other_pid_ns(target *t) {
    if (t->other_pid_ns < 0) {
        char path[64], mine[64] = "", theirs[64] = "";
        snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)t->pid);
        ssize_t a = readlink("/proc/self/ns/pid", mine, sizeof mine - 1);
        ssize_t b = readlink(path, theirs, sizeof theirs - 1);
        t->other_pid_ns = a > 0 && b > 0 && strcmp(mine, theirs) != 0;
    }
    return t->other_pid_ns;
}

/* The innermost TID of the "NSpid:" line of a thread's status file. */
static pid_t read_ns_tid(target *t, pid_t tid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "%d/status", (int)tid);
    int fd = openat(t->task_dir_fd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tid;
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0)
        return tid;
    buf[got] = 0;
    const char *line = strstr(buf, "\nNSpid:");
    if (!line)
        return tid;
    pid_t last = tid;
    char *end;
    for (const char *p = line + 7; *p && *p != '\n';) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        last = (pid_t)v;
        p = end;
    }
    return last;
}

#define NO_CPU_BASE UINT64_MAX /* no starting point for the thread's CPU time yet */

static struct stat_fd *stat_entry(target *t, pid_t tid) {
    uint32_t i = u64map_get(&t->stat_index, (uint64_t)(uint32_t)tid);
    return i != U64MAP_NONE && i < t->nstat_fds && t->stat_fds[i].tid == tid ? &t->stat_fds[i] : NULL;
}

/* Points both maps at entry i (after it was added or moved). 0, or -1 out of memory. */
static int index_entry(target *t, size_t i) {
    const struct stat_fd *e = &t->stat_fds[i];
    return u64map_set(&t->stat_index, (uint64_t)(uint32_t)e->tid, (uint32_t)i) != 0 ||
                   u64map_set(&t->ns_index, (uint64_t)(uint32_t)e->ns_tid, (uint32_t)i) != 0
               ? -1
               : 0;
}

/* Takes entry i's keys out of the maps (they may point elsewhere already). */
static void unindex_entry(target *t, size_t i) {
    const struct stat_fd *e = &t->stat_fds[i];
    if (u64map_get(&t->stat_index, (uint64_t)(uint32_t)e->tid) == i)
        u64map_del(&t->stat_index, (uint64_t)(uint32_t)e->tid);
    if (u64map_get(&t->ns_index, (uint64_t)(uint32_t)e->ns_tid) == i)
        u64map_del(&t->ns_index, (uint64_t)(uint32_t)e->ns_tid);
}

/* The entry of tid, its stat file opened on first use; NULL if the thread is gone. */
static struct stat_fd *entry_for(target *t, pid_t tid) {
    struct stat_fd *known = stat_entry(t, tid);
    if (known)
        return known;
    char path[64];
    snprintf(path, sizeof path, "%d/stat", (int)tid);
    int fd = openat(t->task_dir_fd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    if (PF_GROW(t->stat_fds, t->stat_fds_cap, t->nstat_fds + 1, 16) != 0) {
        close(fd);
        return NULL;
    }
    pid_t ns_tid = in_other_pid_ns(t) ? read_ns_tid(t, tid) : tid;
    /* Met after target_cpu_start: the thread began since, all its CPU time
     * counts. Before: its starting point is taken at target_cpu_start. */
    t->stat_fds[t->nstat_fds] = (struct stat_fd){tid, ns_tid, fd, -1, t->cpu_started ? 0 : NO_CPU_BASE, 0};
    if (index_entry(t, t->nstat_fds) != 0) {
        unindex_entry(t, t->nstat_fds);
        close(fd);
        return NULL;
    }
    return &t->stat_fds[t->nstat_fds++];
}

static int stat_fd_for(target *t, pid_t tid) {
    struct stat_fd *e = entry_for(t, tid);
    return e ? e->fd : -1;
}

/* Forgets a thread whose files no longer answer: it exited, and its TID may
 * come back as a new thread, which must not inherit these files. */
static void drop_entry(target *t, pid_t tid) {
    struct stat_fd *e = stat_entry(t, tid);
    if (!e)
        return;
    size_t i = (size_t)(e - t->stat_fds), last = t->nstat_fds - 1;
    unindex_entry(t, i);
    close_entry(e);
    if (i != last) {
        unindex_entry(t, last);
        *e = t->stat_fds[last];
        (void)index_entry(t, i); /* out of memory: it is opened anew when next asked for */
    }
    t->nstat_fds--;
}

/* Drops the cached stat files of threads that no longer exist (not in the
 * listing just made, whose index is listed_index). */
static void forget_exited(target *t) {
    size_t keep = 0;
    u64map_clear(&t->stat_index);
    u64map_clear(&t->ns_index);
    for (size_t i = 0; i < t->nstat_fds; i++) {
        if (u64map_get(&t->listed_index, (uint64_t)(uint32_t)t->stat_fds[i].tid) == U64MAP_NONE) {
            close_entry(&t->stat_fds[i]);
            continue;
        }
        t->stat_fds[keep] = t->stat_fds[i];
        if (index_entry(t, keep) != 0) { /* out of memory: forget it, it is opened anew when asked for */
            unindex_entry(t, keep);
            close_entry(&t->stat_fds[keep]);
            continue;
        }
        keep++;
    }
    t->nstat_fds = keep;
}

char proc_state_letter(const char *stat) {
    const char *close_paren = strrchr(stat, ')');
    if (!close_paren || close_paren[1] != ' ' || !close_paren[2])
        return '?';
    return close_paren[2];
}

size_t proc_read_text(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t got = read(fd, buf, cap - 1);
    close(fd);
    buf[got > 0 ? got : 0] = 0;
    return got > 0 ? (size_t)got : 0;
}

static int open_task_dir(target *t) {
    if (t->task_dir_fd < 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", (int)t->pid);
        t->task_dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    return t->task_dir_fd;
}

pid_t target_host_tid(target *t, pid_t ns_tid) {
    if (open_task_dir(t) < 0)
        return -1;
    if (!in_other_pid_ns(t))
        return ns_tid;
    for (int attempt = 0; attempt < 2; attempt++) {
        uint32_t i = u64map_get(&t->ns_index, (uint64_t)(uint32_t)ns_tid);
        if (i != U64MAP_NONE && i < t->nstat_fds && t->stat_fds[i].ns_tid == ns_tid)
            return t->stat_fds[i].tid;
        /* Not known yet: list the threads, which learns every thread's ns TID. */
        const target_thread *threads;
        size_t n;
        if (attempt == 0 && target_threads(t, &threads, &n, NULL) != 0)
            return -1;
    }
    return -1;
}

char target_thread_state(target *t, pid_t tid) {
    if (open_task_dir(t) < 0)
        return '?';
    int fd = stat_fd_for(t, tid);
    char buf[512];
    ssize_t got = fd >= 0 ? pread(fd, buf, sizeof buf - 1, 0) : -1;
    if (got <= 0) {
        drop_entry(t, tid);
        return '?';
    }
    buf[got] = 0;
    return proc_state_letter(buf);
}

/* The total CPU time of an entry's thread and the number of times it was put
 * on a CPU (schedstat's first and third figures); -1 if gone. */
static int read_cpu(target *t, struct stat_fd *e, uint64_t *total, uint64_t *switches) {
    if (e->sched_fd < 0) {
        char path[64];
        snprintf(path, sizeof path, "%d/schedstat", (int)e->tid);
        e->sched_fd = openat(t->task_dir_fd, path, O_RDONLY | O_CLOEXEC);
        if (e->sched_fd < 0)
            return -1;
    }
    char buf[128];
    ssize_t got = pread(e->sched_fd, buf, sizeof buf - 1, 0);
    if (got <= 0)
        return -1;
    buf[got] = 0;
    char *end, *end2;
    unsigned long long v = strtoull(buf, &end, 10);
    if (end == buf)
        return -1;
    strtoull(end, &end2, 10); /* the time spent waiting for a CPU */
    unsigned long long n = strtoull(end2, &end, 10);
    *total = v;
    *switches = end != end2 ? n : 0;
    return 0;
}

void target_cpu_start(target *t) {
    const target_thread *threads;
    size_t n;
    if (target_threads(t, &threads, &n, NULL) == 0)
        for (size_t i = 0; i < t->nstat_fds; i++) {
            uint64_t total, switches;
            if (read_cpu(t, &t->stat_fds[i], &total, &switches) == 0) {
                t->stat_fds[i].cpu_seen_ns = total;
                t->stat_fds[i].switches_seen = switches;
            }
        }
    t->cpu_started = 1;
}

int target_thread_cpu(target *t, pid_t tid, uint64_t *ns, int *switched_in) {
    *ns = 0;
    if (switched_in)
        *switched_in = 0;
    if (open_task_dir(t) < 0)
        return -1;
    struct stat_fd *e = entry_for(t, tid);
    uint64_t total, switches;
    if (!e || read_cpu(t, e, &total, &switches) != 0) {
        drop_entry(t, tid);
        return -1;
    }
    /* A thread met before target_cpu_start but not read there starts now. */
    if (e->cpu_seen_ns != NO_CPU_BASE && total > e->cpu_seen_ns)
        *ns = total - e->cpu_seen_ns;
    if (switched_in)
        *switched_in = e->cpu_seen_ns != NO_CPU_BASE && switches != e->switches_seen;
    e->cpu_seen_ns = total;
    e->switches_seen = switches;
    return 0;
}

char target_listed_state(const target *t, pid_t tid) {
    uint32_t i = u64map_get(&t->listed_index, (uint64_t)(uint32_t)tid);
    return i != U64MAP_NONE && i < t->nthreads && t->threads[i].tid == tid ? t->threads[i].state : '?';
}

int target_stopped(target *t) {
    if (t->paused) /* (what each thread reported as pause.c stopped it) */
        return t->nseized > 0 && t->ngroup_stopped == t->nseized;
    /* A stop by signal stops the whole thread group: a main thread that is
     * not stopped (and has not exited) settles it. */
    char main_state = target_thread_state(t, t->pid);
    if (main_state != 'T' && main_state != 'Z' && main_state != 'X')
        return 0;
    const target_thread *threads;
    size_t n;
    if (target_threads(t, &threads, &n, NULL) != 0)
        return 0;
    int stopped = 0;
    for (size_t i = 0; i < n; i++) {
        char state = threads[i].state;
        if (state == 'T')
            stopped = 1;
        else if (state != 'Z' && state != 'X' && state != '?') /* ('?': it exited between listing and reading) */
            return 0;
    }
    return stopped;
}

int target_threads(target *t, const target_thread **threads, size_t *n, pf_error *err) {
    if (open_task_dir(t) < 0)
        return pf_fail(err, PF_ERR_EXITED, "process %d exited", (int)t->pid);
    int dirfd = dup(t->task_dir_fd);
    if (dirfd < 0)
        return pf_fail(err, PF_ERR_IO, "dup: %s", strerror(errno));
    DIR *dir = fdopendir(dirfd);
    if (!dir) {
        close(dirfd);
        return pf_fail(err, PF_ERR_IO, "fdopendir: %s", strerror(errno));
    }
    rewinddir(dir);
    t->nthreads = 0;
    u64map_clear(&t->listed_index);
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        char *end;
        long tid = strtol(de->d_name, &end, 10);
        if (*end || tid <= 0)
            continue;
        if (PF_GROW(t->threads, t->threads_cap, t->nthreads + 1, 16) != 0 ||
            u64map_set(&t->listed_index, (uint64_t)tid, (uint32_t)t->nthreads) != 0) {
            closedir(dir);
            return pf_fail(err, PF_ERR_NOMEM, "out of memory");
        }
        t->threads[t->nthreads++] = (target_thread){(pid_t)tid, (pid_t)tid, '?'};
    }
    closedir(dir);
    if (t->nthreads == 0)
        return pf_fail(err, PF_ERR_EXITED, "process %d exited", (int)t->pid);
    forget_exited(t);
    for (size_t i = 0; i < t->nthreads; i++) {
        int fd = stat_fd_for(t, t->threads[i].tid);
        char buf[512];
        ssize_t got = fd >= 0 ? pread(fd, buf, sizeof buf - 1, 0) : -1;
        if (got <= 0)
            continue; /* the thread exited between listing and reading */
        buf[got] = 0;
        t->threads[i].state = proc_state_letter(buf);
        struct stat_fd *e = stat_entry(t, t->threads[i].tid);
        if (e)
            t->threads[i].ns_tid = e->ns_tid;
    }
    *threads = t->threads;
    *n = t->nthreads;
    return 0;
}
