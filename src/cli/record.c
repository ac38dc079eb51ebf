/* record.c — `pyflare record`: the sampling profiler. */
#include "cli/cli.h"

int cmd_record(int argc, char **argv) { (void)argc, (void)argv; return cli_usage_error("record: not available yet"); }
