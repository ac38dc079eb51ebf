/* convert.c — `pyflare flamegraph`, `convert` and `diff`: folded stacks from any tool in, any format out. */
#include "cli/cli.h"

int cmd_flamegraph(int argc, char **argv) { (void)argc, (void)argv; return cli_usage_error("flamegraph: not available yet"); }
int cmd_convert(int argc, char **argv) { (void)argc, (void)argv; return cli_usage_error("convert: not available yet"); }
int cmd_diff(int argc, char **argv) { (void)argc, (void)argv; return cli_usage_error("diff: not available yet"); }
