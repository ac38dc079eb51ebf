/* common.c — what the subcommands share: error printing and argument checks. */
#include "cli/cli.h"

#include <errno.h>
#include <signal.h>
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

int cli_start(const cli_command *cmd, int argc, char **argv, cli_args *a) {
    pf_error err = {0};
    if (cli_parse(cmd, argc, argv, a, &err) != 0)
        return cli_fail(&err);
    if (a->given[OPT_HELP]) {
        cli_help(cmd, stdout);
        return 0;
    }
    if (a->given[OPT_VERSION]) {
        puts("pyflare " PYFLARE_VERSION);
        return 0;
    }
    return -1;
}

const out_format *cli_output(const cli_args *a, const char *path, const char *dflt, int *status) {
    pf_error err = {0};
    const out_format *fmt = cli_output_format(a, path, dflt, &err);
    if (!fmt || out_check_writable(path ? path : "-", &err) != 0) {
        *status = cli_fail(&err);
        return NULL;
    }
    return fmt;
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
