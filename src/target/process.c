/* process.c — opening a process and reading its memory.
 *
 * Memory is read with process_vm_readv, which does not stop the target. Where
 * that system call is unavailable (seccomp in some containers) we fall back to
 * pread on /proc/PID/mem. Neither needs the target to cooperate. */
#include "target/target_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char *permission_hint =
    "run pyflare as root, with CAP_SYS_PTRACE (containers: --cap-add SYS_PTRACE), "
    "or as the same user with kernel.yama.ptrace_scope=0";

/* Whether /proc/PID/stat's flags carry PF_KTHREAD: a kernel thread, which has no
 * user memory and must not be reported as a zombie. */
static int is_kernel_thread(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold anything, ')' included */
    unsigned long flags = 0;
    char state;
    if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
        return 0;
    return state != 'Z' && state != 'X' && (flags & 0x00200000ul); /* PF_KTHREAD, include/linux/sched.h */
}

int target_open(pid_t pid, target **out, pf_error *err) {
    char path[64];
    if (pid <= 0)
        return pf_fail(err, PF_ERR_USAGE, "invalid process id %d", (int)pid);
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    /* Opening maps is the cheapest check that needs the same right as reading
     * memory (PTRACE_MODE_READ), so it tells "absent" from "forbidden" up front. */
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return pf_fail(err, PF_ERR_NO_PROCESS, "no process with id %d", (int)pid);
        if (errno == EACCES || errno == EPERM)
            return pf_fail(err, PF_ERR_PERMISSION, "permission denied reading process %d: %s",
                           (int)pid, permission_hint);
        return pf_fail(err, PF_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    /* An empty maps file: a zombie, a kernel thread (no user memory at all), or access revoked. */
    int c = fgetc(f);
    fclose(f);
    if (c == EOF) {
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return pf_fail(err, PF_ERR_NO_PROCESS, "no process with id %d", (int)pid);
        if (is_kernel_thread(pid))
            return pf_fail(err, PF_ERR_NOT_PYTHON, "process %d is a kernel thread, not a Python program (it has no "
                                                   "user memory to read)", (int)pid);
        return pf_fail(err, PF_ERR_EXITED, "process %d has exited (it is a zombie or has no memory)", (int)pid);
    }
    target *t = calloc(1, sizeof *t);
    if (!t)
        return pf_fail(err, PF_ERR_NOMEM, "out of memory");
    t->pid = pid;
    t->task_dir_fd = -1;
    t->other_pid_ns = -1;
    /* /proc/PID/mem stays tied to the program image it was opened on, which
     * is how an exec() is told apart (target_execed). */
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    t->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
    *out = t;
    /* Reading one byte of the stack proves we may read memory at all. */
    const target_mapping *maps;
    size_t n;
    if (target_maps(t, &maps, &n, err) != 0) {
        target_close(t);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (maps[i].perms[0] != 'r')
            continue;
        uint8_t probe;
        if (target_read(t, maps[i].start, &probe, 1, err) != 0) {
            if (err && err->kind == PF_ERR_READ && (errno == EPERM || errno == EACCES))
                pf_fail(err, PF_ERR_PERMISSION, "permission denied reading memory of process %d: %s",
                        (int)pid, permission_hint);
            target_close(t);
            return -1;
        }
        break;
    }
    return 0;
}

void target_close(target *t) {
    if (!t)
        return;
    if (t->paused)
        target_resume(t);
    target_reap_dead(t);
    free(t->dead);
    free(t->seized);
    free(t->pending_signal);
    if (t->mem_fd >= 0)
        close(t->mem_fd);
    target_threads_free(t);
    target_maps_free(t);
    free(t);
}

pid_t target_pid(const target *t) { return t->pid; }

/* The state letter of the process ('Z' zombie, ...), 0 if there is none. */
static char process_state(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (!proc_read_text(path, buf, sizeof buf))
        return 0;
    char state = proc_state_letter(buf);
    return state == '?' ? 0 : state;
}

int target_gone(const target *t) {
    char state = process_state(t->pid);
    return state == 0 || state == 'Z' || state == 'X';
}

int target_execed(const target *t) {
    if (t->mem_fd < 0)
        return 0;
    /* Address 0 is never mapped: the image pyflare opened answers EIO; once
     * exec() (or exit) has discarded it, the read returns nothing at all. */
    char byte;
    ssize_t got = pread(t->mem_fd, &byte, 1, 0);
    return got == 0 && !target_gone(t);
}

void target_exe(const target *t, char *out, size_t cap) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)t->pid);
    ssize_t n = cap ? readlink(path, out, cap - 1) : -1;
    if (cap)
        out[n > 0 ? n : 0] = 0;
}

pid_t target_tracer(pid_t tid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    if (!proc_read_text(path, buf, sizeof buf))
        return 0;
    const char *line = strstr(buf, "\nTracerPid:");
    return line ? (pid_t)strtol(line + 11, NULL, 10) : 0;
}

/* Tells a read that failed because the process is gone from one that hit a bad address. */
static int read_failure(target *t, uint64_t addr, size_t len, int saved_errno, pf_error *err) {
    if (saved_errno == ESRCH || (kill(t->pid, 0) != 0 && errno == ESRCH))
        return pf_fail(err, PF_ERR_EXITED, "process %d exited while being read", (int)t->pid);
    errno = saved_errno;
    return pf_fail(err, PF_ERR_READ, "cannot read %zu bytes at 0x%llx in process %d: %s", len,
                   (unsigned long long)addr, (int)t->pid, strerror(saved_errno));
}

static int read_via_mem(target *t, uint64_t addr, void *buf, size_t len, pf_error *err) {
    if (t->mem_fd < 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/mem", (int)t->pid);
        t->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (t->mem_fd < 0)
            return read_failure(t, addr, len, errno, err);
    }
    t->read_calls++;
    ssize_t got = pread(t->mem_fd, buf, len, (off_t)addr);
    if (got != (ssize_t)len)
        return read_failure(t, addr, len, got < 0 ? errno : EFAULT, err);
    return 0;
}

int target_read(target *t, uint64_t addr, void *buf, size_t len, pf_error *err) {
    if (len == 0)
        return 0;
    if (addr == 0 || addr + len < addr) {
        errno = EFAULT;
        return pf_fail(err, PF_ERR_READ, "refusing to read %zu bytes at 0x%llx", len,
                       (unsigned long long)addr);
    }
    if (t->use_mem_file)
        return read_via_mem(t, addr, buf, len, err);
    struct iovec local = {buf, len};
    struct iovec remote = {(void *)(uintptr_t)addr, len};
    t->read_calls++;
    ssize_t got = process_vm_readv(t->pid, &local, 1, &remote, 1, 0);
    if (got == (ssize_t)len)
        return 0;
    if (got < 0 && errno == ENOSYS) {
        t->use_mem_file = 1;
        return read_via_mem(t, addr, buf, len, err);
    }
    return read_failure(t, addr, len, got < 0 ? errno : EFAULT, err);
}

int target_readv(target *t, const target_iov *iov, size_t n, pf_error *err) {
    enum { BATCH = 64 };
    struct iovec local[BATCH], remote[BATCH];
    size_t done = 0;
    if (t->use_mem_file) {
        for (size_t i = 0; i < n; i++)
            if (target_read(t, iov[i].addr, iov[i].buf, iov[i].len, err) != 0)
                return -1;
        return 0;
    }
    while (done < n) {
        size_t k = n - done < BATCH ? n - done : BATCH;
        size_t want = 0;
        for (size_t i = 0; i < k; i++) {
            local[i].iov_base = iov[done + i].buf;
            local[i].iov_len = iov[done + i].len;
            remote[i].iov_base = (void *)(uintptr_t)iov[done + i].addr;
            remote[i].iov_len = iov[done + i].len;
            want += iov[done + i].len;
        }
        ssize_t got = process_vm_readv(t->pid, local, k, remote, k, 0);
        if (got != (ssize_t)want) {
            /* process_vm_readv stops at the first bad range: report which one. */
            for (size_t i = 0; i < k; i++)
                if (target_read(t, iov[done + i].addr, iov[done + i].buf, iov[done + i].len, err) != 0)
                    return -1;
        }
        done += k;
    }
    return 0;
}

size_t target_readv_partial(target *t, const target_iov *iov, size_t n) {
    enum { BATCH = 1024 };
    struct iovec local[BATCH], remote[BATCH];
    if (n > BATCH)
        n = BATCH;
    if (n == 0)
        return 0;
    if (t->use_mem_file) {
        size_t done = 0;
        while (done < n && target_read(t, iov[done].addr, iov[done].buf, iov[done].len, NULL) == 0)
            done++;
        return done;
    }
    for (size_t i = 0; i < n; i++) {
        local[i].iov_base = iov[i].buf;
        local[i].iov_len = iov[i].len;
        remote[i].iov_base = (void *)(uintptr_t)iov[i].addr;
        remote[i].iov_len = iov[i].len;
    }
    t->read_calls++;
    ssize_t got = process_vm_readv(t->pid, local, n, remote, n, 0);
    if (got <= 0)
        return 0;
    size_t done = 0, bytes = (size_t)got;
    while (done < n && bytes >= iov[done].len)
        bytes -= iov[done++].len;
    return done;
}

uint64_t target_read_calls(const target *t) { return t->read_calls; }

int target_read_cstring(target *t, uint64_t addr, char *out, size_t cap, pf_error *err) {
    /* Read in small pieces so a string at the end of a mapping still reads. */
    size_t have = 0;
    while (have + 1 < cap) {
        size_t chunk = 64 - ((addr + have) & 63);
        if (chunk > cap - 1 - have)
            chunk = cap - 1 - have;
        if (target_read(t, addr + have, out + have, chunk, err) != 0) {
            out[have] = 0;
            return -1;
        }
        void *nul = memchr(out + have, 0, chunk);
        if (nul)
            return 0;
        have += chunk;
    }
    out[cap - 1] = 0;
    return 0;
}

void target_path(const target *t, const char *path, char *out, size_t cap) {
    snprintf(out, cap, "/proc/%d/root%s", (int)t->pid, path);
}

void target_mapping_file(const target *t, const target_mapping *m, char *out, size_t cap) {
    snprintf(out, cap, "/proc/%d/map_files/%llx-%llx", (int)t->pid, (unsigned long long)m->start,
             (unsigned long long)m->end);
}

void target_cwd(const target *t, char *out, size_t cap) {
    char link[64], root[PATH_MAX], cwd[PATH_MAX];
    out[0] = 0;
    snprintf(link, sizeof link, "/proc/%d/cwd", (int)t->pid);
    ssize_t n = readlink(link, cwd, sizeof cwd - 1);
    if (n <= 0)
        return;
    cwd[n] = 0;
    snprintf(link, sizeof link, "/proc/%d/root", (int)t->pid);
    ssize_t r = readlink(link, root, sizeof root - 1);
    root[r > 0 ? r : 0] = 0;
    const char *seen = cwd;
    if (r > 1 && !strncmp(cwd, root, (size_t)r) && (cwd[r] == '/' || cwd[r] == 0))
        seen = cwd[r] ? cwd + r : "/";
    snprintf(out, cap, "%s", seen);
}

void target_cmdline(target *t, char *out, size_t cap) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)t->pid);
    out[0] = 0;
    ssize_t got = 0;
    for (int tries = 0; got <= 0 && tries < 20; tries++) {
        if (tries) {
            struct timespec half_ms = {0, 500000};
            nanosleep(&half_ms, NULL);
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return; /* gone */
        got = pread(fd, out, cap - 1, 0);
        close(fd);
    }
    if (got <= 0) {
        out[0] = 0;
        return;
    }
    while (got > 0 && out[got - 1] == 0)
        got--;
    for (ssize_t i = 0; i < got; i++)
        if (out[i] == 0)
            out[i] = ' ';
    out[got] = 0;
}
