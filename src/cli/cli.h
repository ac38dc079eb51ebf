/* cli.h — the subcommands and the little they share (argument parsing, errors).
 * The CLI is thin: it parses, wires library calls together, and prints errors. */
#ifndef PYFLARE_CLI_CLI_H
#define PYFLARE_CLI_CLI_H

#include <sys/types.h>

#include "base/error.h"

int cmd_dump(int argc, char **argv);
int cmd_record(int argc, char **argv);     /* record.c; also the Pyflame-style short form */
int cmd_flamegraph(int argc, char **argv); /* convert.c */
int cmd_convert(int argc, char **argv);    /* convert.c */
int cmd_diff(int argc, char **argv);       /* convert.c */
int cmd_trace(int argc, char **argv);      /* trace.c */

/* Prints "pyflare: <message>" on stderr and returns the exit status for it. */
int cli_fail(const pf_error *err);
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For commands that end on a signal (convert, flamegraph, diff): SIGINT, SIGTERM,
 * SIGHUP and SIGQUIT remove the output's temporary file, then end the command. */
void cli_discard_temp_on_signal(void);

/* A PID given by the user: digits only, in range. Returns 0 or -1 (message printed). */
int cli_parse_pid(const char *text, pid_t *pid);

#endif
