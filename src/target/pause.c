/* pause.c — stopping every thread of the target for a consistent read.
 *
 * PTRACE_SEIZE attaches without stopping or signalling; PTRACE_INTERRUPT then
 * stops the thread, and PTRACE_DETACH resumes it. Unlike SIGSTOP this leaves no
 * trace in the target's signal state, and if pyflare dies while attached the
 * kernel detaches for us, so the target is never left stopped. */
#include "target/target_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

int target_pause(target *t, pf_error *err) {
    const target_thread *threads;
    size_t n;
    if (t->paused)
        return 0;
    if (target_threads(t, &threads, &n, err) != 0)
        return -1;
    t->seized = calloc(n, sizeof *t->seized);
    t->pending_signal = calloc(n, sizeof *t->pending_signal);
    if (!t->seized || !t->pending_signal)
        return pf_fail(err, PF_ERR_IO, "out of memory");
    t->nseized = 0;
    t->paused = 1;
    for (size_t i = 0; i < n; i++) {
        pid_t tid = threads[i].tid;
        if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
            if (errno == ESRCH)
                continue; /* exited meanwhile */
            int saved = errno;
            target_resume(t);
            if (saved == EPERM)
                return pf_fail(err, PF_ERR_PERMISSION,
                               "cannot pause process %d (ptrace: %s): run as root or with CAP_SYS_PTRACE, "
                               "or without --blocking", (int)t->pid, strerror(saved));
            return pf_fail(err, PF_ERR_IO, "cannot pause thread %d: %s", (int)tid, strerror(saved));
        }
        t->seized[t->nseized++] = tid;
        if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0)
            continue;
        int status;
        while (waitpid(tid, &status, __WALL) < 0 && errno == EINTR)
            ;
        /* A signal that arrived first shows up as a signal-delivery stop: keep it
         * and hand it back on detach, so the target never loses a signal. */
        if (WIFSTOPPED(status) && (status >> 16) != PTRACE_EVENT_STOP)
            t->pending_signal[t->nseized - 1] = WSTOPSIG(status);
    }
    return 0;
}

void target_resume(target *t) {
    for (size_t i = 0; i < t->nseized; i++)
        ptrace(PTRACE_DETACH, t->seized[i], 0, (void *)(intptr_t)t->pending_signal[i]);
    free(t->seized);
    free(t->pending_signal);
    t->seized = NULL;
    t->pending_signal = NULL;
    t->nseized = 0;
    t->paused = 0;
}
