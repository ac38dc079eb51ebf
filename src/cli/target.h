/* target.h — the program that record and top sample: attached by pid or
 * launched after `--`, the signals that stop the sampling, and the launched
 * program's end. */
#ifndef PYFLARE_CLI_TARGET_H
#define PYFLARE_CLI_TARGET_H

#include <signal.h>
#include <sys/types.h>

#include "sampler/sampler.h"

/* Set by the handlers cli_catch_stop_signals installs: a stop was asked for
 * (SIGINT, SIGTERM, SIGHUP when caught, or the launched program's end), by
 * which signal (0: none), and whether the launched program has ended. */
extern volatile sig_atomic_t cli_stop_requested;
extern volatile sig_atomic_t cli_stop_signal;
extern volatile sig_atomic_t cli_child_exited;

/* SIGINT, SIGTERM (and SIGHUP when hangup) ask for a stop; SIGCHLD for the
 * launched program's own end stops too. */
void cli_catch_stop_signals(int hangup);

/* Adds the program to s: pid, or command launched and waited for until it has
 * an initialised interpreter (with subprocesses, a launched program that is not
 * Python is accepted: its Python children will be found). *child: the launched
 * pid, else 0. Returns -1 to go on, or the exit status after printing why not
 * (a launched program is reaped then). */
int cli_start_target(sampler *s, pid_t pid, char **command, int subprocesses, pid_t *child);

/* A process found stopped by a signal (SIGSTOP, Ctrl-Z) while sampled ran no
 * code then, which a profile alone cannot tell from waiting: one line on
 * stderr says for how long, and how to let it run if it still is stopped
 * (pyflare never sends SIGCONT itself). Nothing when none was. */
void cli_say_stopped(const sampler_stats *st);
/* The line top shows while the process is stopped, into buf; NULL when it is not. */
const char *cli_stopped_now(const sampler_stats *st, char *buf, size_t cap);

/* Starts command (-1 after printing why not), and reaps a launched program
 * (SIGTERM first if still_running): its exit status as a shell reports it. */
pid_t cli_launch(char **command);
int cli_reap(pid_t pid, int still_running);

#endif
