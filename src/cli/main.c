/* main.c — pyflare's entry point: picks the subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: pyflare <command> [options]\n"
    "\n"
    "commands:\n"
    "  dump --pid PID [--json] [--blocking]   print every thread's Python stack, once\n"
    "  record -o OUT (--pid PID | -- CMD...)  sample a running or launched program\n"
    "  trace -o OUT -- python SCRIPT ...      deterministic profile (exact call counts)\n"
    "  flamegraph IN.folded > OUT.svg         draw folded stacks from any tool\n"
    "  convert IN OUT                         convert folded stacks to any format\n"
    "  diff BEFORE AFTER -o OUT.svg           differential flame graph\n"
    "\n"
    "Run 'pyflare <command> --help' for a command's options; 'pyflare --version'\n"
    "prints the version.\n";

#define PYFLARE_VERSION "0.1.0" /* as setup.py */

int main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
        printf("pyflare %s\n", PYFLARE_VERSION);
        return 0;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "dump"))
        return cmd_dump(argc - 1, argv + 1);
    if (!strcmp(argv[1], "record"))
        return cmd_record(argc - 1, argv + 1);
    if (!strcmp(argv[1], "flamegraph"))
        return cmd_flamegraph(argc - 1, argv + 1);
    if (!strcmp(argv[1], "convert"))
        return cmd_convert(argc - 1, argv + 1);
    if (!strcmp(argv[1], "diff"))
        return cmd_diff(argc - 1, argv + 1);
    if (!strcmp(argv[1], "trace"))
        return cmd_trace(argc - 1, argv + 1);
    /* Pyflame's form, no subcommand: pyflare -s 5 -x -p PID > out.txt */
    if (argv[1][0] == '-')
        return cmd_record(argc, argv);
    return cli_usage_error("unknown command '%s' (try 'pyflare --help')", argv[1]);
}
