/* cli.h — the subcommands and the little they share (argument parsing, errors).
 * The CLI is thin: it parses, wires library calls together, and prints errors. */
#ifndef PYFLARE_CLI_CLI_H
#define PYFLARE_CLI_CLI_H

#include <sys/types.h>

#include "base/error.h"
#include "cli/options.h"

int cmd_dump(int argc, char **argv);
int cmd_record(int argc, char **argv);     /* record.c; also the Pyflame-style short form */
int cmd_flamegraph(int argc, char **argv); /* convert.c */
int cmd_convert(int argc, char **argv);    /* convert.c */
int cmd_diff(int argc, char **argv);       /* convert.c */
int cmd_trace(int argc, char **argv);      /* trace.c */
int cmd_top(int argc, char **argv);        /* top.c */

/* Prints "pyflare: <message>" on stderr and returns the exit status for it. */
int cli_fail(const pf_error *err);
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For commands that end on a signal (convert, flamegraph, diff): SIGINT, SIGTERM,
 * SIGHUP and SIGQUIT remove the output's temporary file, then end the command. */
void cli_discard_temp_on_signal(void);

/* Parses a command's arguments with the option table: -1 to go on, or the
 * exit status after printing help (0), the version (0) or a usage error (2). */
int cli_start(const cli_command *cmd, int argc, char **argv, cli_args *a);

/* Where a command's output goes ("-" = standard output) in which format, checked
 * before any work starts: NULL after printing why not (*status: the exit status). */
const out_format *cli_output(const cli_args *a, const char *path, const char *dflt, int *status);

#endif
