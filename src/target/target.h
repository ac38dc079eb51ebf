/* target.h — another process, seen as memory, mappings and threads.
 *
 * The one thing to know: reads race with the running target. A read can fail
 * (the address was unmapped a moment ago) or return bytes that were being
 * written; callers treat every byte as untrusted. Knows nothing of Python. */
#ifndef PYFLARE_TARGET_TARGET_H
#define PYFLARE_TARGET_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

typedef struct target target;

typedef struct target_mapping {
    uint64_t start, end;  /* [start, end) */
    uint64_t offset;      /* file offset of start */
    char perms[5];        /* "r-xp" */
    char *path;           /* as /proc/PID/maps has it; "" when anonymous */
} target_mapping;

typedef struct target_thread {
    pid_t tid;            /* as pyflare's /proc sees it */
    pid_t ns_tid;         /* as the process itself sees it (differs inside a PID namespace) */
    char state;           /* from /proc/PID/task/TID/stat: 'R' running, 'S' sleeping, ... */
} target_thread;

typedef struct target_iov {
    uint64_t addr;
    void *buf;
    size_t len;
} target_iov;

/* Opens pid for reading. Fails with PF_ERR_NO_PROCESS, PF_ERR_PERMISSION
 * (with what grants access) or PF_ERR_EXITED. */
int target_open(pid_t pid, target **out, pf_error *err);
void target_close(target *t);
pid_t target_pid(const target *t);

/* 1 when the process no longer runs: gone, or a zombie. */
int target_gone(const target *t);
/* 1 when the process still runs but has exec()ed another program since it
 * was opened (its memory is another image now: open it anew). */
int target_execed(const target *t);
/* The program file it runs (/proc/PID/exe), "" if unknown. */
void target_exe(const target *t, char *out, size_t cap);
/* The process tracing thread tid (ptrace), 0 if none. */
pid_t target_tracer(pid_t tid);

/* Reads len bytes at addr. Fails with PF_ERR_READ, or PF_ERR_EXITED once
 * the process is gone. */
int target_read(target *t, uint64_t addr, void *buf, size_t len, pf_error *err);
/* Reads several ranges in one system call where possible; all or nothing. */
int target_readv(target *t, const target_iov *iov, size_t n, pf_error *err);
/* Reads as many whole ranges as it can in one system call (per IOV_MAX) and
 * returns how many, from the first: a range that fails stops the transfer. */
size_t target_readv_partial(target *t, const target_iov *iov, size_t n);
/* Number of system calls spent reading memory so far (statistics). */
uint64_t target_read_calls(const target *t);
/* Reads a NUL-terminated string of at most cap-1 bytes; out is always terminated. */
int target_read_cstring(target *t, uint64_t addr, char *out, size_t cap, pf_error *err);

/* The current mappings (refreshed on each call; owned by t until the next call). */
int target_maps(target *t, const target_mapping **maps, size_t *n, pf_error *err);

/* path as seen from inside the target's mount namespace (/proc/PID/root/...),
 * so a process in a container opens its own files. */
void target_path(const target *t, const char *path, char *out, size_t cap);

/* The file behind a mapping, by the kernel's own link to it
 * (/proc/PID/map_files/START-END). For when the path maps shows is not the
 * target's view: a process chroot'ed under pyflare's root shows paths as
 * pyflare sees them, which do not exist under /proc/PID/root. Opening it
 * needs CAP_SYS_ADMIN. */
void target_mapping_file(const target *t, const target_mapping *m, char *out, size_t cap);

/* The working directory as the process sees it: /proc/PID/cwd resolves in
 * pyflare's view, so a process chroot'ed below pyflare's root has that root's
 * prefix (/proc/PID/root) taken off. Empty when unknown. */
void target_cwd(const target *t, char *out, size_t cap);

/* The command line, arguments joined by spaces. Empty when unknown: a
 * process that has exited (a zombie) has none. One in the middle of exec()
 * has none for a moment either (its new memory has no arguments yet), so an
 * empty one is read again for up to 10 ms. */
void target_cmdline(target *t, char *out, size_t cap);

/* All threads and their scheduler state. *threads is owned by t. */
int target_threads(target *t, const target_thread **threads, size_t *n, pf_error *err);

/* The TID pyflare's /proc knows for a TID the process knows itself by (they
 * differ when the process runs in another PID namespace, e.g. a container);
 * -1 when no such thread exists now. */
pid_t target_host_tid(target *t, pid_t ns_tid);

/* One thread's scheduler state letter ('R' running, ...), '?' if it is gone.
 * Its stat file is kept open, so this is one pread per call. */
char target_thread_state(target *t, pid_t tid);

/* CPU accounting from /proc/PID/task/TID/schedstat (nanoseconds on a CPU; the
 * kernel refuses another process's per-thread CPU clocks). target_cpu_start
 * takes every current thread's figure as its starting point; a thread met
 * later starts from zero (it began after). target_thread_cpu then gives the
 * CPU time tid used since the previous call for it (or since its start): a
 * thread waiting for a CPU or stopped gets 0. One pread of a file kept open.
 * The kernel brings a running thread's figure up to date at scheduler events
 * and ticks, so a figure may trail by up to one tick; nothing is lost, it
 * shows in the next call. *switched_in (may be NULL) tells whether the thread
 * was put on a CPU since the previous call (exact: counted at the switch).
 * Returns -1 when the thread is gone. */
void target_cpu_start(target *t);
int target_thread_cpu(target *t, pid_t tid, uint64_t *ns, int *switched_in);

/* The state letter of tid as the last listing saw it (target_threads, which
 * target_pause runs before stopping anything), '?' if it was not listed. */
char target_listed_state(const target *t, pid_t tid);

/* 1 when the process is stopped by a signal (SIGSTOP, or SIGTSTP/SIGTTIN/
 * SIGTTOU: job control): every thread in state 'T' (threads that have exited
 * aside). It then runs no code until someone sends it SIGCONT; pyflare never
 * does. While target_pause holds it (its threads show as 't' then), the
 * answer is exact and costs nothing: every thread reported the stopping
 * signal as it was stopped. Else it comes from the main thread's state (one
 * pread), and only when that says stopped from a listing of every thread. */
int target_stopped(target *t);

/* Stops every thread (PTRACE_SEIZE + PTRACE_INTERRUPT) for a consistent read,
 * and lets them go again. If pyflare dies while they are stopped, the kernel
 * detaches and the target runs on. */
int target_pause(target *t, pf_error *err);
void target_resume(target *t);

#endif
