/* pause.c — stopping every thread of the target for a consistent read.
 *
 * PTRACE_SEIZE attaches without stopping or signalling; PTRACE_INTERRUPT then
 * stops the thread, and PTRACE_DETACH resumes it. Unlike SIGSTOP this leaves no
 * trace in the target's signal state, and if pyflare dies while attached the
 * kernel detaches for us, so the target is never left stopped. */
#include "target/target_internal.h"

#include "base/grow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Looks at /proc/PID/task for threads started during a pause at most this
 * often before giving up on stopping them (each look stops what it finds, so
 * only threads those start can appear in the next). */
#define LATECOMER_ROUNDS 16

/* A thread's state letter, 0 when it is gone. */
static char thread_state_now(const target *t, pid_t tid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)t->pid, (int)tid);
    if (!proc_read_text(path, buf, sizeof buf))
        return 0;
    char state = proc_state_letter(buf);
    return state == '?' ? 0 : state;
}

/* Why PTRACE_SEIZE of a live thread was refused. */
static int refused(target *t, pid_t tid, int saved, pf_error *err) {
    pid_t tracer = target_tracer(tid);
    if (tracer > 0 && tracer != getpid()) {
        char path[64], name[64] = "";
        snprintf(path, sizeof path, "/proc/%d/comm", (int)tracer);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t got = fd >= 0 ? read(fd, name, sizeof name - 1) : -1;
        if (fd >= 0)
            close(fd);
        name[got > 0 ? got : 0] = 0;
        name[strcspn(name, "\n")] = 0;
        return pf_fail(err, PF_ERR_PERMISSION,
                       "process %d is traced by another process (pid %d%s%s): --blocking and --native must "
                       "trace it themselves; stop that tracer, or go without them",
                       (int)t->pid, (int)tracer, *name ? ", " : "", name);
    }
    if (saved == EPERM && geteuid() == 0)
        return pf_fail(err, PF_ERR_PERMISSION,
                       "cannot pause process %d (ptrace: %s), although running as root: a security module, "
                       "seccomp or kernel.yama.ptrace_scope=3 forbids it; go without --blocking and --native",
                       (int)t->pid, strerror(saved));
    if (saved == EPERM)
        return pf_fail(err, PF_ERR_PERMISSION,
                       "cannot pause process %d (ptrace: %s): run as root or with CAP_SYS_PTRACE, "
                       "or without --blocking and --native", (int)t->pid, strerror(saved));
    return pf_fail(err, PF_ERR_IO, "cannot pause thread %d: %s", (int)tid, strerror(saved));
}

/* Reaps threads that died while traced (the kernel keeps them, and their
 * process, until their tracer waits for them). The group leader is left to
 * its parent's wait, which gives the exit status. */
static void reap_dead(target *t, int patient) {
    size_t keep = 0;
    for (size_t i = 0; i < t->ndead; i++) {
        pid_t tid = t->dead[i];
        int done = 0;
        for (int tries = 0; !done && tries < (patient ? 200 : 1); tries++) {
            int status;
            pid_t got = waitpid(tid, &status, __WALL | WNOHANG);
            done = got == tid || (got < 0 && errno == ECHILD);
            if (!done && patient) {
                struct timespec ms = {0, 1000000};
                nanosleep(&ms, NULL);
            }
        }
        if (!done)
            t->dead[keep++] = tid;
    }
    t->ndead = keep;
}

static void remember_dead(target *t, pid_t tid) {
    if (tid == t->pid)
        return;
    if (PF_GROW(t->dead, t->dead_cap, t->ndead + 1, 8) != 0)
        return;
    t->dead[t->ndead++] = tid;
}

/* Waits for tid's stop after PTRACE_INTERRUPT: 1 with its status, or 0 if
 * it died instead. Looks before taking: the group leader's exit status
 * belongs to its parent's wait (pyflare's, for a launched program), so it is
 * left in place. The leader's death is not reported while threads that died
 * traced wait to be reaped, so for the leader the wait polls, reaping them,
 * and watches its state rather than blocking for ever. */
static int wait_stop(target *t, pid_t tid, int *status) {
    int leader = tid == t->pid;
    for (unsigned polls = 0;; polls++) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        int rc = waitid(P_PID, (id_t)tid, &info, WSTOPPED | WEXITED | __WALL | WNOWAIT | (leader ? WNOHANG : 0));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return 0; /* not ours to wait for: gone */
        if (info.si_pid == tid) {
            if (info.si_code != CLD_TRAPPED && info.si_code != CLD_STOPPED) {
                if (!leader)
                    while (waitpid(tid, NULL, __WALL) < 0 && errno == EINTR)
                        ;
                return 0;
            }
            while (waitpid(tid, status, __WALL) < 0 && errno == EINTR)
                ;
            return 1;
        }
        if (polls < 64) { /* a stop usually comes within microseconds */
            sched_yield();
            continue;
        }
        reap_dead(t, 0);
        char state = thread_state_now(t, tid);
        if (state == 0 || state == 'Z' || state == 'X')
            return 0;
        struct timespec pause_ns = {0, 20000};
        nanosleep(&pause_ns, NULL);
    }
}

/* Seizes and stops one thread: 0 when stopped or gone, -1 when refused. */
static int stop_thread(target *t, pid_t tid, pf_error *err) {
    void *const arrays[] = {&t->seized, &t->pending_signal};
    const size_t elems[] = {sizeof *t->seized, sizeof *t->pending_signal};
    if (pf_grow_all(arrays, elems, 2, &t->seized_cap, t->nseized + 1, 16) != 0)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
        int saved = errno;
        /* Exited meanwhile, or exiting (a thread on its way out refuses
         * with EPERM): nothing to pause. */
        char state = saved == ESRCH ? 0 : thread_state_now(t, tid);
        if (state == 0 || state == 'Z' || state == 'X')
            return 0;
        return refused(t, tid, saved, err);
    }
    t->seized[t->nseized] = tid;
    t->pending_signal[t->nseized++] = 0;
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0)
        return 0;
    int status = 0;
    if (!wait_stop(t, tid, &status)) {
        t->nseized--; /* it died (SIGKILL) instead of stopping */
        return 0;
    }
    /* A signal that arrived first shows up as a signal-delivery stop: keep it
     * and hand it back on detach, so the target never loses a signal. */
    if (WIFSTOPPED(status) && (status >> 16) != PTRACE_EVENT_STOP)
        t->pending_signal[t->nseized - 1] = WSTOPSIG(status);
    /* A seized thread of a process stopped by a signal (or stopping) reports
     * the stopping signal, not SIGTRAP: target_stopped's answer while paused.
     * (Its state letter cannot tell: PTRACE_DETACH wakes such a thread for a
     * moment before it stops again, and on a busy machine the next pause may
     * come first.) On detach the kernel puts it back in that stop. */
    if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP && WSTOPSIG(status) != SIGTRAP)
        t->ngroup_stopped++;
    return 0;
}

/* A thread started, by one not yet stopped, after the listing was made
 * would run on through the pause (and its stack could not be unwound):
 * stops those too, until a look at /proc/PID/task finds none new. The
 * listing is left as it was: its run states are from before anything
 * stopped, which is what the sampler wants. first_late: where the threads
 * not in the listing start in seized. */
static int stop_latecomers(target *t, size_t first_late, pf_error *err) {
    for (int round = 0; round < LATECOMER_ROUNDS; round++) {
        int dirfd = dup(t->task_dir_fd);
        DIR *dir = dirfd >= 0 ? fdopendir(dirfd) : NULL;
        if (!dir) {
            if (dirfd >= 0)
                close(dirfd);
            return 0; /* cannot look again: the listed threads are stopped */
        }
        rewinddir(dir);
        int found = 0;
        struct dirent *de;
        while ((de = readdir(dir)) != NULL) {
            char *end;
            long tid = strtol(de->d_name, &end, 10);
            if (*end || tid <= 0 || u64map_get(&t->listed_index, (uint64_t)tid) != U64MAP_NONE)
                continue;
            int known = 0;
            for (size_t i = first_late; i < t->nseized && !known; i++)
                known = t->seized[i] == (pid_t)tid;
            if (known)
                continue;
            found = 1;
            if (stop_thread(t, (pid_t)tid, err) != 0) {
                closedir(dir);
                return -1;
            }
        }
        closedir(dir);
        if (!found)
            return 0;
    }
    return 0;
}

int target_pause(target *t, pf_error *err) {
    const target_thread *threads;
    size_t n;
    if (t->paused)
        return 0;
    if (t->ndead)
        reap_dead(t, 0);
    if (target_threads(t, &threads, &n, err) != 0)
        return -1;
    t->nseized = t->ngroup_stopped = 0;
    t->paused = 1;
    for (size_t i = 0; i < n; i++)
        if (stop_thread(t, threads[i].tid, err) != 0) {
            target_resume(t);
            return -1;
        }
    if (stop_latecomers(t, t->nseized, err) != 0) {
        target_resume(t);
        return -1;
    }
    return 0;
}

void target_resume(target *t) {
    for (size_t i = 0; i < t->nseized; i++)
        if (ptrace(PTRACE_DETACH, t->seized[i], 0, (void *)(intptr_t)t->pending_signal[i]) != 0 && errno == ESRCH)
            remember_dead(t, t->seized[i]); /* killed while paused: ours to reap */
    t->nseized = t->ngroup_stopped = 0; /* (the arrays are kept for the next pause; target_close frees them) */
    t->paused = 0;
}

void target_reap_dead(target *t) {
    if (t->ndead)
        reap_dead(t, 1);
}
