/* trace.c — `pyflare trace`: run a script under the in-process deterministic profiler. */
#include "cli/cli.h"

int cmd_trace(int argc, char **argv) { (void)argc, (void)argv; return cli_usage_error("trace: not available yet"); }
