/* dump.c — `pyflare dump`: every thread's stack, once. */
#include <stdio.h>

#include "cli/cli.h"
#include "output/snapshot.h"
#include "sampler/snapshot.h"

static const cli_command dump_command = {
    .id = CMD_DUMP, .display = "pyflare dump",
    .usage = "usage: pyflare dump --pid PID [--json] [--blocking] [--native] [--async]\n\n"
             "Prints every Python thread of a running process with its stack, innermost\n"
             "frame first. The process is not stopped unless --blocking or --native is given.\n"
             "With --async (CPython 3.14+), also its asyncio tasks and who awaits whom.\n",
};

int cmd_dump(int argc, char **argv) {
    cli_args a;
    int rc = cli_start(&dump_command, argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (!a.given[OPT_PID])
        return cli_usage_error("dump: which process? give --pid PID");
    pf_error err = {0};
    snapshot_source *src = NULL;
    snapshot_options so = {.pause = a.given[OPT_BLOCKING], .tasks = a.given[OPT_ASYNC], .native = a.given[OPT_NATIVE]};
    out_snapshot snap;
    if (snapshot_open(a.pid, &src, &err) != 0 || snapshot_take(src, &so, &snap, &err) != 0) {
        snapshot_close(src);
        return cli_fail(&err);
    }
    const char *what = "to standard output";
    rc = a.given[OPT_JSON] ? out_snapshot_json(stdout, what, &snap, &err)
                           : out_snapshot_text(stdout, what, &snap, &err);
    snapshot_close(src);
    if (rc != 0)
        return cli_fail(&err);
    return 0;
}
