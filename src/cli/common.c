/* common.c — what the subcommands share: error printing and argument checks. */
#include "cli/cli.h"

#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "output/writer.h"

int cli_fail(const pf_error *err) {
    fprintf(stderr, "pyflare: %s\n", err->msg);
    switch (err->kind) {
    case PF_ERR_USAGE: return 2;
    case PF_ERR_NO_PROCESS: return 3;
    case PF_ERR_PERMISSION: return 4;
    case PF_ERR_NOT_PYTHON: return 5;
    case PF_ERR_UNSUPPORTED: return 6;
    default: return 1;
    }
}

int cli_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("pyflare: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

int cli_parse_pid(const char *text, pid_t *pid) {
    char *end;
    if (!text || !*text || *text < '0' || *text > '9') {
        cli_usage_error("invalid PID '%s': expected a process id, a positive whole number", text ? text : "");
        return -1;
    }
    errno = 0;
    long value = strtol(text, &end, 10);
    if (*end || errno || value <= 0 || value > INT_MAX) {
        cli_usage_error("invalid PID '%s': expected a process id, a positive whole number", text);
        return -1;
    }
    *pid = (pid_t)value;
    return 0;
}

/* Removes the output's temporary file, then dies of the signal as if unhandled. */
static void on_fatal_signal(int sig) {
    out_discard_temp();
    signal(sig, SIG_DFL);
    raise(sig);
}

void cli_discard_temp_on_signal(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}
