/* record.c — `pyflare record`, and Pyflame's short form (`pyflare -s 5 -x -p PID`).
 *
 * Attaches to --pid or launches the command after `--`, samples until the
 * duration ends, the program exits or a signal (SIGINT/SIGTERM) arrives, then
 * writes the profile atomically. A launched program's exit status is passed on. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/target.h"
#include "output/writer.h"
#include "profile/profile.h"
#include "sampler/clock.h"
#include "sampler/sampler.h"

static const cli_command record_command = {
    .id = CMD_RECORD, .display = "pyflare record", .command_after_dashes = 1,
    .usage = "usage: pyflare record [options] (--pid PID | -- COMMAND [ARGS...])\n\n"
             "Samples a running (--pid) or launched (-- COMMAND) Python program and writes a\n"
             "profile when the duration ends, the program exits, or on Ctrl-C.\n"
             "Without -o the profile goes to pyflare-PID.svg.\n",
    .epilog = "Pyflame's form also works: pyflare [-x] [-s SECONDS] [-r INTERVAL] -p PID > out.txt\n"
              "(-x excludes idle threads, -r is the interval in seconds; folded stacks to stdout).\n",
};

/* Pyflame's form: pyflare [-x] [-s SECONDS] [-r INTERVAL] -p PID. */
static const cli_command pyflame_command = {
    .id = CMD_PYFLAME, .display = "pyflare", .command_after_dashes = 1,
    .usage = "usage: pyflare [-x] [-s SECONDS] [-r INTERVAL] (-p PID | -t COMMAND...) > out.txt\n",
};

typedef struct record_options {
    sampler_options sampling;
    const char *output;
    const out_format *format;
    /* -o given again: the same profile written in each (-o x.pyflare -o x.svg) */
    const char *more[CLI_MAX_OUTPUTS];
    const out_format *more_format[CLI_MAX_OUTPUTS];
    int nmore;
    char default_output[64];
    out_options out;
    pid_t pid;
    char **command;          /* after "--" */
    int pyflame;             /* the short form */
} record_options;

/* The command's arguments into o; -1 to go on, or the exit status. */
static int parse(int argc, char **argv, record_options *o, int pyflame) {
    memset(o, 0, sizeof *o);
    cli_args a;
    int rc = cli_start(pyflame ? &pyflame_command : &record_command, argc, argv, &a);
    if (rc >= 0)
        return rc;
    sampler_options *so = &o->sampling;
    so->rate_hz = a.given[OPT_RATE] ? a.number[OPT_RATE] : pyflame ? 1000 : 100; /* Pyflame's default: 1 ms */
    if (a.given[OPT_INTERVAL])
        so->rate_hz = 1.0 / a.number[OPT_INTERVAL];
    so->duration_s = a.number[OPT_DURATION];
    /* Pyflame counted idle time unless -x; --idle with -x contradicts itself. */
    if (a.given[OPT_IDLE] && a.given[OPT_EXCLUDE_IDLE])
        return cli_usage_error("%s excludes idle threads and --idle includes them: give one",
                               a.spelled[OPT_EXCLUDE_IDLE]);
    so->idle = a.given[OPT_IDLE] || (pyflame && !a.given[OPT_EXCLUDE_IDLE]);
    so->gil_only = a.given[OPT_GIL];
    so->thread_roots = a.given[OPT_THREADS];
    so->by_function = a.given[OPT_FUNCTION];
    so->full_paths = a.given[OPT_FULL_PATHS];
    so->blocking = a.given[OPT_BLOCKING];
    so->async_tasks = a.given[OPT_ASYNC];
    so->blocking = a.given[OPT_BLOCKING] || a.given[OPT_NATIVE]; /* registers are read from stopped threads */
    so->native = a.given[OPT_NATIVE];
    so->subprocesses = a.given[OPT_SUBPROCESSES];
    so->spin = a.given[OPT_SPIN];
    o->out.reverse = a.given[OPT_REVERSE];
    o->out.inverted = a.given[OPT_INVERTED];
    o->out.minwidth = a.given[OPT_MINWIDTH] ? a.number[OPT_MINWIDTH] : 0.1;
    o->out.title = a.text[OPT_TITLE];
    o->out.subtitle = a.text[OPT_SUBTITLE];
    o->output = a.noutputs ? a.outputs[0] : NULL;
    if (a.noutputs > 1 && a.given[OPT_FORMAT])
        return cli_usage_error("record: with several -o, each output's name says its format (--format is for one)");
    for (int i = 1; i < a.noutputs; i++) {
        o->more[o->nmore] = a.outputs[i];
        if (!(o->more_format[o->nmore++] = cli_output(&a, a.outputs[i], NULL, &rc)))
            return rc;
    }
    o->pid = a.pid;
    o->command = a.command;
    o->pyflame = pyflame;
    if (!o->pid && !o->command)
        return cli_usage_error("record: what to profile? give --pid PID, or a command after '--'");
    if (o->pid && o->command)
        return cli_usage_error("record: give either --pid or a command, not both");
    /* Without -o: pyflare-PID.svg (Pyflame's form: folded stacks on standard output). */
    if (!o->output && pyflame)
        o->output = "-";
    if (!o->output)
        snprintf(o->default_output, sizeof o->default_output, "pyflare-%d.%s", (int)(o->pid ? o->pid : getpid()),
                 a.text[OPT_FORMAT] ? a.text[OPT_FORMAT] : "svg");
    if (!o->output)
        o->output = o->default_output;
    o->format = cli_output(&a, o->output, pyflame ? "folded" : "text", &rc);
    return o->format ? -1 : rc;
}

static void show_progress(const sampler_stats *st, void *arg) {
    (void)arg;
    fprintf(stderr, "\r\033[Kpyflare: %.1f s, %llu stacks, %.0f Hz, %llu late, %llu errors", st->elapsed_ns / 1e9,
            (unsigned long long)st->stacks, st->achieved_hz, (unsigned long long)st->late,
            (unsigned long long)(st->errors_total - st->errors[PF_ERR_EXITED]));
}

static void print_summary(const sampler_stats *st, double rate) {
    fprintf(stderr, "pyflare: %llu stacks from %llu samples in %.2f s (%.1f Hz of %g requested), %llu late; "
                    "%llu thread%s seen",
            (unsigned long long)st->stacks, (unsigned long long)st->ticks, st->elapsed_ns / 1e9, st->achieved_hz,
            rate, (unsigned long long)st->late, (unsigned long long)st->threads_seen,
            st->threads_seen == 1 ? "" : "s");
    if (st->processes_seen > 1)
        fprintf(stderr, " in %llu processes", (unsigned long long)st->processes_seen);
    if (st->native_unavailable)
        fprintf(stderr, "; %llu stack%s without native frames (marked [native stack unavailable])",
                (unsigned long long)st->native_unavailable, st->native_unavailable == 1 ? "" : "s");
    /* A process or thread that ended between two reads is how a recording ends, not an error. */
    unsigned long long errors = st->errors_total - st->errors[PF_ERR_EXITED];
    if (!errors) {
        fputs("; no errors\n", stderr);
        return;
    }
    fprintf(stderr, "; %llu error%s:", errors, errors == 1 ? "" : "s");
    for (int k = 0; k <= PF_ERR_USAGE; k++)
        if (st->errors[k] && k != PF_ERR_EXITED)
            fprintf(stderr, " %s %llu", pf_error_kind_name((pf_error_kind)k), (unsigned long long)st->errors[k]);
    fputc('\n', stderr);
}

/* The default mode weighs stacks by CPU time: say what a unit of weight is. */
static void print_cpu(const sampler_stats *st, const pf_meta *meta) {
    if (!meta->cpu_weighted)
        return;
    fprintf(stderr, "pyflare: the sampled threads used %.3f s of CPU; stacks are weighed by it (1 = %g ms of CPU)\n",
            st->cpu_ns / 1e9, meta->period_ns / 1e6);
}

int cmd_record(int argc, char **argv) {
    int pyflame = strcmp(argv[0], "record") != 0; /* called without a subcommand */
    record_options o;
    int rc = parse(argc, argv, &o, pyflame);
    if (rc >= 0)
        return rc;
    const out_format *fmt = o.format;
    pf_error err = {0};

    cli_catch_stop_signals(0);

    pf_profile *profile = pf_profile_new();
    sampler *s = NULL;
    if (!profile || sampler_new(&o.sampling, profile, &s, &err) != 0) {
        pf_profile_free(profile);
        return cli_fail(&err);
    }
    pid_t child;
    if ((rc = cli_start_target(s, o.pid, o.command, o.sampling.subprocesses, &child)) >= 0)
        goto out;

    int live = isatty(2);
    if (sampler_run(s, &cli_stop_requested, live ? show_progress : NULL, NULL, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (live)
        fputs("\r\033[K", stderr);
    const sampler_stats *st = sampler_get_stats(s);
    if (st->exec_not_python)
        fprintf(stderr, "pyflare: process %d exec()ed %s, which is not Python: nothing was sampled in it after "
                        "that\n", (int)st->exec_pid, *st->exec_program ? st->exec_program : "another program");
    if (sampler_all_exited(s) || cli_child_exited)
        fprintf(stderr, "pyflare: the program exited; writing what was recorded\n");
    print_summary(st, o.sampling.rate_hz);
    print_cpu(st, pf_profile_meta_const(profile));
    cli_say_stopped(st);

    char command[1024] = "";
    size_t nproc;
    const pf_process *procs = pf_processes(profile, &nproc);
    if (nproc)
        snprintf(command, sizeof command, "%s", pf_str(profile, procs[0].command));
    pf_meta m = *pf_profile_meta_const(profile);
    m.command = pf_intern(profile, command);
    m.start_unix_ns = (uint64_t)time(NULL) * 1000000000ull - m.duration_ns;
    pf_profile_set_meta(profile, &m);
    const pf_meta *meta = pf_profile_meta_const(profile);
    char subtitle[1400];
    if (meta->cpu_weighted)
        snprintf(subtitle, sizeof subtitle, "%s — %.1f s at %g Hz, %.3f s of CPU", command, meta->duration_ns / 1e9,
                 o.sampling.rate_hz, meta->cpu_ns / 1e9);
    else
        snprintf(subtitle, sizeof subtitle, "%s — %.1f s at %g Hz, %llu stacks", command, meta->duration_ns / 1e9,
                 o.sampling.rate_hz, (unsigned long long)st->stacks);
    if (!o.out.subtitle)
        o.out.subtitle = subtitle;
    o.out.read_source = sampler_read_source; /* source text through the target's root */
    o.out.source_ctx = s;
    pf_profile_finish(profile);
    int stopped_all = st->stopped_processes && st->stopped_samples == st->stopped_of && st->processes_seen == 1;
    if (!st->stacks)
        fprintf(stderr, "pyflare: no stacks were recorded%s\n",
                stopped_all      ? " (the program was stopped, not idle)"
                : o.sampling.idle ? ""
                                  : " (the program was idle: --idle counts waiting threads too)");
    if (pf_profile_failed(profile)) {
        fprintf(stderr, "pyflare: out of memory while recording; nothing written\n");
        rc = 1;
    } else {
        rc = 0;
        for (int i = -1; i < o.nmore; i++) {
            const char *path = i < 0 ? o.output : o.more[i];
            const out_format *f = i < 0 ? fmt : o.more_format[i];
            o.out.color = !strcmp(path, "-") && isatty(1) && !getenv("NO_COLOR");
            if (out_write_file(profile, f, path, &o.out, &err) != 0)
                rc = cli_fail(&err);
            else if (strcmp(path, "-"))
                fprintf(stderr, "pyflare: wrote %s (%s)\n", path, f->name);
        }
    }
    if (child > 0) {
        /* Threads that died while paused are reaped first: until then the
         * kernel keeps the program from ending. */
        sampler_free(s);
        s = NULL;
        int status = cli_reap(child, !cli_child_exited);
        if (rc == 0)
            rc = status;
    }
out:
    sampler_free(s);
    pf_profile_free(profile);
    return rc;
}
