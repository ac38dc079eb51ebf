/* main.c — pyflare's entry point: picks the subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis;
} commands[] = {
    {"dump", cmd_dump, "dump --pid PID [--json] [--blocking]   print every thread's Python stack, once"},
    {"record", cmd_record, "record -o OUT (--pid PID | -- CMD...)  sample a running or launched program"},
    {"top", cmd_top, "top (--pid PID | -- CMD...)            live table of the hottest functions"},
    {"trace", cmd_trace, "trace -o OUT -- python SCRIPT ...      deterministic profile (exact call counts)"},
    {"flamegraph", cmd_flamegraph, "flamegraph IN.folded > OUT.svg         draw folded stacks from any tool"},
    {"convert", cmd_convert, "convert IN OUT                         convert folded stacks to any format"},
    {"diff", cmd_diff, "diff BEFORE AFTER -o OUT.svg           differential flame graph"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fputs("usage: pyflare <command> [options]\n\ncommands:\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %s\n", commands[i].synopsis);
    fputs("\nRun 'pyflare <command> --help' for a command's options; '--version' (any command)\n"
          "prints the version.\n", f);
}

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
        puts("pyflare " PYFLARE_VERSION);
        return 0;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    /* Pyflame's form, no subcommand: pyflare -s 5 -x -p PID > out.txt */
    if (argv[1][0] == '-')
        return cmd_record(argc, argv);
    return cli_usage_error("unknown command '%s' (try 'pyflare --help')", argv[1]);
}
