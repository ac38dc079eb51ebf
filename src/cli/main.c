/* main.c — pyflare's entry point: picks the subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char usage[] =
    "usage: pyflare <command> [options]\n"
    "\n"
    "commands:\n"
    "  dump --pid PID [--json] [--blocking]   print every thread's Python stack, once\n"
    "\n"
    "Run 'pyflare <command> --help' for a command's options.\n";

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "dump"))
        return cmd_dump(argc - 1, argv + 1);
    return cli_usage_error("unknown command '%s' (try 'pyflare --help')", argv[1]);
}
