/* target.c — the program record and top sample: attached by pid, or
 * launched after `--` and waited for until it is Python; the signals that stop
 * the sampling; and the launched program's end, its status passed on. */
#include "cli/target.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "output/snapshot.h"
#include "sampler/clock.h"

#define LAUNCH_WAIT_NS 15000000000ull /* how long a launched program may take to become Python */

volatile sig_atomic_t cli_stop_requested;
volatile sig_atomic_t cli_stop_signal;
volatile sig_atomic_t cli_child_exited;
static volatile pid_t launched_pid; /* the program pyflare started, 0 when attached */

static void on_stop_signal(int sig) {
    cli_stop_signal = sig;
    cli_stop_requested = 1;
}

/* SIGCHLD also comes for every thread of a traced (--blocking) program that
 * exits: only the launched program's own end stops the recording. */
static void on_child(int sig) {
    (void)sig;
    int saved = errno;
    siginfo_t info;
    info.si_pid = 0;
    if (launched_pid > 0 && waitid(P_PID, (id_t)launched_pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == launched_pid) {
        cli_child_exited = 1;
        cli_stop_requested = 1;
    }
    errno = saved;
}

void cli_catch_stop_signals(int hangup) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (hangup)
        sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_child;
    sa.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
}

/* Starts the command; returns its pid, or -1 (message printed). */
pid_t cli_launch(char **command) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        perror("pyflare: pipe");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("pyflare: fork");
        return -1;
    }
    if (pid == 0) {
        close(report[0]);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execvp(command[0], command);
        int e = errno;
        if (write(report[1], &e, sizeof e) < 0) {
        }
        _exit(127);
    }
    close(report[1]);
    int e;
    ssize_t got = read(report[0], &e, sizeof e); /* EOF: exec worked */
    close(report[0]);
    if (got == (ssize_t)sizeof e) {
        waitpid(pid, NULL, 0);
        fprintf(stderr, "pyflare: cannot run '%s': %s\n", command[0], strerror(e));
        return -1;
    }
    return pid;
}

/* Waits until the launched program has an initialised interpreter. */
static int attach_launched(sampler *s, pid_t pid, pf_error *err) {
    uint64_t deadline = sampler_now_ns() + LAUNCH_WAIT_NS;
    int not_python = 0; /* what the last informative error said: a zombie only says it exited */
    for (;;) {
        if (sampler_add_process(s, pid, err) == 0)
            return 0;
        if (err->kind != PF_ERR_EXITED && err->kind != PF_ERR_NO_PROCESS)
            not_python = err->kind == PF_ERR_NOT_PYTHON;
        if (cli_child_exited || cli_stop_requested || sampler_now_ns() > deadline) {
            if (not_python)
                return pf_fail(err, PF_ERR_NOT_PYTHON,
                               "the launched program (pid %d) is not Python: no CPython found in it (to sample "
                               "the Python processes it starts, add --subprocesses)", (int)pid);
            if (cli_child_exited || cli_stop_requested)
                return pf_fail(err, PF_ERR_EXITED, "the program exited before any Python code could be sampled");
            return -1;
        }
        struct timespec ms = {0, 5000000};
        nanosleep(&ms, NULL);
    }
}

/* The launched program's exit status as a shell would report it. Never
 * waits forever: SIGTERM, two seconds, SIGKILL, two more seconds. */
int cli_reap(pid_t pid, int still_running) {
    int status = 0;
    if (still_running)
        kill(pid, SIGTERM);
    for (int i = 0;; i++) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            break;
        if (got < 0 && errno != EINTR)
            return 1; /* not ours to wait for any more */
        if (i == 200)
            kill(pid, SIGKILL);
        if (i == 400) {
            fprintf(stderr, "pyflare: process %d does not end; leaving it\n", (int)pid);
            return 1;
        }
        struct timespec ms = {0, 10000000};
        nanosleep(&ms, NULL);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

int cli_start_target(sampler *s, pid_t pid, char **command, int subprocesses, pid_t *child) {
    pf_error err = {0};
    *child = 0;
    if (!command)
        return sampler_add_process(s, pid, &err) != 0 ? cli_fail(&err) : -1;
    pid_t launched = cli_launch(command);
    if (launched < 0)
        return 1;
    *child = launched_pid = launched;
    siginfo_t info = {0}; /* it may have ended before its SIGCHLD could be recognised */
    if (waitid(P_PID, (id_t)launched, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == launched) {
        cli_child_exited = 1;
        cli_stop_requested = 1;
    }
    if (attach_launched(s, launched, &err) == 0 || (err.kind == PF_ERR_NOT_PYTHON && subprocesses))
        return -1; /* not Python itself: its Python children will be found */
    int rc = cli_fail(&err);
    cli_reap(launched, !cli_child_exited);
    *child = 0;
    return rc;
}

void cli_say_stopped(const sampler_stats *st) {
    if (!st->stopped_processes)
        return;
    fprintf(stderr, "pyflare: process %d", (int)st->stopped_pid);
    if (st->stopped_processes > 1)
        fprintf(stderr, " (the longest of %llu processes found stopped)", (unsigned long long)st->stopped_processes);
    if (st->stopped_samples == st->stopped_of)
        fprintf(stderr, " was " OUT_STOPPED_BY " for all %.1f s recorded: it ran no code", st->elapsed_ns / 1e9);
    else
        fprintf(stderr, " was " OUT_STOPPED_BY " for %.1f s of the %.1f s recorded: it ran no code then",
                st->stopped_ns / 1e9, st->elapsed_ns / 1e9);
    if (st->stopped_now)
        fprintf(stderr, "; it is still stopped: send it SIGCONT (kill -CONT %d) to let it run", (int)st->stopped_pid);
    fputc('\n', stderr);
}

const char *cli_stopped_now(const sampler_stats *st, char *buf, size_t cap) {
    if (!st->stopped_now)
        return NULL;
    snprintf(buf, cap, "pid %d is " OUT_STOPPED_BY ": it runs no code until it gets SIGCONT (kill -CONT %d)",
             (int)st->stopped_pid, (int)st->stopped_pid);
    return buf;
}
