/* options.h — the one table of command-line options, and the one parser.
 *
 * Every command (dump, record and Pyflame's short form, flamegraph, convert,
 * diff, trace, and `python -m pyflare`) is parsed here from one table: an
 * option has one set of spellings, one kind of value, one range, one help
 * line and one error message, whichever command takes it. Help text is made
 * from the table (and the formats part from the format table, output/writer.c).
 * Nothing here prints or exits: errors are pf_error (PF_ERR_USAGE) lines, so
 * the tracer module (module/tracer.c) can parse `python -m pyflare`'s words
 * with it too and raise them. */
#ifndef PYFLARE_CLI_OPTIONS_H
#define PYFLARE_CLI_OPTIONS_H

#include <stdio.h>
#include <sys/types.h>

#include "base/error.h"
#include "output/writer.h"

#define PYFLARE_VERSION "0.1.0" /* as setup.py */

/* The commands, as bits: an option row says which take it. */
enum {
    CMD_DUMP = 1 << 0,
    CMD_RECORD = 1 << 1,
    CMD_PYFLAME = 1 << 2, /* pyflare -x -s 5 -p PID: Pyflame's form, no subcommand */
    CMD_FLAMEGRAPH = 1 << 3,
    CMD_CONVERT = 1 << 4,
    CMD_DIFF = 1 << 5,
    CMD_TRACE = 1 << 6,
    CMD_MODULE = 1 << 7, /* python -m pyflare */
    CMD_TOP = 1 << 8,    /* pyflare top: the live table */
};

/* Every option, by what it means (several spellings may share one). */
typedef enum cli_opt {
    OPT_HELP, OPT_VERSION, OPT_PID, OPT_OUTPUT, OPT_FORMAT, OPT_JSON, OPT_BLOCKING, OPT_RATE,
    OPT_INTERVAL, OPT_DURATION, OPT_IDLE, OPT_EXCLUDE_IDLE, OPT_GIL, OPT_THREADS, OPT_FUNCTION,
    OPT_FULL_PATHS, OPT_SPIN, OPT_SUBPROCESSES, OPT_TRACE_COMMAND, OPT_TITLE, OPT_SUBTITLE, OPT_REVERSE,
    OPT_INVERTED, OPT_MINWIDTH, OPT_LENIENT, OPT_CLOCK, OPT_NO_BUILTINS, OPT_QUIET, OPT_OUTPUT_NAME,
    OPT_MODULE, OPT_CODE,
    OPT_SPEED, OPT_ASYNC,
    OPT_NATIVE,
    OPT_COUNT
} cli_opt;

typedef enum cli_kind {
    CLI_FLAG,       /* no value */
    CLI_TEXT,       /* any word */
    CLI_NUMBER,     /* a finite number in [min, max] */
    CLI_PID,        /* a process id */
    CLI_FORMAT,     /* a name from the format table */
    CLI_CHOICE,     /* one of the words in choices */
    CLI_COMMAND,    /* no value: what follows is a command to run (Pyflame's -t) */
    CLI_LAST_VALUE, /* a value, and what follows belongs to it (python's -m MODULE, -c CODE) */
} cli_kind;

typedef struct cli_option {
    cli_opt id;
    const char *names;   /* every spelling, space-separated: "-o --output" */
    cli_kind kind;
    const char *metavar; /* "FILE" */
    double min, max;     /* CLI_NUMBER */
    const char *choices; /* CLI_CHOICE: "wall cpu" */
    unsigned commands;   /* CMD_ bits */
    const char *help;    /* one line (may wrap with \n) */
} cli_option;

typedef struct cli_command {
    unsigned id;          /* a CMD_ bit */
    const char *display;  /* "pyflare record", "python -m pyflare": in messages */
    const char *usage;    /* the help text above the options */
    const char *epilog;   /* below them, or NULL */
    int min_files, max_files; /* positional arguments */
    const char *files;    /* what they are, for "expected ...": "one input file" */
    int command_after_dashes; /* "--" starts a command to run (else: only files follow) */
    int command_at_word;  /* the first word that is not an option starts it too */
} cli_command;

#define CLI_MAX_OUTPUTS 16

typedef struct cli_args {
    unsigned char given[OPT_COUNT];
    const char *text[OPT_COUNT];    /* the value as given (NULL for flags) */
    const char *spelled[OPT_COUNT]; /* how the option was written, for messages */
    int index[OPT_COUNT];           /* argv index of the value, -1 when none */
    double number[OPT_COUNT];       /* CLI_NUMBER */
    pid_t pid;                      /* OPT_PID */
    const char *files[4];
    int nfiles;
    const char *outputs[CLI_MAX_OUTPUTS]; /* every -o given, in order (record writes each) */
    int noutputs;
    char **command;                 /* what follows "--", -t or the first word; NULL if none */
    int command_index;              /* its index in argv */
} cli_args;

/* The table's row for id that cmd takes, or NULL (for the tests and the tracer). */
const cli_option *cli_option_for(cli_opt id, unsigned cmd);

/* The option's main spelling: its first long name ("--format"), else its short one. */
void cli_option_name(const cli_option *o, char *buf, size_t cap);

/* Parses argv (argv[0] = the command's name). Stops at -h/--help and
 * -V/--version (given[] says which). 0, or -1 with one line in err. */
int cli_parse(const cli_command *cmd, int argc, char **argv, cli_args *a, pf_error *err);

/* The command's help text, made from the table. */
void cli_help(const cli_command *cmd, FILE *f);

/* The format to write path in ("-" or NULL = standard output): --format when
 * given, else from path's name, else dflt (for standard output; NULL: none);
 * a binary format is refused to a terminal. NULL with one line in err. */
const out_format *cli_output_format(const cli_args *a, const char *path, const char *dflt, pf_error *err);

/* Parses a PID written by the user: digits only, in range. 0, or -1 with one line. */
int cli_pid(const char *text, pid_t *pid, pf_error *err);

/* For `python -m pyflare` (module/tracer.c): parses argv as CMD_MODULE,
 * resolves the output format, and calls put(key, value, index, arg) for each
 * option given — key its first long name without dashes ("output"), value
 * its text or NULL for a flag, index its argv index or -1 — plus key "format"
 * for the format resolved (index -1), "help" with the help text or "version".
 * Returns the argv index where the script's own words begin, or -1 with one
 * line in err (or when put returns non-zero). */
int cli_parse_module(int argc, char **argv, int (*put)(const char *key, const char *value, int index, void *arg),
                     void *arg, pf_error *err);

#endif
